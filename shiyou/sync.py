"""The nightly sync as plain steps; the Dagster assets call these, in this order.

1. `open_run`     find the deliveries of the sync date, start a release beside the live one
2. `ingest_sources` every source, two at a time (`ingest_source` each): load its delivery,
                 or keep its last good snapshot; then write its Parquet
3. `assemble`     the published tables: source_records, quarantine, deliveries, sync_runs
4. `resolve`      residents and the other matching tables
5. `publish`      Parquet of the other tables, then the atomic swap

Nothing here imports Dagster. A run that raises anywhere leaves the published
warehouse untouched: all writing happens in the release being built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import yaml

from shiyou import shortage
from shiyou.contracts.model import SourceContract, default_contracts
from shiyou.contracts.readers import DeliveryRefused
from shiyou.ingest import dictionaries, landing
from shiyou.ingest.delivery import DeliveryResult, ingest_file, quarantine_table, records_table
from shiyou.ingest.digest import sha256_of
from shiyou.paths import SCHEMAS_DIR
from shiyou.sql import create_table_as, literal, quote_ident, table_exists
from shiyou.standard.elements import storage_compression
from shiyou.warehouse import publish as pub
from shiyou.warehouse import tables

LOCK_NAME = ".sync.lock"
#: DuckDB's memory cap for a run unless SHIYOU_DUCKDB_MEMORY says otherwise. At 1M residents 3 GB
#: keeps the peak at 3.36 GB (target ≤ 4 GB) and spills less than 2 GB did (full sync 92.1 s, not 100.6 s).
DUCKDB_MEMORY = "3GB"

#: How the reason of a file refused for an unforeseen error starts. Such a file is tried again when
#: it is seen again (the error may be a bug fixed since); a file refused for what it holds (empty,
#: wrong format, a column missing …) is ignored when the same bytes come again.
UNFORESEEN = "could not be read ("

#: Sources ingested at once (see ingest_sources).
INGEST_WORKERS = 2
#: How much ingest work a delivered byte means, per file format, for ordering the sources
#: (_ingest_order). An xlsx sheet is zip-compressed and read cell by cell in Python: at 1M residents
#: family planning's 13 MB workbook took 0.51 s per MB in a sync, the CSV sources 0.09–0.26.
WORK_PER_BYTE = {"csv": 1.0, "xlsx": 2.5}


#: Python's full (generation 2) garbage collection waits for this many younger collections
#: while a sync's heavy steps run (Python's default: 10). At 1M residents those steps keep
#: millions of long-lived objects (validation frames, Dagster's events, the dictionaries) and
#: the default made eight full collections that walked them all and freed nothing: 0.97 s
#: holding the GIL, against none. Younger generations are collected as usual.
FULL_COLLECTION_AFTER = 1000


@contextlib.contextmanager
def rare_full_collections():
    """Within the block, Python's full garbage collections are rare (FULL_COLLECTION_AFTER)."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], max(before[2], FULL_COLLECTION_AFTER))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def duckdb_memory() -> str:
    """The memory cap a run's DuckDB connection gets."""
    return os.environ.get("SHIYOU_DUCKDB_MEMORY", DUCKDB_MEMORY)


def duckdb_settings() -> dict[str, str]:
    """The database settings of a run's DuckDB (the benchmarks give the copies they time the same).

    ``block_allocator_memory``: DuckDB's buffer blocks (hash tables, sorts, temp tables, the
    pages of the tables being written) are taken from one region reserved up to the memory cap,
    and a freed block goes back to that region, handed to the kernel lazily (MADV_FREE), instead
    of through the general allocator. At 1M residents the kernel's share of a full sync fell
    from 16.3–18.3 to 13.3–15.2 CPU-seconds and the sync from 63.0–65.4 to 60.3–63.0 s (five runs
    each, alternated, timed inside the process), with the same peak (3.49–3.54 against
    3.47–3.51 GB): DuckDB's memory stays under its cap either way. The region is the database's
    until it closes."""
    cap = duckdb_memory()
    return {"memory_limit": cap, "block_allocator_memory": cap}


