"""Drift check benchmark: verdicts against Evidently's, and the cost of a check of 1,000,000 x 30.

    python bench/drift.py agreement     # needs bench/work/evidently-venv (see bench/README.md)
    python bench/drift.py speed [rows]  # default 1,000,000 rows x 30 columns
    python bench/drift.py size          # profile bytes, and the Wasserstein distance of a sketch against the rows

Agreement: three datasets (breast cancer, a generated table with text columns and gaps of 600 rows, and one of
6,000 rows so that the tests for large references run), each split in two halves: an unshifted resample, and the
second half with a mean shift, a new category or a rise in missing values. snaketrain compares the current half
with the reference half's *profile* (what the registry keeps); Evidently with the raw reference rows.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from snaketrain.monitoring.drift_tests import column_drift
from snaketrain.monitoring.profile import build_profile

WORK = Path(__file__).parent / "work" / "drift"
EVIDENTLY = Path(__file__).parent / "work" / "evidently-venv" / "bin" / "python"


def generated(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i / 3, n) for i in range(6)})
    df["count"] = rng.poisson(3, n).astype(float)
    df["flag"] = rng.choice([0.0, 1.0], n, p=[0.7, 0.3])
    df["city"] = rng.choice(["paris", "oslo", "rome", "lima", "kyiv"], n, p=[0.4, 0.2, 0.2, 0.1, 0.1])
    df["plan"] = rng.choice(["free", "paid"], n, p=[0.6, 0.4])
    df["colour"] = rng.choice(list("abcdefgh"), n)
    df.loc[rng.random(n) < 0.1, "x1"] = np.nan
    df.loc[rng.random(n) < 0.05, "city"] = None
    return df


def datasets():
    from sklearn.datasets import load_breast_cancer

    cancer = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    return {"breast_cancer": cancer, "mixed_600": generated(1200, 1), "mixed_6000": generated(12000, 2)}


def shifted(df, kind, rng):
    df = df.copy()
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 5]
    text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if kind == "mean_shift":  # half of the numeric columns move by half a standard deviation
        for column in numeric[::2]:
            df[column] = df[column] + 0.5 * df[column].std()
    elif kind == "new_category":  # 30 % of each text column (or of a binned numeric one) takes a new value
        for column in text or numeric[:3]:
            rows = rng.random(len(df)) < 0.3
            df[column] = df[column].astype(object) if text else df[column]
            df.loc[rows, column] = "NEW" if text else df[column].max() * 3
    elif kind == "missing_rise":  # 40 % of every other column goes missing, at random
        for column in df.columns[::2]:
            df.loc[rng.random(len(df)) < 0.4, column] = np.nan
    return df


def cases():
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    found = []
    for name, df in datasets().items():
        order = rng.permutation(len(df))
        ref, cur = (
            df.iloc[order[: len(df) // 2]].reset_index(drop=True),
            df.iloc[order[len(df) // 2 :]].reset_index(drop=True),
        )
        for kind in ("resample", "mean_shift", "new_category", "missing_rise"):
            current = cur if kind == "resample" else shifted(cur, kind, rng)
            paths = {part: WORK / f"{name}-{kind}-{part}.parquet" for part in ("reference", "current")}
            ref.to_parquet(paths["reference"])
            current.to_parquet(paths["current"])
            numeric = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c])]
            text = [c for c in ref.columns if c not in numeric]
            found.append(
                {"name": f"{name}/{kind}", "numeric": numeric, "text": text, **{k: str(p) for k, p in paths.items()}}
            )
    return found


def ours(case):
    ref, cur = pd.read_parquet(case["reference"]), pd.read_parquet(case["current"])
    kinds = {c: "numeric" for c in case["numeric"]} | {c: "categorical" for c in case["text"]}
    profile = json.loads(json.dumps(build_profile(ref, kinds, None, "binary")))  # as stored
    return {name: column_drift(profile["columns"][name], cur[name]) for name in kinds}


def agreement():
    found = cases()
    (WORK / "cases.json").write_text(json.dumps(found))
    theirs = json.loads(
        subprocess.run(
            [str(EVIDENTLY), str(Path(__file__).parent / "drift_evidently.py"), str(WORK / "cases.json")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows, differences = [], []
    for case in found:
        mine = ours(case)
        same = 0
        for column, verdict in mine.items():
            other = theirs[case["name"]][column]
            if verdict["drifted"] == other["drifted"] and verdict["test"] == other["test"]:
                same += 1
            else:
                differences.append(
                    (case["name"], column, verdict["test"], verdict["statistic"], verdict["drifted"], other)
                )
        drifted = sum(v["drifted"] for v in mine.values())
        rows.append((case["name"], len(mine), drifted, same))
    print(f"{'case':32} {'columns':>7} {'drifted':>7} {'agree':>6}")
    for name, n, drifted, same in rows:
        print(f"{name:32} {n:7d} {drifted:7d} {same / n:6.0%}")
    total = sum(r[1] for r in rows)
    print(f"overall: {sum(r[3] for r in rows)} of {total} column verdicts agree")
    for difference in differences:
        print("differs:", difference)


def wide(n, shift, rng, columns=30):
    """columns - 5 normal columns (every other one shifted) and 5 text columns of 8-12 levels."""
    df = pd.DataFrame({f"x{i}": rng.normal(shift * (i % 2), 1, n) for i in range(columns - 5)})
    for i in range(5):
        df[f"t{i}"] = rng.choice([f"v{k}" for k in range(8 + i)], n)
    return df


def profile_bytes(profile):
    return len(json.dumps(profile, sort_keys=True, separators=(",", ":")))  # as reference.write_profile writes it


def size():
    """Profile bytes of the breast-cancer training part (config/config.yaml's split) and of the wide table; then the
    normed Wasserstein distance of a 200,000-row reference kept as format 1's 201 equally spaced quantiles and as
    the profile keeps it now, against scipy's on the raw rows."""
    from scipy import stats
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    cancer = load_breast_cancer(as_frame=True).frame
    train, _ = train_test_split(cancer, test_size=0.2, random_state=42, stratify=cancer["target"])
    kinds = {c: "numeric" for c in cancer.columns if c != "target"}
    sizes = {"breast_cancer": profile_bytes(build_profile(train, kinds, "target", "binary", train["target"]))}
    rng = np.random.default_rng(0)
    table = wide(50_000, 0.0, rng)
    kinds = {c: "numeric" if c.startswith("x") else "categorical" for c in table.columns}
    sizes["wide_50000"] = profile_bytes(build_profile(table, kinds, None, "binary", rng.integers(0, 2, 50_000)))
    print(json.dumps(sizes))
    rng = np.random.default_rng(1)
    draws = {
        "normal": lambda n, s: rng.normal(s, 1, n),
        "lognormal": lambda n, s: rng.lognormal(s, 1, n),
        "exponential": lambda n, s: rng.exponential(1 + s, n),
    }
    print(f"{'reference':12} {'shift':>5} {'exact':>7} {'format 1':>9} {'now':>8}")
    for name, draw in draws.items():
        reference = draw(200_000, 0.0)
        now = build_profile(pd.DataFrame({"c": reference}), {"c": "numeric"}, None, "binary")["columns"]["c"]
        old = {k: v for k, v in now.items() if k not in ("quantiles", "spacing")}
        old["quantiles"] = np.quantile(reference, np.linspace(0, 1, 201)).tolist()
        for shift in (0.0, 0.1):
            current = pd.Series(draw(100_000, shift))
            exact = stats.wasserstein_distance(reference, current) / np.std(reference)
            error = [column_drift(ref, current)["statistic"] - exact for ref in (old, now)]
            print(f"{name:12} {shift:5} {exact:7.4f} {error[0]:+9.4f} {error[1]:+8.4f}")


def speed(rows=1_000_000, columns=30, repeats=3):
    from snaketrain.data_files import read_file
    from snaketrain.table_io import read_table

    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def table(n, shift):
        return wide(n, shift, rng, columns)

    reference = table(200_000, 0.0)
    kinds = {c: "numeric" if c.startswith("x") else "categorical" for c in reference.columns}
    profile = json.loads(json.dumps(build_profile(reference, kinds, None, "binary")))
    current = table(rows, 0.2)
    files = {"csv": WORK / f"current-{rows}.csv", "parquet": WORK / f"current-{rows}.parquet"}
    if not files["csv"].is_file():
        current.to_csv(files["csv"], index=False)
        current.to_parquet(files["parquet"])
    readers = {"csv": lambda p: read_file(p, "auto", ",", "utf-8"), "parquet": read_table}
    results = {"rows": rows, "columns": columns, "profile_bytes": len(json.dumps(profile, separators=(",", ":")))}
    for fmt, path in files.items():
        read_s, check_s = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            df = readers[fmt](path)
            read_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            verdicts = {name: column_drift(profile["columns"][name], df[name]) for name in kinds}
            check_s.append(time.perf_counter() - start)
        read_med, check_med = float(np.median(read_s)), float(np.median(check_s))
        results[fmt] = {
            "read_s": round(read_med, 3),
            "tests_s": round(check_med, 3),
            "check_s": round(read_med + check_med, 3),
            "ratio": round((read_med + check_med) / read_med, 2),
            "drifted": sum(v["drifted"] for v in verdicts.values()),
        }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["agreement"]:
        agreement()
    elif sys.argv[1:2] == ["size"]:
        size()
    else:
        speed(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
