"""Match asset: resolve the assembled source records into residents inside the release being built."""

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetIn, AssetKey, Output, asset

from assets.partitions import snapshot_dates
from assets.publish import TablesBuilt
from shiyou import sync
from shiyou.warehouse import checks


@asset(
    partitions_def=snapshot_dates,
    group_name="match",
    ins={"warehouse_tables": AssetIn(key=AssetKey("warehouse_tables"))},
    check_specs=[AssetCheckSpec("every_record_one_resident", asset="residents",
                                description="every loaded record in resident_xref exactly once, under a resident")],
)
def residents(context: AssetExecutionContext, warehouse_tables: TablesBuilt):
    """residents, resident_xref, match_links, review_queue, match_statistics, match_model, change_events."""
    built = warehouse_tables
    if built.unchanged:
        yield Output(built, metadata={"unchanged": True})
        yield AssetCheckResult(check_name="every_record_one_resident", passed=True, metadata={"unchanged": True})
        return
    con = sync.staging_connect(built.plan)
    try:
        report = sync.resolve(con, built.plan)
        problems = checks.resident_problems(con)
        built.counts.update(sync.resident_counts(con))
    finally:
        con.close()
    for line in report.lines():
        context.log.info(line)
    if problems:  # never swap in a release that lost a record or named a resident twice
        raise sync.SyncError("resident invariants broken, nothing published: " + "; ".join(problems[:5]))
    yield Output(built, metadata={"residents": report.residents, "review_pairs": report.review_pairs,
                                  "model": report.model,
                                  "cut_pairs": report.cut_pairs, "candidate_pairs": report.candidate_pairs,
                                  **{f"seconds:{k}": v for k, v in report.seconds.items()}})
    yield AssetCheckResult(check_name="every_record_one_resident", passed=not problems,
                           metadata={"problems": "; ".join(problems) or "none"})
