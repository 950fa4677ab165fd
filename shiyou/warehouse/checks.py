"""Invariants of the published tables (run before every swap; also asset checks)."""

from __future__ import annotations

import duckdb


def conservation_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Empty when nothing is lost: each current delivery's rows and records are all accounted for."""
    problems: list[str] = []
    for file, read, loaded, quarantined in con.execute(
        """SELECT file, rows_read, rows_loaded, rows_quarantined FROM deliveries
           WHERE status = 'loaded' AND rows_read <> rows_loaded + rows_quarantined""").fetchall():
        problems.append(f"{file}: {read} rows read but {loaded} loaded + {quarantined} quarantined")
    for source, file, expected, actual in con.execute(
        """SELECT d.source, d.file, d.records_loaded, count(r.record_uid)
           FROM deliveries d LEFT JOIN source_records r ON r.source = d.source
           WHERE d.is_current GROUP BY ALL HAVING count(r.record_uid) <> d.records_loaded""").fetchall():
        problems.append(f"{file}: {expected} records loaded but {actual} in source_records")
    dupes = con.execute(
        "SELECT count(*) FROM (SELECT record_uid FROM source_records GROUP BY 1 HAVING count(*) > 1)").fetchone()[0]
    if dupes:
        problems.append(f"{dupes} record_uid values appear more than once in source_records")
    return problems


def resident_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Empty when every loaded record is in resident_xref exactly once, every xref row names a
    resident, and no resident holds two different trusted IDs' records (a safeguard breach)."""
    problems: list[str] = []
    missing, doubled = con.execute(
        """SELECT (SELECT count(*) FROM source_records s ANTI JOIN resident_xref x USING (record_uid)),
                  (SELECT count(*) FROM (SELECT record_uid FROM resident_xref GROUP BY 1 HAVING count(*) > 1))"""
    ).fetchall()[0]
    if missing:
        problems.append(f"{missing} loaded records have no resident in resident_xref")
    if doubled:
        problems.append(f"{doubled} records appear more than once in resident_xref")
    orphans = con.execute("SELECT count(*) FROM resident_xref x ANTI JOIN residents r USING (resident_id)").fetchall()[0][0]
    if orphans:
        problems.append(f"{orphans} resident_xref rows name no resident")
    dup_ids = con.execute("SELECT count(*) FROM (SELECT resident_id FROM residents GROUP BY 1 HAVING count(*) > 1)"
                          ).fetchall()[0][0]
    if dup_ids:
        problems.append(f"{dup_ids} resident_id values used twice")
    return problems
