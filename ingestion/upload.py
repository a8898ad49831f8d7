"""Files uploaded by hand: the drop folder ``<inbox>/upload/`` and ``accept_upload`` for the dashboard's upload page.

Both feed the same pipeline as the ERP and the email: an upload is recognised (by its file name first - an ERP
export name ``estoque_20240103.csv`` or a cash-closing ``fechamento_2024-01-03.xlsx`` - else by its headers, the
built-in ones or a stored mapping template's), checked by the landing's own ``check_file`` (parse, map through the
templates, validate, clean, grade, and the reject threshold), and moved into the inbox folder its kind arrives in:
ERP exports to ``<inbox>/erp/<export>_<YYYYMMDD>.<ext>``, a cash-closing report into ``<inbox>/email/`` wrapped in an
email like the finance team's (the ``raw/sales`` asset reads emails). The landing then lands it like any other file:
its bad rows quarantined in ``raw.rejected_rows``. A file the landing would reject (unreadable, unknown headers, more
bad rows than the threshold, over the size cap) is refused here already, with the landing's reason: the dashboard
says so at once, and the drop folder moves it to ``upload/rejected/`` with a ``.error.txt`` beside it. When its kind
is known (by name or headers) the refusal is also recorded as the landing records every rejected file (IN-8): a
``rejected`` batch in ``raw.batches`` with the error and its bad rows in ``raw.rejected_rows``; and, kept in
``upload/rejected/``, it is entered in the fetch ledger, so the upload sensor requests its day's landing run, whose
``no_rejected_files`` check fails naming it and raises the ``rejected_file`` alert, as for an SFTP or email file.
Processed originals go to ``upload/done/``: nothing is deleted.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import polars as pl
import psycopg

from ingestion.fetched import (
    FetchedFile,
    already_fetched,
    fetched_file,
    record_fetch,
    sha256_hex,
    write_atomically,
    write_erp_export,
)
from ingestion.grading import UNREADABLE
from ingestion.landing import (
    CheckedFile,
    FileTooLargeError,
    LandingResult,
    check_file,
    erp_file_entity,
    record_rejected_file,
)
from ingestion.readers import SourceFileError, read_table
from ingestion.schema import ENTITIES, Entity, normalise_header
from ingestion.templates import Template, default_template, stored_templates
from ingestion.validation import DEFAULT_REJECT_THRESHOLD_PCT

SOURCE = "upload"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".txt", ".pdf")
_CASH_CLOSING_NAME = re.compile(r"^fechamento_(\d{4})-(\d{2})-(\d{2})\.(csv|xlsx|txt|pdf)$", re.IGNORECASE)
_DATE_FIELDS = {"sales": "sale_date", "inventory": "snapshot_date"}
_ATTACHMENT_TYPES = {
    ".csv": ("text", "csv"),
    ".txt": ("text", "csv"),
    ".pdf": ("application", "pdf"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


class UploadError(ValueError):
    """An upload that cannot go in; the message names the file and what to do."""


class UploadTooLargeError(UploadError, FileTooLargeError):
    """Over the size cap (a ``FileTooLargeError`` of the landing too: recorded as such when the kind is known)."""


class UnrecognisedUploadError(UploadError):
    """Neither the name nor the headers say what the file is."""


@dataclass(frozen=True)
class UploadPlan:
    """What an upload will land as."""

    entity: str
    business_date: date
    file_name: str
    rows: int  # rows that will land
    recognised_by: str  # "file name" | "headers"
    rows_rejected: int = 0  # bad rows (fewer than the reject threshold) the landing will quarantine

    @property
    def inbox_folder(self) -> str:
        return "email" if self.entity == "sales" else "erp"


def _by_name(file_name: str) -> tuple[Entity, date] | None:
    identified = erp_file_entity(Path(file_name))
    if identified:
        return identified
    match = _CASH_CLOSING_NAME.match(file_name)
    if match:
        try:
            return ENTITIES["sales"], date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return None


def _by_headers(columns: Sequence[str], file_name: str, templates: Sequence[Template]) -> Entity:
    """The entity of the template whose headers the file has: every required one, and the most of the others."""
    present = {normalise_header(c) for c in columns}
    scored = []
    for template in templates:
        entity = ENTITIES[template.entity]
        required = {f.name for f in entity.fields if f.required}
        matched = {c.field for c in template.columns if normalise_header(c.source) in present}
        scored.append((required <= matched, len(matched), entity))
    candidates = sorted((s for s in scored if s[0]), key=lambda s: -s[1])
    if not candidates:
        closest = max(scored, key=lambda s: s[1])[2]
        raise UnrecognisedUploadError(
            f"{file_name}: the headers {list(columns)} are no known report; closest is {closest.name} "
            f"(headers {[f.header for f in closest.fields if f.required]}). Rename the columns, add a mapping "
            "template (fmrp templates add), or name the file <export>_<YYYYMMDD>.csv (docs/sources.md)"
        )
    tied = sorted({c[2].name for c in candidates if c[1] == candidates[0][1]})
    if len(tied) > 1:
        raise UnrecognisedUploadError(f"{file_name}: the headers fit {tied} equally; name the file after its export")
    return candidates[0][2]


@dataclass(frozen=True)
class _Inspection:
    """An upload recognised and checked as its landing will check it (``checked.error``: why it cannot land)."""

    entity: Entity
    named_date: date | None  # the date in the file name
    recognised_by: str  # "file name" | "headers"
    checked: CheckedFile
    received_at: datetime


def _inspect(
    content: bytes,
    name: str,
    business_date: date | None,
    *,
    max_bytes: int,
    today: date | None,
    templates: Sequence[Template],
    reject_threshold_pct: float,
    passwords: Sequence[str],
) -> _Inspection:
    """Recognise an upload and check it; raises only when its kind cannot be known (nothing to record it as)."""
    named = _by_name(name)
    received_at = datetime.combine(today, time(12), UTC) if today else datetime.now(UTC)
    if len(content) > max_bytes:
        too_large = UploadTooLargeError(
            name, f"{len(content) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit; split the file"
        )
        if named is None:
            raise too_large
        return _Inspection(named[0], named[1], "file name", CheckedFile(None, too_large, UNREADABLE), received_at)
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        raise UploadError(f"{name}: only .csv, .txt, .xlsx and .pdf files can be uploaded")
    known = [*map(default_template, ENTITIES.values()), *templates]
    if named:
        entity = named[0]
    else:
        headers = [column.source for template in known for column in template.columns]
        table = read_table(content, name, known_headers=headers, passwords=passwords)
        entity = _by_headers(table.frame.columns, name, known)
    checked = check_file(
        content,
        name,
        entity,
        received_at=received_at,
        business_date=business_date or (named[1] if named else None),
        templates=[t for t in known if t.entity == entity.name],
        reject_threshold_pct=reject_threshold_pct,
        passwords=passwords,
    )
    return _Inspection(entity, named[1] if named else None, "file name" if named else "headers", checked, received_at)


def classify(
    content: bytes,
    file_name: str,
    business_date: date | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    today: date | None = None,
    templates: Sequence[Template] = (),
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> UploadPlan:
    """Recognise and check an upload without writing anything.

    The check is the landing's (``ingestion.landing.check_file``): the file is mapped by its built-in headers or
    the best-fitting of ``templates`` (the stored mapping templates), its rows validated and cleaned; bad rows
    below ``reject_threshold_pct`` % are counted in the plan (the landing quarantines them), more refuse the file.
    ``passwords`` open a password-protected workbook.

    The business date is, in order: ``business_date``, the date in the file name, the single date of a daily
    report's date column (cash closing, inventory), else the day before ``today`` (the newest day the daily
    partitions have).

    Raises:
        UploadTooLargeError, UnrecognisedUploadError, UploadError: see the classes.
        SourceFileError: the file cannot be read, its headers fit no template, or too many rows are bad (names row,
            column and value).
    """
    name = Path(file_name).name
    inspection = _inspect(
        content,
        name,
        business_date,
        max_bytes=max_bytes,
        today=today,
        templates=templates,
        reject_threshold_pct=reject_threshold_pct,
        passwords=passwords,
    )
    return _plan(inspection, name, business_date)


def _plan(inspection: _Inspection, name: str, business_date: date | None) -> UploadPlan:
    """What a checked upload lands as; raises the check's error when it cannot land."""
    checked, entity = inspection.checked, inspection.entity
    if checked.error is not None:
        raise checked.error
    assert checked.validated is not None
    good = checked.validated.good
    day = business_date or inspection.named_date or _date_in_data(good, entity, name)
    day = day or (inspection.received_at.date() - timedelta(days=1))
    suffix = Path(name).suffix.lower()
    landing_name = (
        f"fechamento_{day.isoformat()}{suffix}" if entity.name == "sales" else f"{entity.export}_{day:%Y%m%d}{suffix}"
    )
    return UploadPlan(entity.name, day, landing_name, good.height, inspection.recognised_by, checked.validated.bad_rows)


