"""Grade a batch (IN-6): a quality score 0-100 and a letter A-D from completeness, validity and timeliness.

- completeness: the share of filled cells (required and optional fields) in the rows that land;
- validity: the share of the file's rows that are not rejected;
- timeliness: 1 when the file arrives on its business day or the next, then 1/7 less per further day (0 from
  the eighth day late on); 1 when the batch has no business date.

``score = 100 x (0.3 completeness + 0.5 validity + 0.2 timeliness)``, rounded to one decimal; the letter is
A from 90, B from 75, C from 60, else D. A file that cannot be read at all scores 0 (D). docs/sources.md
documents the same formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

WEIGHTS = {"completeness": 0.3, "validity": 0.5, "timeliness": 0.2}
LETTERS = ((90.0, "A"), (75.0, "B"), (60.0, "C"))
DAYS_OF_DECAY = 7


@dataclass(frozen=True)
class Grade:
    """A batch's quality: the three components (0..1), the score (0..100) and its letter."""

    completeness: float
    validity: float
    timeliness: float
    score: float
    letter: str


def letter_of(score: float) -> str:
    return next((letter for cut, letter in LETTERS if score >= cut), "D")


def timeliness(received_at: datetime, business_date: date | None) -> float:
    """1 on the business day or the next, decaying linearly to 0 over the following ``DAYS_OF_DECAY`` days."""
    if business_date is None:
        return 1.0
    late = (received_at.date() - business_date).days - 1
    return max(0.0, min(1.0, 1.0 - late / DAYS_OF_DECAY))


def completeness(rows: pl.DataFrame, fields: list[str]) -> float:
    """The share of non-null cells of ``fields`` in ``rows`` (1 for no rows: nothing is missing)."""
    if rows.height == 0 or not fields:
        return 1.0
    filled = rows.select(pl.sum_horizontal([pl.col(f).is_not_null().sum() for f in fields])).item()
    return float(filled) / (rows.height * len(fields))


def grade(
    landed: pl.DataFrame, fields: list[str], total_rows: int, received_at: datetime, business_date: date | None
) -> Grade:
    """The grade of a batch whose ``landed`` rows (of ``total_rows`` delivered) carry ``fields``."""
    parts = {
        "completeness": completeness(landed, fields) if landed.height or not total_rows else 0.0,
        "validity": landed.height / total_rows if total_rows else 1.0,
        "timeliness": timeliness(received_at, business_date),
    }
    score = round(100.0 * sum(WEIGHTS[k] * v for k, v in parts.items()), 1)
    return Grade(parts["completeness"], parts["validity"], parts["timeliness"], score, letter_of(score))


UNREADABLE = Grade(0.0, 0.0, 0.0, 0.0, "D")
