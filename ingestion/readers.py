"""Read a delivered file into a typed polars frame with the canonical column names of its entity.

Three steps, each with its own error: ``read_table`` (bytes -> strings or native xlsx cells), ``map_columns``
(Portuguese headers, or a stored mapping template, -> canonical fields) and ``coerce`` (Brazilian numbers, dates and
booleans -> types). ``coerce_rows`` types without raising and returns the problems row by row, for the landing to
quarantine bad rows (``ingestion.validation``); ``coerce`` raises when any value is bad.

``read_table`` reads .csv/.txt/.tsv, .xlsx/.xlsm (the first sheet; a password-protected one only with its password)
and the text tables of a .pdf. Exported reports often carry title lines above the header ("Fechamento de caixa",
"Loja 12", a blank line): the header is the row, among the first ``HEADER_SCAN_ROWS``, with the most known headers
(the built-in ones and those of the mapping templates given), else the first row that looks like a header. Rows keep
their numbers in the file: row N is the file's line (or sheet row) N + 1, title lines included, so a file whose
header is its first line numbers its data rows 1, 2, ...
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import msoffcrypto
import polars as pl
from msoffcrypto.exceptions import DecryptionError, InvalidKeyError
from pdfplumber.utils.exceptions import PdfminerException

from ingestion.pdftables import PdfTable, pdf_tables
from ingestion.schema import ENTITIES, Entity, SourceField, normalise_header

if TYPE_CHECKING:
    from ingestion.templates import Template

MAX_REPORTED_PROBLEMS = 10
HEADER_SCAN_ROWS = 20
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
PDF_SUFFIXES = (".pdf",)
_OLE2_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # Excel wraps an encrypted .xlsx in an OLE2 container
_BUILTIN_HEADERS = frozenset(normalise_header(f.header) for e in ENTITIES.values() for f in e.fields)
_VALUE = re.compile(r"[-+(]?\d[\d.,/:\- )%]*")  # a number, date or time: never a header cell
_COMMA_DECIMAL = re.compile(r"^-?[\d.]*\d,\d{1,3}$")
_POINT_DECIMAL = re.compile(r"^-?[\d,]*\d\.\d{1,2}$")


class SourceFileError(ValueError):
    """A file that cannot land; the message names the file and, where it can, the row, field and value."""

    def __init__(self, file_name: str, message: str) -> None:
        super().__init__(f"{file_name}: {message}")
        self.file_name = file_name


class UnreadableFileError(SourceFileError):
    """The bytes are not a workbook or text table we can read."""


class EncryptedWorkbookError(UnreadableFileError):
    """A password-protected workbook and no configured password opens it."""


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
    """A table as read: every column as delivered, whether numbers use the decimal comma, and the number of its
    first row in the file (1 when the header is the first line; row N is line N + 1)."""

    frame: pl.DataFrame
    decimal_comma: bool
    first_row: int = 1


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


def sniff_delimiter(lines: Sequence[str]) -> str:
    """The separator that splits the most of ``lines`` into the same number of fields (``;`` when none does).

    Title lines split into nothing, and a comma inside a description or a decimal comma varies from row to row, so
    the table's own separator wins.
    """
    best, best_key = ";", (0, 0)
    for sep in (";", "\t", ",", "|"):
        counts = Counter(line.count(sep) for line in lines if line.strip())
        counts.pop(0, None)
        if counts:
            fields, lines_with = max(counts.items(), key=lambda item: (item[1], item[0]))
            if (lines_with, fields) > best_key:
                best, best_key = sep, (lines_with, fields)
    return best


def find_header_row(rows: Sequence[Sequence[str]], known_headers: Collection[str] = ()) -> int:
    """The 0-based index of the header among the first ``HEADER_SCAN_ROWS`` rows.

    The row with the most cells that are known headers (built-in, or ``known_headers`` of mapping templates), when
    it has two or more; else the first row whose filled cells are at least half the table's width and none of them
    a number or date (a title line fills one or two cells); else the first row.
    """
    scanned = [[str(c).strip() for c in row] for row in rows[:HEADER_SCAN_ROWS]]
    known = _BUILTIN_HEADERS | {normalise_header(h) for h in known_headers}
    scores = [sum(normalise_header(c) in known for c in row if c) for row in scanned]
    if scores and max(scores) >= 2:
        return scores.index(max(scores))
    filled = [[c for c in row if c] for row in scanned]
    width = max(map(len, filled), default=0)
    for index, cells in enumerate(filled):
        if len(cells) >= max(2, (width + 1) // 2) and not any(_VALUE.fullmatch(c) for c in cells):
            return index
    return 0


def head_rows(content: bytes, file_name: str, *, passwords: Sequence[str] = ()) -> list[list[str]]:
    """The first ``HEADER_SCAN_ROWS`` rows of a file as text (blank rows of a sheet or text file included: the
    index is the line), for telling the header row and the report kind."""
    kind = _kind(content, file_name)
    if kind == "workbook":
        return _workbook_head(_decrypted(content, file_name, passwords), file_name)
    if kind == "text":
        return _text_head(decode_text(content, file_name), file_name).rows
    return [row for table in _pdf(content, file_name) for row in table.rows][:HEADER_SCAN_ROWS]


def read_table(
    content: bytes, file_name: str, *, known_headers: Collection[str] = (), passwords: Sequence[str] = ()
) -> RawTable:
    """Read an .xlsx (first sheet), a delimited text file or a PDF's text table, from its header row on.

    Args:
        content: the file's bytes.
        file_name: its name (the suffix says the format; messages name it).
        known_headers: headers of mapping templates, besides the built-in ones, to find the header row by.
        passwords: tried in order on a password-protected workbook.

    Raises:
        UnreadableFileError: empty, of another type, or not readable (``EncryptedWorkbookError``: no password fits).
    """
    kind = _kind(content, file_name)
    if kind == "workbook":
        return _read_workbook(_decrypted(content, file_name, passwords), file_name, known_headers)
    if kind == "text":
        return _read_text(decode_text(content, file_name), file_name, known_headers)
    return _read_pdf(content, file_name, known_headers)


def _kind(content: bytes, file_name: str) -> str:
    if not content:
        raise UnreadableFileError(file_name, "the file is empty")
    lower = file_name.lower()
    if lower.endswith(WORKBOOK_SUFFIXES):
        return "workbook"
    if lower.endswith(TEXT_SUFFIXES):
        return "text"
    if lower.endswith(PDF_SUFFIXES):
        return "pdf"
    raise UnreadableFileError(file_name, "unsupported file type (expected .xlsx, .csv or .pdf)")


def _decrypted(content: bytes, file_name: str, passwords: Sequence[str]) -> bytes:
    """The workbook's bytes, decrypted with the first of ``passwords`` that opens it when it is password-protected."""
    if not content.startswith(_OLE2_SIGNATURE):
        return content
    try:
        encrypted = msoffcrypto.OfficeFile(io.BytesIO(content)).is_encrypted()
    except Exception:  # not an Office container msoffcrypto knows (an old .xls, or garbage): calamine will say
        return content
    if not encrypted:
        return content
    for password in passwords:
        office = msoffcrypto.OfficeFile(io.BytesIO(content))
        try:
            office.load_key(password=password)
            plain = io.BytesIO()
            office.decrypt(plain)
        except (InvalidKeyError, DecryptionError):
            continue
        return plain.getvalue()
    tried = f"none of the {len(passwords)} configured passwords opens it" if passwords else "no password is configured"
    raise EncryptedWorkbookError(
        file_name,
        f"a password-protected workbook ({tried}): ask the sender to save it without a password, or configure its "
        "password (FMRP_XLSX_PASSWORDS)",
    )


