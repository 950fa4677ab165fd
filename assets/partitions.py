"""One partition per delivery date: the nightly snapshot the sync publishes."""

from dagster import DailyPartitionsDefinition

snapshot_dates = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Asia/Shanghai", end_offset=1)
