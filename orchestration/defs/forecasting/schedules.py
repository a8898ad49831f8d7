"""Monthly retraining: the TFT for the month that starts, on the 1st at 03:00 (factory time)."""

import dagster as dg

from orchestration.defs.forecasting.assets import GPU_RUN_TAGS
from orchestration.defs.forecasting.partitions import training_months

training_job = dg.define_asset_job(
    "training_job",
    selection=dg.AssetSelection.assets(["forecasting", "tft_model"]),
    partitions_def=training_months,
    tags=GPU_RUN_TAGS,
    description="Train the TFT on the history up to the month, register it, promote it if it wins (FC-7).",
)

monthly_training_schedule = dg.build_schedule_from_partitioned_job(
    training_job,
    hour_of_day=3,
    minute_of_hour=0,
    name="monthly_training_schedule",
    description="Retrains the TFT each month; weekly forecasts use the champion.",
)
