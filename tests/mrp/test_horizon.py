"""Planning horizons: weekly and monthly buckets, working days from the factory calendar, lead-time offsets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from mrp.horizon import Horizon, HorizonError


def calendar(first: dt.date, last: dt.date, closed: tuple[dt.date, ...] = ()) -> pl.DataFrame:
    days = pl.date_range(first, last, eager=True)
    return pl.DataFrame({"calendar_date": days, "is_working_day": (days.dt.weekday() <= 5) & ~days.is_in(closed)})


def test_monthly_buckets_start_on_the_first_and_end_with_the_month():
    horizon = Horizon.monthly(dt.date(2026, 11, 25), 3)
    assert horizon.bucket_starts == (dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert horizon.end == dt.date(2027, 2, 1) and horizon.freq == "M"
    assert horizon.bucket_of(
        pl.Series([dt.date(2026, 10, 31), dt.date(2026, 12, 31), dt.date(2027, 2, 1)])
    ).tolist() == [
        -1,
        1,
        3,
    ]


def test_monthly_working_days_come_from_the_factory_calendar():
    # February 2026 has 20 weekdays less Carnival (Monday 16 and Tuesday 17 February) = 18; March 22;
    # April 22 less Tiradentes (Tuesday 21 April) = 21.
    closed = (dt.date(2026, 2, 16), dt.date(2026, 2, 17), dt.date(2026, 4, 21))
    horizon = Horizon.from_factory_calendar(
        calendar(dt.date(2026, 1, 1), dt.date(2026, 12, 31), closed), dt.date(2026, 2, 10), 3, "M"
    )
    assert horizon.bucket_starts == (dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert horizon.working_days.tolist() == [18.0, 22.0, 21.0]
    assert horizon.days_before == pytest.approx((18 + 22 + 21) / 3)


def test_days_missing_from_the_calendar_count_as_weekdays_in_months_too():
    horizon = Horizon.from_factory_calendar(
        pl.DataFrame(schema={"calendar_date": pl.Date, "is_working_day": pl.Boolean}), dt.date(2026, 2, 1), 2, "M"
    )
    assert horizon.working_days.tolist() == [20.0, 22.0]


def test_weekly_horizons_are_unchanged_by_the_frequency():
    horizon = Horizon.from_factory_calendar(calendar(dt.date(2026, 1, 1), dt.date(2026, 3, 1)), dt.date(2026, 2, 4), 2)
    assert horizon.freq == "W" and horizon.days_before == 5.0
    assert horizon.bucket_starts == (dt.date(2026, 2, 2), dt.date(2026, 2, 9))
    assert horizon.working_days.tolist() == [5.0, 5.0]


def test_lead_times_in_working_days_offset_monthly_buckets_by_each_months_working_days():
    # Receipts in March (bucket 2) of a horizon whose January has 21 and February 19 working days:
    # 15 days fit in February (19 >= 15) -> released in February; 30 need January too (19 < 30 <= 40);
    # 0 days -> the receipt month; 45 reach before the horizon: -1 (past due; a month before the horizon counts
    # the horizon's mean, 20.67 working days).
    horizon = Horizon.monthly(dt.date(2026, 1, 1), 3, working_days=[21, 19, 22])
    released = horizon.release_buckets(np.array([2, 2, 2, 2]), np.array([15, 30, 0, 45]))
    assert released.tolist() == [1, 0, 2, -1]


def test_a_horizon_rejects_an_unknown_frequency():
    with pytest.raises(HorizonError, match="freq must be 'W'"):
        Horizon((dt.date(2026, 1, 1),), dt.date(2026, 2, 1), np.array([20.0]), freq="Q")  # type: ignore[arg-type]
