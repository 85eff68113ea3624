"""Resource functions for the rules' `resources:` (Snakemake calls them with the job's wildcards, attempt, threads)."""


def memory_mb(base):
    """Memory that grows with each retry of a job that ran out of it: base, 2 x base, 3 x base ..."""

    def grow(wildcards, attempt):
        return base * attempt

    return grow


def cpus_per_task(wildcards, threads):
    """The CPUs a cluster job asks for (sbatch --cpus-per-task) follow the rule's threads."""
    return threads
