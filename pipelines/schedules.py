"""The nightly schedule: after the departments' drop window, sync the previous day's deliveries."""

from __future__ import annotations

import datetime as dt

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from pipelines.jobs import nightly_sync_job


def previous_day(tick: dt.datetime) -> str:
    """The delivery date a tick syncs: the day before the tick, in the schedule's timezone."""
    return (tick.date() - dt.timedelta(days=1)).isoformat()


@schedule(job=nightly_sync_job, cron_schedule="30 2 * * *", execution_timezone="Asia/Shanghai",
          description="02:30 Asia/Shanghai: sync the deliveries of the previous day.")
def nightly_sync_schedule(context: ScheduleEvaluationContext):
    key = previous_day(context.scheduled_execution_time)
    return RunRequest(run_key=f"nightly:{key}", partition_key=key)
