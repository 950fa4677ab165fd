"""shiyou.sql: identifiers quoted, values never spliced, and table lookups that do not look
into another attached database (sources ingested concurrently attach the previous release)."""

from __future__ import annotations

import duckdb
import pytest

from shiyou.sql import literal, quote_ident, table_exists


def test_table_exists_looks_in_the_own_database_unless_told(tmp_path):
    other = tmp_path / "previous.duckdb"
    with duckdb.connect(str(other)) as prev:
        prev.execute("CREATE TABLE _dictionary_names (v VARCHAR)")
    con = duckdb.connect(str(tmp_path / "release.duckdb"))
    con.execute("ATTACH ? AS prev_police (READ_ONLY)", [str(other)])
    assert not table_exists(con, "_dictionary_names")  # only the attached release has it
    assert table_exists(con, "_dictionary_names", "prev_police")
    con.execute("CREATE TABLE _dictionary_names (v VARCHAR)")
    assert table_exists(con, "_dictionary_names")


def test_hostile_names_and_values_stay_data():
    con = duckdb.connect()
    name = 'x"; DROP TABLE y; --'
    con.execute(f"CREATE TABLE y (a INT); CREATE TABLE {quote_ident(name)} (a INT)")
    assert table_exists(con, name) and table_exists(con, "y")
    assert con.execute(f"SELECT {literal(chr(39) + '; DROP TABLE y; --')}").fetchall()[0][0] == "'; DROP TABLE y; --"
    with pytest.raises(ValueError):
        literal("a\x00b")


def test_create_table_as_stores_the_named_columns_with_their_compression_and_keeps_the_rest(tmp_path):
    """The query's rows, order and column types as CREATE TABLE AS gives them; the named columns
    (matched as DuckDB matches column names, whatever the case) stored ZSTD, the others as DuckDB
    chooses."""
    from shiyou.sql import create_table_as

    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    select = ("SELECT 'addr-' || (i * 7919 % 100003) AS \"Address\", i % 3 AS k, [i, i + 1] AS l, "
              "{'a b': i} AS s, CAST(? AS DATE) AS d FROM range(300000) AS t(i) ORDER BY i DESC")
    create_table_as(con, "with_zstd", select, ["2026-11-22"], compression={"address": "zstd"})
    con.execute(f"CREATE TABLE plain AS {select}", ["2026-11-22"]).fetchall()
    con.execute("CHECKPOINT").fetchall()
    assert con.execute("SELECT * FROM with_zstd").fetchall() == con.execute("SELECT * FROM plain").fetchall()
    assert con.execute("DESCRIBE with_zstd").fetchall() == con.execute("DESCRIBE plain").fetchall()
    stored = dict(con.execute("SELECT column_name, list(DISTINCT compression) FROM pragma_storage_info('with_zstd') "
                              "WHERE segment_type = 'VARCHAR' GROUP BY 1").fetchall())
    assert stored["Address"] == ["ZSTD"]
    with pytest.raises(ValueError, match="not a compression method"):
        create_table_as(con, "bad", select, ["2026-11-22"], compression={"address": "zstd; DROP TABLE plain"})
