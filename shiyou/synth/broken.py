"""Rows a correct pipeline must quarantine: wrong field count, empty name, truncated last line."""

from __future__ import annotations

import numpy as np

from .rates import BROKEN_RATES
from .sources import ADDRESS_COLUMN, NAME_COLUMN, SourceTable
from .vec import T

XLSX_NOTES = ["已核实", "待核查", "重复", "电话空号", "已迁出?"]


def break_rows(t: SourceTable, rng: np.random.Generator, multiplier: float,
               truncate_last: bool) -> None:
    """Mark and damage a few rows of `t` (in place). Hard-case rows are left intact."""
    n = len(t)
    t.broken = np.full(n, "", dtype=T)
    if multiplier <= 0 or n < 3:
        return
    free = np.ones(n, bool) if t.protected is None else ~t.protected
    if truncate_last:
        free[n - 1] = False  # reserved for the truncated line
    xlsx = t.file_name.endswith(".xlsx")
    for rule, rate in BROKEN_RATES.items():
        k = max(1, int(rng.binomial(n, min(1.0, rate * multiplier))))
        cand = np.flatnonzero(free)
        rows = np.sort(rng.choice(cand, size=min(k, cand.size), replace=False))
        free[rows] = False
        t.broken[rows] = rule
        for r in rows.tolist():
            if rule == "missing_name":
                t.data[NAME_COLUMN[t.source]][r] = ""
            elif xlsx:
                # Somebody typed a note right of the last column.
                t.damage[r] = ("extra_cell", XLSX_NOTES[int(rng.integers(0, len(XLSX_NOTES)))])
            elif rng.random() < 0.5:
                # An unquoted delimiter inside the address: one field too many.
                col = ADDRESS_COLUMN[t.source]
                text = str(t.data[col][r]).replace('"', "").replace(",", "").replace("|", "")
                cut = max(1, text.find("号") + 1) if "号" in text else max(1, len(text) // 2)
                t.data[col][r] = text
                t.damage[r] = ("split", t.columns.index(col), cut)
            else:
                # The export lost the last fields of the row.
                t.damage[r] = ("drop", int(rng.integers(1, 4)))
    if truncate_last:
        r = n - 1
        # Cut inside a non-empty field, a few fields in.
        cand = [j for j in range(4, len(t.columns) - 2) if str(t.data[t.columns[j]][r])] or [4]
        keep = cand[int(rng.integers(0, len(cand)))] + 1
        t.broken[r] = "truncated_line"
        t.damage[r] = ("truncate", keep)