def _excel(content: bytes, file_name: str, **options: object) -> pl.DataFrame:
    try:
        return pl.read_excel(io.BytesIO(content), engine="calamine", **options)  # type: ignore[call-overload]
    except Exception as err:  # calamine raises several private error types
        raise UnreadableFileError(file_name, f"not a readable workbook: {err}") from err


def _workbook_head(content: bytes, file_name: str) -> list[list[str]]:
    # skip_rows=0: from the sheet's first row, so the index is the sheet row (calamine otherwise starts at the first
    # filled one)
    head = _excel(
        content,
        file_name,
        read_options={"header_row": None, "skip_rows": 0, "n_rows": HEADER_SCAN_ROWS, "dtypes": "string"},
        drop_empty_rows=False,
        drop_empty_cols=False,
    )
    return [[cell or "" for cell in row] for row in head.iter_rows()]


def _read_workbook(content: bytes, file_name: str, known_headers: Collection[str]) -> RawTable:
    header = find_header_row(_workbook_head(content, file_name), known_headers)
    frame = _excel(content, file_name, infer_schema_length=None, read_options={"header_row": header})
    return RawTable(frame, decimal_comma=False, first_row=header + 1)


@dataclass(frozen=True)
class _TextHead:
    delimiter: str
    rows: list[list[str]]
    starts: list[int]  # the 0-based line each row starts on


