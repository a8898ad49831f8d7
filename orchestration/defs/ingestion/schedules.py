"""The daily landing job and its schedule: at 06:00 (factory time) the previous day's partition."""

import dagster as dg

from orchestration.defs.ingestion.partitions import daily_partitions

ingestion_job = dg.define_asset_job(
    "ingestion_job",
    selection=dg.AssetSelection.groups("ingestion"),
    partitions_def=daily_partitions,
    description="Land the day's source files (email and ERP exports) into the raw tables.",
)

daily_ingestion_schedule = dg.build_schedule_from_partitioned_job(
    ingestion_job,
    hour_of_day=6,
    minute_of_hour=0,
    name="daily_ingestion_schedule",
    description="Lands yesterday's files at 06:00; warehouse_after_landing_sensor then builds the warehouse.",
)
