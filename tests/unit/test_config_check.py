"""A YAML syntax error in a config file is named with file, line and column (checked before Snakemake reads it)."""

import pytest

from snaketrain.config_check import check_configfile_syntax, yaml_syntax_error


def test_a_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  name: u\n   path: x.csv\n")
    error = yaml_syntax_error(path)
    assert f"{path} is not valid YAML: mapping values are not allowed here at line 3, column 8" in str(error)
    assert error.where == f"{path}, line 3, column 8"
    assert "path: x.csv" in str(error)


def test_a_tab_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n\tname: u\n")
    assert "found character '\\t' that cannot start any token at line 2, column 1" in str(yaml_syntax_error(path))


def test_valid_yaml_and_json_pass(tmp_path):
    (tmp_path / "a.yaml").write_text("data:\n  name: u\n")
    (tmp_path / "b.json").write_text('{"data": {"name": "u"}}')
    assert yaml_syntax_error(tmp_path / "a.yaml") is None
    assert yaml_syntax_error(tmp_path / "b.json") is None


def test_the_command_line_check_stops_on_any_bad_overlay(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("a: 1\n")
    bad.write_text("a: [1\n")
    check_configfile_syntax(["--cores", "2", "--configfile", str(good)])
    with pytest.raises(SystemExit) as caught:
        check_configfile_syntax(["-n", "--configfile", str(good), str(bad), "--cores", "1"])
    assert caught.value.code == 1
    assert f"[config] {bad} is not valid YAML" in capsys.readouterr().err
    # a file that does not exist is left to Snakemake's own message
    check_configfile_syntax(["--configfile", str(tmp_path / "missing.yaml")])
