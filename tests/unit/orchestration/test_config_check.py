"""Config errors a user can act on: each problem in one line naming the dotted key, with the fix."""

import copy

import pytest
import yaml

from snaketrain.orchestration.config_check import check_configfile_syntax, config_error, yaml_syntax_error
from snaketrain.stage_log import ConfigError
from tests.harness import ROOT

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
FILES = ["config/config.yaml"]


@pytest.fixture(scope="module")
def default_config():
    return yaml.safe_load((ROOT / "config/config.yaml").read_text())


def error_for(config, section, key, value):
    changed = copy.deepcopy(config)
    if section is None:
        changed[key] = value
    else:
        changed[section][key] = value
    return config_error(changed, SCHEMA, FILES)


def test_the_shipped_config_is_valid(default_config):
    assert config_error(default_config, SCHEMA, FILES) is None


@pytest.mark.parametrize(
    "section, key, value, problem, fix",
    [
        (
            "split",
            "test_size",
            "big",
            "split.test_size is 'big', but must be a number",
            "set split.test_size to a number",
        ),
        ("split", "test_size", 1.5, "split.test_size is 1.5, out of range: it must be < 1", "to a value < 1"),
        (
            "tuning",
            "method",
            "bayes",
            "tuning.method is 'bayes', which is not one of the allowed values: grid, random, halving",
            "set tuning.method to one of: grid, random, halving",
        ),
        (
            "data",
            "name",
            "../elsewhere",
            "data.name is '../elsewhere', which is not a safe name",
            "may not contain '/'",
        ),
    ],
)
def test_a_wrong_value_gives_one_message_naming_the_dotted_key_and_the_fix(
    default_config, section, key, value, problem, fix
):
    error = error_for(default_config, section, key, value)
    assert isinstance(error, ConfigError)
    text = str(error)
    assert text.startswith(f"[config] {problem}\n")
    assert f"where: config key {section}.{key} (config files: config/config.yaml; and --config values)" in text
    assert "fix: " in text and fix in text.split("fix: ", 1)[1]


def test_a_misspelt_key_is_named_and_the_close_one_suggested(default_config):
    text = str(error_for(default_config, "split", "tset_size", 0.2))
    assert text.startswith("[config] unknown config key split.tset_size\n")
    assert "did you mean split.test_size?" in text
    assert "keys allowed here: seed, stratify, test_size" in text
    top = str(error_for(default_config, None, "modles", ["ridge"]))
    assert "unknown config key modles" in top and "did you mean models?" in top


def test_a_model_the_catalogue_lacks_is_named_with_the_close_one(default_config):
    text = str(error_for(default_config, None, "models", ["logistic_regresion"]))
    assert "models lists logistic_regresion, which is neither a family of the catalogue nor defined under" in text
    assert "did you mean logistic_regression?" in text and "config key models" in text


def test_every_problem_is_listed_once_with_its_own_fix(default_config):
    changed = copy.deepcopy(default_config)
    changed["split"]["test_size"] = "big"
    changed["tuning"]["cv"] = "x"
    text = str(config_error(changed, SCHEMA, FILES))
    assert text.startswith("[config] 2 problems in the config:\n")
    assert "  - split.test_size is 'big', but must be a number" in text
    assert "  - tuning.cv is 'x', but must be a whole number" in text
    assert "config keys split.test_size, tuning.cv" in text
    assert "set split.test_size to a number" in text and "set tuning.cv to a whole number" in text


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


def test_the_overlay_check_leaves_snakemakes_config_option_alone(tmp_path):
    # --config is Snakemake's own option; read as an abbreviation of --configfile it stopped every such call
    check_configfile_syntax(["-n", "--config", "tuning={method: grid}", "--cores", "1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  name: [unclosed\n")
    with pytest.raises(SystemExit):
        check_configfile_syntax(["--config", "a=1", "--configfile", str(bad)])
