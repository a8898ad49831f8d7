"""Configuration of the demo factory and the dates derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class FactoryConfig:
    """What to generate.

    Args:
        finished_goods: number of finished goods (`Acabado`); every other item count scales with it
            (300 finished goods give about 1,000 items).
        years: years of daily sales history; the history is `years * 52` ISO weeks.
        start: first day of the history; normalised to the Monday of its ISO week.
        seed: seed of every random draw; the same config always gives byte-identical files.
    """

    finished_goods: int = 300
    years: int = 3
    start: date = date(2023, 1, 2)
    seed: int = 42
    csv_share: float = field(default=0.10, repr=False)

    def __post_init__(self) -> None:
        if self.finished_goods < 12:
            raise ValueError(f"finished_goods must be at least 12, got {self.finished_goods}")
        if not 1 <= self.years <= 10:
            raise ValueError(f"years must be between 1 and 10, got {self.years}")
        if not 0.0 <= self.csv_share <= 1.0:
            raise ValueError(f"csv_share must be between 0 and 1, got {self.csv_share}")
        object.__setattr__(self, "start", self.start - timedelta(days=self.start.weekday()))

    @property
    def weeks(self) -> int:
        """Number of ISO weeks of sales history."""
        return self.years * 52

    @property
    def end(self) -> date:
        """Last day (a Sunday) of the sales history."""
        return self.start + timedelta(weeks=self.weeks, days=-1)

    @property
    def horizon_end(self) -> date:
        """Last day of the factory calendar: 53 weeks after the history, a full planning year."""
        return self.end + timedelta(weeks=53)
