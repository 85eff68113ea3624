"""Following production: the version being served for one registered name, swapped when the pointer moves.

A background task per name looks at its production pointer; a newly promoted (or rolled back) version is loaded
and sha256-verified off the request path and swapped in with one reference assignment, so requests already running
finish on the version they started with. A version that does not load or verify is refused: the old one keeps
serving, and /metadata and the log say why.
"""

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from snaketrain.registry import inference
from snaketrain.registry import model_registry as registry
from snaketrain.serving import fast_path
from snaketrain.serving.conversion import date_formats
from snaketrain.serving.payloads import positional_columns
from snaketrain.stage_log import StageError

STAGE = "serve"
VERSION_HEADER = b"x-model-version"
NAME_HEADER = b"x-model-name"
CHECK_ROWS_FILE = "check_rows.parquet"

# one logger for the whole service (what its operators filter on)
logger = logging.getLogger("snaketrain.serving.service")


@dataclass(frozen=True)
class Served:
    """One loaded, verified version and its predictor; requests hold the one they started with."""

    loaded: object
    predictor: object
    loaded_at: str
    positional: list  # the column order of rows sent as bare lists
    dates: dict  # {date column a request sends: its format}, checked on rows the fast path does not take

    @property
    def version(self):
        return self.loaded.version

    @property
    def header(self):
        return (VERSION_HEADER, self.version.encode())


def served(loaded, predictor):
    """The Served of a loaded version, stamped now."""
    # with feature code, the preprocessor's date columns are what the code gives, not what a request sends
    dates = date_formats(loaded) if loaded.features is None else {}
    return Served(loaded, predictor, registry.now_utc(), positional_columns(loaded), dates)


class Follower:
    """Holds the version being served and follows the production pointer of one registered name."""

    def __init__(self, root, name=None, engine="auto"):
        self.root, self.name, self.engine = Path(root), name, engine
        self.name_header = (NAME_HEADER, (name or "").encode())
        self.current = None
        self.refused = None
        self._seen = ()

    @property
    def version(self):
        return self.current.version if self.current else None

    async def follow(self, poll_seconds):
        while True:
            try:
                # a stat is cheap enough for the event loop; loading a moved pointer's version is not
                if self._pointer_key() != self._seen:
                    await asyncio.to_thread(self.refresh)
            except Exception:  # never let the watcher die: the next poll tries again
                logger.exception("looking at the production pointer failed")
            await asyncio.sleep(poll_seconds)

    def refresh(self):
        """Load the production version if the pointer moved since the last look; True when a new version was
        swapped in. Runs off the event loop (loading and verifying takes a while)."""
        version = self._moved_to()
        if version is None:
            return False
        new = self._load(version)
        if new is None:
            return False
        self._swap(new)
        return True

    def _pointer_key(self):
        try:
            stat = os.stat(registry.production_path(self.root, self.name))
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _moved_to(self):
        """The version the pointer names when it moved since the last look to another version than the one
        served, else None."""
        key = self._pointer_key()
        if key == self._seen:
            return None
        self._seen = key
        if key is None:
            return None
        try:
            pointer = registry.production(self.root, self.name)
        except (OSError, ValueError):  # a pointer being replaced right now: look again next time
            self._seen = ()
            return None
        version = pointer and pointer.get("version")
        if not version or (self.current and self.current.version == version):
            return None
        return version

    def _load(self, version):
        """The production version loaded, verified and with its predictor; None when it is refused (the reason in
        .refused and the log)."""
        try:
            loaded = inference.load_production(self.root, self.name, stage=STAGE)
            predictor = fast_path.build(loaded, self.engine, check_rows(self.root, version, self.name))
        except Exception as error:  # whatever breaks a load, the old version keeps serving
            self.refused = {"version": version, "reason": _reason(error, self.root), "at": registry.now_utc()}
            logger.error("refused version %s, still serving %s: %s", version, self.version, self.refused["reason"])
            return None
        return served(loaded, predictor)

    def _swap(self, new):
        previous = self.version
        # one reference assignment: requests that started earlier keep the Served they hold
        self.current = new
        if self.refused and self.refused["version"] != new.version:
            self.refused = None
        predictor = new.predictor
        logger.info(
            "serving version %s of %s (was %s) with %s%s",
            new.version,
            self.name,
            previous,
            predictor.engine,
            f" ({predictor.fallback_reason})" if predictor.fallback_reason else "",
        )


def _reason(error, root):
    """Why a version was refused, for /metadata and the log: the problem and the fix, no file path."""
    if isinstance(error, StageError):
        text = f"{error.problem}; fix: {error.fix}"
    else:
        text = f"its files do not load ({type(error).__name__})"
    return text.replace(str(Path(root).resolve()), "the registry").replace(str(root), "the registry")


def check_rows(root, version, name):
    """The rows a version's fast path is checked on besides the probe rows: its test split (CHECK_ROWS_FILE, when
    registration stored one), else the input example of its MLflow directory (the mirror's), else none. Used to
    check a conversion only, never to predict: a file that does not read just means fewer rows checked."""
    import pandas as pd

    folder = registry.version_dir(root, version, name)
    try:
        if (folder / CHECK_ROWS_FILE).is_file():
            return pd.read_parquet(folder / CHECK_ROWS_FILE)
        example = folder / "mlflow" / "input_example.json"
        if example.is_file():
            split = json.loads(example.read_text(encoding="utf-8"))
            return pd.DataFrame(split["data"], columns=split["columns"])
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("the check rows of version %s of %s do not read; checking on probe rows only", version, name)
    return None