def _record_refusal(
    conn: psycopg.Connection, inspection: _Inspection, content: bytes, name: str, kept: Path, business_date: date | None
) -> LandingResult:
    """Record a refused upload (kept at ``kept``) as a rejected batch with its bad rows, and in the fetch ledger so
    the upload sensor requests its day's landing run (its check fails, its alert is raised)."""
    good = inspection.checked.validated.good if inspection.checked.validated is not None else None
    day = business_date or inspection.named_date
    if day is None and good is not None:
        try:
            day = _date_in_data(good, inspection.entity, name)
        except UploadError:
            day = None  # several days in one file: dated like an upload without a date
    day = day or (inspection.received_at.date() - timedelta(days=1))
    result = record_rejected_file(
        conn,
        content,
        inspection.checked,
        file_name=name,
        entity=inspection.entity,
        source=SOURCE,
        source_ref=f"upload://{name}",
        received_at=inspection.received_at,
        business_date=day,
    )
    record_fetch(
        conn, fetched_file(SOURCE, f"upload://{name}", inspection.entity, day, content, kept, inspection.received_at)
    )
    return result


def _date_in_data(frame: pl.DataFrame, entity: Entity, file_name: str) -> date | None:
    column = _DATE_FIELDS.get(entity.name)
    if column is None:
        return None
    values = sorted({d for d in frame[column].to_list() if d is not None})
    if len(values) > 1:
        raise UploadError(
            f"{file_name}: {len(values)} different dates in '{entity.fields[0].header}' ({values[0]} .. {values[-1]}); "
            "upload one day per file or say the business date"
        )
    return values[0] if values else None


