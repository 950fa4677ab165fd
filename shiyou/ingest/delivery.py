"""Ingest one delivered file: read → map → standardise → validate → loaded records + quarantine.

Everything stays in one DuckDB connection (the run's staging database). The
outputs are two tables, `source_records_<source>` and `quarantine__<source>`, and a
`DeliveryResult` with the counts that `deliveries` publishes. Conservation
holds by construction and is asserted: rows_read = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from shiyou.contracts.model import SourceContract
from shiyou.contracts.readers import LINE_NO, read_delivery
from shiyou.ingest.mapping import mapping_sql
from shiyou.ingest.standardise import standardise
from shiyou.ingest.validate import validate_records
from shiyou.sql import literal, quote_ident
from shiyou.standard import codes
from shiyou.standard.id_number import SHAPED_STATUSES
from shiyou.standard.rules import all_rules

QUARANTINE_COLUMNS = ["source", "snapshot_date", "file", "line_no", "record_id", "rule", "rules", "message", "raw"]


def records_table(source: str) -> str:
    """The per-source base table of loaded records (published; `source_records` is their union view)."""
    return f"source_records_{source}"


def quarantine_table(source: str) -> str:
    return f"quarantine__{source}"


@dataclass
class DeliveryResult:
    source: str
    snapshot_date: dt.date
    file: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    records_loaded: int
    records_quarantined: int
    rule_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase, for run metadata and benchmarks

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in (
            "source", "snapshot_date", "file", "sha256", "rows_read", "rows_loaded", "rows_quarantined",
            "records_loaded", "records_quarantined")}


def prepare_codes(con: duckdb.DuckDBPyConnection) -> None:
    """Code tables the generated SQL joins against (idempotent per connection)."""
    con.register("__code_lookup_df", codes.lookup_frame())
    con.execute("CREATE OR REPLACE TEMP TABLE __code_lookup AS SELECT * FROM __code_lookup_df")
    con.unregister("__code_lookup_df")
    con.register("__divisions_df", codes.division_frame())
    con.execute("CREATE OR REPLACE TEMP TABLE __divisions AS SELECT * FROM __divisions_df")
    con.unregister("__divisions_df")


_VALIDATION_EXTRA = [
    "birth_date_raw", "registered_on",
    "registered_on_raw", "status_date", "status_date_raw", "phone_raw", "sex_raw", "ethnic_group_raw",
    "marital_status_raw", "education_raw", "relation_to_head_raw", "id_type_raw", "population_type_raw",
    "status_raw",
]


def _temporaries(source: str) -> tuple[str, str]:
    """The raw rows' TEMP table and the mapped records' TEMP view of a source's ingest."""
    return f"raw__{source}", f"mapped__{source}"


