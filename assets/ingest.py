"""Ingest assets: the run plan, then one asset per source contract (outputs of one multi-asset over
schemas/sources/, so that sources are ingested concurrently).

Each asset is one call into `shiyou.sync` plus metadata; the data itself stays
in the release database being built, so nothing large travels between steps.
"""


import datetime as dt

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetIn,
                     AssetKey, AssetOut, MetadataValue, Output, asset, multi_asset)

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


def _outcome_events(contract: SourceContract, outcome: sync.SourceOutcome, checks: set[str]):
    """The asset's output and its two checks (those selected) for one source's outcome."""
    name = f"{contract.source}_records"
    yield Output(outcome, output_name=name, metadata={
        "action": outcome.action, "message": outcome.message,
        "records": outcome.records, "quarantined": outcome.quarantined,
        "snapshot_date": outcome.snapshot_date or "",
        **{f"seconds:{k}": v for k, v in outcome.seconds.items()},
    })
    d = outcome.delivery or {}
    if "rows_conserved" in checks:
        if d.get("status") == "loaded":
            ok = d["rows_read"] == d["rows_loaded"] + d["rows_quarantined"]
            yield AssetCheckResult(asset_key=name, check_name="rows_conserved", passed=ok, metadata={
                "rows_read": d["rows_read"], "rows_loaded": d["rows_loaded"],
                "rows_quarantined": d["rows_quarantined"]})
        else:
            yield AssetCheckResult(asset_key=name, check_name="rows_conserved", passed=True,
                                   metadata={"note": f"no new delivery loaded ({outcome.action})"})
    if "standard_rules" in checks:
        meta = _rule_metadata(outcome.rule_counts)
        # Errors are quarantined, not lost; still, an auditor should look: WARN, not a failed run.
        yield AssetCheckResult(asset_key=name, check_name="standard_rules", passed=meta["errors"] == 0,
                               severity=AssetCheckSeverity.WARN, metadata=meta)


CONTRACTS = list(default_contracts())


@multi_asset(
    name="source_records",
    partitions_def=snapshot_dates,
    group_name="ingest",
    ins={"sync_plan": AssetIn(key=AssetKey("sync_plan"))},
    outs={f"{c.source}_records": AssetOut(
        is_required=False,  # a subset of the sources can be materialised
        description=f"{c.label}: the day's delivery read, standardised and validated "
                    f"(or the last good snapshot kept).") for c in CONTRACTS},
    check_specs=[spec for c in CONTRACTS for spec in (
        AssetCheckSpec("rows_conserved", asset=f"{c.source}_records",
                       description="rows read = rows loaded + rows quarantined"),
        AssetCheckSpec("standard_rules", asset=f"{c.source}_records",
                       description="per-rule counts of the data standard"))],
    can_subset=True,
)
def source_records(context: AssetExecutionContext, sync_plan: sync.RunPlan):
    """One asset per source contract, materialised together: sources are ingested two at a
    time (sync.ingest_sources), which a step per source on the in-process executor cannot do.
    Any subset of the sources can still be materialised on its own."""
    chosen = [c for c in CONTRACTS if f"{c.source}_records" in context.selected_output_names]
    checks: dict[str, set[str]] = {}
    for key in context.selected_asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    outcomes = sync.ingest_sources(sync_plan, chosen, on_done=lambda o: context.log.info(o.message))
    for contract, outcome in zip(chosen, outcomes):
        yield from _outcome_events(contract, outcome, checks.get(f"{contract.source}_records", set()))
