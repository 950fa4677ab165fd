"""Record linkage, step 1: blocking rules and comparison levels as data, SQL generated from them.

    cfg = load_matching_config()                       # schemas/matching.yaml, checked
    report = run_blocking(con, cfg, Tables(records="source_records"))
    gamma = compute_gamma(con, cfg)                    # match_gamma: a level per comparison per pair
    all_statements(cfg, dialect="spark")               # the same SQL for the city tier

No Dagster here; the engine-specific SQL lives in dialect.py only.
"""

from __future__ import annotations

from shiyou.matching.blocking import BlockingReport, RuleReport, Statement, Tables, run_blocking
from shiyou.matching.comparisons import GammaReport, compute_gamma
from shiyou.matching.model import MatchingConfig, MatchingConfigError, load_matching_config


def all_statements(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> list[Statement]:
    """Every generated statement (blocking, union, gamma, clustering, survivorship) in run order,
    for one engine."""
    from shiyou.matching import blocking, cluster, comparisons, golden

    return (blocking.statements(cfg, tables, dialect) + comparisons.statements(cfg, tables, dialect)
            + cluster.statements(cfg, tables, dialect) + golden.statements(dialect))


__all__ = ["BlockingReport", "GammaReport", "MatchingConfig", "MatchingConfigError", "RuleReport",
           "Statement", "Tables", "all_statements", "compute_gamma", "load_matching_config", "run_blocking"]
