"""Ingest assets: the run plan, then one asset per source contract (a factory over schemas/sources/).

Each asset is one call into `shiyou.sync` plus metadata; the data itself stays
in the release database being built, so nothing large travels between steps.
"""


import datetime as dt

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetIn,
                     AssetKey, MetadataValue, Output, asset)

from assets.partitions import snapshot_dates
from pipelines.resources import LandingZone, Warehouse
from shiyou import sync
from shiyou.contracts.model import SourceContract, default_contracts
from shiyou.standard.rules import all_rules


@asset(partitions_def=snapshot_dates, group_name="ingest")
def sync_plan(context: AssetExecutionContext, landing: LandingZone, warehouse: Warehouse) -> Output[sync.RunPlan]:
    """What each department delivered for this date, and what the run will do with it."""
    plan = sync.open_run(landing.root(), warehouse.root(), dt.date.fromisoformat(context.partition_key))
    table = "\n".join(f"| {s.source} | {s.action} | {s.file or ''} | {s.reason} |" for s in plan.sources.values())
    return Output(plan, metadata={
        "sync_date": plan.sync_date,
        "to_load": sum(s.action == "load" for s in plan.sources.values()),
        "plan": MetadataValue.md("| source | action | file | reason |\n|---|---|---|---|\n" + table),
    })


def _rule_metadata(counts: dict[str, int]) -> dict:
    rules = all_rules()
    md = {f"rule:{k}": v for k, v in sorted(counts.items())}
    errors = sum(v for k, v in counts.items() if rules[k].severity == "error")
    warnings = sum(v for k, v in counts.items() if rules[k].severity == "warning")
    return {"errors": errors, "warnings": warnings, **md}


def build_source_asset(contract: SourceContract):
    name = f"{contract.source}_records"

    @asset(
        name=name,
        partitions_def=snapshot_dates,
        group_name="ingest",
        ins={"sync_plan": AssetIn(key=AssetKey("sync_plan"))},
        description=f"{contract.label}: the day's delivery read, standardised and validated "
                    f"(or the last good snapshot kept).",
        check_specs=[
            AssetCheckSpec("rows_conserved", asset=name, description="rows read = rows loaded + rows quarantined"),
            AssetCheckSpec("standard_rules", asset=name, description="per-rule counts of the data standard"),
        ],
    )
    def _source_records(context: AssetExecutionContext, sync_plan: sync.RunPlan):
        con = sync.staging_connect(sync_plan)
        try:
            outcome = sync.ingest_source(con, sync_plan, contract)
        finally:
            con.close()
        context.log.info(outcome.message)
        yield Output(outcome, metadata={
            "action": outcome.action, "message": outcome.message,
            "records": outcome.records, "quarantined": outcome.quarantined,
            "snapshot_date": outcome.snapshot_date or "",
            **{f"seconds:{k}": v for k, v in outcome.seconds.items()},
        })
        d = outcome.delivery or {}
        if d.get("status") == "loaded":
            ok = d["rows_read"] == d["rows_loaded"] + d["rows_quarantined"]
            yield AssetCheckResult(check_name="rows_conserved", passed=ok, metadata={
                "rows_read": d["rows_read"], "rows_loaded": d["rows_loaded"],
                "rows_quarantined": d["rows_quarantined"]})
        else:
            yield AssetCheckResult(check_name="rows_conserved", passed=True,
                                   metadata={"note": f"no new delivery loaded ({outcome.action})"})
        meta = _rule_metadata(outcome.rule_counts)
        # Errors are quarantined, not lost; still, an auditor should look: WARN, not a failed run.
        yield AssetCheckResult(check_name="standard_rules", passed=meta["errors"] == 0,
                               severity=AssetCheckSeverity.WARN, metadata=meta)

    return _source_records


source_assets = [build_source_asset(c) for c in default_contracts()]
