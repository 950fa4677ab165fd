"""Sources are ingested two at a time (sync.ingest_sources); the result must be the serial one,
and one source can still be materialised on its own from the Dagster graph."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
from dagster import AssetKey, DagsterInstance, materialize

from pipelines.definitions import ALL_ASSETS, resources
from shiyou import sync
from shiyou.contracts.model import default_contracts
from shiyou.ingest.delivery import records_table
from tests.conftest import SAMPLES
from tests.pipeline.landing import make_day, redeliver_shorter

CONTRACTS = list(default_contracts())


def _ingest(landing: Path, warehouse: Path, workers: int, on_done=None) -> tuple[sync.RunPlan, list[sync.SourceOutcome]]:
    plan = sync.open_run(landing, warehouse, None)
    return plan, sync.ingest_sources(plan, CONTRACTS, workers=workers, on_done=on_done)


def _compare(serial: sync.RunPlan, both: sync.RunPlan) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A connection with both releases being built attached (a, b); asserts every table of a
    holds exactly the rows of the same table in b. Returns it and the table names."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [str(Path(serial.building) / "shiyou.duckdb")]).fetchall()
    con.execute("ATTACH ? AS b (READ_ONLY)", [str(Path(both.building) / "shiyou.duckdb")]).fetchall()
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' "
                                       "ORDER BY 1").fetchall()]
    for t in names:
        q = f'"{t}"'
        differ = con.execute(f"SELECT (SELECT count(*) FROM (FROM a.{q} EXCEPT ALL FROM b.{q})), "
                             f"(SELECT count(*) FROM (FROM b.{q} EXCEPT ALL FROM a.{q}))").fetchall()[0]
        assert differ == (0, 0), t
    return con, names


def test_two_sources_at_a_time_build_exactly_what_one_at_a_time_builds(tmp_path):
    serial, s_out = _ingest(SAMPLES / "landing", tmp_path / "serial", workers=1)
    finished: list[sync.SourceOutcome] = []
    both, c_out = _ingest(SAMPLES / "landing", tmp_path / "concurrent", workers=2, on_done=finished.append)
    # outcomes come back in contract order, whatever order the sources finished in; each was
    # reported once as it finished
    assert [o.source for o in c_out] == [c.source for c in CONTRACTS]
    assert len(finished) == len(c_out) and {o.source: o for o in finished} == {o.source: o for o in c_out}
    assert [(o.action, o.records, o.quarantined, o.rule_counts) for o in c_out] == \
        [(o.action, o.records, o.quarantined, o.rule_counts) for o in s_out]
    con, names = _compare(serial, both)
    assert {records_table(c.source) for c in CONTRACTS} <= set(names)
    assert {"_dictionary_names", "_dictionary_addresses"} <= set(names)
    # the dictionaries are shared by the concurrent sources: each value normalised and stored once
    for t in ("_dictionary_names", "_dictionary_addresses"):
        assert con.execute(f"SELECT count(*) - count(DISTINCT v) FROM b.{t}").fetchall()[0][0] == 0


def test_on_a_second_sync_too_kept_sources_and_carried_dictionaries_are_the_serial_ones(sample_warehouse, tmp_path):
    """The keep path (each source attaches the previous release under its own name) and the
    dictionaries carried from it, serial against concurrent."""
    import shutil

    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES / "landing", landing)
    redeliver_shorter(landing, "labour", dt.date(2026, 11, 20), dt.date(2026, 11, 21))  # a line less
    runs = {}
    for workers in (1, 2):
        wh = tmp_path / f"wh{workers}"
        shutil.copytree(sample_warehouse, wh, symlinks=True)
        runs[workers] = _ingest(landing, wh, workers)
    (serial, s_out), (both, c_out) = runs[1], runs[2]
    assert [o.action for o in c_out] == ["kept", "kept", "loaded", "kept", "kept"]
    assert [(o.action, o.records, o.quarantined, o.snapshot_date) for o in c_out] == \
        [(o.action, o.records, o.quarantined, o.snapshot_date) for o in s_out]
    con, _ = _compare(serial, both)
    con.execute("ATTACH ? AS prev (READ_ONLY)", [str(sample_warehouse / "shiyou.duckdb")]).fetchall()
    # yesterday's dictionary is carried whole (nothing in it is parsed again)
    for t in ("_dictionary_names", "_dictionary_addresses"):
        assert con.execute(f"SELECT count(*) FROM (FROM prev.{t} EXCEPT FROM b.{t})").fetchall()[0][0] == 0


def test_one_source_materialises_alone(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, dt.date(2026, 11, 18))
    with DagsterInstance.ephemeral() as instance:
        result = materialize(ALL_ASSETS, selection=["sync_plan", "police_records"], partition_key="2026-11-18",
                             instance=instance, resources=resources(str(landing), str(wh)))
    assert result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert done == {AssetKey("sync_plan"), AssetKey("police_records")}
    outcome = result.output_for_node("source_records", "police_records")
    assert (outcome.source, outcome.action, outcome.records) == ("police", "loaded", 3)
    checks = {(c.asset_key.to_user_string(), c.check_name, c.passed) for c in result.get_asset_check_evaluations()}
    assert checks == {("police_records", "rows_conserved", True), ("police_records", "standard_rules", True)}


def test_a_source_that_raises_fails_the_ingest_with_its_own_error(tmp_path, monkeypatch):
    """A bad file is refused, not raised; an exception is a bug, and it must surface as itself,
    not as a cancelled neighbour's CancelledError."""
    real, started = sync.ingest_source, []

    def ingest_source(con, plan, contract):
        started.append(contract.source)
        if contract.source == "police":
            raise RuntimeError("a bug in police")
        return real(con, plan, contract)

    monkeypatch.setattr(sync, "ingest_source", ingest_source)
    plan = sync.open_run(SAMPLES / "landing", tmp_path / "wh", None)
    try:
        sync.ingest_sources(plan, CONTRACTS, workers=2)
    except RuntimeError as err:
        assert str(err) == "a bug in police"
    else:
        raise AssertionError("the error was swallowed")
    # (the sources still queued are cancelled, best effort: a worker freed by police may already
    # have taken the next one, so how many started is timing, not behaviour)
    assert "police" in started


