"""The scale path: every generated statement transpiles to Spark SQL with SQLGlot.

Fails on a parse error, on anything SQLGlot marks unsupported in Spark, and on a function
SQLGlot does not know (it passes those through unchanged, so a DuckDB-only function such
as list_sum would silently reach Spark) unless it is one of our registered UDFs.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import ErrorLevel, exp

from shiyou.matching import all_statements, dialect
from shiyou.matching.blocking import Tables
from shiyou.matching.model import load_matching_config

CFG = load_matching_config()
STATEMENTS = all_statements(CFG, Tables(records="warehouse.source_records"))


def _anonymous(sql: str, read: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read=read, error_level=ErrorLevel.RAISE)
    return {f.name.upper() for f in tree.find_all(exp.Anonymous)}


def test_statements_cover_every_rule_the_union_and_gamma():
    names = {s.name for s in STATEMENTS}
    for r in CFG.blocking:
        assert f"blocking.rule.{r.name}" in names and f"blocking.oversize.{r.name}" in names
    assert {"blocking.records", "blocking.pairs", "blocking.pairs_one_statement", "comparisons.gamma"} <= names


@pytest.mark.parametrize("stmt", STATEMENTS, ids=[s.name for s in STATEMENTS])
def test_duckdb_statement_transpiles_to_spark(stmt):
    spark = sqlglot.transpile(stmt.sql, read="duckdb", write="spark",
                              error_level=ErrorLevel.RAISE, unsupported_level=ErrorLevel.RAISE)
    assert len(spark) == 1
    unknown = _anonymous(spark[0], "spark") - dialect.SPARK_ANONYMOUS_OK
    assert not unknown, f"{stmt.name}: functions Spark does not have: {sorted(unknown)}"


@pytest.mark.parametrize("stmt", all_statements(CFG, dialect="spark"), ids=lambda s: s.name)
def test_spark_rendering_parses_as_spark(stmt):
    """The dialect table's Spark column, rendered directly, is valid Spark SQL too."""
    unknown = _anonymous(stmt.sql, "spark") - dialect.SPARK_ANONYMOUS_OK
    assert not unknown, f"{stmt.name}: {sorted(unknown)}"


def test_no_byte_based_similarity_in_any_statement():
    for stmt in STATEMENTS:
        tree = sqlglot.parse_one(stmt.sql, read="duckdb")
        names = {(f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower().replace("_", "")
                 for f in tree.find_all(exp.Func)}
        assert not names & {"levenshtein", "jarowinklersimilarity", "damerau_levenshtein".replace("_", ""),
                            "jaccard", "hamming"}, stmt.name


def test_generated_sql_runs_on_duckdb_with_the_same_text_sqlglot_read(duck):
    """What we transpile is what DuckDB runs: the gamma statement executes on an empty input."""
    from shiyou.matching import blocking, comparisons, similarity
    from tests.unit.matching.records import load

    similarity.register(duck)
    load(duck, CFG, [])
    blocking.run(duck, f"CREATE TABLE match_records AS {blocking.records_sql(CFG)}")
    blocking.run(duck, "CREATE TABLE match_pairs (record_no_l BIGINT, record_no_r BIGINT, rule VARCHAR, rules BIGINT)")
    assert duck.execute(comparisons.gamma_sql(CFG)).fetchall() == []
