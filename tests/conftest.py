"""Shared fixtures: a DuckDB connection and a way to run one SQL expression over a list of values."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"


@pytest.fixture
def duck():
    con = duckdb.connect()
    yield con
    con.close()


def eval_sql(con, values: list, build) -> list:
    """Evaluate `build('v')` (an SQL expression over column v) for each value, in order."""
    con.execute("CREATE OR REPLACE TEMP TABLE __vals (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO __vals VALUES (?, ?)", [[i, v] for i, v in enumerate(values)])
    return [r[0] for r in con.execute(f"SELECT {build('v')} FROM __vals ORDER BY i").fetchall()]
