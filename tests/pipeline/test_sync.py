"""The whole sync through the real Dagster graph (`shiyou sync` in-process): publishing, history, failures."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import re
from pathlib import Path

import duckdb
import pytest

from shiyou import cli
from shiyou import sync as sync_steps
from tests.pipeline.landing import copy_day, folder, make_day

D1, D2, D3 = dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def sync(landing: Path, warehouse: Path, day: dt.date | None = None) -> tuple[int, list[str]]:
    return cli.run_sync(landing, warehouse, day)


def query(warehouse: Path, sql: str, params=None):
    with duckdb.connect(str(warehouse / "shiyou.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def tree_digest(warehouse: Path) -> str:
    """Every byte and link of the published warehouse, as one hash."""
    h = hashlib.sha256()
    for p in sorted(warehouse.rglob("*")):
        if p.name == ".sync.lock":
            continue
        rel = str(p.relative_to(warehouse))
        if p.is_symlink():
            h.update(f"L {rel} -> {p.readlink()}\n".encode())
        elif p.is_file():
            h.update(f"F {rel} ".encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def test_first_sync_publishes_duckdb_and_parquet(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    code, lines = sync(landing, wh)
    assert code == cli.EXIT_OK, lines
    counts = dict(query(wh, "SELECT source, count(*) FROM source_records GROUP BY 1"))
    # family planning: 3 women + 2 husbands (rows 0 and 2 name one)
    assert counts == {"civil_affairs": 3, "labour": 3, "family_planning": 5, "social_security": 3, "police": 3}
    d = query(wh, "SELECT source, rows_read, rows_loaded, rows_quarantined, records_loaded, status FROM deliveries ORDER BY 1")
    assert ("family_planning", 3, 3, 0, 5, "loaded") in d and len(d) == 5
    parquet = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?, hive_partitioning=true)", [f"{wh}/parquet/source_records/**/*.parquet"]).fetchone()[0]
    assert parquet == 17
    assert (wh / "shiyou.duckdb").is_symlink() and (wh / "parquet").is_symlink()


def test_every_connection_of_a_run_takes_duckdbs_blocks_from_a_region_sized_by_the_memory_cap(tmp_path,
                                                                                              monkeypatch):
    """duckdb_settings: a run's DuckDB takes its buffer blocks from one reserved region as large as
    its memory cap (at 1M residents ≈ 3 CPU-s less of the kernel's page handling); an operator's
    SHIYOU_DUCKDB_MEMORY sizes both. Seen on the connections the real sync opens."""
    from shiyou import sync as run

    monkeypatch.setenv("SHIYOU_DUCKDB_MEMORY", "1GB")
    real, seen = run.staging_connect, []

    def spy(plan):
        con = real(plan)
        seen.append(con.execute("SELECT current_setting('memory_limit'), "
                                "current_setting('block_allocator_memory')").fetchall()[0])
        return con

    monkeypatch.setattr(run, "staging_connect", spy)
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    code, lines = sync(landing, wh)
    assert code == cli.EXIT_OK, lines
    # the ingest's connections, matching's and publishing's
    assert len(seen) >= 3 and set(seen) == {("953.6 MiB", "953.6 MiB")}, seen


def test_a_smaller_memory_cap_later_in_the_same_process_keeps_the_region_already_reserved(tmp_path,
                                                                                         monkeypatch):
    """DuckDB's block region can only grow: opening a release database that this process already
    holds, under a smaller cap, must not fail; the cap itself follows the new value."""
    from shiyou import sync as run

    landing = tmp_path / "landing"
    make_day(landing, D1)
    plan = run.open_run(landing, tmp_path / "wh", None)
    monkeypatch.setenv("SHIYOU_DUCKDB_MEMORY", "2GB")
    first = run.staging_connect(plan)
    monkeypatch.setenv("SHIYOU_DUCKDB_MEMORY", "1GB")
    second = run.staging_connect(plan)
    try:
        got = second.execute("SELECT current_setting('memory_limit'), "
                             "current_setting('block_allocator_memory')").fetchall()[0]
    finally:
        second.close()
        first.close()
    assert got == ("953.6 MiB", "1.8 GiB")


def test_masked_views_hold_no_full_ids(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh)
    ids = [r[0] for r in query(wh, "SELECT id_number FROM source_records_masked WHERE id_number IS NOT NULL")]
    assert ids and all("********" in i for i in ids)
    cols = [r[0] for r in query(wh, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'source_records_masked'")]
    assert "id_number_raw" not in cols and "phone_raw" not in cols


def test_same_file_twice_changes_nothing(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh)
    before = tree_digest(wh)
    code, lines = sync(landing, wh)  # the same delivery again
    assert code == cli.EXIT_OK and any("unchanged" in line for line in lines)
    assert tree_digest(wh) == before
    for s in ["police", "labour"]:  # re-sent byte-identical under the next date
        copy_day(landing, s, D1, D2)
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_OK
    assert tree_digest(wh) == before


def test_missing_source_keeps_last_good_snapshot_and_says_so(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh)
    make_day(landing, D2, sources=["civil_affairs", "labour", "family_planning", "social_security"], n=4, tag="乙")
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_OK
    assert any(line.split()[:2] == ["police", "kept"] and "keeps its snapshot of 2026-11-18" in line for line in lines)
    snaps = dict(query(wh, "SELECT source, max(snapshot_date) FROM source_records GROUP BY 1"))
    assert snaps["police"] == D1 and snaps["labour"] == D2
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'police'")[0][0] == 3
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'labour'")[0][0] == 4
    history = query(wh, "SELECT snapshot_date, is_current FROM deliveries WHERE source = 'labour' ORDER BY 1")
    assert history == [(D1, False), (D2, True)]
    # The kept snapshot's Parquet is the previous release's file, not written again; the others are new.
    releases = sorted(p for p in (wh / "releases").iterdir() if p.is_dir())
    old, new = (r / "parquet" / "source_records" for r in releases[-2:])
    kept = f"snapshot_date={D1}/source=police/data.parquet"
    assert (new / kept).stat().st_ino == (old / kept).stat().st_ino
    assert not (new / f"snapshot_date={D1}" / "source=labour").exists()
    parquet = dict(duckdb.connect().execute(
        "SELECT source, count(*) FROM read_parquet(?, hive_partitioning=true) GROUP BY 1",
        [f"{wh}/parquet/source_records/**/*.parquet"]).fetchall())
    assert parquet == dict(query(wh, "SELECT source, count(*) FROM source_records GROUP BY 1"))
    # Carried into the new release, the kept table is stored as a loaded one (addresses ZSTD).
    assert query(wh, "SELECT DISTINCT compression FROM pragma_storage_info('source_records_police') "
                     "WHERE column_name = 'address' AND segment_type <> 'VALIDITY'") == [("ZSTD",)]


def test_refused_delivery_keeps_snapshot_and_exits_distinctly(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh)
    make_day(landing, D2, n=2)
    p = folder(landing, "police", D2) / f"gongan_syrk_{D2:%Y%m%d}.csv"
    p.write_bytes(p.read_bytes().split(b"\n")[0] + b"\n")  # header only: never 'everyone left'
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_REFUSED
    assert any("police" in line and "refused" in line and "gongan_syrk_20261119.csv" in line for line in lines)
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'police'")[0][0] == 3
    assert query(wh, "SELECT status, reason LIKE '%no records%' FROM deliveries WHERE source = 'police' AND snapshot_date = ?",
                 [D2]) == [("refused", True)]
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'labour'")[0][0] == 2
    # Refused for what it holds: the same bytes again are ignored, not refused twice.
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_OK, lines
    assert any(ln.split()[:1] == ["police"] and "refused before: ignored" in ln for ln in lines), lines
    assert query(wh, "SELECT count(*) FROM deliveries WHERE source = 'police' AND status = 'refused'") == [(1,)]


@pytest.mark.parametrize("export", ["export_parquet", "export_source_parquet"])
def test_failed_run_leaves_warehouse_byte_for_byte(tmp_path, monkeypatch, export):
    """The disk fills up while writing Parquet: of the published tables at the end, or of a source
    at the end of its ingest (which fails the run: it is not the delivery's fault)."""
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh)
    before = tree_digest(wh)
    make_day(landing, D2, tag="新")

    from shiyou.warehouse import tables

    def broken_export(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables, export, broken_export)
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_FAILED
    assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in lines[0]
    assert "refused" not in lines[0] and lines[0].count("OSError") == 1
    assert tree_digest(wh) == before
    monkeypatch.undo()
    code, _ = sync(landing, wh, D2)  # rerunning completes it
    assert code == cli.EXIT_OK
    assert query(wh, "SELECT count(DISTINCT snapshot_date) FROM source_records")[0][0] == 1
    assert not list((wh / "releases").glob(".building-*"))


def test_landing_folder_missing_is_one_clear_line(tmp_path):
    code, lines = sync(tmp_path / "nope", tmp_path / "wh")
    assert code == cli.EXIT_FAILED and lines == [f"shiyou: error: landing folder {tmp_path / 'nope'} does not exist"]


def test_links_out_of_the_landing_folder_are_not_followed(tmp_path):
    landing, wh, outside = tmp_path / "landing", tmp_path / "wh", tmp_path / "outside"
    make_day(landing, D1, sources=["police"])
    make_day(outside, D1, sources=["labour"])
    (landing / "labour").symlink_to(outside / "labour", target_is_directory=True)
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_OK
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'labour'")[0][0] == 0


def test_date_outside_partitions_is_one_clear_line(tmp_path):
    landing = tmp_path / "landing"
    make_day(landing, dt.date(2019, 5, 1), sources=["police"])
    code, lines = sync(landing, tmp_path / "wh", dt.date(2019, 5, 1))
    assert code == cli.EXIT_FAILED and len(lines) == 1 and "outside the schedule's partitions" in lines[0]


def test_cli_main_prints_summary_and_exit_code(tmp_path, capsys):
    landing = tmp_path / "landing"
    make_day(landing, D1)
    code = cli.main(["sync", "--landing", str(landing), "--warehouse", str(tmp_path / "wh")])
    out = capsys.readouterr()
    assert code == 0 and "published r000001" in out.out and out.err == ""
    assert "440106198801010017" not in out.out  # never a full ID in what the CLI prints


def test_late_delivery_for_an_earlier_day_never_replaces_a_newer_snapshot(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D2, n=5)
    sync(landing, wh, D2)
    make_day(landing, D1, sources=["police"], n=2)  # yesterday's police file arrives late
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_OK
    assert query(wh, "SELECT count(*), max(snapshot_date) FROM source_records WHERE source = 'police'") == [(5, D2)]
    assert query(wh, "SELECT snapshot_date, status, is_current FROM deliveries WHERE source = 'police' ORDER BY 1") == [
        (D1, "superseded", False), (D2, "loaded", True)]


def test_a_reverted_file_is_loaded_again(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1, sources=["police"], n=3)
    sync(landing, wh, D1)
    make_day(landing, D2, sources=["police"], n=4)
    sync(landing, wh, D2)
    copy_day(landing, "police", D1, D3)  # the department rolls back to the first list
    code, _ = sync(landing, wh, D3)
    assert code == cli.EXIT_OK
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'police'")[0][0] == 3


def test_an_unforeseen_failure_in_one_file_refuses_it_and_publishes_the_others(tmp_path, monkeypatch):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    from shiyou.contracts import readers

    real = readers._read_xlsx

    def explode(*args, **kwargs):
        raise RuntimeError("corrupt shared strings table")

    monkeypatch.setattr(readers, "_read_xlsx", explode)
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_REFUSED
    assert any("family_planning" in ln and "refused" in ln and "RuntimeError" in ln for ln in lines)
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'police'")[0][0] == 3
    assert query(wh, "SELECT status FROM deliveries WHERE source = 'family_planning'") == [("refused",)]
    monkeypatch.setattr(readers, "_read_xlsx", real)
    # The error may be a bug fixed since: the same file is tried again, not ignored as refused before.
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_OK, lines
    assert query(wh, "SELECT status FROM deliveries WHERE source = 'family_planning' ORDER BY status") == [
        ("loaded",), ("refused",)]
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'family_planning'")[0][0] == 5


def test_lock_held_by_another_sync_is_one_clear_line(tmp_path):
    import fcntl

    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1, sources=["police"])
    wh.mkdir()
    with open(wh / ".sync.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_FAILED and lines == [f"shiyou: error: another sync is running on {wh} (lock .sync.lock)"]


def test_full_collections_are_rare_inside_the_heavy_steps_and_the_setting_comes_back():
    """Ingest and matching raise only the full-collection threshold, and put it back even when
    the step fails (a long-lived Dagster process keeps its own setting)."""
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with sync_steps.rare_full_collections():
            inside = gc.get_threshold()
            raise RuntimeError("step failed")
    assert inside[:2] == before[:2] and inside[2] >= sync_steps.FULL_COLLECTION_AFTER > before[2]
    assert gc.get_threshold() == before


def test_a_failed_publish_closes_its_connection(tmp_path, monkeypatch):
    """The Parquet export fails: the staging connection is closed at once, not whenever Python
    collects the exception's frames (a rerun in the same process could get that open database
    back for the same release path)."""
    from shiyou.warehouse import tables

    def broken_export(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables, "export_parquet", broken_export)
    plan = sync_steps.RunPlan("2026-11-20", str(tmp_path / "landing"), str(tmp_path / "wh"),
                              str(tmp_path / "building"), None, {})
    con = sync_steps.staging_connect(plan)
    with pytest.raises(OSError):
        sync_steps.publish(con, plan)
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")


def test_a_failure_after_a_file_was_mapped_refuses_only_that_file_on_a_first_sync(tmp_path, monkeypatch):
    """The load fails once the delivery's records are mapped (a TEMP view on the source's
    connection): the file is refused and the source starts empty, the others are published.
    (The view left behind used to collide with the empty tables' making: the whole step failed
    with a CatalogException instead.)"""
    from shiyou.ingest import delivery

    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    real, failed = delivery.standardise, []

    def standardise(con, mapped, out, **kwargs):
        if out == delivery.records_table("police") and not failed:
            failed.append(out)
            raise RuntimeError("standardising failed")
        return real(con, mapped, out, **kwargs)

    monkeypatch.setattr(delivery, "standardise", standardise)
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_REFUSED, lines
    assert any(ln.split()[:2] == ["police", "refused"] and "RuntimeError" in ln for ln in lines), lines
    assert dict(query(wh, "SELECT source, status FROM deliveries")) == {
        "civil_affairs": "loaded", "labour": "loaded", "family_planning": "loaded", "social_security": "loaded",
        "police": "refused"}
    assert query(wh, "SELECT count(*) FROM source_records WHERE source = 'police'")[0][0] == 0


def test_running_out_of_memory_while_loading_fails_the_run_and_refuses_no_delivery(tmp_path, monkeypatch):
    """DuckDB's memory cap is too small for the day's files (a real out-of-memory error, not a
    mock): the run fails with one line saying so and what to change, the published warehouse is
    untouched, and no file is recorded as refused (a refused file is ignored when delivered
    again): rerun with enough memory, the day's files load."""
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh, D1)
    before = tree_digest(wh)
    make_day(landing, D2, tag="新")
    monkeypatch.setenv("SHIYOU_DUCKDB_MEMORY", "8MB")
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_FAILED and len(lines) == 1, lines
    # said by the load of a delivery (not by a later step, after the file was refused)
    assert re.match(r"shiyou: error: \w+: DuckDB ran out of memory under its cap of 8MB \(raise SHIYOU_DUCKDB_MEMORY, "
                    r"or free memory on the machine\) while loading \w+_20261119\.(csv|txt|xlsx); nothing was "
                    r"published, the delivery is not refused", lines[0]), lines
    assert tree_digest(wh) == before
    monkeypatch.delenv("SHIYOU_DUCKDB_MEMORY")
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_OK, lines
    assert query(wh, "SELECT count(*) FROM deliveries WHERE snapshot_date = ? AND status = 'loaded'", [D2]) == [(5,)]


