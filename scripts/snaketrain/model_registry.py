"""The model registry: content-addressed versions, an index, and a production pointer.

Layout under the registry root:
  versions/<id>/            model.joblib, preprocessor.joblib, metadata.json (with each file's sha256)
  index.json                every version with its metrics and registration time
  production.json           the version in production
  history.jsonl             append-only log, one JSON object a line: each registration (with its
                            metrics) and each promotion, oldest first
  .lock                     serialises index and pointer updates across processes

A version is assembled in a temporary folder and renamed into place, so it is whole or absent. The
index and the pointer are replaced atomically while the lock is held. Standard library only (plus
filelock), so that light stages start fast.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from snaketrain.stage_log import StageError, pause_point
from snaketrain.table_io import read_json, sha256_file, write_bytes, write_json

LOCK_TIMEOUT_S = 120
METADATA = "metadata.json"
HISTORY = "history.jsonl"


def _lock(root):
    from filelock import FileLock

    Path(root).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(root) / ".lock"), timeout=LOCK_TIMEOUT_S)


def now_utc():
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def version_id(file_hashes):
    """The id of a version: a digest of its files' names and contents."""
    digest = hashlib.sha256()
    for name in sorted(file_hashes):
        digest.update(f"{name}\0{file_hashes[name]}\n".encode())
    return digest.hexdigest()[:16]


def version_dir(root, version):
    return Path(root) / "versions" / version


def publish(root, files, metadata):
    """Add a version holding files ({name: path}) and metadata; return (id, created)."""
    hashes = {name: sha256_file(path) for name, path in files.items()}
    version = version_id(hashes)
    final = version_dir(root, version)
    created = False
    if not (final / METADATA).is_file():
        staging = final.parent / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            for name, path in files.items():
                shutil.copyfile(path, staging / name)
            write_json({**metadata, "version": version, "files": hashes}, staging / METADATA)
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
        index = read_index(root)
        if version not in index["versions"]:
            entry = {
                "registered_at": now_utc(),
                "model": metadata.get("model"),
                "metrics": metadata.get("metrics", {}),
            }
            index["versions"][version] = entry
            write_json(index, Path(root) / "index.json")
            _append_history(root, {"event": "registered", "version": version, "task": metadata.get("task"), **entry})
    return version, created


def _append_history(root, event):
    """Add one line to the history; the caller holds the lock.

    The file is rewritten whole (old bytes + the new line) through a temporary file and os.replace, so a
    crash leaves the old history or the new one, never a torn line; earlier lines are never changed.
    """
    path = Path(root) / HISTORY
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    line = json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n"
    write_bytes(old + line.encode("utf-8"), path)


def read_history(root):
    """Every history event, oldest first. A registry made before the history existed is read from its index."""
    path = Path(root) / HISTORY
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    versions = read_index(root)["versions"]
    ordered = sorted(versions.items(), key=lambda item: (item[1].get("registered_at") or "", item[0]))
    return [{"event": "registered", "version": version, **entry} for version, entry in ordered]


def registered_versions(root):
    """One entry per registered version (version, model, registered_at, metrics), oldest first."""
    return [event for event in read_history(root) if event["event"] == "registered"]


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_index(root):
    path = Path(root) / "index.json"
    return read_json(path) if path.is_file() else {"versions": {}}


def production_path(root, name=None):
    """The file that points at the production version (of a registered model name, once names exist).

    The model service watches this file to follow promotions and rollbacks.
    """
    return Path(root) / "production.json"


def production(root, name=None):
    """The production pointer ({version, promoted_at, previous}) or None."""
    path = production_path(root, name)
    return read_json(path) if path.is_file() else None


def promote(root, version):
    """Point production at version (which must be whole); returns the previous production version."""
    verified_files(root, version)
    with _lock(root):
        current = production(root)
        previous = current["version"] if current else None
        pause_point("promote:locked")
        promoted_at = now_utc()
        write_json(
            {"version": version, "previous": previous, "promoted_at": promoted_at}, Path(root) / "production.json"
        )
        if version != previous:
            _append_history(root, {"event": "promoted", "version": version, "previous": previous, "at": promoted_at})
    return previous


def metadata(root, version):
    path = version_dir(root, version) / METADATA
    if not path.is_file():
        raise StageError(
            "registry",
            f"version {version} is not in the registry at {root}",
            "register a model first (run the pipeline)",
            str(path),
        )
    return read_json(path)


def verified_files(root, version):
    """{name: path} of a version's files, after checking each against its recorded sha256."""
    meta = metadata(root, version)
    paths = {}
    for name, expected in meta["files"].items():
        path = version_dir(root, version) / name
        if not path.is_file() or sha256_file(path) != expected:
            raise StageError(
                "registry",
                f"file {name} of version {version} is missing or was changed after registration (sha256 mismatch)",
                "restore the file from a backup, or register the model again by rerunning the pipeline",
                str(path),
            )
        paths[name] = path
    return paths
