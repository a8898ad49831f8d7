"""Daily partitions of every landing asset: one partition per business date of the source files."""

import dagster as dg

from fmrp.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().partition_start.isoformat(),
    timezone=get_settings().timezone,
)
