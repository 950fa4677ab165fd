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


def column_ddl(name: str, type_: str, compression: str | None = None) -> str:
    """One column of a CREATE TABLE: quoted name, type and, if given, the DuckDB compression
    method it is stored with (a config value: checked to be a bare word)."""
    if compression is not None and not compression.isidentifier():
        raise ValueError(f"not a compression method: {compression!r}")
    return f"{quote_ident(name)} {type_}" + (f" USING COMPRESSION {compression}" if compression else "")


def create_table_as(con, name: str, select: str, params: list | None = None,
                    compression: dict[str, str] | None = None) -> None:
    """``CREATE OR REPLACE TABLE name AS select``, except that the columns named in
    ``compression`` (case-insensitively, as DuckDB names columns) are stored with that DuckDB
    compression method. DuckDB has no such clause for CREATE TABLE AS, so the table is declared
    from the query's own column types and filled by INSERT, which keeps the query's row order.

    Unlike CREATE TABLE AS that is two statements: ``select`` must not read ``name`` itself (it
    would find it empty), its column names must be distinct, and a failed INSERT leaves ``name``
    empty. Every caller builds its tables in a release being prepared, which a failed run
    discards, so a half-made table is never published."""
    table = quote_ident(name)
    wanted = {k.lower(): v for k, v in (compression or {}).items()}
    columns = con.execute(f"DESCRIBE {select}", params).fetchall() if wanted else []
    if not any(c[0].lower() in wanted for c in columns):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}", params).fetchall()
        return
    ddl = ", ".join(column_ddl(column, type_, wanted.get(column.lower())) for column, type_, *_ in columns)
    con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})").fetchall()
    con.execute(f"INSERT INTO {table} {select}", params).fetchall()
