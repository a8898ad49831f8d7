"""The factory calendar: business days, national holidays and collective vacation."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import numpy as np
import polars as pl

VACATION_START = (12, 26)  # férias coletivas from 26/12 ...
VACATION_END = (1, 5)  # ... to 05/01, both inclusive


def is_collective_vacation(day: date) -> bool:
    """Whether `day` falls in the yearly collective vacation (26/12 to 05/01)."""
    return (day.month, day.day) >= VACATION_START or (day.month, day.day) <= VACATION_END


def build_calendar(first: date, last: date) -> pl.DataFrame:
    """One row per day from `first` to `last`.

    Columns: `calendar_date`, `holiday_name` (Brazilian national holidays, Portuguese names, null when none),
    `is_collective_vacation`, `is_business_day` (Monday to Friday and not a national holiday: the days the
    finance team closes cash and the ERP exports positions) and `is_working_day` (a business day outside
    the collective vacation: the days the plant produces).
    """
    national = holidays.country_holidays("BR", years=range(first.year, last.year + 1), language="pt_BR")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    holiday_names = [national.get(d) for d in days]
    vacation = np.array([is_collective_vacation(d) for d in days])
    weekday = np.array([d.weekday() < 5 for d in days])
    business = weekday & np.array([name is None for name in holiday_names])
    return pl.DataFrame(
        {
            "calendar_date": days,
            "holiday_name": holiday_names,
            "is_collective_vacation": vacation,
            "is_business_day": business,
            "is_working_day": business & ~vacation,
        },
        schema={
            "calendar_date": pl.Date,
            "holiday_name": pl.String,
            "is_collective_vacation": pl.Boolean,
            "is_business_day": pl.Boolean,
            "is_working_day": pl.Boolean,
        },
    )
