"""Run the standard's pandera checks over a frame of standardised records.

Each check runs once over whole columns (pandera's own lazy failure-case
collection is slow when thousands of rows fail, so failures are gathered here
as boolean masks). The result: per record, the error rules (→ quarantine) and
warning rules (→ quality_flags), and per rule, how many records failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

from shiyou.standard.rules import all_rules

BUILTIN_RULES = {"isin": "code_not_standard"}
DEFAULT_BUILTIN_RULE = "format_not_standard"


@dataclass
class CheckRun:
    rule: str
    column: str | None
    check: pa.Check


@lru_cache(maxsize=1)
def standard_schema() -> pa.DataFrameSchema:
    from schemas.standard import StandardPersonRecord

    return StandardPersonRecord.to_schema()


def _check_runs(schema: pa.DataFrameSchema) -> list[CheckRun]:
    rules = all_rules()
    runs: list[CheckRun] = []
    for col_name, col in schema.columns.items():
        for chk in col.checks:
            rid = chk.name if chk.name in rules else BUILTIN_RULES.get(chk.name, DEFAULT_BUILTIN_RULE)
            runs.append(CheckRun(rid, col_name, chk))
    for chk in schema.checks:
        if chk.name not in rules:
            raise ValueError(f"check {chk.name!r} of the standard has no rule in rules.yaml")
        runs.append(CheckRun(chk.name, None, chk))
    return runs


def check_rule_ids() -> set[str]:
    """Every rule id a model check can raise (a test keeps rules.yaml in step)."""
    return {r.rule for r in _check_runs(standard_schema())}


@dataclass
class Validation:
    errors: pd.Series  # per row: list of error rule ids (empty list: loaded)
    warnings: pd.Series  # per row: list of warning rule ids
    counts: dict[str, int]  # rule id -> failing records


def validate_records(df: pd.DataFrame) -> Validation:
    """Check structure with pandera, then evaluate every rule as a vectorised mask."""
    schema = standard_schema()
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise ValueError(f"standardised frame lacks columns of the standard: {missing}")
    rules = all_rules()
    n = len(df)
    err_masks: list[tuple[str, np.ndarray]] = []
    warn_masks: list[tuple[str, np.ndarray]] = []
    counts: dict[str, int] = {}
    for run in _check_runs(schema):
        target = df[run.column] if run.column else df
        out = run.check(target).check_output
        if isinstance(out, pd.DataFrame):  # element-wise checks on frames
            out = out.all(axis=1)
        # pandera drops nulls before a check that ignores them: realign on the index.
        out = pd.Series(out).reindex(df.index)
        ok = out.astype("boolean").fillna(True).to_numpy(dtype=bool)
        if run.column is not None and run.check.ignore_na:
            ok |= np.asarray(df[run.column].isna(), dtype=bool)
        fail = ~ok
        counts[run.rule] = counts.get(run.rule, 0) + int(fail.sum())
        (err_masks if rules[run.rule].severity == "error" else warn_masks).append((run.rule, fail))
    return Validation(_collect(err_masks, n), _collect(warn_masks, n), counts)


def _collect(masks: list[tuple[str, np.ndarray]], n: int) -> pd.Series:
    """Per row, the list of rule ids whose mask is set — built column-wise, not row by row."""
    out: list[list[str]] = [[] for _ in range(n)]
    for rule_id, mask in masks:
        for i in np.flatnonzero(mask):
            out[i].append(rule_id)
    return pd.Series(out, dtype=object)
