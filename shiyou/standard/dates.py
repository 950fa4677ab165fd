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


def shape(fmt: str) -> str:
    """A regex a value must match before strptime sees it: DuckDB's %m/%d accept one digit,
    so `1980123` would otherwise parse (as 1980-12-03 — or was it 1980-01-23?)."""
    compact = re.search(r"%[a-zA-Z]%[a-zA-Z]", fmt) is not None
    two = "[0-9]{2}" if compact else "[0-9]{1,2}"
    out, i = "", 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            out += "[0-9]{4}" if fmt[i + 1] == "Y" else two
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return out


def _one(col: str, fmt: str) -> str:
    if fmt == EXCEL_SERIAL:
        return (
            f"CASE WHEN regexp_full_match({col}, '[1-9][0-9]{{4}}(\\.0+)?') "
            f"THEN {EXCEL_EPOCH} + CAST(CAST({col} AS DOUBLE) AS INTEGER) END"
        )
    value = col
    if "%H" not in fmt:  # an Excel date-time cell or a stamp: the day is what counts
        value = f"regexp_replace({col}, ' [0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}})?$', '')"
    return (f"CASE WHEN regexp_full_match({value}, {literal(shape(fmt))}) "
            f"THEN CAST(try_strptime({value}, {literal(fmt)}) AS DATE) END")


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
