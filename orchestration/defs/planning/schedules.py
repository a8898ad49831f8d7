"""The weekly plan job and its schedule: Monday 07:00 (factory time), forecasts then plan for the week just ended."""

from types import ModuleType

import dagster as dg

from orchestration.defs.forecasting import assets as forecasting_assets
from orchestration.defs.forecasting.partitions import weekly_origins


def weekly_assets(module: ModuleType) -> list[dg.AssetKey]:
    """The asset keys a defs module partitions by origin week (the monthly training assets have their own job)."""
    return [
        key
        for definition in vars(module).values()
        if isinstance(definition, dg.AssetsDefinition) and definition.partitions_def == weekly_origins
        for key in definition.keys
    ]


weekly_plan_job = dg.define_asset_job(
    "weekly_plan_job",
    selection=dg.AssetSelection.assets(*weekly_assets(forecasting_assets)) | dg.AssetSelection.groups("planning"),
    partitions_def=weekly_origins,
    description="Forecast an origin week (the weekly forecasting assets) and plan from it (MPS to alerts).",
)

weekly_plan_schedule = dg.build_schedule_from_partitioned_job(
    weekly_plan_job,
    hour_of_day=7,
    minute_of_hour=0,
    name="weekly_plan_schedule",
    description="Every Monday at 07:00: the week that just ended is the origin; forecasts first, then the plan.",
)
