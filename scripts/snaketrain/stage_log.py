"""How a stage reports: its own log file, and one error type that names stage, cause and fix.

Jobs may run as threads of one Snakemake process (the local profile uses --force-use-threads), so
each job gets its own logger object with its own file handler; nothing is attached to the root logger.
"""

import logging
import os
import re
import time
from contextlib import suppress
from pathlib import Path
from traceback import format_exception

# Test hook, off unless the variable is set: a stage that reaches the named point waits there (see
# pause_point), so that tests can kill a run at a known moment. docs/guarantees.md lists the points.
PAUSE_ENV = "SNAKETRAIN_PAUSE_AT"
PAUSE_MARKER_ENV = "SNAKETRAIN_PAUSE_MARKER"
PAUSE_MAX_S = 600


class StageError(Exception):
    """A problem in the user's data, config or environment, explained for the user."""

    def __init__(self, stage, problem, fix, where=None):
        self.stage, self.problem, self.fix, self.where = stage, problem, fix, where
        lines = [f"[{stage}] {problem}"]
        if where:
            lines.append(f"  where: {where}")
        lines.append(f"  fix: {fix}")
        super().__init__("\n".join(lines))


class ConfigError(StageError):
    """A config value the schema or the estimator catalogue rejects; raised before any job runs."""

    def __init__(self, problem, fix, where=None):
        super().__init__("config", problem, fix, where)


# a stage log line: "2026-01-31 12:00:00,123 LEVEL message"
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} [\d:,]+ (\w+) (.*)$")


def first_error(log_text):
    """The first error a stage logged, as its lines: "[stage] problem" (or "<stage> failed unexpectedly")
    and the indented where/fix lines under it; None if the log holds none.

    The one reader of the format stage_logging writes: the failure summary and the run-failed alert use it.
    """
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        match = LOG_LINE.match(line)
        if not match or match.group(1) not in ("ERROR", "CRITICAL"):
            continue
        message = match.group(2)
        if not (message.startswith("[") or message.endswith("failed unexpectedly")):
            continue  # other errors a stage logs (an undelivered webhook) are not why it failed
        block = [message]
        for follow in lines[index + 1 :]:
            if not follow.startswith("  ") or follow.startswith("  File "):
                break
            block.append(follow)
        return block
    return None


# Library errors whose cause is known, by a phrase of their message: the fix shown with the stage's explanation.
KNOWN_FIXES = (
    (
        "contains infinity",
        "the data holds infinite or overflowing numbers: find them in the validation report "
        "(infinite_values check), then clean them or set validation.infinite: missing",
    ),
    ("contains nan", "the data holds missing values where none are allowed: fill them or drop the column"),
    ("cannot be greater than the number of members in each class", "lower tuning.cv, or supply more rows"),
    ("least populated class", "supply more rows of the rare classes, or set split.stratify: false"),
    ("no space left on device", "free disk space, then run the same command again"),
    ("permission denied", "check that you may write to the project folder and the registry"),
    ("could not convert string to float", "declare the column as text (validation.dtypes: {<column>: categorical})"),
)
GENERIC_FIX = (
    "this is not a problem snaketrain knows how to explain: read the traceback file; if your data and config "
    "look right, report it with that file"
)
# Test hook, off unless the variable is set: the named stage raises an unexpected error as it starts, so that
# tests can check what a user sees when a library fails inside a stage.
FAULT_ENV = "SNAKETRAIN_FAULT_AT"


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def known_fix(message):
    lowered = message.lower()
    return next((fix for phrase, fix in KNOWN_FIXES if phrase in lowered), GENERIC_FIX)


def _origin(traceback):
    """The top-level package in whose code the error was raised (sklearn, pandas, ...), or None."""
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    name = traceback.tb_frame.f_globals.get("__name__", "") if traceback is not None else ""
    return name.split(".")[0] or None


