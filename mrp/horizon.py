"""The planning horizon: buckets, their dates, and the working days that turn lead times into bucket offsets.

Buckets are 0-based indices. Bucket ``b`` starts on ``bucket_starts[b]`` (an ISO week's Monday by default,
or the first of a month: PRODUCT §1, "a ``frequency`` setting allows months") and ends the day before the next
start; the last bucket ends the day before ``end``. Each bucket has a number of working days from the factory
calendar; buckets before the horizon (where past-due releases fall) count ``days_before`` working days each,
which is also the typical bucket the inventory policy turns lead times into buckets with (5 a week; a monthly
horizon's mean working days per month).

Lead-time offset (PRODUCT §1, "lead time in working days on the factory calendar, offset in buckets by the
calendar"): an order received in bucket ``r`` with a lead time of ``L`` working days is released in the
latest bucket ``s <= r`` whose working days ``s .. r-1`` add up to at least ``L``. With five working days a
week that is ``r - ceil(L / 5)``; a holiday week (fewer working days) pushes the release earlier. Monthly
buckets use the same rule with each month's working days: 15 working days received in March are released in
February (19 working days >= 15); 30 are released in January (19 < 30 <= 19 + 21).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from forecasting.data import Freq, bucket_start, shift_buckets

#: Working days of a typical bucket before the horizon, where the factory calendar says nothing.
NOMINAL_WORKING_DAYS: dict[str, float] = {"W": 5.0, "M": 21.0}


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
        freq: ``"W"`` (weeks) or ``"M"`` (months): what the buckets are, for the callers that need to say so.
    """

    bucket_starts: tuple[dt.date, ...]
    end: dt.date
    working_days: np.ndarray
    days_before: float = 5.0
    freq: Freq = "W"

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
        if self.freq not in NOMINAL_WORKING_DAYS:
            raise HorizonError(f"freq must be 'W' (weeks) or 'M' (months), got {self.freq!r}")
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
    def monthly(
        cls, start: dt.date, buckets: int, working_days: float | Sequence[float] | np.ndarray = 21.0
    ) -> Horizon:
        """Monthly buckets from the first of ``start``'s month.

        Args:
            start: Any day of the first month.
            buckets: Number of months.
            working_days: Working days per month, one number or one per month.

        Example:
            >>> Horizon.monthly(dt.date(2026, 11, 25), 2).bucket_starts
            (datetime.date(2026, 11, 1), datetime.date(2026, 12, 1))
        """
        if buckets < 1:
            raise HorizonError(f"a horizon needs at least one bucket, got {buckets}")
        first = bucket_start(start, "M")
        starts = tuple(shift_buckets(first, k, "M") for k in range(buckets))
        days = np.broadcast_to(np.asarray(working_days, dtype=float), (buckets,)).copy()
        return cls(starts, shift_buckets(first, buckets, "M"), days, days_before=_typical(days, "M"), freq="M")

    @classmethod
    def from_factory_calendar(cls, calendar: pl.DataFrame, start: dt.date, buckets: int, freq: Freq = "W") -> Horizon:
        """Weekly or monthly buckets whose working days come from the ``factory_calendar`` mart.

        A monthly horizon's ``days_before`` is its mean working days per month: the months before the horizon
        (where past-due releases fall) and the inventory policy's lead time in buckets count that many.

        Args:
            calendar: Rows ``calendar_date`` (date) and ``is_working_day`` (bool); days missing from it count
                as Monday-Friday working days, like the mart's own default.
            start: Any day of the first bucket.
            buckets: Number of buckets.
            freq: ``"W"`` (ISO weeks from Monday) or ``"M"`` (months from the first).
        """
        shape = cls.monthly(start, buckets) if freq == "M" else cls.weekly(start, buckets)
        dates = pl.date_range(shape.bucket_starts[0], shape.end - dt.timedelta(days=1), eager=True)
        days = (
            (
                pl.DataFrame({"calendar_date": dates, "b": shape.bucket_of(dates)})
                .join(calendar.select("calendar_date", "is_working_day"), on="calendar_date", how="left")
                .with_columns(pl.col("is_working_day").fill_null(pl.col("calendar_date").dt.weekday() <= 5))
                .group_by("b")
                .agg(pl.col("is_working_day").sum())
                .sort("b")
            )["is_working_day"]
            .to_numpy()
            .astype(float)
        )
        return cls(shape.bucket_starts, shape.end, days, days_before=_typical(days, shape.freq), freq=shape.freq)

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


def _typical(working_days: np.ndarray, freq: Freq) -> float:
    """Working days of a typical bucket: 5 a week; a month's mean over the horizon (21 when it has none)."""
    if freq == "W":
        return NOMINAL_WORKING_DAYS["W"]
    mean = float(np.mean(working_days)) if working_days.size else 0.0
    return mean if mean > 0 else NOMINAL_WORKING_DAYS["M"]
