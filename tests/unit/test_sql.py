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