def _describe(inputs):
    if inputs is None:
        return None
    if isinstance(inputs, str | Path):
        return str(inputs)
    return ", ".join(map(str, inputs)) or None


def explain_unexpected(stage, error, traceback_path, inputs=None):
    """A StageError for an exception no stage code foresaw: its class and message, the input, where the traceback is."""
    message = one_line(error) or "(no message)"
    origin = _origin(error.__traceback__)
    source = f" in {origin}" if origin and origin not in ("snaketrain", "builtins") else ""
    problem = f"unexpected {type(error).__name__}{source}: {message}\n  the full traceback is in {traceback_path}"
    return StageError(stage, problem, known_fix(message), _describe(inputs))


class stage_logging:  # noqa: N801 - used like the function it replaced: `with stage_logging(...) as logger`
    """Log to log_path for the duration of one job; record errors there before re-raising them.

    A StageError leaves with its traceback cut to the job's entry point: Snakemake prints an
    exception's traceback after its message, and for a problem in the user's data or config the
    message (stage, cause, where, fix) is all the user needs; the full story is in the log.

    Any other exception becomes a StageError here, at the stage boundary, so that the terminal never shows a
    Python traceback: its message names the library's error, the job's inputs (inputs) and the file that holds
    the full traceback (next to the log, <log name>.traceback.txt: the log itself is printed on the terminal
    when a job fails).
    """

    def __init__(self, log_path, stage, inputs=None):
        self.log_path, self.stage, self.inputs = Path(log_path), stage, inputs
        self.traceback_path = self.log_path.with_name(self.log_path.stem + ".traceback.txt")

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.traceback_path.unlink(missing_ok=True)  # from an earlier failure of this job
        self.logger = logging.getLogger(f"snaketrain.{self.stage}.{self.log_path}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.handler = logging.FileHandler(self.log_path, mode="w", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter(LOG_FORMAT))
        self.logger.addHandler(self.handler)
        self.started = time.perf_counter()
        pause_point(f"start:{self.stage}")
        if os.environ.get(FAULT_ENV) == self.stage:
            try:
                _injected_fault(self.stage)
            except ValueError as error:
                self.__exit__(ValueError, error, error.__traceback__)
        return self.logger

    def __exit__(self, kind, error, traceback):
        converted = None
        try:
            if error is not None and isinstance(error, Exception) and not isinstance(error, StageError):
                # a full disk, say, must not hide the explanation: that matters more than the traceback file
                with suppress(OSError):
                    self.traceback_path.write_text("".join(format_exception(kind, error, traceback)), encoding="utf-8")
                converted = explain_unexpected(self.stage, error, self.traceback_path, self.inputs)
                error = converted
            if isinstance(error, StageError):
                self.logger.error("%s", error)
                error.with_traceback(None)
                # the onerror summary shows it with this path; the terminal needs it once (snakemake_patches)
                error.logged_to = str(self.log_path)
            self.logger.info("%s took %.2f s", self.stage, time.perf_counter() - self.started)
        finally:
            self.logger.removeHandler(self.handler)
            self.handler.close()
        if converted is not None:
            raise converted from None
        return False


def _injected_fault(stage):
    raise ValueError(f"fault injected by {FAULT_ENV}={stage} (a test hook)")


def pause_point(point):
    """Test hook: wait here while SNAKETRAIN_PAUSE_AT names this point (never set in normal use).

    The stage writes the point's name to the file named by SNAKETRAIN_PAUSE_MARKER (if set) and waits
    until a test deletes that file or kills the run; without a marker it waits PAUSE_MAX_S seconds.
    """
    if os.environ.get(PAUSE_ENV) != point:
        return
    marker = os.environ.get(PAUSE_MARKER_ENV)
    deadline = time.monotonic() + PAUSE_MAX_S
    if marker:
        Path(marker).write_text(point)
    while time.monotonic() < deadline:
        if marker and not Path(marker).exists():
            return
        time.sleep(0.05)
