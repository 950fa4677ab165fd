"""Shared fixtures: a DuckDB connection, the sample district synced once per session, and a way to
run one SQL expression over a list of values."""

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


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """data_samples/ synced once by the real `shiyou sync` code path: the warehouse folder.
    Read-only for tests; copy it before changing anything."""
    from shiyou import cli

    wh = tmp_path_factory.mktemp("sample") / "warehouse"
    code, lines = cli.run_sync(SAMPLES / "landing", wh, None)
    assert code == cli.EXIT_OK, lines
    return wh


def eval_sql(con, values: list, build) -> list:
    """Evaluate `build('v')` (an SQL expression over column v) for each value, in order."""
    con.execute("CREATE OR REPLACE TEMP TABLE __vals (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO __vals VALUES (?, ?)", [[i, v] for i, v in enumerate(values)])
    return [r[0] for r in con.execute(f"SELECT {build('v')} FROM __vals ORDER BY i").fetchall()]