def test_running_out_of_memory_in_the_matching_is_one_clear_line(tmp_path, monkeypatch):
    """Out of memory after the ingest (here the cap lowered to 8MB for the matching, a real
    DuckDB error): one line naming the step, the cap and the setting, nothing published."""
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    real = sync_steps.resolve

    def resolve(con, plan):
        monkeypatch.setenv("SHIYOU_DUCKDB_MEMORY", "8MB")
        sync_steps.apply_duckdb_settings(con)
        return real(con, plan)

    monkeypatch.setattr(sync_steps, "resolve", resolve)
    code, lines = sync(landing, wh, D1)
    assert code == cli.EXIT_FAILED
    assert len(lines) == 1 and lines[0].startswith(
        "shiyou: error: step residents: DuckDB ran out of memory under its cap of 8MB (raise SHIYOU_DUCKDB_MEMORY, "
        "or free memory on the machine); nothing was published [OutOfMemoryException: Out of Memory Error: "), lines
    assert not (wh / "shiyou.duckdb").exists()


def test_a_full_disk_while_loading_fails_the_run_and_refuses_no_delivery(tmp_path, monkeypatch):
    """The disk fills up while the workbook is read (its scratch copy): not the file's fault."""
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    sync(landing, wh, D1)
    before = tree_digest(wh)
    make_day(landing, D2, tag="新")
    from shiyou.contracts import readers

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(readers, "_read_xlsx", full_disk)
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_FAILED, lines
    assert lines[0].startswith("shiyou: error: family_planning: the disk holding the warehouse is full"), lines
    assert tree_digest(wh) == before
    monkeypatch.undo()
    code, lines = sync(landing, wh, D2)
    assert code == cli.EXIT_OK, lines
    assert query(wh, "SELECT status FROM deliveries WHERE source = 'family_planning' AND snapshot_date = ?",
                 [D2]) == [("loaded",)]


