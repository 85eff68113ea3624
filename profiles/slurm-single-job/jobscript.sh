#!/bin/sh
# properties = {properties}
# Snakemake's default job script ({exec_job}: cd, then snakemake for the group's steps), with one change:
# --force-use-threads is added to that snakemake command, so that the run: blocks of the steps execute as
# threads of that one process, as in a local run (profiles/local), instead of one new snakemake process per
# step (2-3 s each). Snakemake leaves the flag out for group jobs only because pipe and service groups need
# a process per job; this workflow has neither. Should the command ever lack " --mode ", nothing is added
# and the steps run as processes: slower, same results.
exec_job=$(cat <<'SNAKETRAIN_EXEC_JOB'
{exec_job}
SNAKETRAIN_EXEC_JOB
)
eval "$(printf '%s\n' "$exec_job" | sed 's/ --mode / --force-use-threads --mode /')"
