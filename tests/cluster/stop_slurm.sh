#!/usr/bin/env bash
# stop_slurm.sh - stop the single-node SLURM cluster started by tests/cluster/start_slurm.sh (.ci/run calls it
# on exit, also after failed tests).
# Kills exactly the PIDs recorded in the daemons' pid files (no pkill/killall), in reverse start order.
# Usage: bash stop_slurm.sh           # stop daemons, keep state (job ids, accounting DB)
#        SLURM_PURGE_STATE=1 bash stop_slurm.sh   # also wipe slurmctld/slurmd state + logs (DB kept)
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "stop_slurm: must run as root" >&2; exit 1; }

# stop_pid PIDFILE NAME : TERM the pid in PIDFILE if its comm starts with NAME; wait; KILL after 30s
stop_pid() {
  local f="$1" name="$2" pid comm
  if [ ! -s "$f" ]; then echo "stop_slurm: $name: no pid file ($f)"; return 0; fi
  pid=$(tr -dc '0-9' < "$f")
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  case "$comm" in
    "$name"*) ;;
    *) echo "stop_slurm: $name: pid $pid not running (stale $f)"; rm -f "$f"; return 0 ;;
  esac
  local t0=$(date +%s%N)
  kill -TERM "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop_slurm: $name (pid $pid) ignored SIGTERM for 30s, sending SIGKILL"
    kill -KILL "$pid"; sleep 0.5
  fi
  rm -f "$f"
  echo "stop_slurm: stopped $name (pid $pid) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# cancel jobs still queued/running so no slurmstepd outlives slurmd
if [ -s /run/slurmctld.pid ] && command -v squeue >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    echo "stop_slurm: cancelling jobs: $(echo $jobs)"
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 40); do [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.25; done
  fi
fi

stop_pid /run/slurmd.pid       slurmd
stop_pid /run/slurmctld.pid    slurmctld
stop_pid /run/slurmdbd.pid     slurmdbd
stop_pid /run/mysqld/mysqld.pid mariadbd
stop_pid /run/munge/munged.pid munged

if [ "${SLURM_PURGE_STATE:-0}" = 1 ]; then
  rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/* /var/log/slurm/*.log
  echo "stop_slurm: purged slurm state and logs"
fi
echo "stop_slurm: done"
