"""The model registry: content-addressed versions, an index, and a production pointer.

Layout under the registry root:
  versions/<id>/            model.joblib, preprocessor.joblib, metadata.json (with each file's sha256)
  index.json                every version with its metrics and registration time
  production.json           the version in production
  .lock                     serialises index and pointer updates across processes

A version is assembled in a temporary folder and renamed into place, so it is whole or absent. The
index and the pointer are replaced atomically while the lock is held. Standard library only (plus
filelock), so that light stages start fast.
"""

import datetime as dt
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from stage_log import StageError, pause_point
from table_io import read_json, sha256_file, write_json

LOCK_TIMEOUT_S = 120
METADATA = "metadata.json"


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
            index["versions"][version] = {
                "registered_at": now_utc(),
                "model": metadata.get("model"),
                "metrics": metadata.get("metrics", {}),
            }
            write_json(index, Path(root) / "index.json")
    return version, created


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_index(root):
    path = Path(root) / "index.json"
    return read_json(path) if path.is_file() else {"versions": {}}


def production(root):
    """The production pointer ({version, promoted_at, previous}) or None."""
    path = Path(root) / "production.json"
    return read_json(path) if path.is_file() else None


def promote(root, version):
    """Point production at version (which must be whole); returns the previous production version."""
    verified_files(root, version)
    with _lock(root):
        current = production(root)
        previous = current["version"] if current else None
        pause_point("promote:locked")
        write_json({"version": version, "previous": previous, "promoted_at": now_utc()}, Path(root) / "production.json")
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
