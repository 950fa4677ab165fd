"""Code tables of the standard (GB/T 2261, 3304, 4761, 2260 …), bundled as CSV in schemas/codes/.

Each table has at least `code,name`; an optional `aliases` column holds other
spellings separated by `|`. `lookup_frame()` turns every table into one
(table, key, code) frame that SQL joins against, so mapping a delivered value
to a code is a join, not a Python loop.
"""

from __future__ import annotations

import csv
from functools import lru_cache

import pandas as pd

from shiyou.paths import CODES_DIR


def table_names() -> list[str]:
    return sorted(p.stem for p in CODES_DIR.glob("*.csv"))


@lru_cache(maxsize=None)
def load_table(name: str) -> tuple[dict[str, str], ...]:
    path = CODES_DIR / f"{name}.csv"
    if not path.is_file():
        raise KeyError(f"no code table {name!r} in {CODES_DIR}")
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(dict(row) for row in csv.DictReader(fh))


def codes(name: str) -> list[str]:
    return [row["code"] for row in load_table(name)]


def names(name: str) -> dict[str, str]:
    return {row["code"]: row["name"] for row in load_table(name)}


def _keys(table: str, row: dict[str, str]) -> list[str]:
    keys = [row["code"], row["name"]]
    keys += [a for a in (row.get("aliases") or "").split("|") if a]
    # Ethnic groups are written with and without 族 (汉族 / 汉).
    if table == "gb3304_ethnic":
        keys += [k[:-1] for k in keys if k.endswith("族") and len(k) > 2]
    return keys


@lru_cache(maxsize=1)
def lookup_frame() -> pd.DataFrame:
    """(code_table, key, code) for every code, name and alias of every table."""
    rows = []
    for table in table_names():
        if table in {"gb2260_divisions", "surname_pinyin"}:
            continue
        for row in load_table(table):
            for key in dict.fromkeys(_keys(table, row)):
                rows.append((table, key, row["code"]))
    return pd.DataFrame(rows, columns=["code_table", "key", "code"]).drop_duplicates(["code_table", "key"])


@lru_cache(maxsize=1)
def division_frame() -> pd.DataFrame:
    """GB/T 2260 divisions (abridged, see schemas/codes/README.md): code, name, level."""
    path = CODES_DIR / "gb2260_divisions.csv"
    if not path.is_file():
        return pd.DataFrame({"code": [], "name": [], "level": []}, dtype="string")
    df = pd.read_csv(path, dtype=str)
    return df[["code", "name", "level"]]
