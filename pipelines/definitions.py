"""The single Definitions object: `dagster dev -w workspace.yaml` and `shiyou sync` both load this."""

from __future__ import annotations

import os

from dagster import Definitions, in_process_executor

from assets.ingest import source_records, sync_plan
from assets.publish import published_warehouse, warehouse_tables
from assets.residents import residents
from pipelines.jobs import nightly_sync_job
from pipelines.resources import LandingZone, Warehouse
from pipelines.schedules import nightly_sync_schedule
from pipelines.sensors import landing_sensor

ALL_ASSETS = [sync_plan, source_records, warehouse_tables, residents, published_warehouse]


def resources(landing: str | None = None, warehouse: str | None = None) -> dict:
    return {
        "landing": LandingZone(path=landing or os.environ.get("SHIYOU_LANDING", "data_samples/landing")),
        "warehouse": Warehouse(path=warehouse or os.environ.get("SHIYOU_WAREHOUSE", "warehouse")),
    }


defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[nightly_sync_job],
    schedules=[nightly_sync_schedule],
    sensors=[landing_sensor],
    resources=resources(),
    executor=in_process_executor,
)
