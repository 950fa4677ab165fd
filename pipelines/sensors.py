"""Landing sensor: a new or re-sent file in <landing>/<source>/<date>/ requests a sync of that date.

The cursor maps each file to its modification time and size, so a re-sent
file triggers again (the sync itself then sees identical content and changes
nothing), and files already seen never trigger twice. A file modified in the
last minute is left for the next tick: it may still be being written.
"""

from __future__ import annotations

import json

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.jobs import nightly_sync_job
from pipelines.resources import LandingZone
from shiyou.contracts.model import default_contracts
from shiyou.ingest.landing import newly_landed


@sensor(job=nightly_sync_job, minimum_interval_seconds=300)
def landing_sensor(context: SensorEvaluationContext, landing: LandingZone):
    seen = json.loads(context.cursor) if context.cursor else {}
    fresh, cursor = newly_landed(landing.root(), list(default_contracts()), seen)
    if not fresh:
        yield SkipReason("no new files in the landing folder")
        return
    for date in sorted(fresh):
        # The stamps are in the key: a corrected file re-sent under the same name runs again.
        key = f"{date}:" + ",".join(f"{p}@{cursor[p]}" for p in sorted(fresh[date]))
        yield RunRequest(run_key=key, partition_key=date)
    context.update_cursor(json.dumps(cursor, sort_keys=True))
