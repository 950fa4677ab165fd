"""The nightly schedule: after the departments' drop window, sync yesterday's deliveries."""

from dagster import build_schedule_from_partitioned_job

from pipelines.jobs import nightly_sync_job

nightly_sync_schedule = build_schedule_from_partitioned_job(
    nightly_sync_job, hour_of_day=2, minute_of_hour=30,
    description="02:30 Asia/Shanghai: sync the deliveries of the previous day.",
)
