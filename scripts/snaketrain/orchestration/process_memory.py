"""The memory of the Snakemake process, where local jobs run as threads (`run:` blocks).

glibc's malloc gives threads arenas of their own (up to eight per core), and memory a job frees in one arena is not
reused by the next job on another thread: the process keeps about a job's working set per arena. One arena per core
the run is given lets each job reuse what the previous ones freed while jobs running side by side still allocate
without waiting on each other. Measured (bench/README.md, "Where the memory goes"): the 10k-row run's peak 376-385 MB
with glibc's default, 351-356 MB with one arena per core (2), 339 MB with a single arena, which made flights_delay's
run 14 % slower (its two LightGBM jobs and their threads waiting on one lock); one per core was as fast as the
default. Other C libraries (macOS, musl) are left as they are.
"""

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h


def arena_count(cores, cpus):
    """One arena per core the run is given, at most the machine's cores (a cluster run's count is not local); the
    machine's cores when the run names none."""
    cpus = cpus or 1
    return max(1, min(int(cores), cpus)) if cores else cpus


def run_cores(workflow):
    """--cores of this run, or None (a cluster run may give none: Snakemake's property then raises)."""
    try:
        return workflow.cores
    except Exception:  # noqa: BLE001 - snakemake.exceptions.WorkflowError, without importing Snakemake here
        return None


def malloc_arena_per_core(workflow):
    """Ask glibc's malloc for at most one arena per core of the run; True when set, False where there is no such
    setting."""
    try:
        return ctypes.CDLL(None).mallopt(M_ARENA_MAX, arena_count(run_cores(workflow), os.cpu_count())) == 1
    except (AttributeError, OSError, TypeError):
        return False
