"""Forecast partitions: one per forecast origin week or month, one per training month.

An origin partition's key is the first day of the origin bucket, the last bucket of history the forecast sees:
the Monday of a week (``weekly_origins``) or the first of a month (``monthly_origins``). Dagster offers it once
that bucket has ended, so the Monday run forecasts from the week just closed and the run on the 1st from the
month just closed. :class:`Origins` names one of the two cadences: its bucket, partitions and asset keys.
"""

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from fmrp.settings import get_settings
from forecasting.data import Freq


def _first_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.isoweekday() + 1) % 7)


weekly_origins = dg.WeeklyPartitionsDefinition(
    start_date=_first_monday(get_settings().partition_start).isoformat(),
    day_offset=1,
    timezone=get_settings().timezone,
)

monthly_origins = dg.MonthlyPartitionsDefinition(
    start_date=get_settings().partition_start.replace(day=1).isoformat(),
    timezone=get_settings().timezone,
)

# A training partition is the month its model serves, trained on the weeks before the month starts
# (training_origin): end_offset=1 makes the month that is starting the newest partition, so the schedule on the
# 1st trains the new month's model on the weeks up to then (without it, it would train last month's model on the
# weeks before last month, a month staler).
training_months = dg.MonthlyPartitionsDefinition(
    start_date=get_settings().partition_start.replace(day=1).isoformat(),
    timezone=get_settings().timezone,
    end_offset=1,
)


@dataclass(frozen=True)
class Origins:
    """One cadence of forecast origins and the assets partitioned by it.

    Attributes:
        name: ``weekly`` or ``monthly``: the prefix of its plan multi-asset and job.
        freq: The bucket as the ``forecasting`` and ``planning`` tables spell it (their ``freq`` column).
        bucket: The bucket in words, for descriptions.
        partitions_def: One partition per origin bucket.
        suffix: Appended to the asset names, so both cadences write the same tables from assets of their own.
        demand_mart: The dbt mart of the demand per bucket.
    """

    name: str
    freq: Freq
    bucket: str
    partitions_def: dg.TimeWindowPartitionsDefinition
    suffix: str
    demand_mart: dg.AssetKey

    def key(self, prefix: str, table: str) -> dg.AssetKey:
        """The key of this cadence's asset writing ``<prefix>.<table>``."""
        return dg.AssetKey([prefix, f"{table}{self.suffix}"])


WEEKLY = Origins("weekly", "W", "week", weekly_origins, "", dg.AssetKey(["marts", "demand_weekly"]))
MONTHLY = Origins("monthly", "M", "month", monthly_origins, "_monthly", dg.AssetKey(["marts", "demand_monthly"]))


def origin_of(partition_key: str) -> dt.date:
    """The origin (first day of the origin week or month) of an origin partition key."""
    return dt.date.fromisoformat(partition_key)


def training_origin(partition_key: str) -> dt.date:
    """The last complete week before a training month starts: the origin the model is trained up to."""
    month_start = dt.date.fromisoformat(partition_key)
    last_day = month_start - dt.timedelta(days=1)
    return last_day - dt.timedelta(days=last_day.isoweekday() - 1 + (0 if last_day.isoweekday() == 7 else 7))
