"""The plan jobs and their schedules (factory time): forecasts then plan for the bucket that just ended.

- ``weekly_plan_job`` / ``weekly_plan_schedule``: every Monday at 07:00, the week just ended is the origin.
- ``monthly_plan_job`` / ``monthly_plan_schedule``: on the 1st at 07:00, the month just ended is the origin. The
  schedule is on by default only where the installation plans in months (``FMRP_FREQUENCY=month``); elsewhere it
  is off until someone turns it on in the UI, like the weekly one.
"""

import dagster as dg

from fmrp.settings import get_settings
from orchestration.defs.forecasting.assets import MONTHLY_ASSETS, WEEKLY_ASSETS
from orchestration.defs.forecasting.partitions import MONTHLY, WEEKLY
from orchestration.defs.planning.assets import monthly_plan, weekly_plan

weekly_plan_job = dg.define_asset_job(
    "weekly_plan_job",
    selection=dg.AssetSelection.assets(*WEEKLY_ASSETS, weekly_plan),
    partitions_def=WEEKLY.partitions_def,
    description="Forecast an origin week (the weekly forecasting assets) and plan from it (MPS to alerts).",
)

weekly_plan_schedule = dg.build_schedule_from_partitioned_job(
    weekly_plan_job,
    hour_of_day=7,
    minute_of_hour=0,
    name="weekly_plan_schedule",
    description="Every Monday at 07:00: the week that just ended is the origin; forecasts first, then the plan.",
)

monthly_plan_job = dg.define_asset_job(
    "monthly_plan_job",
    selection=dg.AssetSelection.assets(*MONTHLY_ASSETS, monthly_plan),
    partitions_def=MONTHLY.partitions_def,
    description="Forecast an origin month (the *_monthly forecasting assets) and plan from it in monthly buckets.",
)

monthly_plan_schedule = dg.build_schedule_from_partitioned_job(
    monthly_plan_job,
    day_of_month=1,
    hour_of_day=7,
    minute_of_hour=0,
    name="monthly_plan_schedule",
    description="On the 1st at 07:00: the month that just ended is the origin; forecasts first, then the plan."
    " On by default when FMRP_FREQUENCY=month.",
    default_status=(
        dg.DefaultScheduleStatus.RUNNING if get_settings().freq == "M" else dg.DefaultScheduleStatus.STOPPED
    ),
)
