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
