"""How a stage reports: its own log file, and one error type that names stage, cause and fix.

Jobs may run as threads of one Snakemake process (the local profile uses --force-use-threads), so
each job gets its own logger object with its own file handler; nothing is attached to the root logger.
"""

import logging
import os
import re
import time
from pathlib import Path

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


class stage_logging:  # noqa: N801 - used like the function it replaced: `with stage_logging(...) as logger`
    """Log to log_path for the duration of one job; record errors there before re-raising them.

    A StageError leaves with its traceback cut to the job's entry point: Snakemake prints an
    exception's traceback after its message, and for a problem in the user's data or config the
    message (stage, cause, where, fix) is all the user needs; the full story is in the log.
    """

    def __init__(self, log_path, stage):
        self.log_path, self.stage = Path(log_path), stage

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.logger = logging.getLogger(f"snaketrain.{self.stage}.{self.log_path}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.handler = logging.FileHandler(self.log_path, mode="w", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter(LOG_FORMAT))
        self.logger.addHandler(self.handler)
        self.started = time.perf_counter()
        pause_point(f"start:{self.stage}")
        return self.logger

    def __exit__(self, kind, error, traceback):
        try:
            if isinstance(error, StageError):
                self.logger.error("%s", error)
                error.with_traceback(None)
            elif error is not None and isinstance(error, Exception):
                self.logger.error("%s failed unexpectedly", self.stage, exc_info=(kind, error, traceback))
            self.logger.info("%s took %.2f s", self.stage, time.perf_counter() - self.started)
        finally:
            self.logger.removeHandler(self.handler)
            self.handler.close()
        return False


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