def test_sources_keeping_their_snapshot_start_right_after_the_largest_delivery():
    """A kept source is a database copy with no Python phase: it runs beside the largest
    delivery rather than alone at the end."""
    actions = {"police": "load", "social_security": "load", "labour": "load", "civil_affairs": "load",
               "family_planning": "keep"}
    plan = sync.RunPlan("2026-11-21", "", "", "", None,
                        {s: sync.SourcePlan(s, a) for s, a in actions.items()})
    sizes = {"police": 500, "social_security": 300, "labour": 100, "civil_affairs": 40, "family_planning": 0}
    order = [c.source for c in sync._ingest_order(plan, CONTRACTS, lambda c: sizes[c.source])]
    assert order == ["police", "family_planning", "social_security", "labour", "civil_affairs"]


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT current_setting('threads')").fetchall()[0][0]


def test_concurrent_sources_share_duckdbs_threads_and_the_setting_comes_back(tmp_path, monkeypatch):
    """``threads`` belongs to the database: two sources each on all of DuckDB's threads
    oversubscribe the cores. While two run, each source's connection sees its share; the last
    one left gets them all; afterwards the database has its own setting again (seen through a
    connection held across the ingest, so the database is not simply reopened with its default)."""
    plan = sync.open_run(SAMPLES / "landing", tmp_path / "wh", None)
    keeper = sync.staging_connect(plan)
    keeper.execute("SET threads = 4")  # whatever the machine: four to share between two
    seen: dict[str, int] = {}
    others_done = threading.Event()
    real = sync.ingest_source

    def spy(con, plan, contract):
        if contract.source == "police":  # the largest delivery, started first: held until it is alone
            assert others_done.wait(timeout=120)
        seen[contract.source] = _threads(con)
        return real(con, plan, contract)

    finished: list[str] = []

    def on_done(outcome):  # called once the run has handled the outcome's completion
        finished.append(outcome.source)
        if len(finished) == len(CONTRACTS) - 1:
            others_done.set()

    monkeypatch.setattr(sync, "ingest_source", spy)
    try:
        sync.ingest_sources(plan, CONTRACTS, workers=2, on_done=on_done)
        assert seen == {**{c.source: 2 for c in CONTRACTS}, "police": 4}
        assert _threads(keeper) == 4
        seen.clear()
        others_done.set()
        sync.ingest_sources(plan, CONTRACTS, workers=1)  # one at a time: nothing to share
        assert seen == {c.source: 4 for c in CONTRACTS}
    finally:
        keeper.close()