def ingest_file(con: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, *,
                snapshot_date: dt.date, scratch_dir: Path, area_code: str,
                display_name: str | None = None, previous_db: str | None = None,
                expected_sha256: str | None = None) -> DeliveryResult:
    """Load one file into source_records_<source> / quarantine__<source>; raises DeliveryRefused.

    The raw rows are a TEMP table and the mapped records a view, so each record is
    written once: standardised straight into the source's table. Validation then
    sets the flags of the few rows that have any and moves error rows to quarantine.
    A failed load drops its temporaries: the snapshot kept instead re-creates the source's
    tables on the same connection (through a TEMP table of the mapped view's name).
    """
    try:
        return _load(con, contract, path, snapshot_date=snapshot_date, scratch_dir=scratch_dir,
                     area_code=area_code, display_name=display_name, previous_db=previous_db,
                     expected_sha256=expected_sha256)
    except BaseException:
        raw, mapped = _temporaries(contract.source)
        for drop in (f"DROP VIEW IF EXISTS {quote_ident(mapped)}", f"DROP TABLE IF EXISTS {quote_ident(raw)}"):
            with contextlib.suppress(duckdb.Error):  # a database failed beyond repair: nothing to keep clean
                con.execute(drop)
        for frame in ("__errors", "__flags"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(frame)
        raise


def _load(con: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, *, snapshot_date: dt.date,
          scratch_dir: Path, area_code: str, display_name: str | None, previous_db: str | None,
          expected_sha256: str | None) -> DeliveryResult:
    src = contract.source
    file_label = display_name or path.name
    clock = _Clock()
    raw, mapped = _temporaries(src)
    out = records_table(src)
    prepare_codes(con)
    read = read_delivery(con, contract, path, raw, scratch_dir, expected_sha256)
    clock.lap("read")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(mapped)} AS {mapping_sql(contract, raw)}")
    standardise(con, mapped, out, snapshot_date=snapshot_date, file=file_label, area_code=area_code,
                previous_db=previous_db)
    clock.lap("standardise")

    frame = _validation_frame(con, out)
    clock.lap("to_pandas")
    result = validate_records(frame)
    clock.lap("validate")
    rows = pa.array(frame["__row"].astype("int64").to_numpy(), type=pa.int64())
    del frame
    has_error = pa.array(result.has_errors())
    has_flag = pa.array(result.has_warnings() & ~result.has_errors())
    errors = pa.table({"__row": rows.filter(has_error), "errors": result.errors.filter(has_error)})
    flags = pa.table({"__row": rows.filter(has_flag), "quality_flags": result.warnings.filter(has_flag)})
    con.register("__errors", errors)
    _write_quarantine(con, contract, read, out, raw, snapshot_date, file_label)
    t = quote_ident(out)
    con.execute(f"DELETE FROM {t} WHERE rowid IN (SELECT __row FROM __errors)")
    con.unregister("__errors")
    con.register("__flags", flags)
    con.execute(f"UPDATE {t} SET quality_flags = f.quality_flags FROM __flags f WHERE {t}.rowid = f.__row")
    con.unregister("__flags")
    clock.lap("split")

    rq, rl = quote_ident(quarantine_table(src)), t
    records_loaded = con.execute(f"SELECT count(*) FROM {rl}").fetchone()[0]
    records_quarantined = con.execute(f"SELECT count(*) FROM {rq}").fetchone()[0]
    rows_quarantined = con.execute(f"SELECT count(DISTINCT line_no) FROM {rq}").fetchone()[0]
    rows_loaded = read.rows_read - rows_quarantined
    loaded_lines = con.execute(
        f"SELECT count(DISTINCT line_no) FROM {rl} WHERE line_no NOT IN (SELECT line_no FROM {rq})"
    ).fetchone()[0]
    if loaded_lines != rows_loaded:
        raise AssertionError(
            f"{file_label}: conservation broken: {read.rows_read} rows read, {loaded_lines} loaded, "
            f"{rows_quarantined} quarantined")
    con.execute(f"DROP VIEW IF EXISTS {quote_ident(mapped)}")
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(raw)}")
    counts = {k: v for k, v in result.counts.items() if v}
    for rule_id, n in read.rejects["rule"].value_counts().items():
        counts[rule_id] = counts.get(rule_id, 0) + int(n)
    clock.lap("account")
    return DeliveryResult(src, snapshot_date, file_label, read.sha256, read.rows_read, rows_loaded,
                          rows_quarantined, records_loaded, records_quarantined, counts, read.notes, clock.laps)


