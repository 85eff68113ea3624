"""Small tables the unit tests of several stages share (real data shapes: numbers, categories, missing values),
and the compressions a data file may come in."""

import bz2
import gzip
import io
import lzma
import zipfile

import numpy as np
import pandas as pd
import zstandard


def labelled_frame(n=40, seed=0):
    """Numeric x1, x2, categorical city and a balanced yes/no label."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 100, size=n),
            "city": rng.choice(["paris", "oslo", "rome"], size=n),
            "label": np.tile(["yes", "no"], n // 2),
        }
    )


def mixed_frame(n=120, seed=0):
    """Numeric x (some missing) and noise, categorical colour (some missing), an id and a pos/neg target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "x": x,
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue", "cyan", "pink"], size=n),
            "y": np.where(x > 0, "pos", "neg"),
        }
    )
    df.loc[::7, "x"] = np.nan
    df.loc[::5, "colour"] = None
    return df


def zipped(raw, members=("data.csv",)):
    """A zip archive holding raw under each member name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members:
            archive.writestr(name, raw)
    return buffer.getvalue()


# file suffix -> compress(bytes): every compression the data sources read
COMPRESSORS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "zip": zipped,
    "xz": lzma.compress,
    "zst": lambda raw: zstandard.ZstdCompressor().compress(raw),
}


# what each column of customer_table is (column_kinds)
CUSTOMER_KINDS = {
    "customer_id": "identifier",
    "signup": "date",
    "zip": "many_valued",
    "comment": "text",
    "plan": "category",
    "usage": "numeric",
}


def customer_table(n=3000, seed=0):
    """A table as users have them, whose target depends on a date's month, a many-valued code and a word in free
    text, beside an identifier, a few-valued plan, usage with gaps and noise: each kind of column carries signal
    that only its own encoding can find."""
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, size=n), unit="D")
    codes = [f"{code:05d}" for code in rng.choice(4000, size=300, replace=False)]  # zip codes, leading zeros
    zip_code = rng.choice(codes, size=n)
    risky_zip = {code for code in codes if int(code) % 3 == 0}
    words = ["great", "slow", "price", "support", "app", "team", "login", "report", "fast", "bill"]
    comment = [" ".join(rng.choice(words, size=rng.integers(4, 9))) for _ in range(n)]
    cancel_word = rng.random(n) < 0.3
    comment = [text + " cancel" if flag else text for text, flag in zip(comment, cancel_word, strict=True)]
    plan = rng.choice(["basic", "plus", "pro"], size=n)
    usage = rng.gamma(2.0, 10.0, size=n)
    score = (
        1.6 * np.isin(signup.month, [11, 12, 1]).astype(float)
        + 1.6 * np.isin(zip_code, list(risky_zip)).astype(float)
        + 1.6 * cancel_word
        + 0.02 * usage
        + rng.normal(scale=0.6, size=n)
    )
    df = pd.DataFrame(
        {
            "customer_id": [f"C{index:07d}" for index in rng.permutation(n)],
            "signup": signup.strftime("%d/%m/%Y"),
            "zip": zip_code,
            "comment": comment,
            "plan": plan,
            "usage": usage,
            "churned": np.where(score > np.median(score), "yes", "no"),
        }
    )
    df.loc[rng.random(n) < 0.05, "usage"] = np.nan
    df.loc[rng.random(n) < 0.03, "comment"] = None
    return df