def accept_upload(
    content: bytes,
    file_name: str,
    business_date: date | None = None,
    *,
    inbox: Path,
    max_bytes: int = MAX_UPLOAD_BYTES,
    today: date | None = None,
    templates: Sequence[Template] = (),
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
    conn: psycopg.Connection | None = None,
) -> UploadPlan:
    """Check an upload from the dashboard and put it into ``<inbox>/upload/`` (atomically, under the name it will
    land as); the upload sensor takes it from there. Returns what it will land as, for the page to show.

    ``templates`` are the stored mapping templates (``ingestion.templates.stored_templates``); see ``classify``.
    With ``conn`` (an autocommit connection to the warehouse, raw schema and fetch ledger in place), a refused file
    whose kind is known is kept in ``upload/rejected/`` with a ``.error.txt`` and recorded like every rejected file
    (see the module docstring) before the error is raised; without it, nothing is written.

    Raises:
        UploadError, SourceFileError: the file is refused.
    """
    name = Path(file_name).name
    inspection = _inspect(
        content,
        name,
        business_date,
        max_bytes=max_bytes,
        today=today,
        templates=templates,
        reject_threshold_pct=reject_threshold_pct,
        passwords=passwords,
    )
    error = inspection.checked.error
    if error is not None and conn is not None:
        kept = write_atomically(_free_path(inbox / "upload" / "rejected", name), content)
        _write_error(kept, error)
        _record_refusal(conn, inspection, content, name, kept, business_date)
    plan = _plan(inspection, name, business_date)
    write_atomically(inbox / "upload" / plan.file_name, content)
    return plan


