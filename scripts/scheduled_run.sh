#!/usr/bin/env bash
# Run the pipeline on a schedule (cron, systemd timer): never two runs at once, a log per run, and an
# exit status that means something to the scheduler.
#
#   scripts/scheduled_run.sh                  # snakemake --cores 4 in the project folder
#   scripts/scheduled_run.sh --cores 8 --configfile config/churn.yaml
#
# Exit status: 0 when the run succeeded, had nothing to do, or was skipped because another run still
# holds the lock; otherwise snakemake's own non-zero status (the run failed; the onerror hook has
# already sent the alert). A failed quality gate is a successful run: the alert goes to the webhook.
#
# Environment (all optional):
#   SNAKETRAIN_DIR        project folder (default: the folder above this script)
#   SNAKETRAIN_LOCK       lock file (default: <project>/.snakemake/scheduled_run.lock)
#   SNAKETRAIN_SNAKEMAKE  the snakemake command (default: <project>/.venv/bin/snakemake, else snakemake)
set -uo pipefail

project="${SNAKETRAIN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$project" || { echo "scheduled_run: cannot enter $project" >&2; exit 2; }

lock="${SNAKETRAIN_LOCK:-$project/.snakemake/scheduled_run.lock}"
mkdir -p "$(dirname "$lock")" logs/scheduled_run

if [[ -n "${SNAKETRAIN_SNAKEMAKE:-}" ]]; then
    read -r -a snakemake_cmd <<<"$SNAKETRAIN_SNAKEMAKE"
elif [[ -x .venv/bin/snakemake ]]; then
    snakemake_cmd=(.venv/bin/snakemake)
else
    snakemake_cmd=(snakemake)
fi
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--cores 4)

# fd 9 holds the lock for as long as this script (and the snakemake it starts) runs; the kernel
# releases it when the process ends, even after kill -9, so a crash never leaves a stale lock.
exec 9>>"$lock"
if ! flock --nonblock 9; then
    echo "scheduled_run: $(date -u +%FT%TZ) another run holds $lock; skipping this one"
    exit 0
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
log="logs/scheduled_run/$stamp.log"
echo "scheduled_run: $(date -u +%FT%TZ) starting: ${snakemake_cmd[*]} ${args[*]} (log: $project/$log)"
"${snakemake_cmd[@]}" "${args[@]}" >"$log" 2>&1
status=$?
if [[ $status -eq 0 ]]; then
    echo "scheduled_run: $(date -u +%FT%TZ) run succeeded"
    # the run's own summary (best model, gate, production, report), if it did any work
    sed -n '/^snaketrain summary$/,$p' "$log" | grep -v '^Complete log' || true
else
    echo "scheduled_run: $(date -u +%FT%TZ) run FAILED with status $status; last lines of $log:" >&2
    tail -n 30 "$log" >&2
fi
exit $status
