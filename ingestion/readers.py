"""Read a delivered file into a typed polars frame with the canonical column names of its entity.

Three steps, each with its own error: ``read_table`` (bytes -> strings or native xlsx cells), ``map_columns``
(Portuguese headers, or a stored mapping template, -> canonical fields) and ``coerce`` (Brazilian numbers, dates and
booleans -> types). ``coerce_rows`` types without raising and returns the problems row by row, for the landing to
quarantine bad rows (``ingestion.validation``); ``coerce`` raises when any value is bad (the upload check).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from ingestion.schema import Entity, SourceField, normalise_header

if TYPE_CHECKING:
    from ingestion.templates import Template

MAX_REPORTED_PROBLEMS = 10
_OLE2_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")


class SourceFileError(ValueError):
    """A file that cannot land; the message names the file and, where it can, the row, field and value."""

    def __init__(self, file_name: str, message: str) -> None:
        super().__init__(f"{file_name}: {message}")
        self.file_name = file_name


class UnreadableFileError(SourceFileError):
    """The bytes are not a workbook or text table we can read."""


class UnknownHeaderError(SourceFileError):
    """Required headers are missing (often misspelled)."""


@dataclass(frozen=True)
class ValueProblem:
    """One bad value (or a bad row, when ``field`` is empty): where it is and why it cannot land."""

    row: int
    field: str
    header: str
    value: str
    reason: str

    def __str__(self) -> str:
        if not self.field:
            return f"row {self.row}: {self.reason}"
        return f"row {self.row}, column '{self.header}' ({self.field}): {self.value!r} {self.reason}"


PROBLEM_SCHEMA = pl.Schema(
    {"row": pl.Int32(), "field": pl.String(), "header": pl.String(), "value": pl.String(), "reason": pl.String()}
)


def problem_list(problems: pl.DataFrame, limit: int | None = None) -> list[ValueProblem]:
    """The first ``limit`` rows of a problems frame (``PROBLEM_SCHEMA``) as ``ValueProblem`` objects."""
    rows = problems if limit is None else problems.head(limit)
    return [
        ValueProblem(row, field or "", header or "", value or "", reason)
        for row, field, header, value, reason in rows.select(list(PROBLEM_SCHEMA)).iter_rows()
    ]


class InvalidValueError(SourceFileError):
    """Values that do not fit their field's type (or too many bad rows for the reject threshold)."""

    def __init__(self, file_name: str, problems: list[ValueProblem], total: int, summary: str | None = None) -> None:
        shown = "; ".join(str(p) for p in problems[:MAX_REPORTED_PROBLEMS])
        more = f" (and {total - MAX_REPORTED_PROBLEMS} more)" if total > MAX_REPORTED_PROBLEMS else ""
        super().__init__(file_name, f"{summary or f'{total} invalid value(s)'}: {shown}{more}")
        self.problems = problems


@dataclass(frozen=True)
class RawTable:
    """A table as read: every column as delivered, and whether numbers use the decimal comma."""

    frame: pl.DataFrame
    decimal_comma: bool


