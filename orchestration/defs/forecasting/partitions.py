"""Forecast partitions: one per forecast origin week (weekly), one per training month (monthly).

A weekly partition's key is the Monday of the origin week, the last week of history the forecast sees;
Dagster offers it once that week has ended, so the Monday run forecasts from the week just closed.
"""

import datetime as dt

import dagster as dg

from fmrp.settings import get_settings


def _first_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.isoweekday() + 1) % 7)


weekly_origins = dg.WeeklyPartitionsDefinition(
    start_date=_first_monday(get_settings().partition_start).isoformat(),
    day_offset=1,
    timezone=get_settings().timezone,
)

training_months = dg.MonthlyPartitionsDefinition(
    start_date=get_settings().partition_start.replace(day=1).isoformat(),
    timezone=get_settings().timezone,
)


def origin_of(partition_key: str) -> dt.date:
    """The origin week (Monday) of a weekly partition key."""
    return dt.date.fromisoformat(partition_key)


def training_origin(partition_key: str) -> dt.date:
    """The last complete week before a training month starts: the origin the model is trained up to."""
    month_start = dt.date.fromisoformat(partition_key)
    last_day = month_start - dt.timedelta(days=1)
    return last_day - dt.timedelta(days=last_day.isoweekday() - 1 + (0 if last_day.isoweekday() == 7 else 7))
