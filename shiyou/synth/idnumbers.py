"""GB 11643-1999 resident ID numbers, vectorised: build, check, legacy 15-digit form."""

from __future__ import annotations

import numpy as np

from .vec import T, cat, strs, ymd_parts, zpad

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.array(list("10X98765432"), dtype=T)
_POW10 = 10 ** np.arange(16, -1, -1, dtype=np.int64)


def body17(county: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The first 17 digits as an int64 (fits: < 10**17)."""
    year, month, day = ymd_parts(birth)
    ymd = year * 10000 + month * 100 + day
    return (np.asarray(county, np.int64) * 10**11 + ymd * 1000
            + np.asarray(seq, np.int64))


def check_chars_of(body: np.ndarray) -> np.ndarray:
    digits = (np.asarray(body, np.int64)[:, None] // _POW10) % 10
    return CHECK_CHARS[(digits @ WEIGHTS) % 11]


def make_ids(county: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-character IDs; `seq` is the 3-digit sequence (odd = male, even = female)."""
    body = body17(county, birth, seq)
    return cat(strs(body), check_chars_of(body))


def to_legacy15(ids: np.ndarray) -> np.ndarray:
    """The 1989 15-digit form: address + YYMMDD + sequence, no check character."""
    ids = np.asarray(ids, dtype=T)
    return cat(np.strings.slice(ids, 0, 6), np.strings.slice(ids, 8, 17))


def is_valid(ids) -> np.ndarray:
    """True where a value is 17 ASCII digits plus the right check character (X upper or lower)."""
    ids = np.asarray(ids, dtype=T)
    # Full-width digits pass isdigit(); an ASCII-only value has as many bytes as characters.
    ascii_only = np.strings.str_len(np.strings.encode(ids, "utf-8")) == np.strings.str_len(ids)
    ok = ((np.strings.str_len(ids) == 18) & ascii_only
          & np.strings.isdigit(np.strings.slice(ids, 0, 17)))
    out = np.zeros(ids.shape[0], dtype=bool)
    if ok.any():
        good = ids[ok]
        body = np.strings.slice(good, 0, 17).astype(np.int64)
        out[ok] = check_chars_of(body) == np.strings.upper(np.strings.slice(good, 17, 18))
    return out


def sequence_for_sex(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    """A 3-digit sequence whose parity gives the sex (1 male: odd, 2 female: even)."""
    base = rng.integers(0, 500, size=sex.shape[0]) * 2  # even 0..998
    seq = base + (np.asarray(sex) == 1)
    # 000 is not issued; keep females off it.
    return np.where(seq == 0, 2, seq)


def unique_sequences(rng: np.random.Generator, county: np.ndarray, birth: np.ndarray,
                     sex: np.ndarray, seq: np.ndarray, fixed: np.ndarray | None = None
                     ) -> np.ndarray:
    """Re-draw sequences until (county, birth, seq) is unique; `fixed` rows never change."""
    seq = np.asarray(seq, np.int64).copy()
    fixed = np.zeros(seq.shape[0], bool) if fixed is None else fixed
    for _ in range(50):
        body = body17(county, birth, seq)
        order = np.argsort(body, kind="stable")
        dup_sorted = np.zeros(body.shape[0], bool)
        dup_sorted[1:] = body[order][1:] == body[order][:-1]
        dup = np.zeros(body.shape[0], bool)
        dup[order] = dup_sorted
        dup &= ~fixed
        if not dup.any():
            return seq
        seq[dup] = sequence_for_sex(rng, sex[dup])
    raise RuntimeError("could not make ID numbers unique")


__all__ = ["make_ids", "is_valid", "to_legacy15", "check_chars_of", "sequence_for_sex",
           "unique_sequences", "body17", "zpad"]