def cash_closing_email(content: bytes, plan: UploadPlan, digest: str, received_at: datetime) -> bytes:
    """An uploaded cash-closing report as the finance team's email (the form ``raw/sales`` lands)."""
    message = EmailMessage()
    message["Subject"] = f"Fechamento de caixa {plan.business_date:%d/%m/%Y} (upload)"
    message["From"] = "Upload <upload@fmrp.local>"
    message["Message-ID"] = f"<upload-{digest[:32]}@fmrp.local>"
    message["Date"] = format_datetime(received_at)
    message.set_content(f"Uploaded by hand: {plan.file_name}")
    suffix = Path(plan.file_name).suffix
    maintype, subtype = _ATTACHMENT_TYPES.get(suffix, _ATTACHMENT_TYPES[".xlsx"])
    message.add_attachment(content, maintype=maintype, subtype=subtype, filename=plan.file_name)
    return bytes(message)


@dataclass(frozen=True)
class UploadRound:
    """What one pass over the drop folder did."""

    fetched: list[FetchedFile]
    duplicates: list[str]
    rejected: dict[str, str]


def _free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or with a timestamp in front when that is taken: an earlier file of the same name stays."""
    target = folder / name
    return folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{name}" if target.exists() else target


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_path(folder, path.name)
    shutil.move(path, target)
    return target


def _write_error(kept: Path, error: Exception) -> None:
    kept.with_name(kept.name + ".error.txt").write_text(str(error) + "\n", encoding="utf-8")


def process_upload_folder(
    inbox: Path,
    conn: psycopg.Connection,
    *,
    settle_seconds: float = 10.0,
    max_bytes: int = MAX_UPLOAD_BYTES,
    today: date | None = None,
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> UploadRound:
    """Move every settled file of ``<inbox>/upload/`` into the inbox folder it belongs to and record it.

    A file is settled when it was last modified ``settle_seconds`` ago (someone may still be copying it in;
    ``accept_upload`` writes atomically, so its files are complete at once). Hidden files are skipped. Each file is
    checked by ``classify`` with the mapping templates stored in the warehouse; a refused one goes to
    ``upload/rejected/`` with a ``.error.txt``, and is recorded as a rejected file when its kind is known (see the
    module docstring).
    """
    folder = inbox / "upload"
    fetched: list[FetchedFile] = []
    duplicates: list[str] = []
    rejected: dict[str, str] = {}
    now = datetime.now(UTC).timestamp()
    paths = sorted(folder.iterdir()) if folder.is_dir() else []
    templates = stored_templates(conn) if paths else []
    for path in paths:
        if not path.is_file() or path.name.startswith(".") or now - path.stat().st_mtime < settle_seconds:
            continue
        content = path.read_bytes()
        try:
            inspection = _inspect(
                content,
                path.name,
                None,
                max_bytes=max_bytes,
                today=today,
                templates=templates,
                reject_threshold_pct=reject_threshold_pct,
                passwords=passwords,
            )
        except (UploadError, SourceFileError) as err:  # not even its kind is known: nothing to record it as
            rejected[path.name] = str(err)
            _write_error(_move(path, folder / "rejected"), err)
            continue
        try:
            plan = _plan(inspection, path.name, None)
        except (UploadError, SourceFileError) as err:
            rejected[path.name] = str(err)
            kept = _move(path, folder / "rejected")
            _write_error(kept, err)
            if inspection.checked.error is not None:
                _record_refusal(conn, inspection, content, path.name, kept, None)
            continue
        if already_fetched(conn, SOURCE, f"upload://{path.name}", sha256=sha256_hex(content)):
            duplicates.append(path.name)  # the same file dropped again: the inbox may hold a newer one by now
        else:
            row = _deliver(inbox, content, plan, path)
            record_fetch(conn, row)
            fetched.append(row)
        _move(path, folder / "done")
    return UploadRound(fetched, duplicates, rejected)


def _deliver(inbox: Path, content: bytes, plan: UploadPlan, path: Path) -> FetchedFile:
    received_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    entity = ENTITIES[plan.entity]
    digest = sha256_hex(content)
    if plan.entity == "sales":
        email = cash_closing_email(content, plan, digest, received_at)
        local = write_atomically(inbox / "email" / f"upload-{digest[:16]}.eml", email, mtime=received_at)
    else:
        suffix = Path(plan.file_name).suffix
        local = write_erp_export(inbox, entity, plan.business_date, content, suffix=suffix, mtime=received_at)
    return fetched_file(SOURCE, f"upload://{path.name}", entity, plan.business_date, content, local, received_at)
