"""The model registry: named models, each with content-addressed versions, an index, a history and a
production pointer (MLflow's "registered model" and its versions).

Layout under the registry root:
  models/<name>/versions/<id>/  pipeline.skops (the fitted scikit-learn Pipeline, safe to load),
                                model.joblib, preprocessor.joblib (the parts, for tools that want them;
                                snaketrain never loads them), metadata.json (with each file's sha256 and the name)
  models/<name>/index.json      every version of the name with its metrics and registration time
  models/<name>/production.json the version of the name in production ({version, previous, promoted_at}); a deploy
                                moves it only from the version its gate compared with (promote's expected)
  models/<name>/history.jsonl   append-only log, one JSON object a line: each registration (with its metrics),
                                promotion and rollback, oldest first
  .lock                         serialises index, history and pointer updates across processes and names

The same content registered under two names is two entries (two copies of the files). A version is assembled
in a temporary folder and renamed into place, so it is whole or absent. Index, history and pointer are replaced
atomically while the lock is held. A registry written by the flat layout of earlier releases (versions/,
index.json, production.json, history.jsonl at the root) is moved under its names the first time any function
here meets it (see migrate). Standard library only (plus filelock), so that light stages start fast.
"""

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from snaketrain.stage_log import StageError, pause_point
from snaketrain.table_io import read_json, sha256_file, write_bytes, write_json

LOCK_TIMEOUT_S = 120
METADATA = "metadata.json"
HISTORY = "history.jsonl"
INDEX = "index.json"
PRODUCTION = "production.json"
# a version's fitted scikit-learn Pipeline (skops: safe to load)
PIPELINE_FILE = "pipeline.skops"
# a version's reference profile of its training data (the drift check's reference)
PROFILE_FILE = "profile.json"
MODELS = "models"
# the same rule as data.name in the config schema
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _lock(root):
    from filelock import FileLock

    Path(root).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(root) / ".lock"), timeout=LOCK_TIMEOUT_S)


def now_utc():
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def check_name(name):
    """The name, if it is a valid registered model name; a StageError naming the rule otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise StageError(
            "registry",
            f"{name!r} is not a valid registered model name",
            "use letters, digits, '_' and '-', starting with a letter or digit, at most 64 characters "
            "(config key registry.model_name, default data.name)",
            "registry.model_name",
        )
    return name


def model_dir(root, name):
    return Path(root) / MODELS / check_name(name)


def version_id(file_hashes):
    """The id of a version: a digest of its files' names and contents."""
    digest = hashlib.sha256()
    for file_name in sorted(file_hashes):
        digest.update(f"{file_name}\0{file_hashes[file_name]}\n".encode())
    return digest.hexdigest()[:16]


def version_dir(root, version, name):
    return model_dir(root, name) / "versions" / version


def names(root):
    """Every registered model name, sorted."""
    migrate(root)
    folder = Path(root) / MODELS
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and NAME_PATTERN.fullmatch(p.name))


def publish(root, files, metadata, name):
    """Add a version of name holding files ({file name: path}) and metadata; return (id, created)."""
    migrate(root, name)
    hashes = {file_name: sha256_file(path) for file_name, path in files.items()}
    version = version_id(hashes)
    final = version_dir(root, version, name)
    created = False
    if not (final / METADATA).is_file():
        staging = final.parent / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            for file_name, path in files.items():
                shutil.copyfile(path, staging / file_name)
            write_json({**metadata, "name": name, "version": version, "files": hashes}, staging / METADATA)
            _fsync_dir(staging)
            pause_point("publish:staged")
            try:
                os.rename(staging, final)
                created = True
            except OSError:
                # another process published the same content first: theirs is identical
                if not (final / METADATA).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    pause_point("publish:placed")
    with _lock(root):
        index = read_index(root, name)
        if version not in index["versions"]:
            entry = {
                "registered_at": now_utc(),
                "model": metadata.get("model"),
                "metrics": metadata.get("metrics", {}),
            }
            if "positive_class" in metadata:  # binary: the class its F1, precision and recall are of
                entry["positive_class"] = metadata["positive_class"]
            index["versions"][version] = entry
            write_json(index, model_dir(root, name) / INDEX)
            _append_history(
                root, name, {"event": "registered", "version": version, "task": metadata.get("task"), **entry}
            )
    return version, created


