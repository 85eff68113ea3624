"""Wall time of the default pipeline on SLURM next to a local run, measured side by side.

Each round runs the full pipeline once locally (`--cores 2`) and once per given profile, each in a fresh
copy of the project, alternating so that load from other processes hits all of them alike. Prints every
run, the medians and the median of the per-round ratios (profile / local).

    python -m tests.cluster.walltime --rounds 3 --profile profiles/slurm
    python -m tests.cluster.walltime --rounds 3 --profile profiles/slurm --profile profiles/cluster-generic

Needs a running SLURM cluster for the cluster profiles (tests/cluster/start_slurm.sh).
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from tests.cluster.cluster_helpers import bounded_snakemake
from tests.harness import copy_project


def timed_run(workdir, args, timeout):
    """Seconds that `snakemake ARGS` took in workdir; raises if it failed."""
    result, seconds = bounded_snakemake(workdir, *args, seconds=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {workdir}:\n{result.stdout[-3000:]}")
    return seconds


def load():
    return os.getloadavg()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="append", default=[], help="profile dir (repeatable)")
    parser.add_argument("--cores", type=int, default=2, help="cores of the local run")
    parser.add_argument("--timeout", type=int, default=900, help="seconds before a run is killed")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    profiles = args.profile or ["profiles/slurm"]

    runs = {"local": []}
    runs.update({profile: [] for profile in profiles})
    with tempfile.TemporaryDirectory(prefix="walltime-") as tmp:
        for round_no in range(args.rounds):
            for name in runs:
                workdir = copy_project(Path(tmp) / f"{round_no}-{name.replace('/', '_')}")
                cli = ["--cores", str(args.cores)] if name == "local" else ["--profile", name]
                before = load()
                seconds = timed_run(workdir, cli, args.timeout)
                runs[name].append({"seconds": round(seconds, 1), "load_before": round(before, 2)})
                print(f"round {round_no + 1} {name:28s} {seconds:7.1f} s  (load {before:.2f})", flush=True)
                shutil.rmtree(workdir, ignore_errors=True)

    summary = {"local_median_s": statistics.median(r["seconds"] for r in runs["local"]), "profiles": {}}
    print(f"\nlocal (--cores {args.cores}) median {summary['local_median_s']:.1f} s")
    for profile in profiles:
        seconds = [r["seconds"] for r in runs[profile]]
        ratios = [p["seconds"] / loc["seconds"] for p, loc in zip(runs[profile], runs["local"], strict=True)]
        summary["profiles"][profile] = {
            "median_s": statistics.median(seconds),
            "median_ratio": round(statistics.median(ratios), 2),
            "ratios": [round(r, 2) for r in ratios],
        }
        print(
            f"{profile} median {statistics.median(seconds):.1f} s, ratio to local: median "
            f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
