"""The planning horizon: buckets, their dates, and the working days that turn lead times into bucket offsets.

Buckets are 0-based indices. Bucket ``b`` starts on ``bucket_starts[b]`` (an ISO week's Monday by default,
PRODUCT §1) and ends the day before the next start; the last bucket ends the day before ``end``. Each bucket
has a number of working days from the factory calendar; buckets before the horizon (where past-due releases
fall) count ``days_before`` working days each.

Lead-time offset (PRODUCT §1, "lead time in working days on the factory calendar, offset in buckets by the
calendar"): an order received in bucket ``r`` with a lead time of ``L`` working days is released in the
latest bucket ``s <= r`` whose working days ``s .. r-1`` add up to at least ``L``. With five working days a
week that is ``r - ceil(L / 5)``; a holiday week (fewer working days) pushes the release earlier.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


class HorizonError(ValueError):
    """A horizon that is empty, unordered or whose working days do not fit its buckets."""


@dataclass(frozen=True, eq=False)
class Horizon:
    """The buckets of one planning run.

    Attributes:
        bucket_starts: First day of every bucket, strictly increasing.
        end: The day after the last bucket.
        working_days: Working days in every bucket (one number per bucket, >= 0).
        days_before: Working days of each bucket before the horizon (for releases that fall before bucket 0).
    """

    bucket_starts: tuple[dt.date, ...]
    end: dt.date
    working_days: np.ndarray
    days_before: float = 5.0

    def __post_init__(self) -> None:
        if not self.bucket_starts:
            raise HorizonError("a horizon needs at least one bucket")
        dates = (*self.bucket_starts, self.end)
        if any(later <= earlier for earlier, later in itertools.pairwise(dates)):
            raise HorizonError("bucket starts must increase strictly and end after the last bucket start")
        days = np.asarray(self.working_days, dtype=float)
        if days.shape != (len(self.bucket_starts),) or not np.all(np.isfinite(days) & (days >= 0)):
            raise HorizonError(
                f"working_days needs one number >= 0 per bucket ({len(self.bucket_starts)}), got {days.shape}"
            )
        if not math.isfinite(self.days_before) or self.days_before <= 0:
            raise HorizonError(f"days_before must be > 0, got {self.days_before!r}")
        days.flags.writeable = False
        object.__setattr__(self, "working_days", days)

    @classmethod
    def weekly(cls, start: dt.date, buckets: int, working_days: float | Sequence[float] | np.ndarray = 5.0) -> Horizon:
        """Weekly buckets from the Monday of ``start``'s ISO week.

        Args:
            start: Any day of the first week.
            buckets: Number of weeks.
            working_days: Working days per week, one number or one per week.

        Example:
            >>> Horizon.weekly(dt.date(2026, 11, 25), 2).bucket_starts
            (datetime.date(2026, 11, 23), datetime.date(2026, 11, 30))
        """
        if buckets < 1:
            raise HorizonError(f"a horizon needs at least one bucket, got {buckets}")
        monday = start - dt.timedelta(days=start.weekday())
        starts = tuple(monday + dt.timedelta(weeks=k) for k in range(buckets))
        days = np.broadcast_to(np.asarray(working_days, dtype=float), (buckets,)).copy()
        return cls(starts, starts[-1] + dt.timedelta(weeks=1), days)

    @classmethod
    def from_factory_calendar(cls, calendar: pl.DataFrame, start: dt.date, buckets: int) -> Horizon:
        """Weekly buckets whose working days come from the ``factory_calendar`` mart.

        Args:
            calendar: Rows ``calendar_date`` (date) and ``is_working_day`` (bool); days missing from it count
                as Monday-Friday working days, like the mart's own default.
            start: Any day of the first week.
            buckets: Number of weeks.
        """
        horizon = cls.weekly(start, buckets)
        days = (
            pl.DataFrame({"calendar_date": pl.date_range(horizon.bucket_starts[0], horizon.end, eager=True)})
            .filter(pl.col("calendar_date") < horizon.end)
            .join(calendar.select("calendar_date", "is_working_day"), on="calendar_date", how="left")
            .with_columns(
                pl.col("is_working_day").fill_null(pl.col("calendar_date").dt.weekday() <= 5),
                ((pl.col("calendar_date") - pl.lit(horizon.bucket_starts[0])).dt.total_days() // 7).alias("b"),
            )
            .group_by("b")
            .agg(pl.col("is_working_day").sum())
            .sort("b")
        )
        return cls(horizon.bucket_starts, horizon.end, days["is_working_day"].to_numpy().astype(float))

    @property
    def size(self) -> int:
        """Number of buckets."""
        return len(self.bucket_starts)

    def frame(self) -> pl.DataFrame:
        """One row per bucket: ``bucket``, ``bucket_start``, ``working_days``."""
        return pl.DataFrame(
            {
                "bucket": np.arange(self.size, dtype=np.int32),
                "bucket_start": list(self.bucket_starts),
                "working_days": self.working_days,
            }
        )

    def bucket_of(self, dates: pl.Series) -> np.ndarray:
        """The bucket of each date: -1 before the horizon, ``size`` on or after its end."""
        starts = np.array(self.bucket_starts, dtype="datetime64[D]")
        values = dates.cast(pl.Date).to_numpy().astype("datetime64[D]")
        index = np.searchsorted(starts, values, side="right") - 1
        index[values >= np.datetime64(self.end, "D")] = self.size
        return index

    def release_buckets(self, receipt_buckets: np.ndarray, lead_time_days: np.ndarray) -> np.ndarray:
        """The release bucket of orders received in ``receipt_buckets`` (may be negative: past due).

        Args:
            receipt_buckets: Receipt bucket of each order (0 .. size-1).
            lead_time_days: Lead time of each order in working days (>= 0).
        """
        receipt = np.asarray(receipt_buckets, dtype=np.int64)
        lead = np.asarray(lead_time_days, dtype=float)
        if receipt.size == 0:
            return receipt.copy()
        past = math.ceil(float(lead.max()) / self.days_before) + 1
        # cumulative[k]: working days from the start of bucket -past to the start of bucket k - past
        per_bucket = np.concatenate((np.full(past, self.days_before), self.working_days))
        cumulative = np.concatenate(([0.0], np.cumsum(per_bucket)))
        target = cumulative[receipt + past] - lead + 1e-9
        release = np.searchsorted(cumulative, target, side="right") - 1 - past
        return np.minimum(release, receipt)
