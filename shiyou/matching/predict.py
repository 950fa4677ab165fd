"""Fellegi–Sunter scoring: SQL generated from a TrainedModel over the gamma table.

    report = predict(con, cfg, model, tables)   # creates match_scores

match_weight = log2(λ/(1-λ)) + Σ level weights (+ term-frequency adjustments), in bits;
match_probability = 1 / (1 + 2^-weight); decision from settings.match_probability and
settings.review_probability (schemas/matching.yaml): match / review / non_match.

Term frequency: on a level marked ``tf`` a pair's weight is adjusted by how common the
shared value is: + log2(u_random / u_tf), u_tf = frequency / N (a phone on one record or a
rare name says more than 王伟 or a shared landline). u_random, the level's u among random
pairs, is the average frequency the adjustment is measured against (as in Splink); the
level's own u is conditional on blocking, so frequencies cannot replace it directly. The
larger of the two sides' frequencies is used (on an exact level they name the same value).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from shiyou.matching.blocking import Tables, qname, scratch
from shiyou.matching.model import MatchingConfig
from shiyou.matching.train import TrainedModel
from shiyou.sql import quote_ident

SCORES = "match_scores"


def _num(x: float) -> str:
    return repr(float(x))


def logit2(p: float) -> float:
    return math.log2(p / (1 - p))


def term_sqls(model: TrainedModel) -> list[tuple[str, str]]:
    """(comparison name, SQL of its weight) over the gamma table's columns: the terms of the sum."""
    out = []
    for c in model.comparisons:
        col = quote_ident(c.column)
        whens = []
        for lv in c.levels:
            w = _num(lv.weight)
            if lv.tf and c.tf_frequency:
                # + log2(u_random / u_tf), u_tf = frequency / N: rarer values weigh more.
                f = f"greatest({quote_ident(c.tf_frequency + '_l')}, {quote_ident(c.tf_frequency + '_r')})"
                u_random = lv.u_random if lv.u_random is not None else lv.u
                w = f"coalesce({_num(lv.weight + math.log2(u_random * model.total_records))} - log2({f}), {w})"
            whens.append(f"WHEN {lv.gamma} THEN {w}")
        # -1 (not comparable) and anything unknown: weight 0.
        out.append((c.name, f"CASE {col} {' '.join(whens)} ELSE 0.0 END"))
    return out


def weight_sql(model: TrainedModel) -> str:
    """SQL expression of a pair's match weight over the gamma table's columns."""
    return " + ".join([_num(model.prior_weight)] + [sql for _, sql in term_sqls(model)])


def scores_sql(cfg: MatchingConfig, model: TrainedModel, tables: Tables = Tables(), dialect: str = "duckdb") -> str:
    """SELECT of the scored pairs: weight, probability and decision per candidate pair."""
    match_w = _num(logit2(cfg.settings.match_probability))
    review_w = _num(logit2(cfg.settings.review_probability))
    inner = (f"SELECT record_no_l, record_no_r, rule, CAST({weight_sql(model)} AS DOUBLE) AS match_weight "
             f"FROM {qname(tables.gamma)}")
    # Compare weights, not probabilities: a probability rounds to 1.0 long before weights stop differing.
    return (f"SELECT record_no_l, record_no_r, rule, match_weight, "
            f"1.0 / (1.0 + power(2.0, -match_weight)) AS match_probability, "
            f"CASE WHEN match_weight >= {match_w} THEN 'match' WHEN match_weight >= {review_w} THEN 'review' "
            f"ELSE 'non_match' END AS decision FROM ({inner}) AS s")


@dataclass
class PredictReport:
    pairs: int
    decisions: dict[str, int]
    seconds: float

    def lines(self) -> list[str]:
        return [f"scored {self.pairs} pairs in {self.seconds:.2f} s: "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.decisions.items()))]


def predict(con, cfg: MatchingConfig, model: TrainedModel, tables: Tables = Tables(),
            out: str = SCORES) -> PredictReport:
    """Create the scored pairs table on a DuckDB connection (gamma must exist)."""
    t = time.perf_counter()
    scratch(con, out, scores_sql(cfg, model, tables))
    seconds = time.perf_counter() - t
    rows = con.execute(f"SELECT decision, count(*) FROM {qname(out)} GROUP BY 1").fetchall()
    return PredictReport(sum(n for _, n in rows), dict(rows), seconds)


def statements(cfg: MatchingConfig, model: TrainedModel, tables: Tables = Tables(), dialect: str = "duckdb") -> list:
    from shiyou.matching.blocking import Statement

    return [Statement("predict.scores", scores_sql(cfg, model, tables, dialect))]
