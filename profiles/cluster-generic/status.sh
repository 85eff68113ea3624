#!/usr/bin/env bash
# Job status for snakemake-executor-plugin-cluster-generic: prints running, success or failed for the
# SLURM job id in $1. Asks slurmctld first (scontrol: jobs stay visible there for MinJobAge after they end),
# then accounting (sacct) for older jobs.
# SGE: map `qstat -j $1` (exists -> running) and `qacct -j $1` (exit_status 0 -> success, else failed).
# PBS: map `qstat -fx $1` job_state (Q/R/H -> running) and Exit_status (0 -> success, else failed).
jobid="$1"
out=$(scontrol show job -o "$jobid" 2>&1)
state=$(printf '%s' "$out" | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2)
if [ -z "$state" ]; then
  state=$(sacct -n -X -P -j "$jobid" -o State 2>/dev/null | head -1 | awk '{print $1}')
  # unknown to slurmctld and to accounting: the job is gone, call it failed; other errors: keep waiting
  if [ -z "$state" ] && printf '%s' "$out" | grep -qi 'invalid job id'; then echo failed; exit 0; fi
fi
case "$state" in
  COMPLETED) echo success ;;
  PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|RESIZING|SIGNALING|STAGE_OUT|STOPPED|PREEMPTED|"") echo running ;;
  *) echo failed ;;
esac
