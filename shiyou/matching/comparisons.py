"""Comparison levels of every candidate pair: the "gamma" table, as SQL generated from matching.yaml.

One row per candidate pair: ``record_no_l``, ``record_no_r`` (blocking.records_sql), ``rule`` (first
blocking rule), then ``gamma_<comparison>`` for every comparison — the index of
the first level whose condition holds (null level -1, then 0, 1 … in YAML order,
the else level last) — and the term-frequency columns a comparison asks for, as
``<frequency>_l`` / ``<frequency>_r``.

A CASE evaluates a branch only for the rows that reach it (DuckDB uses selection
vectors), so the character-similarity UDF runs only on pairs no cheaper level caught.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shiyou.matching import similarity
from shiyou.matching.blocking import Tables, qname, scratch
from shiyou.matching.model import Comparison, MatchingConfig
from shiyou.sql import quote_ident


def level_case_sql(cfg: MatchingConfig, comparison: Comparison, dialect: str = "duckdb") -> str:
    """CASE expression giving a pair's level index for one comparison (l. / r. columns)."""
    whens, i = [], 0
    for lv in comparison.levels:
        if lv.is_else:
            continue
        cond = cfg.render(lv.sql, dialect)
        if lv.is_null:
            whens.append(f"WHEN {cond} THEN -1")
        else:
            whens.append(f"WHEN {cond} THEN {i}")
            i += 1
    return f"CASE {' '.join(whens)} ELSE {i} END"


def gamma_sql(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> str:
    """SELECT of the gamma table over the candidate pairs."""
    cols = ["p.record_no_l", "p.record_no_r", "p.rule"]
    for c in cfg.comparisons:
        cols.append(f"CAST({level_case_sql(cfg, c, dialect)} AS TINYINT) AS {quote_ident(c.column)}")
    for c in cfg.comparisons:
        for tf in c.term_frequencies:
            cols += [f"l.{quote_ident(tf)} AS {quote_ident(tf + '_l')}",
                     f"r.{quote_ident(tf)} AS {quote_ident(tf + '_r')}"]
    cols = list(dict.fromkeys(cols))  # a frequency shared by two comparisons appears once
    recs = qname(tables.match_records)
    return (f"SELECT {', '.join(cols)} FROM {qname(tables.pairs)} AS p "
            f"JOIN {recs} AS l ON l.record_no = p.record_no_l "
            f"JOIN {recs} AS r ON r.record_no = p.record_no_r")


@dataclass
class GammaReport:
    pairs: int
    seconds: float
    levels: dict[str, dict[str, int]]  # comparison -> level label -> pairs

    def lines(self) -> list[str]:
        out = [f"gamma: {self.pairs} pairs in {self.seconds:.2f} s"]
        for comp, counts in self.levels.items():
            out.append(f"  {comp:<12} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return out


def compute_gamma(con, cfg: MatchingConfig, tables: Tables = Tables()) -> GammaReport:
    """Create the gamma table on a DuckDB connection (blocking must have run) and count levels."""
    similarity.register(con)
    t = time.perf_counter()
    scratch(con, tables.gamma, gamma_sql(cfg, tables))
    seconds = time.perf_counter() - t
    levels = {}
    for c in cfg.comparisons:
        labels = c.level_labels()
        rows = con.execute(f"SELECT {quote_ident(c.column)}, count(*) FROM {qname(tables.gamma)} "
                           f"GROUP BY 1 ORDER BY 1").fetchall()
        levels[c.name] = {labels[g]: n for g, n in rows}
    n = con.execute(f"SELECT count(*) FROM {qname(tables.gamma)}").fetchall()[0][0]
    return GammaReport(n, seconds, levels)


def statements(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> list:
    from shiyou.matching.blocking import Statement

    return [Statement("comparisons.gamma", gamma_sql(cfg, tables, dialect))]