@pytest.mark.parametrize("exc, kind", [
    (duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block"), "memory"),
    (duckdb.OutOfMemoryException("Out of Memory Error: failed to offload data block of size 256 KiB (9.9 GiB/"
                                 "9.9 GiB used). This limit was set by the 'max_temp_directory_size' setting."), "disk"),
    (OSError(28, "No space left on device"), "disk"),
    (OSError(122, "Disk quota exceeded"), "disk"),
    (duckdb.IOException("IO Error: Could not write file \"x.tmp\": No space left on device"), "disk"),
    (duckdb.IOException("IO Error: Could not write file \"x.tmp\": Disk quota exceeded"), "disk"),
    (OSError(13, "Permission denied"), None),
    (duckdb.IOException("IO Error: No files found that match the pattern"), None),
    (RuntimeError("corrupt shared strings table"), None),
])
def test_what_counts_as_the_machine_running_out(exc, kind):
    """Only memory and disk shortages fail the run instead of refusing the file being loaded; a
    spill folder that reached its size limit is the disk, though DuckDB says out of memory."""
    from shiyou.shortage import shortage, shortage_named

    assert shortage(exc) == kind
    if not isinstance(exc, OSError):  # what the command line sees of a failed step
        assert shortage_named(type(exc).__name__, str(exc)) == kind
