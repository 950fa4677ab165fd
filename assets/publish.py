"""Publish assets: assemble the warehouse tables in the new release, then swap it in atomically."""


from dataclasses import dataclass

from dagster import (AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetIn, AssetKey, Output,
                     asset)

from assets.partitions import snapshot_dates
from shiyou import sync
from shiyou.contracts.model import default_contracts
from shiyou.warehouse import checks

SOURCE_INS = {f"{c.source}_records": AssetIn(key=AssetKey(f"{c.source}_records")) for c in default_contracts()}


@dataclass
class TablesBuilt:
    plan: sync.RunPlan
    outcomes: list[sync.SourceOutcome]
    counts: dict[str, int]
    unchanged: bool


@asset(
    partitions_def=snapshot_dates,
    group_name="publish",
    ins={"sync_plan": AssetIn(key=AssetKey("sync_plan")), **SOURCE_INS},
    check_specs=[
        AssetCheckSpec("nothing_lost", asset="warehouse_tables",
                       description="every delivery: rows_read = loaded + quarantined; every loaded record once"),
    ],
)
def warehouse_tables(context: AssetExecutionContext, sync_plan: sync.RunPlan, **source_outcomes):
    """source_records, quarantine, deliveries and sync_runs, built inside the release being prepared."""
    outcomes = [source_outcomes[f"{c.source}_records"] for c in default_contracts()]
    unchanged = sync.nothing_changed(outcomes, sync_plan)
    con = sync.staging_connect(sync_plan)
    try:
        counts = {} if unchanged else sync.assemble(con, sync_plan, outcomes)
        problems = [] if unchanged else checks.conservation_problems(con)
    finally:
        con.close()
    if problems:  # never swap in a release that lost or doubled a record
        raise sync.SyncError("warehouse invariants broken, nothing published: " + "; ".join(problems[:5]))
    yield Output(TablesBuilt(sync_plan, outcomes, counts, unchanged),
                 metadata={"unchanged": unchanged, **{f"rows:{k}": v for k, v in counts.items()}})
    yield AssetCheckResult(check_name="nothing_lost", passed=not problems,
                           metadata={"problems": "; ".join(problems[:20]) or "none"})


@asset(partitions_def=snapshot_dates, group_name="publish",
       ins={"residents": AssetIn(key=AssetKey("residents"))})
def published_warehouse(context: AssetExecutionContext, residents: TablesBuilt) -> Output[dict]:
    """The atomic swap: DIR/shiyou.duckdb and DIR/parquet now show this run's release."""
    built = residents
    if built.unchanged:
        sync.abandon(built.plan)
        release = None
    else:
        con = sync.staging_connect(built.plan)
        release = sync.publish(con, built.plan)
    lines = sync.summary_lines(built.plan, built.outcomes, built.counts, release)
    for line in lines:
        context.log.info(line)
    refused = [o.source for o in built.outcomes if o.action == "refused"]
    return Output({"release": release, "summary": lines, "refused": refused},
                  metadata={"release": release or "unchanged", "refused": ", ".join(refused) or "none"})
