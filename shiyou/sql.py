"""Small helpers for generating SQL safely: identifiers are quoted, values are bound or escaped.

Values that come from delivered files are never pasted into SQL; they live in
tables. Values that come from the project's own config (contract code maps)
are rendered with `literal`, which escapes quotes.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (and ANSI SQL): double quotes, doubled inside."""
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'


def table_exists(con, table: str, database: str | None = None) -> bool:
    """Is there a table of that name in that attached database, or else in the connection's own?
    (Never "in any database": another source's ingest may have the previous release attached.)"""
    sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = "
    if database:
        return con.execute(sql + "?", [table, database]).fetchall()[0][0] > 0
    return con.execute(sql + "current_database()", [table]).fetchall()[0][0] > 0


def literal(value: str | None) -> str:
    """A SQL string literal for a config value (never for delivered data)."""
    if value is None:
        return "NULL"
    if "\x00" in value:
        raise ValueError("literal contains NUL")
    return "'" + value.replace("'", "''") + "'"


def create_table_as(con, name: str, select: str, params: list | None = None,
                    compression: dict[str, str] | None = None) -> None:
    """``CREATE OR REPLACE TABLE name AS select``, except that the columns named in
    ``compression`` are stored with that DuckDB compression method (``USING COMPRESSION``;
    DuckDB has no such clause for CREATE TABLE AS, so the table is declared from the query's
    own column types and filled by INSERT, which keeps the query's row order)."""
    table = quote_ident(name)
    columns = con.execute(f"DESCRIBE {select}", params).fetchall() if compression else []
    if not any(c[0] in compression for c in columns):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}", params).fetchall()
        return
    ddl = []
    for column, type_, *_ in columns:
        method = compression.get(column)
        if method is not None and not method.isidentifier():
            raise ValueError(f"not a compression method: {method!r}")
        ddl.append(f"{quote_ident(column)} {type_}" + (f" USING COMPRESSION {method}" if method else ""))
    con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(ddl)})").fetchall()
    con.execute(f"INSERT INTO {table} {select}", params).fetchall()