def _validation_frame(con, table: str) -> pd.DataFrame:
    """The columns the standard's checks read, plus facts computed by aggregation over the
    snapshot (repeated record keys and IDs) rather than window functions over wide rows."""
    from shiyou.ingest.validate import standard_schema

    wanted = list(dict.fromkeys([*standard_schema().columns, *_VALIDATION_EXTRA]))
    cols = ", ".join(f"s.{quote_ident(c)}" for c in wanted)
    # Only the columns read below.
    needed = ", ".join(quote_ident(c) for c in dict.fromkeys(
        [*wanted, "record_id", "line_no", "id_status", "id_number", "id_birth_date"]))
    t = quote_ident(table)
    shaped = ", ".join(literal(x) for x in SHAPED_STATUSES)
    id18 = f"CASE WHEN s.id_status IN ({shaped}) THEN s.id_number END"
    # The two aggregations read the table itself, two columns each: a CTE that all three
    # parts read would be materialised whole (every column the checks need) first.
    return con.sql(f"""
        WITH s AS NOT MATERIALIZED (SELECT {needed}, rowid AS __row, {id18} AS __id18 FROM {t} s),
             dup_keys AS (SELECT record_id, min(line_no) AS first_line FROM {t}
                          GROUP BY record_id HAVING count(*) > 1),
             dup_ids AS (SELECT __id18, count(*) AS n
                         FROM (SELECT {id18} AS __id18 FROM {t} s) WHERE __id18 IS NOT NULL
                         GROUP BY __id18 HAVING count(*) > 1),
             provinces AS (SELECT DISTINCT substr(code, 1, 2) AS p FROM __divisions WHERE level = 'province')
        SELECT s.__row, {cols},
               CASE WHEN k.first_line IS NOT NULL AND s.line_no > k.first_line THEN 2 ELSE 1 END AS __key_rank,
               coalesce(i.n, 1) AS __id_repeat,
               strftime(s.id_birth_date, '%Y-%m') AS __id_birth_ym,
               -- residence permits (81/82/83) and the foreigners' card (9…) have no province
               CASE WHEN s.__id18 IS NULL OR substr(s.__id18, 1, 1) = '9'
                         OR substr(s.__id18, 1, 2) IN ('81', '82', '83') THEN NULL
                    ELSE p.p IS NOT NULL END AS __division_known
        FROM s
        LEFT JOIN dup_keys k ON k.record_id = s.record_id
        LEFT JOIN dup_ids i ON i.__id18 = s.__id18
        LEFT JOIN provinces p ON p.p = substr(s.__id18, 1, 2)""").to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def _write_quarantine(con, contract: SourceContract, read, std: str, raw: str, snapshot_date: dt.date,
                      file_label: str) -> None:
    src = contract.source
    rules = all_rules()
    raw_line = _raw_line_sql(contract, read.headers)
    messages = pd.DataFrame([(rid, f"{r.en} ({r.zh})") for rid, r in rules.items()], columns=["rule", "message"])
    con.register("__rule_messages", messages)
    rejects = read.rejects.copy()
    rejects["message"] = [f"{m} ({rules[r].zh})" for r, m in zip(rejects["rule"], rejects["message"])]
    con.register("__rejects", pa.Table.from_pandas(rejects.astype({"rule": str, "message": str, "raw": str}),
                                                   preserve_index=False))
    # The few raw lines wanted are picked out by a semi-join on their numbers first: a plain
    # join builds its hash table on the whole raw delivery, every column of it.
    con.execute(f"""
        CREATE OR REPLACE TABLE {quote_ident(quarantine_table(src))} AS
        WITH e AS (SELECT s.line_no, s.record_id, v.errors
                   FROM {quote_ident(std)} s JOIN __errors v ON v.__row = s.rowid)
        SELECT {literal(src)} AS source, CAST(? AS DATE) AS snapshot_date, CAST(? AS VARCHAR) AS file,
               e.line_no, e.record_id, e.errors[1] AS rule, e.errors AS rules, m.message, {raw_line} AS raw
        FROM e
        JOIN (SELECT * FROM {quote_ident(raw)} WHERE {LINE_NO} IN (SELECT line_no FROM e)) r
          ON r.{LINE_NO} = e.line_no
        LEFT JOIN __rule_messages m ON m.rule = e.errors[1]
        UNION ALL
        SELECT {literal(src)}, CAST(? AS DATE), CAST(? AS VARCHAR), CAST(line_no AS BIGINT),
               NULL, rule, [rule], message, raw
        FROM __rejects
        ORDER BY line_no, record_id""", [snapshot_date, file_label, snapshot_date, file_label])
    con.unregister("__rejects")
    con.unregister("__rule_messages")


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._t, 2)
        self._t = now


def _raw_line_sql(contract: SourceContract, headers: list[str]) -> str:
    """The delivered row, rebuilt from its cells (evidence for the department)."""
    sep = literal(contract.file.delimiter if contract.file.format != "xlsx" else ",")
    cells = ", ".join(f"coalesce(r.{quote_ident(h)}, '')" for h in headers)
    return f"concat_ws({sep}, {cells})"


QUARANTINE_DDL = """(source VARCHAR, snapshot_date DATE, file VARCHAR, line_no BIGINT, record_id VARCHAR,
    rule VARCHAR, rules VARCHAR[], message VARCHAR, raw VARCHAR)"""


def create_empty_source_tables(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Empty records/quarantine tables with exactly the columns a real delivery produces."""
    from shiyou.ingest.mapping import output_columns

    prepare_codes(con)
    _raw, mapped = _temporaries(source)
    cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in output_columns())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(mapped)} ({cols})")
    standardise(con, mapped, records_table(source), snapshot_date=dt.date(2000, 1, 1), file="", area_code="020")
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(quarantine_table(source))} {QUARANTINE_DDL}")
    con.execute(f"DROP TABLE {quote_ident(mapped)}")
