"""The memory of the Snakemake process, where local jobs run as threads (`run:` blocks).

glibc's malloc gives each thread its own arena (up to eight per core), and memory a job frees in one arena is not
reused by the next job on another thread: the process keeps about a job's working set per thread. With one arena
shared by all threads each job reuses what the previous ones freed (bench/README.md, "Where the memory goes": the
10k-row run's peak 378 MB -> 338 MB, the same wall time). Other C libraries (macOS, musl) are left as they are.
"""

import ctypes

M_ARENA_MAX = -8  # glibc's malloc.h


def share_one_malloc_arena():
    """Ask glibc's malloc for one arena for every thread; True when set, False where there is no such setting."""
    try:
        return ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1) == 1
    except (AttributeError, OSError, TypeError):
        return False
