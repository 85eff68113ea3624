"""The rules' resource functions: memory grows with each retry, cluster CPUs follow threads."""

from snaketrain.orchestration.job_resources import cpus_per_task, memory_mb


def test_memory_grows_with_each_attempt():
    grow = memory_mb(2000)
    assert [grow({}, attempt) for attempt in (1, 2, 3)] == [2000, 4000, 6000]


def test_cpus_follow_the_rules_threads():
    assert cpus_per_task({}, threads=4) == 4
