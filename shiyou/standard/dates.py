"""Dates as delivered (text, Excel cells, Excel serial numbers, month-only) → SQL DATE.

A contract lists the formats of a column; they are tried in order. Formats
without a day (`%Y%m`) give month precision: `birth_year_month` is filled and
the day-precision date stays null, so a month is never mistaken for the 1st.
Impossible dates (1980-02-30) parse to null and are flagged by the standard.
"""

from __future__ import annotations

import re

from shiyou.contracts.model import EXCEL_SERIAL
from shiyou.sql import literal

# Excel's day 0 is 1899-12-30 (it counts the non-existent 1900-02-29).
EXCEL_EPOCH = "DATE '1899-12-30'"


def has_day(fmt: str) -> bool:
    return fmt == EXCEL_SERIAL or "%d" in fmt


def compact_length(fmt: str) -> int | None:
    """Length a value of a compact format (`%Y%m%d`, `%Y%m`) must have: DuckDB's %m and %d
    accept one digit, so `1980123` would otherwise parse (as 1980-12-03, or was it 01-23?)."""
    if not re.fullmatch(r"(%[a-zA-Z])+", fmt):
        return None
    return sum(4 if d == "Y" else 2 for d in fmt[1::2])


def _one(col: str, fmt: str) -> str:
    if fmt == EXCEL_SERIAL:
        return (
            f"CASE WHEN regexp_full_match({col}, '[1-9][0-9]{{4}}(\\.0+)?') "
            f"THEN {EXCEL_EPOCH} + CAST(CAST({col} AS DOUBLE) AS INTEGER) END"
        )
    value = col
    if " " not in fmt:  # an Excel date-time cell or a stamp: the day is what counts
        value = f"split_part({col}, ' ', 1)"
    parsed = f"CAST(try_strptime({value}, {literal(fmt)}) AS DATE)"
    n = compact_length(fmt)
    return f"CASE WHEN length({value}) = {n} THEN {parsed} END" if n else parsed


def plausible(expr: str) -> str:
    """Dates outside 1800–2199 are typing accidents (year 0000, 9999); they also break Python dates."""
    return f"(CASE WHEN {expr} BETWEEN DATE '1800-01-01' AND DATE '2199-12-31' THEN {expr} END)"


def sql_day(col: str, formats: list[str]) -> str:
    """Day-precision date, or NULL (unparseable, impossible, implausible or month-only)."""
    parts = [_one(col, f) for f in formats if has_day(f)]
    return plausible(f"coalesce({', '.join(parts)})") if parts else "CAST(NULL AS DATE)"


def sql_month(col: str, formats: list[str]) -> str:
    """First day of the month for month-only formats, else NULL."""
    parts = [_one(col, f) for f in formats if not has_day(f)]
    return plausible(f"coalesce({', '.join(parts)})") if parts else "CAST(NULL AS DATE)"