def decode_text(content: bytes, file_name: str) -> str:
    """UTF-8 (with or without BOM), else cp1252 — the two encodings Brazilian Excel and ERPs write."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError as err:
        raise UnreadableFileError(file_name, f"not UTF-8 nor cp1252 text (byte {err.start})") from err


def sniff_delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", "\t", ",", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def read_table(content: bytes, file_name: str) -> RawTable:
    """Read an .xlsx (first sheet) or a delimited text file."""
    if not content:
        raise UnreadableFileError(file_name, "the file is empty")
    lower = file_name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        if content.startswith(_OLE2_SIGNATURE):  # Excel wraps an encrypted .xlsx in an OLE2 container
            raise UnreadableFileError(
                file_name,
                "a password-protected workbook (or an old .xls renamed .xlsx): ask the sender to save it as .xlsx "
                "without a password",
            )
        try:
            frame = pl.read_excel(io.BytesIO(content), engine="calamine", infer_schema_length=None)
        except Exception as err:  # calamine raises several private error types
            raise UnreadableFileError(file_name, f"not a readable workbook: {err}") from err
        return RawTable(frame, decimal_comma=False)
    if lower.endswith((".csv", ".txt", ".tsv")):
        text = decode_text(content, file_name)
        first_line = text.split("\n", 1)[0]
        delimiter = sniff_delimiter(first_line)
        try:
            frame = pl.read_csv(
                io.StringIO(text),
                separator=delimiter,
                infer_schema=False,
                quote_char='"',
                truncate_ragged_lines=False,
            )
        except (pl.exceptions.ComputeError, csv.Error) as err:
            raise UnreadableFileError(file_name, f"not a readable '{delimiter}'-delimited table: {err}") from err
        return RawTable(frame, decimal_comma=delimiter == ";")
    raise UnreadableFileError(file_name, "unsupported file type (expected .xlsx or .csv)")


def map_columns(table: RawTable, entity: Entity, file_name: str, templates: Sequence[Template] = ()) -> RawTable:
    """Rename the delivered headers to the entity's fields.

    When the built-in headers leave a required field without a column, the best-fitting of ``templates`` (of this
    entity, every required source column present, highest header overlap) maps and transforms the columns instead;
    when none fits, ``UnknownHeaderError`` names the missing headers and the likely typos.
    """
    try:
        return _map_builtin(table, entity, file_name)
    except UnknownHeaderError:
        from ingestion.templates import apply_template, suggest  # templates build on this module

        fitting = [
            s for s in suggest(table.frame.columns, templates) if s.complete and s.template.entity == entity.name
        ]
        if not fitting:
            raise
        return apply_template(table, fitting[0].template, entity)


def _map_builtin(table: RawTable, entity: Entity, file_name: str) -> RawTable:
    by_header = {normalise_header(f.header): f for f in entity.fields}
    renames: dict[str, str] = {}
    unknown: list[str] = []
    for column in table.frame.columns:
        field = by_header.get(normalise_header(column))
        if field and field.name not in renames.values():
            renames[column] = field.name
        else:
            unknown.append(column)
    missing = [f for f in entity.fields if f.required and f.name not in renames.values()]
    if missing:
        raise UnknownHeaderError(file_name, _missing_message(entity, missing, unknown))
    frame = table.frame.select([pl.col(src).alias(dst) for src, dst in renames.items()])
    absent = [f for f in entity.fields if f.name not in frame.columns]
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(f.name) for f in absent])
    return RawTable(frame.select(entity.field_names), table.decimal_comma)


def _missing_message(entity: Entity, missing: list[SourceField], unknown: list[str]) -> str:
    parts = []
    for field in missing:
        close = difflib.get_close_matches(field.header, unknown, n=1, cutoff=0.6)
        hint = f" (found '{close[0]}': a misspelling?)" if close else ""
        parts.append(f"'{field.header}'{hint}")
    return f"required column(s) {', '.join(parts)} missing for {entity.name}; the file has {unknown or 'none'}"


_TRUE = {"s", "sim", "y", "yes", "true", "1", "x", "verdadeiro"}
_FALSE = {"n", "nao", "não", "no", "false", "0", "falso"}


def _number_expr(name: str, dtype: pl.DataType, decimal_comma: bool) -> pl.Expr:
    if dtype.is_numeric():
        return pl.col(name).cast(pl.Float64)
    text = pl.col(name).cast(pl.String).str.strip_chars().str.replace_all(r"\s", "")
    if decimal_comma:
        text = text.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
    else:
        text = text.str.replace_all(",", "", literal=True)
    return text.cast(pl.Float64, strict=False)


def _date_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.date()
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.coalesce(
        text.str.to_date("%d/%m/%Y", strict=False),
        text.str.to_date("%Y-%m-%d", strict=False),
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
    )


def _timestamp_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).cast(pl.Datetime("us"))
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.coalesce(
        text.str.to_datetime("%d/%m/%Y %H:%M", strict=False, time_unit="us"),
        text.str.to_datetime("%d/%m/%Y %H:%M:%S", strict=False, time_unit="us"),
        text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us"),
        text.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
    )


def _time_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Time:
        return pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.time()
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.coalesce(
        text.str.to_time("%H:%M", strict=False),
        text.str.to_time("%H:%M:%S", strict=False),
    )


def _bool_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return pl.col(name)
    text = pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.is_in(list(_TRUE)))
        .then(pl.lit(True))
        .when(text.is_in(list(_FALSE)))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def _typed_expr(field: SourceField, dtype: pl.DataType, decimal_comma: bool) -> pl.Expr:
    name = field.name
    if field.type == "numeric":
        return _number_expr(name, dtype, decimal_comma)
    if field.type == "int":
        number = _number_expr(name, dtype, decimal_comma)
        return pl.when(number == number.round(0)).then(number).otherwise(None).cast(pl.Int64)
    if field.type == "date":
        return _date_expr(name, dtype)
    if field.type == "timestamp":
        return _timestamp_expr(name, dtype)
    if field.type == "time":
        return _time_expr(name, dtype)
    if field.type == "bool":
        return _bool_expr(name, dtype)
    return pl.col(name).cast(pl.String).str.strip_chars()


_TYPE_WORDS = {
    "numeric": "is not a number",
    "int": "is not a whole number",
    "date": "is not a date (DD/MM/YYYY)",
    "timestamp": "is not a date and time (DD/MM/YYYY HH:MM)",
    "time": "is not a time (HH:MM)",
    "bool": "is not S/N",
}


@dataclass(frozen=True)
class CoercedRows:
    """Every delivered row typed (``_row_number`` first, 1 = the first row under the header; a value that does not
    fit is null) and the problems found (``PROBLEM_SCHEMA``, in row order)."""

    frame: pl.DataFrame
    problems: pl.DataFrame


def coerce_rows(table: RawTable, entity: Entity) -> CoercedRows:
    """Type every field; values that do not fit and missing required values become problems, not errors."""
    frame = table.frame
    blank = {
        f.name: (pl.col(f.name).is_null() | (pl.col(f.name).cast(pl.String).str.strip_chars() == ""))
        for f in entity.fields
    }
    typed = frame.select(
        pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("_row_number"),
        *[
            pl.when(blank[f.name])
            .then(None)
            .otherwise(_typed_expr(f, frame.schema[f.name], table.decimal_comma))
            .alias(f.name)
            for f in entity.fields
        ],
    )
    found: list[pl.DataFrame] = []
    for field in entity.fields:
        bad_type = ~blank[field.name] & typed[field.name].is_null()
        bad_missing = blank[field.name] if field.required else pl.lit(False)
        reason = (
            pl.when(bad_type)
            .then(pl.lit(_TYPE_WORDS.get(field.type, "is invalid")))
            .otherwise(pl.lit("is missing (required)"))
        )
        bad = frame.select(
            pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("row"),
            pl.lit(field.name).alias("field"),
            pl.lit(field.header).alias("header"),
            pl.col(field.name).cast(pl.String).fill_null("").alias("value"),
            reason.alias("reason"),
            (bad_type | bad_missing).alias("bad"),
        ).filter(pl.col("bad"))
        if bad.height:
            found.append(bad.drop("bad"))
    problems = pl.concat(found) if found else pl.DataFrame(schema=PROBLEM_SCHEMA)
    return CoercedRows(typed, problems.cast(PROBLEM_SCHEMA).sort("row", maintain_order=True))


def coerce(table: RawTable, entity: Entity, file_name: str) -> pl.DataFrame:
    """Typed frame of the entity's fields; any value that does not fit raises ``InvalidValueError``."""
    coerced = coerce_rows(table, entity)
    if coerced.problems.height:
        problems = problem_list(coerced.problems, MAX_REPORTED_PROBLEMS)
        raise InvalidValueError(file_name, problems, coerced.problems.height)
    return coerced.frame.drop("_row_number")
