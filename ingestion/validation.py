"""Validate and clean a mapped table row by row: good rows land, bad rows are quarantined with their reason (IN-8).

A row is bad when a value does not fit its field's type, a required value is missing, a number lies outside its
field's range, a date that cannot lie ahead (a sale's, a snapshot's, an order's) is after the day the file was
received (invalid rows), or the row is an exact copy of an earlier row of the same file (cleaned away: the first
one lands). Whether a file with invalid rows lands at all is the reject threshold's decision
(``too_many_bad_rows``); nothing here touches the warehouse, so checks that need it (known SKUs) stay in dbt's
staging tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from ingestion.readers import PROBLEM_SCHEMA, RawTable, coerce_rows, row_numbers
from ingestion.schema import Entity, SourceField

DEFAULT_REJECT_THRESHOLD_PCT = 5.0


@dataclass(frozen=True)
class ValidatedRows:
    """The outcome of validating one file.

    Attributes:
        good: the typed rows that may land, ``_row_number`` first (the row's number in the file, see ``RawTable``).
        problems: one row per problem (``PROBLEM_SCHEMA``: row, field, header, value, reason), in row order;
            a row may have several. ``field`` is empty for a problem of the whole row (a duplicate).
        raw_rows: ``_row_number`` and ``raw_row`` (the delivered row as a JSON object, field -> text) of every
            bad row, so the quarantine keeps what was delivered.
        total_rows: data rows in the file.
    """

    good: pl.DataFrame
    problems: pl.DataFrame
    raw_rows: pl.DataFrame
    total_rows: int

    @property
    def bad_rows(self) -> int:
        """Rows that do not land: invalid rows and copies."""
        return self.total_rows - self.good.height

    @property
    def duplicate_rows(self) -> int:
        return int(self.problems["field"].is_null().sum())

    @property
    def invalid_rows(self) -> int:
        """Rows with a bad value (a copy of a valid row is cleaned away, not invalid: it has only that problem)."""
        return self.bad_rows - self.duplicate_rows

    @property
    def bad_share_pct(self) -> float:
        return 100.0 * self.invalid_rows / self.total_rows if self.total_rows else 0.0

    def too_many_bad_rows(self, threshold_pct: float) -> bool:
        """IN-8's policy: the file is rejected whole when more than ``threshold_pct`` % of its rows are invalid.

        Exact copies do not count: dropping them loses nothing (the first one lands), so a small daily report
        with one repeated line still lands.
        """
        return self.bad_share_pct > threshold_pct


def validate_rows(table: RawTable, entity: Entity, received_at: datetime | None = None) -> ValidatedRows:
    """Type, check and deduplicate the rows of a table already mapped to ``entity``'s fields.

    Args:
        table: the output of ``map_columns``.
        entity: the entity the file lands as.
        received_at: when the source delivered the file; dates of ``not_after_received`` fields must not lie
            after its day (in its own time zone). ``None`` skips that check.
    """
    coerced = coerce_rows(table, entity)
    typed = coerced.frame
    found = [coerced.problems]
    for field in entity.fields:
        if field.minimum is not None or field.maximum is not None:
            found.append(_out_of_range(table.frame, typed, field))
        if field.not_after_received and received_at is not None:
            found.append(_after_received(table.frame, typed, field, received_at.date()))
    problems = pl.concat([p.cast(PROBLEM_SCHEMA) for p in found])
    # a copy of a row that is bad anyway is reported once, for its own problem
    clean = typed.filter(~pl.col("_row_number").is_in(problems["row"].implode()))
    problems = pl.concat([problems, _duplicates(clean, entity)]).sort("row", maintain_order=True)
    bad = problems["row"].unique().implode()
    return ValidatedRows(
        good=typed.filter(~pl.col("_row_number").is_in(bad)),
        problems=problems,
        raw_rows=_raw_rows(table, entity, bad),
        total_rows=typed.height,
    )


def _problem_rows(
    raw: pl.DataFrame, typed: pl.DataFrame, field: SourceField, bad: pl.Expr, reason: str
) -> pl.DataFrame:
    rows = typed.select(
        pl.col("_row_number").alias("row"),
        pl.lit(field.name).alias("field"),
        pl.lit(field.header).alias("header"),
        pl.Series("value", raw[field.name].cast(pl.String).fill_null("")),
        pl.lit(reason).alias("reason"),
        bad.fill_null(False).alias("bad"),
    )
    return rows.filter(pl.col("bad")).drop("bad")


def _out_of_range(raw: pl.DataFrame, typed: pl.DataFrame, field: SourceField) -> pl.DataFrame:
    value = pl.col(field.name)
    bad = pl.lit(False)
    if field.minimum is not None:
        bad = bad | (value < field.minimum)
    if field.maximum is not None:
        bad = bad | (value > field.maximum)
    low = "" if field.minimum is None else f"{field.minimum:g}"
    high = "" if field.maximum is None else f"{field.maximum:g}"
    if low and high:
        reason = f"is out of range ({low} to {high})"
    elif low:
        reason = f"is below the minimum {low}"
    else:
        reason = f"is above the maximum {high}"
    return _problem_rows(raw, typed, field, bad, reason)


def _after_received(raw: pl.DataFrame, typed: pl.DataFrame, field: SourceField, received: date) -> pl.DataFrame:
    reason = f"is in the future (the file was received on {received:%d/%m/%Y})"
    return _problem_rows(raw, typed, field, pl.col(field.name) > received, reason)


def _duplicates(typed: pl.DataFrame, entity: Entity) -> pl.DataFrame:
    """Rows equal in every field to an earlier row: the copy is a problem naming the row it copies."""
    fields = entity.field_names
    if typed.height < 2:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    marked = typed.select("_row_number", pl.col("_row_number").min().over(fields).alias("first")).filter(
        pl.col("_row_number") != pl.col("first")
    )
    return marked.select(
        pl.col("_row_number").alias("row"),
        pl.lit(None, dtype=pl.String).alias("field"),
        pl.lit(None, dtype=pl.String).alias("header"),
        pl.lit(None, dtype=pl.String).alias("value"),
        pl.format("is an exact copy of row {}", pl.col("first")).alias("reason"),
    ).cast(PROBLEM_SCHEMA)


def _raw_rows(table: RawTable, entity: Entity, rows: pl.Series) -> pl.DataFrame:
    """The bad rows as delivered (every value as text), one JSON object per row."""
    return (
        table.frame.with_columns(row_numbers(table).alias("_row_number"))
        .filter(pl.col("_row_number").is_in(rows))
        .select(
            "_row_number",
            pl.struct([pl.col(f.name).cast(pl.String) for f in entity.fields]).struct.json_encode().alias("raw_row"),
        )
    )