def test_a_workbook_is_ordered_by_its_work_not_its_bytes():
    """The family-planning workbook is the smallest file of a district but not the shortest task
    (zip-compressed, read cell by cell): ordered by bytes it started last and ran alone at the end."""
    assert next(c for c in CONTRACTS if c.source == "family_planning").file.format == "xlsx"
    plan = sync.RunPlan("2026-11-21", "", "", "", None, {c.source: sync.SourcePlan(c.source, "load") for c in CONTRACTS})
    # bytes as delivered at 1M residents (MB)
    sizes = {"police": 292, "social_security": 127, "labour": 37, "civil_affairs": 20, "family_planning": 13}
    order = [c.source for c in sync._ingest_order(plan, CONTRACTS, lambda c: sizes[c.source])]
    assert order == ["police", "social_security", "labour", "family_planning", "civil_affairs"]
    # a workbook worth less work than a CSV still goes after it
    sizes["family_planning"] = 5
    order = [c.source for c in sync._ingest_order(plan, CONTRACTS, lambda c: sizes[c.source])]
    assert order[-1] == "family_planning"


def test_a_failed_dictionary_seeding_fails_the_ingest_and_frees_the_dictionaries(sample_warehouse, tmp_path,
                                                                                 monkeypatch):
    """Yesterday's dictionaries are copied on a thread of their own while the sources read: its
    error must surface as itself, and the fill lock must not stay taken."""
    import shutil

    from shiyou.ingest import dictionaries

    threads = []

    def broken(con, kind, previous_db):
        threads.append(threading.current_thread().name)
        raise OSError(5, "Input/output error reading the previous release")

    monkeypatch.setattr(dictionaries, "_ensure", broken)
    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh, symlinks=True)
    plan = sync.open_run(SAMPLES / "landing", wh, None)
    try:
        sync.ingest_sources(plan, CONTRACTS, workers=2)
    except OSError as err:
        assert "Input/output error" in str(err)
    else:
        raise AssertionError("the seeding error was swallowed")
    assert threads[0] == "dictionaries"  # the seeding ran on its own thread, before any fill
    assert dictionaries._FILL_LOCK.acquire(timeout=5)
    dictionaries._FILL_LOCK.release()


def test_an_ingest_run_again_in_the_same_build_leaves_one_parquet_snapshot_per_source(sample_warehouse, tmp_path):
    """Dagster's re-execution from a failure reuses the build folder of the first attempt: a
    source's Parquet (written, or linked from the previous release) must be replaced, not added to."""
    import shutil

    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES / "landing", landing)
    redeliver_shorter(landing, "labour", dt.date(2026, 11, 20), dt.date(2026, 11, 21))
    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh, symlinks=True)
    plan = sync.open_run(landing, wh, None)
    for _ in range(2):
        outcomes = sync.ingest_sources(plan, CONTRACTS, workers=2)
    assert [o.action for o in outcomes] == ["kept", "kept", "loaded", "kept", "kept"]
    parquet = Path(plan.building) / "parquet" / "source_records"
    with duckdb.connect(str(Path(plan.building) / "shiyou.duckdb"), read_only=True) as con:
        for c in CONTRACTS:
            parts = sorted(parquet.glob(f"snapshot_date=*/source={c.source}/data.parquet"))
            rows = con.execute(f"SELECT count(*) FROM {records_table(c.source)}").fetchall()[0][0]
            assert len(parts) == 1, c.source
            assert con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)",
                               [str(parts[0])]).fetchall()[0][0] == rows
