import platform

from snaketrain.orchestration.process_memory import share_one_malloc_arena


def test_one_arena_is_set_where_glibc_allocates_and_nowhere_else():
    assert share_one_malloc_arena() is (platform.libc_ver()[0] == "glibc")
