"""The bundled sample district, synced once per test session, blocked and compared in memory."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pytest

from shiyou.matching import blocking, comparisons
from shiyou.matching.model import load_matching_config
from tests.conftest import SAMPLES
from tests.unit.matching import truth


@dataclass
class Matched:
    con: duckdb.DuckDBPyConnection
    report: blocking.BlockingReport
    gamma: comparisons.GammaReport


@pytest.fixture(scope="session")
def sample(sample_warehouse):
    """Blocking and gamma over the sample's source_records, with the ground truth loaded."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS wh (READ_ONLY)", [str(sample_warehouse / "shiyou.duckdb")]).fetchall()
    cfg = load_matching_config()
    tables = blocking.Tables(records="wh.source_records")
    report = blocking.run_blocking(con, cfg, tables)
    gamma = comparisons.compute_gamma(con, cfg, tables)
    truth.load_truth(con, SAMPLES / "truth")
    yield Matched(con, report, gamma)
    con.close()


class Trained:
    def __init__(self, sample, model, report):
        self.con, self.model, self.report = sample.con, model, report


@pytest.fixture(scope="session")
def trained(sample):
    """The sample's candidate pairs trained and scored once (match_scores on the sample connection)."""
    from shiyou.matching.blocking import Tables
    from shiyou.matching.predict import predict
    from shiyou.matching.train import train

    tables = Tables(records="wh.source_records")
    model = train(sample.con, load_matching_config(), tables)
    report = predict(sample.con, load_matching_config(), model, tables)
    return Trained(sample, model, report)
