"""Vectorised helpers: named random streams, numpy string and date columns."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

# numpy's variable-width UTF-8 string dtype: fast ufuncs (np.strings.*), no fixed width.
T = np.dtypes.StringDType()
EPOCH_YEAR = 1970


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per stage, so adding a stage does not shift the others.

    crc32, not hash(): Python's str hash is salted per process.
    """
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def strs(values) -> np.ndarray:
    """Any array-like (ints, str) as a StringDType array."""
    return np.asarray(values).astype(T)


def table(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=T)


def cat(*parts) -> np.ndarray:
    """Concatenate string columns and scalars element-wise."""
    out = None
    for p in parts:
        p = p if isinstance(p, str) else np.asarray(p, dtype=T)
        out = p if out is None else np.strings.add(out, p)
    return np.asarray(out, dtype=T)


def zpad(ints: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(strs(np.asarray(ints, dtype=np.int64)), width)


def empty(n: int) -> np.ndarray:
    return np.full(n, "", dtype=T)


def weighted(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=float)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right")


def categorical(rng: np.random.Generator, probs: Sequence[float], size: int) -> np.ndarray:
    """Index of the chosen kind per row, or len(probs) for 'none of them'.

    One uniform per row keeps the kinds of one field mutually exclusive.
    """
    p = np.asarray(probs, dtype=float)
    if p.sum() > 1.0:
        p = p / p.sum()
    return np.searchsorted(np.cumsum(p), rng.random(size), side="right")


def ymd_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = dates.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + EPOCH_YEAR
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def fmt_date(dates: np.ndarray, pattern: str) -> np.ndarray:
    """Format datetime64 dates: pattern uses Y, M, D (zero padded) and m, d (not padded)."""
    return fmt_ymd(*ymd_parts(dates), pattern)


def fmt_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray, pattern: str) -> np.ndarray:
    """Format date parts, which may be impossible (1980, 2, 30)."""
    pieces = {"Y": zpad(year, 4), "M": zpad(month, 2), "D": zpad(day, 2),
              "m": strs(month), "d": strs(day)}
    return cat(*[pieces.get(ch, ch) for ch in pattern])


def random_dates(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform date in [lo, hi] per row (hi < lo collapses to lo)."""
    lo = lo.astype("datetime64[D]")
    span = np.maximum((hi.astype("datetime64[D]") - lo).astype(np.int64), 0)
    return lo + (rng.random(lo.shape[0]) * (span + 1)).astype(np.int64)


def unique_random_ints(rng: np.random.Generator, lo: int, hi: int, size: int) -> np.ndarray:
    """`size` distinct ints in [lo, hi), in random order."""
    out = np.unique(rng.integers(lo, hi, size=int(size * 1.1) + 16))
    while out.size < size:
        out = np.unique(np.concatenate([out, rng.integers(lo, hi, size=size)]))
    return rng.permutation(out)[:size]
