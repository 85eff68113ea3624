"""How a stage reports: its own log file, and one error type that names stage, cause and fix.

Jobs may run as threads of one Snakemake process (the local profile uses --force-use-threads), so
each job gets its own logger object with its own file handler; nothing is attached to the root logger.
"""

import logging
import time
from contextlib import contextmanager
from pathlib import Path


class StageError(Exception):
    """A problem in the user's data, config or environment, explained for the user."""

    def __init__(self, stage, problem, fix, where=None):
        self.stage, self.problem, self.fix, self.where = stage, problem, fix, where
        lines = [f"[{stage}] {problem}"]
        if where:
            lines.append(f"  where: {where}")
        lines.append(f"  fix: {fix}")
        super().__init__("\n".join(lines))


@contextmanager
def stage_logging(log_path, stage):
    """Log to log_path for the duration of one job; record errors there before re-raising them."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"snaketrain.{stage}.{log_path}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    started = time.perf_counter()
    try:
        yield logger
    except StageError as error:
        logger.error("%s", error)
        raise
    except Exception:
        logger.exception("%s failed unexpectedly", stage)
        raise
    finally:
        logger.info("%s took %.2f s", stage, time.perf_counter() - started)
        logger.removeHandler(handler)
        handler.close()