def _append_history(root, name, *events):
    """Add lines to a name's history; the caller holds the lock.

    The file is rewritten whole (old bytes + the new lines) through a temporary file and os.replace, so a
    crash leaves the old history or the new one, never a torn line; earlier lines are never changed.
    """
    path = model_dir(root, name) / HISTORY
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    lines = "".join(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n" for event in events)
    write_bytes(old + lines.encode("utf-8"), path)


def read_history(root, name):
    """Every history event of a name, oldest first. A name whose history file is missing is read from its index."""
    migrate(root, name)
    return _history(model_dir(root, name))


def _history(folder):
    path = Path(folder) / HISTORY
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    index = Path(folder) / INDEX
    versions = read_json(index)["versions"] if index.is_file() else {}
    ordered = sorted(versions.items(), key=lambda item: (item[1].get("registered_at") or "", item[0]))
    return [{"event": "registered", "version": version, **entry} for version, entry in ordered]


def registered_versions(root, name):
    """One entry per registered version of name (version, model, registered_at, metrics), oldest first."""
    return [event for event in read_history(root, name) if event["event"] == "registered"]


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_index(root, name):
    path = model_dir(root, name) / INDEX
    return read_json(path) if path.is_file() else {"versions": {}}


def production_path(root, name):
    """The file that points at the production version of a registered model name.

    The model service watches this file to follow promotions and rollbacks.
    """
    return model_dir(root, name) / PRODUCTION


def existing_production_path(root, name, options="", stage="predict"):
    """The production pointer of name (or of a registry in the flat layout, which migrate() moves), else a
    StageError saying how to get a model into production (options: the user's --configfile options, repeated in
    the fix's command)."""
    pointer = production_path(root, name)
    if pointer.is_file():
        return str(pointer)
    if flat_production_path(root).is_file():
        return str(flat_production_path(root))
    raise StageError(
        stage,
        f"no model is in production in the registry '{root}' for the name '{name}'",
        f"run the pipeline ({' '.join(['snakemake --cores 4', options]).strip()}) until a model passes the quality "
        "gate, or point registry.path (and registry.model_name) at the registry and name of your production model",
        str(pointer),
    )


def production(root, name):
    """The production pointer of name ({version, previous, promoted_at}) or None."""
    migrate(root, name)
    path = production_path(root, name)
    return read_json(path) if path.is_file() else None


# promote's default expectation: move production whatever it points at now (tests, tools that decided for
# themselves); deploy_model passes the version its gate compared with instead
UNCHECKED = object()


class ProductionMoved(StageError):
    """Production of a name is no longer the version the caller compared the candidate with (see promote)."""

    def __init__(self, root, name, version, expected, actual, how):
        self.name, self.version, self.expected, self.actual, self.how = name, version, expected, actual, how
        super().__init__(
            "registry",
            f"production of model '{name}' is {shown(actual)}{how}, not {shown(expected)} as the caller expected: "
            f"version {version} was not promoted (it stays registered)",
            "compare the candidate with the current production version again before promoting it",
            str(production_path(root, name)),
        )


def shown(version):
    return version if version else "nothing in production"


def how_it_got_there(root, name, version, expected):
    """' (promoted at <time>)' or ' (put back by a rollback at <time>)', from the newest history event that put
    version in production, naming the version it replaced when that was not `expected` (production moved more
    than once); read while the caller holds the lock; '' when the history does not say."""
    for event in reversed(_history(model_dir(root, name))):
        if event["event"] in ("promoted", "rolled_back") and event["version"] == version:
            how = "promoted" if event["event"] == "promoted" else "put back by a rollback"
            replaced = "" if event.get("previous") == expected else f", replacing {shown(event.get('previous'))}"
            return f" ({how} at {event.get('at')}{replaced})"
    return ""


def promote(root, version, name, expected=UNCHECKED):
    """Point production of name at version (which must be whole); returns the previous production version.

    Compare-and-swap: with `expected` (a version id, or None for "nothing in production") production moves only
    if, under the lock, it still is `expected`, so a version never replaces one it was not compared with (two
    runs sharing a registry both gated against the same production); otherwise ProductionMoved, and nothing
    changes. Production already at `version` passes too: promoting it replaces nothing.
    """
    verified_files(root, version, name)
    with _lock(root):
        current = production(root, name)
        previous = current["version"] if current else None
        pause_point("promote:locked")
        if expected is not UNCHECKED and previous not in (expected, version):
            how = how_it_got_there(root, name, previous, expected)
            raise ProductionMoved(root, name, version, expected, previous, how)
        promoted_at = now_utc()
        write_json({"version": version, "previous": previous, "promoted_at": promoted_at}, production_path(root, name))
        if version != previous:
            _append_history(
                root, name, {"event": "promoted", "version": version, "previous": previous, "at": promoted_at}
            )
    return previous


def best_candidate(candidates, metric_direction):
    """The candidate to promote among several that compete for one name (experiments registering under one
    registry.model_name): the best passed one by the selection metric, a tie going to the experiment name that
    sorts first, so that the choice does not depend on which run finished first; None if none passed.

    candidates: dicts {experiment, version, value (the selection metric), passed};
    metric_direction: "higher" or "lower" (which is better: model_metrics.higher_is_better of the metric).
    """
    if metric_direction not in ("higher", "lower"):
        raise ValueError(f"metric_direction must be 'higher' or 'lower', not {metric_direction!r}")
    sign = -1 if metric_direction == "higher" else 1
    passed = [c for c in candidates if c["passed"]]
    return min(passed, key=lambda c: (sign * c["value"], c["experiment"]), default=None)


def rollback_target(history, current):
    """The version a rollback without a named target goes back to: the newest version promoted before the
    current one that no rollback has moved away from (unless it was put back later); None when there is none."""
    promoted = [event["version"] for event in history if event["event"] == "promoted"]
    abandoned = set()  # rolled back from, and not put back since
    for event in history:
        if event["event"] == "rolled_back":
            abandoned.add(event["previous"])
        if event["event"] in ("promoted", "rolled_back"):
            abandoned.discard(event["version"])
    if current not in promoted:
        return None
    earlier = promoted[: len(promoted) - 1 - promoted[::-1].index(current)]
    for version in reversed(earlier):
        if version != current and version not in abandoned:
            return version
    return None


def rollback(root, name, to=None):
    """Point production of name back at the previous production version (or at version `to`), atomically,
    under the lock, recorded in the history. Returns (new production version, the version it replaced)."""
    migrate(root, name)
    with _lock(root):
        current = production(root, name)
        if current is None:
            raise StageError(
                "rollback_model",
                f"model '{name}' has no production version in {root}: nothing to roll back",
                "run the pipeline until a model passes the gate; names in this registry: "
                + (", ".join(names(root)) or "none"),
                str(production_path(root, name)),
            )
        if to is None:
            to = rollback_target(read_history(root, name), current["version"])
            if to is None:
                raise StageError(
                    "rollback_model",
                    f"model '{name}' has no earlier production version to roll back to "
                    f"(production is {current['version']})",
                    "name the version to go back to (rollback.to, or --to), see snaketrain-history --name " + name,
                    str(production_path(root, name)),
                )
        if to == current["version"]:
            raise StageError(
                "rollback_model",
                f"version {to} of model '{name}' is already in production",
                "name another version (snaketrain-history --name " + name + " lists them)",
                str(production_path(root, name)),
            )
        if PIPELINE_FILE not in verified_files(root, to, name, stage="rollback_model"):
            raise StageError(
                "rollback_model",
                f"version {to} of model '{name}' was registered before models were stored safely (joblib files only), "
                "so nothing could load it",
                "name a version registered since (snaketrain-history --name " + name + " lists them)",
                str(version_dir(root, to, name)),
            )
        at = now_utc()
        write_json({"version": to, "previous": current["version"], "promoted_at": at}, production_path(root, name))
        _append_history(root, name, {"event": "rolled_back", "version": to, "previous": current["version"], "at": at})
    return to, current["version"]


def metadata_path(root, version, name):
    return version_dir(root, version, name) / METADATA


def flat_production_path(root):
    """The production pointer of a registry in the flat layout (before names), which migrate() moves."""
    return Path(root) / PRODUCTION


def metadata(root, version, name):
    path = metadata_path(root, version, name)
    if not path.is_file():
        raise StageError(
            "registry",
            f"version {version} of model '{name}' is not in the registry at {root}",
            "register a model first (run the pipeline), or name a version that snaketrain-history lists",
            str(path),
        )
    return read_json(path)


def verified_files(root, version, name, stage="registry"):
    """{file name: path} of a version's files, after checking each against its recorded sha256."""
    migrate(root, name)
    meta = metadata(root, version, name)
    paths = {}
    for file_name, expected in meta["files"].items():
        path = version_dir(root, version, name) / file_name
        if not path.is_file() or sha256_file(path) != expected:
            raise StageError(
                stage,
                f"file {file_name} of version {version} is missing or was changed after registration (sha256 mismatch)",
                "restore the file from a backup, or register the model again by rerunning the pipeline",
                str(path),
            )
        paths[file_name] = path
    return paths


def add_file(root, version, name, file_name, path):
    """Add a file a registered version lacks (the reference profile of a version registered before profiles):
    copied in atomically, its sha256 recorded in the metadata, under the lock. The version id stays: it names
    the files the version was registered with. Returns False when the version already has the file."""
    with _lock(root):
        meta = metadata(root, version, name)
        if file_name in meta["files"]:
            return False
        target = version_dir(root, version, name) / file_name
        write_bytes(Path(path).read_bytes(), target)
        write_json({**meta, "files": {**meta["files"], file_name: sha256_file(target)}}, target.parent / METADATA)
    return True


# ---- migration from the flat layout (one production slot for everything)


def is_flat(root):
    root = Path(root)
    return any((root / part).exists() for part in ("versions", INDEX, PRODUCTION, HISTORY))


def migrate(root, fallback_name=None):
    """Move a registry in the flat layout under its names; return what was done in one sentence (None if the
    registry needed nothing). Each version goes to the name of the data it was trained on (its recorded
    data.name), else to fallback_name; its history events and the production pointer follow it.

    Safe to repeat after a crash: versions already moved are skipped and events already copied are not added
    again; the flat files are deleted last.
    """
    root = Path(root)
    if not is_flat(root):
        return None
    with _lock(root):
        if not is_flat(root):
            return None
        message = _migrate_locked(root, fallback_name)
    # printed once: the next call finds no flat layout
    print(f"snaketrain: {message}", file=sys.stderr)
    return message


def _flat_name(meta, fallback_name):
    recorded = ((meta.get("config") or {}).get("data") or {}).get("name")
    if isinstance(recorded, str) and NAME_PATTERN.fullmatch(recorded):
        return recorded
    if fallback_name is None:
        raise StageError(
            "registry",
            f"a version in the flat registry layout records no model name ({meta.get('version')})",
            "run the pipeline once, so that it moves the registry under the configured registry.model_name",
            f"versions/{meta.get('version')}",
        )
    return check_name(fallback_name)


def _migrate_locked(root, fallback_name):
    flat_versions = root / "versions"
    owner = {}
    for folder in sorted(flat_versions.iterdir()) if flat_versions.is_dir() else []:
        if folder.name.startswith(".tmp-"):
            continue  # a staging folder left by a kill: never read
        meta_path = folder / METADATA
        if meta_path.is_file():
            owner[folder.name] = _flat_name(read_json(meta_path), fallback_name)
    # versions already moved by an interrupted migration keep their name
    for name in names_on_disk(root):
        for folder in (root / MODELS / name / "versions").glob("*"):
            owner.setdefault(folder.name, name)
    index = read_json(root / INDEX)["versions"] if (root / INDEX).is_file() else {}
    history = _history(root)
    pointer = read_json(root / PRODUCTION) if (root / PRODUCTION).is_file() else None
    moved = {}
    for name in sorted(set(owner.values())):
        mine = {v for v, n in owner.items() if n == name}
        folder = root / MODELS / name
        (folder / "versions").mkdir(parents=True, exist_ok=True)
        own_index = read_json(folder / INDEX) if (folder / INDEX).is_file() else {"versions": {}}
        for version in sorted(mine & set(index)):
            own_index["versions"].setdefault(version, index[version])
        write_json(own_index, folder / INDEX)
        existing = set(map(_line, _history(folder))) if (folder / HISTORY).is_file() else set()
        events = [e for e in history if e.get("version") in mine and _line(e) not in existing]
        if events:
            _append_history(root, name, *events)
        if pointer and pointer["version"] in mine and not (folder / PRODUCTION).is_file():
            write_json(pointer, folder / PRODUCTION)
        for version in sorted(mine):
            source, target = flat_versions / version, folder / "versions" / version
            if source.is_dir() and not target.exists():
                meta = read_json(source / METADATA)
                write_json({**meta, "name": name}, source / METADATA)
                os.rename(source, target)
            elif source.is_dir():
                shutil.rmtree(source)
        moved[name] = len(mine)
    for part in (INDEX, PRODUCTION, HISTORY):
        (root / part).unlink(missing_ok=True)
    if flat_versions.is_dir():
        shutil.rmtree(flat_versions)  # only staging leftovers remain
    summary = ", ".join(f"{count} version(s) under '{name}'" for name, count in sorted(moved.items())) or "no versions"
    return (
        f"moved the registry {root} from the flat layout (one production slot) to named models: {summary}, "
        f"in {root / MODELS}/<name>/"
    )


def names_on_disk(root):
    folder = Path(root) / MODELS
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _line(event):
    return json.dumps(event, sort_keys=True, separators=(",", ":"))
