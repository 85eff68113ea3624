"""Tables and atomic writes: every artifact reaches its final name whole or not at all.

A write goes to a temporary file in the destination folder, is flushed to disk, then renamed over the
final name with os.replace, which is atomic on POSIX file systems. The temporary file is created as open() creates a
file (mode 0o666 less the umask), so the final file gets the mode a plain write would give it: a registry or results
folder shared by a team, a service or a scheduled job running as another user stays readable under umask 0022.
pandas is imported only by the table functions, so light stages can use the JSON and hashing helpers without
paying for it.
"""

import hashlib
import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final_path):
    """Yield a temporary path beside final_path; on success move it into place, on failure remove it."""
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file(final_path.parent, f".{final_path.name}.", ".tmp")
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file(folder, prefix, suffix):
    """Create an empty file with a fresh name in folder, mode 0o666 less the umask (as open() would; mkstemp's
    0o600 would survive the rename), exclusively, so that no other writer shares it."""
    while True:
        path = Path(folder, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path


def write_bytes(data, path):
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def dumps_json(obj):
    """Canonical JSON: sorted keys and a fixed layout, so equal content gives equal bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_json(obj, path):
    write_bytes(dumps_json(obj).encode("utf-8"), path)


def read_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _json_default(value):
    # numpy scalars and arrays reach JSON from metrics and search results
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_table(df, path):
    # LZ4: these tables are read again by the next jobs; zstd took 0.76 s to read 1M x 21 floats, LZ4 0.15 s
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="lz4")
    release_arrow_memory()


def write_csv(df, path):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def read_table(path, columns=None):
    import pandas as pd

    frame = pd.read_parquet(path, columns=columns, engine="pyarrow")
    release_arrow_memory()
    return frame


def release_arrow_memory():
    """Give the memory of Arrow's intermediate tables back to the system.

    Arrow's allocator (mimalloc) keeps freed buffers for reuse, so after reading or writing a table the process
    holds a second copy's worth of memory it no longer uses; with jobs running as threads of one Snakemake process
    that idle memory adds to every later job's peak (about 300 MB per 800,000 x 21 table, bench/README.md).
    """
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def write_joblib(obj, path):
    import joblib

    with atomic_path(path) as tmp:
        joblib.dump(obj, tmp, compress=3)


def read_joblib(path):
    import joblib

    return joblib.load(path)


def sha256_file(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
