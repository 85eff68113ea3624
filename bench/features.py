"""Benchmark: build_features on 1,000,000 rows with a date column (text, day-first) and a 10,000-level code,
against the same rows without those two columns (what the preprocessor did before it knew dates and codes).

Each variant runs in a fresh Python process (so that its peak memory is its own), three times by default,
alternating; the table gives median seconds of fit_transform (train and test) and the median peak RSS.

    python bench/features.py                   # 1,000,000 rows, 3 repetitions
    python bench/features.py --rows 100000 --repetitions 1
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20}


def table(rows, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(8)})
    frame["plan"] = rng.choice(["basic", "plus", "pro", "max"], size=rows)
    frame["channel"] = rng.choice(["web", "app", "shop", "phone", "partner"], size=rows)
    days = rng.integers(0, 5 * 365, size=rows)
    frame["signup"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime("%d/%m/%Y")
    frame["product"] = np.char.add("P", rng.integers(0, 10_000, size=rows).astype(str).astype(object).astype(str))
    frame["target"] = (frame["num0"] + rng.normal(size=rows) > 0).astype(int)
    return frame


def one(rows, variant):
    """Time fit_transform of one variant in this process; print seconds and peak RSS as JSON."""
    from snaketrain.stages.build_features import fit_transform
    from snaketrain.stages.split_data import split

    frame = table(rows)
    if variant == "without":
        frame = frame.drop(columns=["signup", "product"])
    train, test = split(frame, "target", "binary", test_size=0.2, seed=42, stratify=True)
    started = time.perf_counter()
    _, train_x, _, schema = fit_transform(train, test, "target", SETTINGS, seed=42)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kinds = {c: k["kind"] for c, k in schema["kinds"].items()}
    print(
        json.dumps(
            {"seconds": round(seconds, 2), "peak_mb": round(peak_mb), "features": train_x.shape[1], "kinds": kinds}
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--one", choices=["with", "without"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one(args.rows, args.one)
    runs = {"with": [], "without": []}
    for repetition in range(args.repetitions):
        for variant in ("with", "without") if repetition % 2 == 0 else ("without", "with"):
            out = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--one", variant],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(variant, runs[variant][-1], file=sys.stderr, flush=True)
    summary = {
        variant: {
            "seconds": statistics.median(r["seconds"] for r in results),
            "peak_mb": statistics.median(r["peak_mb"] for r in results),
            "features": results[0]["features"],
        }
        for variant, results in runs.items()
    }
    with_, without = summary["with"], summary["without"]
    print(
        f"{args.rows:,} rows, median of {args.repetitions}: build_features with a date and a 10,000-level code "
        f"{with_['seconds']:.1f} s, {with_['peak_mb']:.0f} MB peak ({with_['features']} features); without them "
        f"{without['seconds']:.1f} s, {without['peak_mb']:.0f} MB ({without['features']} features): "
        f"{with_['seconds'] / without['seconds']:.2f}x the time, {with_['peak_mb'] / without['peak_mb']:.2f}x the memory"
    )
    (ROOT / "bench" / "features.json").write_text(
        json.dumps({"rows": args.rows, "runs": runs, "summary": summary}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
