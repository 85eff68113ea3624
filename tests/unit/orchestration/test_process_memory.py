import platform
from types import SimpleNamespace

from snaketrain.orchestration.process_memory import arena_count, malloc_arena_per_core, run_cores


def test_one_arena_per_core_of_the_run_within_the_machines_cores():
    assert arena_count(2, 8) == 2
    assert arena_count(10**9, 8) == 8  # a cluster run's job count is no local core count
    assert arena_count(None, 8) == 8  # no --cores


def test_a_run_without_a_core_count_is_asked_without_failing():
    class ClusterRun:
        @property
        def cores(self):
            raise RuntimeError("Workflow requires a total number of cores to be defined")

    assert run_cores(ClusterRun()) is None and run_cores(SimpleNamespace(cores=2)) == 2


def test_the_arenas_are_set_where_glibc_allocates_and_nowhere_else():
    assert malloc_arena_per_core(SimpleNamespace(cores=2)) is (platform.libc_ver()[0] == "glibc")