def apply_duckdb_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Give ``con``'s database the run's settings (duckdb_settings), the memory cap first."""
    for name, value in duckdb_settings().items():
        try:
            con.execute(f"SET {name} = ?", [value])
        except duckdb.InvalidInputException:
            # The block region can only grow: a database already holding a larger one (opened
            # earlier in this process under a larger cap) keeps it. A malformed cap has already
            # failed on memory_limit.
            if name != "block_allocator_memory":
                raise


class SyncError(Exception):
    """A run cannot go on; the message is one line naming what and where."""


def out_of_room(kind: str) -> str:
    """What ran out (shortage.MEMORY or DISK) and what to change, as part of one line."""
    if kind == shortage.MEMORY:
        return (f"DuckDB ran out of memory under its cap of {duckdb_memory()} "
                f"(raise SHIYOU_DUCKDB_MEMORY, or free memory on the machine)")
    return "the disk holding the warehouse is full (free space there)"


def district() -> dict:
    return yaml.safe_load((SCHEMAS_DIR / "district.yaml").read_text(encoding="utf-8"))


@dataclass
class SourcePlan:
    source: str
    action: str  # "load" | "keep" | "none"
    path: str | None = None
    file: str | None = None
    sha256: str | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class RunPlan:
    sync_date: str
    landing: str
    warehouse: str
    building: str
    previous_db: str | None
    sources: dict[str, SourcePlan]


@dataclass
class SourceOutcome:
    source: str
    action: str  # loaded | kept | refused | unchanged | none
    message: str
    snapshot_date: str | None = None
    delivery: dict | None = None  # the deliveries row of a file seen this run
    rule_counts: dict[str, int] = field(default_factory=dict)
    records: int = 0
    quarantined: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per ingest phase


# --------------------------------------------------------------------------- 1. open


def _previous_deliveries(previous_db: Path | None) -> dict[str, dict]:
    """source -> sha and snapshot date of its current snapshot, and the shas of refused files."""
    if previous_db is None:
        return {}
    with duckdb.connect(str(previous_db), read_only=True) as con:
        rows = con.execute("SELECT source, sha256, status, is_current, snapshot_date, reason FROM deliveries").fetchall()
    out: dict[str, dict] = {}
    for source, sha, status, is_current, snapshot_date, reason in rows:
        entry = out.setdefault(source, {"current": None, "current_date": None, "refused": set()})
        if status == "refused" and not (reason or "").startswith(UNFORESEEN):
            entry["refused"].add(sha)
        if is_current:
            entry["current"], entry["current_date"] = sha, snapshot_date
    return out


def open_run(landing_dir: Path, warehouse: Path, sync_date: dt.date | None,
             contracts: list[SourceContract] | None = None) -> RunPlan:
    contracts = list(contracts or default_contracts())
    if not landing_dir.is_dir():
        raise SyncError(f"landing folder {landing_dir} does not exist")
    if sync_date is None:
        sync_date = landing.newest_date(landing_dir, contracts)
        if sync_date is None:
            raise SyncError(f"no delivery folders (<source>/YYYY-MM-DD) under {landing_dir}")
    found = landing.find(landing_dir, contracts, sync_date)
    previous_db = pub.published_db(warehouse)
    previous = _previous_deliveries(previous_db)
    building = pub.new_release_dir(warehouse)
    plans: dict[str, SourcePlan] = {}
    for c in contracts:
        f = found[c.source]
        prev = previous.get(c.source, {"current": None, "current_date": None, "refused": set()})
        keep = "keep" if prev["current"] is not None else "none"
        if f.delivery is None:
            why = f.problem or f"no delivery for {sync_date}"
            plans[c.source] = SourcePlan(c.source, keep, reason=why, notes=f.notes)
            continue
        sha = sha256_of(f.delivery.path)
        plan = SourcePlan(c.source, keep, file=f.delivery.file, sha256=sha, notes=f.notes)
        if sha == prev["current"]:
            plan.reason = "same file as the current snapshot: nothing changes"
        elif prev["current_date"] is not None and sync_date < prev["current_date"]:
            # A late delivery for an earlier day never replaces a newer snapshot.
            plan.action = "stale"
            plan.reason = f"delivery for {sync_date} is older than the current snapshot ({prev['current_date']})"
        elif sha in prev["refused"]:
            plan.reason = "this exact file was refused before: ignored"
        else:
            plan.action, plan.path = "load", str(f.delivery.path)
        plans[c.source] = plan
    return RunPlan(sync_date.isoformat(), str(landing_dir), str(warehouse), str(building),
                   str(previous_db) if previous_db else None, plans)


def staging_connect(plan: RunPlan) -> duckdb.DuckDBPyConnection:
    """The release database being built, with the run's settings (apply_duckdb_settings). DuckDB's memory
    is capped so a district stays under 4 GB of RAM (it spills to the release's scratch folder beyond that)."""
    building = Path(plan.building)
    (building / "scratch" / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(building / pub.DB_NAME))
    apply_duckdb_settings(con)
    con.execute("SET temp_directory = ?", [str(building / "scratch" / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = true")
    return con


# --------------------------------------------------------------------------- 2. per source


def _keep_previous(con, plan: RunPlan, source: str) -> tuple[int, int, str | None]:
    rt, qt = quote_ident(records_table(source)), quote_ident(quarantine_table(source))
    if plan.previous_db is None:
        tables.create_empty_source_tables(con, source)
        return 0, 0, None
    # An attached database is seen by every connection of the process, and sources are
    # ingested concurrently: each source attaches the previous release under its own name.
    alias = f"prev_{source}"
    prev = quote_ident(alias)
    con.execute(f"ATTACH {literal(plan.previous_db)} AS {prev} (READ_ONLY)")
    try:
        known = table_exists(con, records_table(source), alias)
        if known:
            create_table_as(con, records_table(source), f"SELECT * FROM {prev}.{rt}",
                            compression=storage_compression())
            con.execute(f"CREATE OR REPLACE TABLE {qt} AS SELECT * FROM {prev}.quarantine WHERE source = ?",
                        [source])
            snap = con.execute(f"SELECT max(snapshot_date) FROM {prev}.deliveries WHERE source = ? AND is_current",
                               [source]).fetchone()[0]
    finally:
        con.execute(f"DETACH {prev}")
    if not known:  # a source onboarded since the last publish
        tables.create_empty_source_tables(con, source)
        return 0, 0, None
    n = con.execute(f"SELECT count(*) FROM {rt}").fetchone()[0]
    q = con.execute(f"SELECT count(*) FROM {qt}").fetchone()[0]
    return n, q, snap.isoformat() if snap else None


def ingest_source(con: duckdb.DuckDBPyConnection, plan: RunPlan, contract: SourceContract) -> SourceOutcome:
    """Load the source's delivery or keep its last good snapshot, then write its Parquet (a kept
    snapshot takes the previous release's files). A failure to write Parquet (a full disk) fails
    the run; it is not the delivery's fault, so it never refuses the delivery."""
    outcome = _load_or_keep(con, plan, contract)
    t = time.perf_counter()
    previous = (Path(plan.previous_db).parent / pub.PARQUET
                if plan.previous_db and outcome.action != "loaded" else None)
    tables.export_source_parquet(con, Path(plan.building) / pub.PARQUET, contract.source, previous)
    outcome.seconds["parquet"] = round(time.perf_counter() - t, 2)
    return outcome


def _load_or_keep(con: duckdb.DuckDBPyConnection, plan: RunPlan, contract: SourceContract) -> SourceOutcome:
    sp = plan.sources[contract.source]
    sync_date = dt.date.fromisoformat(plan.sync_date)
    if sp.action == "load":
        scratch = Path(plan.building) / "scratch" / contract.source
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            res: DeliveryResult = ingest_file(
                con, contract, Path(sp.path), snapshot_date=sync_date, scratch_dir=scratch,
                area_code=district()["phone_area_code"], previous_db=plan.previous_db, expected_sha256=sp.sha256)
        except DeliveryRefused as refused:
            return _refuse(con, plan, contract, sync_date, str(refused), refused.reason)
        except Exception as exc:  # one odd file must not stop the other sources
            kind = shortage.shortage(exc)
            if kind:  # not the file's fault: refused, it would be ignored on the rerun
                raise SyncError(f"{contract.source}: {out_of_room(kind)} while loading {sp.file}; nothing was "
                                f"published, the delivery is not refused: rerun once fixed") from exc
            reason = (f"{UNFORESEEN}{exc.__class__.__name__}, a shiyou bug or an unforeseen file shape; "
                      f"rerun with --debug for details)")
            return _refuse(con, plan, contract, sync_date, f"{sp.file}: {reason}", reason)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        row = {**res.as_row(), "status": "loaded", "reason": "; ".join(res.notes) or None}
        msg = (f"{res.file}: {res.rows_read} rows read, {res.rows_loaded} loaded, "
               f"{res.rows_quarantined} quarantined")
        return SourceOutcome(contract.source, "loaded", msg, plan.sync_date, row, res.rule_counts,
                             res.records_loaded, res.records_quarantined, res.seconds)
    n, q, snap = _keep_previous(con, plan, contract.source)
    if sp.action == "stale":
        row = tables.refused_delivery_row(contract.source, sync_date, sp.file, sp.sha256, sp.reason, "superseded")
        return SourceOutcome(contract.source, "kept", f"{sp.file}: {sp.reason}; keeps its snapshot of {snap}",
                             snap, row, records=n, quarantined=q)
    if sp.action == "none":
        return SourceOutcome(contract.source, "none", f"{contract.source}: {sp.reason}; no snapshot yet")
    unchanged = sp.sha256 is not None
    msg = f"{contract.source}: {sp.reason}; keeps its snapshot of {snap}"
    return SourceOutcome(contract.source, "unchanged" if unchanged else "kept", msg, snap, records=n, quarantined=q)


def ingest_sources(plan: RunPlan, contracts: list[SourceContract], workers: int = INGEST_WORKERS,
                   on_done: Callable[[SourceOutcome], None] | None = None) -> list[SourceOutcome]:
    """``ingest_source`` for several sources at once, each on its own connection; outcomes in
    the order of ``contracts``. ``on_done`` is called with each outcome as its source finishes
    (in the calling thread: it may log).

    A source's ingest alternates between DuckDB (which releases the GIL and uses every core)
    and Python (reading checks, the name and address normalisers, validation), so one source
    alone keeps two cores about 1.4 busy; two at a time fill the gaps. While they run, DuckDB's
    threads are shared out between them (_share_threads). Largest task first, so the last
    one to finish is a short one (_ingest_order). Sources share only the name and address
    dictionaries, which take one filler at a time (ingest.dictionaries).
    """
    def size(c: SourceContract) -> int:  # of a delivery to load (_ingest_order)
        try:
            return Path(plan.sources[c.source].path).stat().st_size
        except OSError:  # gone since the plan: ingest_source refuses it with a clear message
            return 0

    # Every connection is opened here, before any source starts, and closed after all are done:
    # opening a connection (re)registers the Python client's scan functions in the database's
    # catalog, and a source binding a registered frame at that moment fails ("pandas_scan does
    # not exist", seen about once in 150 runs).
    cons: dict[str, duckdb.DuckDBPyConnection] = {}
    try:
        for key in [c.source for c in contracts] + ["__dictionaries"]:
            cons[key] = staging_connect(plan)
        total_threads = _share_threads(cons["__dictionaries"], min(workers, len(contracts)))

        def last_one_running(con: duckdb.DuckDBPyConnection) -> None:
            # The last source gets every thread back (it would otherwise run its DuckDB work
            # on one core while the other idles).
            if total_threads is not None:
                con.execute("SET threads = ?", [total_threads])

        try:
            # Yesterday's dictionaries are copied while the sources read their files.
            wait_seeded = dictionaries.prepare_in_background(cons["__dictionaries"], plan.previous_db)
            try:
                with rare_full_collections():
                    outcomes = _run_sources(plan, contracts, cons, workers, size,
                                            on_done or (lambda outcome: None), last_one_running)
            except BaseException as exc:
                seed_error = wait_seeded()
                if seed_error is not None:
                    exc.add_note(f"the dictionaries' seeding failed too: {seed_error.__class__.__name__}")
                raise
            seed_error = wait_seeded()
            if seed_error is not None:
                raise seed_error
            return outcomes
        finally:
            # Put the setting back; not over the error that ends a run (a database that failed
            # beyond repair cannot take a setting, and its threads no longer matter).
            with contextlib.suppress(duckdb.Error):
                last_one_running(cons["__dictionaries"])
    finally:
        for con in cons.values():
            con.close()


def _share_threads(con: duckdb.DuckDBPyConnection, running: int) -> int | None:
    """Give each of ``running`` concurrent sources its share of DuckDB's threads; returns the
    database's own setting, to be put back (None: nothing was changed).

    ``threads`` belongs to the database, not to a connection: two sources each running
    queries on all of DuckDB's threads put four threads and the Python work on two cores, and
    at 1M residents the switching between them cost 6 CPU-seconds (ingest 34.9 → 31.7 s with
    one thread per source). A query runs on the thread that calls it plus the database's
    workers, so one thread per source means each source's queries run on its own thread.
    """
    if running <= 1:
        return None
    total = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = ?", [max(1, total // running)])
    return total


def _run_sources(plan: RunPlan, contracts: list[SourceContract], cons: dict, workers: int,
                 size: Callable[[SourceContract], int], done: Callable[[SourceOutcome], None],
                 last_one_running: Callable[[duckdb.DuckDBPyConnection], None]) -> list[SourceOutcome]:
    if workers <= 1 or len(contracts) <= 1:
        outcomes = []
        for c in contracts:
            outcomes.append(ingest_source(cons[c.source], plan, c))
            done(outcomes[-1])
        return outcomes
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
    try:
        futures = {c.source: pool.submit(ingest_source, cons[c.source], plan, c)
                   for c in _ingest_order(plan, contracts, size)}
        left = len(futures)
        for future in as_completed(futures.values()):
            if future.exception() is not None:
                # A source that raises (a bug: a bad file is refused, not raised) stops the
                # sources not yet started (the shutdown below); the ones running finish, then
                # the error is raised.
                raise future.exception()
            outcome = future.result()
            left -= 1
            if left == 1:  # through the finished source's connection: it is idle now
                last_one_running(cons[outcome.source])
            done(outcome)
        return [futures[c.source].result() for c in contracts]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ingest_order(plan: RunPlan, contracts: list[SourceContract], size: Callable[[SourceContract], int]
                  ) -> list[SourceContract]:
    """The largest delivery (in work) first, the longest task starting at once; then the sources keeping
    their snapshot (a database copy with no Python phase: it fills the core the largest
    delivery's reading and validation leave free, instead of running alone at the end), then
    the other deliveries, largest first. At 1M residents a kept source last ran alone for 2–3 s.

    "Largest" is in work, not bytes (WORK_PER_BYTE): ordered by bytes, the family-planning
    workbook (the smallest file, not the shortest task) started last and ran alone for 3.6 s."""
    def work(c: SourceContract) -> float:
        return size(c) * WORK_PER_BYTE[c.file.format]

    loads = sorted((c for c in contracts if plan.sources[c.source].action == "load"), key=work, reverse=True)
    kept = [c for c in contracts if plan.sources[c.source].action != "load"]
    return loads[:1] + kept + loads[1:]


def _refuse(con, plan: RunPlan, contract: SourceContract, sync_date: dt.date, message: str,
            reason: str) -> SourceOutcome:
    sp = plan.sources[contract.source]
    n, q, snap = _keep_previous(con, plan, contract.source)
    kept = f"keeps its snapshot of {snap}" if snap else "has no earlier snapshot"
    row = tables.refused_delivery_row(contract.source, sync_date, sp.file, sp.sha256, reason)
    return SourceOutcome(contract.source, "refused", f"{message} — {contract.source} {kept}", snap, row,
                         records=n, quarantined=q)


# --------------------------------------------------------------------------- 3 + 4.


def assemble(con: duckdb.DuckDBPyConnection, plan: RunPlan, outcomes: list[SourceOutcome]) -> dict:
    """Build the published tables in the release database; returns table row counts."""
    new_rows = [o.delivery for o in outcomes if o.delivery]
    current = {o.source: o.snapshot_date for o in outcomes if o.action in ("loaded",)}
    tables.build_published(con, plan.previous_db, [o.source for o in outcomes], new_rows, current,
                           run_row={"sync_date": plan.sync_date,
                                    "summary": json.dumps([asdict(o) for o in outcomes], ensure_ascii=False, default=str)})
    return tables.counts(con)


def resolve(con: duckdb.DuckDBPyConnection, plan: RunPlan):
    """Match the assembled records into residents (shiyou.matching.resolve); the model is saved
    beside the database as match_model.json. The previous release's model is reused while
    matching.yaml allows (settings.retrain_after_days); SHIYOU_RETRAIN=1 trains anew."""
    from shiyou.matching.resolve import resolve_residents

    with rare_full_collections():
        return resolve_residents(con, plan.previous_db, Path(plan.building) / "match_model.json",
                                 detected_on=plan.sync_date, retrain=os.environ.get("SHIYOU_RETRAIN") == "1")


def resident_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the matching tables the run summary shows."""
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("residents", "review_queue")}


def nothing_changed(outcomes: list[SourceOutcome], plan: RunPlan) -> bool:
    return plan.previous_db is not None and all(
        o.action in ("unchanged", "kept", "none") and o.delivery is None for o in outcomes)


def publish(con: duckdb.DuckDBPyConnection, plan: RunPlan) -> str:
    """Write the release's Parquet and swap it in; ``con`` is closed either way. A connection
    left open by a failed export stayed alive in the exception's frames until Python's next
    full collection; a rerun in the same process builds in the same release path, and DuckDB
    hands out one open database per path, so it could get that one back instead of a new one
    (the likely cause of one failed rerun in the test suite; not reproduced since)."""
    building = Path(plan.building)
    try:
        tables.export_parquet(con, building / pub.PARQUET)  # source_records: written by ingest_source
        con.execute("CHECKPOINT")
    finally:
        con.close()
    shutil.rmtree(building / "scratch", ignore_errors=True)  # never part of a release
    final = pub.swap_in(Path(plan.warehouse), building)
    return final.name


def abandon(plan: RunPlan) -> None:
    shutil.rmtree(plan.building, ignore_errors=True)


def summary_lines(plan: RunPlan, outcomes: list[SourceOutcome], counts: dict | None, release: str | None) -> list[str]:
    lines = [f"shiyou sync {plan.sync_date}: landing {plan.landing} -> warehouse {plan.warehouse}"]
    for o in outcomes:
        lines.append(f"  {o.source:<16} {o.action:<9} {o.message}")
        for note in plan.sources[o.source].notes:
            lines.append(f"  {'':<16} note      {note}")
    if release is None:
        lines.append("  nothing new was delivered: the published warehouse is unchanged")
    elif counts:
        parts = ", ".join(f"{k} {v}" for k, v in counts.items())
        lines.append(f"  published {release}: {parts}")
    return lines