def _text_head(text: str, file_name: str) -> _TextHead:
    delimiter = sniff_delimiter(list(itertools.islice(io.StringIO(text, newline="\n"), HEADER_SCAN_ROWS)))
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter, quotechar='"')
    rows: list[list[str]] = []
    starts: list[int] = []
    try:
        while len(rows) < HEADER_SCAN_ROWS:
            start = reader.line_num
            row = next(reader, None)
            if row is None:
                break
            rows.append([cell.strip() for cell in row])
            starts.append(start)
    except csv.Error as err:
        raise UnreadableFileError(file_name, f"not a readable '{delimiter}'-delimited table: {err}") from err
    return _TextHead(delimiter, rows, starts)


def _read_text(text: str, file_name: str, known_headers: Collection[str]) -> RawTable:
    head = _text_head(text, file_name)
    header = find_header_row(head.rows, known_headers)
    skipped = head.starts[header] if head.starts else 0
    offset = 0
    for _ in range(skipped):
        offset = text.index("\n", offset) + 1
    try:
        frame = pl.read_csv(
            io.StringIO(text[offset:]),
            separator=head.delimiter,
            infer_schema=False,
            quote_char='"',
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.ComputeError, csv.Error) as err:
        raise UnreadableFileError(file_name, f"not a readable '{head.delimiter}'-delimited table: {err}") from err
    return RawTable(frame, decimal_comma=head.delimiter == ";", first_row=skipped + 1)


def _pdf(content: bytes, file_name: str) -> list[PdfTable]:
    try:
        tables = pdf_tables(content)
    except PdfminerException as err:
        raise UnreadableFileError(file_name, f"not a readable PDF: {err}") from err
    if not tables:
        raise UnreadableFileError(file_name, "no table found in the PDF (a scanned image, or text without columns)")
    return tables


def _read_pdf(content: bytes, file_name: str, known_headers: Collection[str]) -> RawTable:
    """The PDF's table from its header row on: continuation tables of the same width on later pages are appended,
    each without the header (and the title lines above it) when the page repeats them."""
    tables = _pdf(content, file_name)
    rows = [row for table in tables for row in table.rows]
    header_index = find_header_row(rows, known_headers)
    header = rows[header_index]
    data: list[list[str]] = []
    seen = 0
    for table in tables:
        start = seen
        seen += len(table.rows)
        if seen <= header_index or len(table.rows[0]) != len(header):
            continue  # above the header, or another table (a summary, a signature box)
        body = table.rows[header_index - start + 1 :] if start <= header_index else table.rows
        repeats = [i for i, row in enumerate(body) if _same_header(row, header)]
        data.extend(body[repeats[0] + 1 :] if repeats and start > header_index else body)
    frame = pl.DataFrame(
        [[cell or None for cell in row] for row in data],
        schema=[(name, pl.String) for name in _unique_names(header)],
        orient="row",
    )
    return RawTable(frame, decimal_comma=_uses_decimal_comma(data), first_row=header_index + 1)


def _same_header(row: Sequence[str], header: Sequence[str]) -> bool:
    return [normalise_header(c) for c in row] == [normalise_header(c) for c in header]


def _unique_names(header: Sequence[str]) -> list[str]:
    names: list[str] = []
    for index, cell in enumerate(header):
        name = cell or f"column_{index + 1}"
        while name in names:
            name = f"{name}_duplicated"
        names.append(name)
    return names


def _uses_decimal_comma(rows: list[list[str]]) -> bool:
    """Whether the numbers are written 1.234,5 (Brazil) rather than 1,234.5, by counting the two forms."""
    cells = [cell for row in rows for cell in row]
    comma = sum(bool(_COMMA_DECIMAL.match(c)) for c in cells)
    point = sum(bool(_POINT_DECIMAL.match(c)) for c in cells)
    return comma >= point


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
    return replace(table, frame=frame.select(entity.field_names))


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
    """Every delivered row typed (``_row_number`` first: its number in the file, ``RawTable.first_row`` for the
    first row under the header; a value that does not fit is null) and the problems found (``PROBLEM_SCHEMA``, in
    row order)."""

    frame: pl.DataFrame
    problems: pl.DataFrame


def row_numbers(table: RawTable) -> pl.Expr:
    """The file's numbers of the table's rows (see ``RawTable.first_row``)."""
    return pl.int_range(table.first_row, table.first_row + table.frame.height, dtype=pl.Int32)


def coerce_rows(table: RawTable, entity: Entity) -> CoercedRows:
    """Type every field; values that do not fit and missing required values become problems, not errors."""
    frame = table.frame
    blank = {
        f.name: (pl.col(f.name).is_null() | (pl.col(f.name).cast(pl.String).str.strip_chars() == ""))
        for f in entity.fields
    }
    typed = frame.select(
        row_numbers(table).alias("_row_number"),
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
            row_numbers(table).alias("row"),
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
