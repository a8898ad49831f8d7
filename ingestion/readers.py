"""Read a delivered file into a typed polars frame with the canonical column names of its entity.

Three steps, each with its own error: ``read_table`` (bytes -> strings or native xlsx cells), ``map_columns``
(Portuguese headers -> canonical fields) and ``coerce`` (Brazilian numbers, dates and booleans -> types).
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass

import polars as pl

from ingestion.schema import Entity, SourceField, normalise_header

MAX_REPORTED_PROBLEMS = 10


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
    row: int
    field: str
    header: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column '{self.header}' ({self.field}): {self.value!r} {self.reason}"


class InvalidValueError(SourceFileError):
    """Values that do not fit their field's type."""

    def __init__(self, file_name: str, problems: list[ValueProblem], total: int) -> None:
        shown = "; ".join(str(p) for p in problems[:MAX_REPORTED_PROBLEMS])
        more = f" (and {total - MAX_REPORTED_PROBLEMS} more)" if total > MAX_REPORTED_PROBLEMS else ""
        super().__init__(file_name, f"{total} invalid value(s): {shown}{more}")
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


def map_columns(table: RawTable, entity: Entity, file_name: str) -> RawTable:
    """Rename the delivered headers to the entity's fields; missing required headers are an error."""
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


def coerce(table: RawTable, entity: Entity, file_name: str) -> pl.DataFrame:
    """Typed frame of the entity's fields; any value that does not fit raises ``InvalidValueError``."""
    frame = table.frame
    blank = {
        f.name: (pl.col(f.name).is_null() | (pl.col(f.name).cast(pl.String).str.strip_chars() == ""))
        for f in entity.fields
    }
    typed = frame.select(
        [
            pl.when(blank[f.name])
            .then(None)
            .otherwise(_typed_expr(f, frame.schema[f.name], table.decimal_comma))
            .alias(f.name)
            for f in entity.fields
        ]
    )
    problems: list[ValueProblem] = []
    total = 0
    for field in entity.fields:
        bad_type = ~blank[field.name] & typed[field.name].is_null()
        bad_missing = blank[field.name] if field.required else pl.lit(False)
        flags = frame.select(bad_type.alias("type"), bad_missing.alias("missing")).with_row_index("i")
        bad = flags.filter(pl.col("type") | pl.col("missing"))
        total += bad.height
        for i, is_type, _ in bad.head(MAX_REPORTED_PROBLEMS).iter_rows():
            raw = frame[field.name][i]
            reason = _TYPE_WORDS.get(field.type, "is invalid") if is_type else "is missing (required)"
            problems.append(ValueProblem(i + 1, field.name, field.header, "" if raw is None else str(raw), reason))
    if total:
        raise InvalidValueError(file_name, sorted(problems, key=lambda p: p.row), total)
    return typed
