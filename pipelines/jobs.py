"""The nightly sync job: every asset, one partition (delivery date), in one process."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from assets.partitions import snapshot_dates

nightly_sync_job = define_asset_job(
    "nightly_sync",
    selection=AssetSelection.all(),
    partitions_def=snapshot_dates,
    executor_def=in_process_executor,  # steps share the release database; the multiprocess one costs seconds per step
    description="Ingest the day's deliveries, standardise, validate and publish the warehouse atomically.",
)
