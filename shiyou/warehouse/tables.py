"""The published tables, built inside the release being prepared, and their Parquet copies.

Public names (see docs/warehouse.md): source_records (a view over the base tables
source_records_<source>), quarantine, deliveries, sync_runs, and the masked views
source_records_masked / quarantine_masked.
Base tables hold full values (they are evidence); everything an analyst is
pointed at first — the masked views, reports, logs — shows masked values.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from shiyou.ingest.delivery import create_empty_source_tables, quarantine_table, records_table
from shiyou.sql import literal, quote_ident, table_exists
from shiyou.standard import masking

PUBLISHED = ["source_records", "quarantine", "deliveries", "sync_runs"]
DELIVERY_COLUMNS = {
    "source": "VARCHAR", "snapshot_date": "DATE", "file": "VARCHAR", "sha256": "VARCHAR",
    "rows_read": "BIGINT", "rows_loaded": "BIGINT", "rows_quarantined": "BIGINT",
    "records_loaded": "BIGINT", "records_quarantined": "BIGINT", "status": "VARCHAR",
    "reason": "VARCHAR", "is_current": "BOOLEAN",
}


def refused_delivery_row(source: str, snapshot_date: dt.date, file: str | None, sha256: str | None,
                         reason: str, status: str = "refused") -> dict:
    """A deliveries row for a file that was not loaded ('refused', or 'superseded' when stale)."""
    return {"source": source, "snapshot_date": snapshot_date, "file": file, "sha256": sha256,
            "rows_read": None, "rows_loaded": None, "rows_quarantined": None, "records_loaded": None,
            "records_quarantined": None, "status": status, "reason": reason}


def build_published(con: duckdb.DuckDBPyConnection, previous_db: str | None, sources: list[str],
                    new_deliveries: list[dict], current: dict[str, str], run_row: dict) -> None:
    for s in sources:
        if not table_exists(con, records_table(s)):
            create_empty_source_tables(con, s)
    # source_records is a view over the per-source base tables: no 2-million-row copy per run.
    rec = " UNION ALL BY NAME ".join(f"SELECT * FROM {quote_ident(records_table(s))}" for s in sources)
    qua = " UNION ALL BY NAME ".join(f"SELECT * FROM {quote_ident(quarantine_table(s))}" for s in sources)
    con.execute(f"CREATE OR REPLACE VIEW source_records AS {rec}")
    con.execute(f"CREATE OR REPLACE TABLE quarantine AS {qua}")
    for s in sources:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(quarantine_table(s))}")

    cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in DELIVERY_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TABLE deliveries ({cols})")
    con.execute("CREATE OR REPLACE TABLE sync_runs (run_no BIGINT, sync_date DATE, published_at TIMESTAMP, summary JSON)")
    if previous_db:
        con.execute(f"ATTACH {literal(previous_db)} AS prev (READ_ONLY)")
        con.execute("INSERT INTO deliveries SELECT * FROM prev.deliveries")
        con.execute("INSERT INTO sync_runs SELECT * FROM prev.sync_runs")
        con.execute("DETACH prev")
    if new_deliveries:
        frame = pd.DataFrame(new_deliveries)
        for c in DELIVERY_COLUMNS:
            if c not in frame:
                frame[c] = None
        frame["is_current"] = frame["status"].eq("loaded")
        con.register("__new_deliveries", frame[list(DELIVERY_COLUMNS)])
        loaded = [s for s in frame.loc[frame["is_current"], "source"]]
        if loaded:
            con.execute("UPDATE deliveries SET is_current = false WHERE source IN (SELECT unnest(?::VARCHAR[]))",
                        [loaded])
        casts = ", ".join(f"CAST({quote_ident(c)} AS {t})" for c, t in DELIVERY_COLUMNS.items())
        con.execute(f"INSERT INTO deliveries SELECT {casts} FROM __new_deliveries")
        con.unregister("__new_deliveries")
    con.execute(
        "INSERT INTO sync_runs SELECT coalesce(max(run_no), 0) + 1, CAST(? AS DATE), now()::TIMESTAMP, ? FROM sync_runs",
        [run_row["sync_date"], run_row["summary"]])
    masking.create_masked_views(con)



def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {quote_ident(t)}").fetchone()[0] for t in PUBLISHED}


def _source_partitions(folder: Path, source: str) -> list[Path]:
    """The partition folders (snapshot_date=…/source=<source>) of one source under a parquet folder."""
    return sorted((folder / "source_records").glob(f"snapshot_date=*/source={source}"))


def export_source_parquet(con: duckdb.DuckDBPyConnection, folder: Path, source: str,
                          previous_folder: Path | None = None) -> None:
    """parquet/source_records/snapshot_date=…/source=<source>/data.parquet for one source.

    Called as soon as the source's table is final (at the end of its ingest), so the export
    runs beside the other source's ingest rather than after matching. A source that kept its
    previous snapshot (``previous_folder``: the previous release's parquet folder) takes that
    release's files when they hold exactly its rows (same snapshot dates, same row count),
    instead of writing them again: hard-linked where the file system allows (a published
    release is never written to), else copied. Whatever an earlier attempt of the same build
    left for this source is removed first, so a re-executed ingest never adds a partition.
    """
    for part in _source_partitions(folder, source):
        shutil.rmtree(part)
    t = quote_ident(records_table(source))
    dates, rows = con.execute(f"SELECT list(DISTINCT snapshot_date), count(*) FROM {t}").fetchall()[0]
    dates = sorted(d for d in dates or [] if d is not None)
    reusable = _reusable_files(con, previous_folder, source, dates, rows) if previous_folder else []
    for src in reusable:
        target = folder / src.relative_to(previous_folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(src, target)
    if reusable:
        return
    for d in dates:
        part = folder / "source_records" / f"snapshot_date={d.isoformat()}" / f"source={source}"
        part.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (SELECT * EXCLUDE (snapshot_date, source) FROM {t} WHERE snapshot_date = ?) "
                    f"TO {literal(str(part / 'data.parquet'))} (FORMAT parquet)", [d])


def _reusable_files(con: duckdb.DuckDBPyConnection, previous_folder: Path, source: str, dates: list,
                    rows: int) -> list[Path]:
    """The previous release's files of ``source`` if they hold these snapshot dates and this many
    rows, else none."""
    parts = _source_partitions(previous_folder, source)
    files = [p / "data.parquet" for p in parts]
    if (not parts or [p.parent.name.split("=", 1)[1] for p in parts] != [d.isoformat() for d in dates]
            or not all(f.is_file() for f in files)):
        return []
    in_files = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)",
                           [[str(f) for f in files]]).fetchall()[0][0]
    return files if in_files == rows else []


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """parquet/<table>/data.parquet for every published table but source_records, whose files
    each source writes at the end of its ingest (export_source_parquet), in hive partitions
    snapshot_date=…/source=…/ (each source's base table holds one snapshot: one file per
    partition, much faster than a PARTITION_BY over the union view)."""
    folder.mkdir(parents=True, exist_ok=True)
    from shiyou.matching.resolve import PUBLISHED as MATCHED

    for t in PUBLISHED + [m for m in MATCHED if table_exists(con, m)]:
        if t == "source_records":
            continue
        target = folder / t
        target.mkdir(exist_ok=True)
        con.execute(f"COPY (SELECT * FROM {quote_ident(t)}) TO {literal(str(target / 'data.parquet'))} (FORMAT parquet)")
