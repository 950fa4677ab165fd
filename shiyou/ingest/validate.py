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
import pandera.pandas as pa_
import pyarrow as pa

from shiyou.standard.rules import all_rules

BUILTIN_RULES = {"isin": "code_not_standard"}
DEFAULT_BUILTIN_RULE = "format_not_standard"


@dataclass
class CheckRun:
    rule: str
    column: str | None
    check: pa_.Check


@lru_cache(maxsize=1)
def standard_schema() -> pa_.DataFrameSchema:
    from schemas.standard import StandardPersonRecord

    return StandardPersonRecord.to_schema()


def _check_runs(schema: pa_.DataFrameSchema) -> list[CheckRun]:
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
    errors: pa.ListArray  # per row: error rule ids (empty: loaded)
    warnings: pa.ListArray  # per row: warning rule ids
    counts: dict[str, int]  # rule id -> failing records

    def has_errors(self) -> np.ndarray:
        return np.diff(np.asarray(self.errors.offsets)) > 0

    def has_warnings(self) -> np.ndarray:
        return np.diff(np.asarray(self.warnings.offsets)) > 0


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
        ok = _passed(out, df.index)
        if run.column is not None and run.check.ignore_na:
            ok |= np.asarray(df[run.column].isna(), dtype=bool)
        fail = ~ok
        counts[run.rule] = counts.get(run.rule, 0) + int(fail.sum())
        (err_masks if rules[run.rule].severity == "error" else warn_masks).append((run.rule, fail))
    return Validation(_collect(err_masks, n), _collect(warn_masks, n), counts)


def _passed(out, index: pd.Index) -> np.ndarray:
    """A check's output as a numpy mask over `index` (null: passed)."""
    out = pd.Series(out)
    if len(out) != len(index) or not out.index.equals(index):
        out = out.reindex(index)  # pandera drops nulls before a check that ignores them: realign
    if out.dtype == bool:
        return out.to_numpy()
    if isinstance(out.dtype, (pd.BooleanDtype, pd.ArrowDtype)) and pd.api.types.is_bool_dtype(out.dtype):
        return out.to_numpy(dtype=bool, na_value=True)
    return out.astype("boolean").fillna(True).to_numpy(dtype=bool)


def _collect(masks: list[tuple[str, np.ndarray]], n: int) -> pa.ListArray:
    """Per row, the rule ids whose mask is set, as one Arrow list column — no loop over rows.

    A rule failing twice for a row (two checks share an id) is listed once.
    """
    if not masks:
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
    present = {r for r, _ in masks}
    names = [r for r in all_rules() if r in present]  # rules.yaml order: the first error is the reason
    index = {r: i for i, r in enumerate(names)}
    matrix = np.zeros((len(names), n), dtype=bool)
    for rule_id, mask in masks:
        matrix[index[rule_id]] |= mask
    rows, rule_idx = np.nonzero(matrix.T)  # sorted by row, then rule
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    values = pa.DictionaryArray.from_arrays(pa.array(rule_idx.astype(np.int32)), pa.array(names)).cast(pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)
