"""Files uploaded by hand: the drop folder ``<inbox>/upload/`` and ``accept_upload`` for the dashboard's upload page.

Both feed the same pipeline as the ERP and the email: an upload is recognised (by its file name first - an ERP
export name ``estoque_20240103.csv`` or a cash-closing ``fechamento_2024-01-03.xlsx`` - else by its headers), checked
the way the landing will check it, and moved into the inbox folder its kind arrives in: ERP exports to
``<inbox>/erp/<export>_<YYYYMMDD>.<ext>``, a cash-closing report into ``<inbox>/email/`` wrapped in an email like the
finance team's (the ``raw/sales`` asset reads emails). Files that cannot be recognised or read go to
``upload/rejected/`` with a ``.error.txt`` beside them; processed originals go to ``upload/done/``: nothing is deleted.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
from ingestion.landing import erp_file_entity
from ingestion.readers import SourceFileError, coerce, map_columns, read_table
from ingestion.schema import ENTITIES, Entity, normalise_header

SOURCE = "upload"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".txt")
_CASH_CLOSING_NAME = re.compile(r"^fechamento_(\d{4})-(\d{2})-(\d{2})\.(csv|xlsx)$", re.IGNORECASE)
_DATE_FIELDS = {"sales": "sale_date", "inventory": "snapshot_date"}


class UploadError(ValueError):
    """An upload that cannot go in; the message names the file and what to do."""


class UploadTooLargeError(UploadError):
    """Over the size cap."""


class UnrecognisedUploadError(UploadError):
    """Neither the name nor the headers say what the file is."""


@dataclass(frozen=True)
class UploadPlan:
    """What an upload will land as."""

    entity: str
    business_date: date
    file_name: str
    rows: int
    recognised_by: str  # "file name" | "headers"

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


def _by_headers(columns: Sequence[str], file_name: str) -> Entity:
    """The entity whose headers the file has: every required one, and the most of the others."""
    present = {normalise_header(c) for c in columns}
    scored = []
    for entity in ENTITIES.values():
        matched = {f.name for f in entity.fields if normalise_header(f.header) in present}
        complete = all(f.name in matched for f in entity.fields if f.required)
        scored.append((complete, len(matched), entity))
    candidates = sorted((s for s in scored if s[0]), key=lambda s: -s[1])
    if not candidates:
        closest = max(scored, key=lambda s: s[1])[2]
        raise UnrecognisedUploadError(
            f"{file_name}: the headers {list(columns)} are no known report; closest is {closest.name} "
            f"(headers {[f.header for f in closest.fields if f.required]}). Rename the columns, or name the file "
            "<export>_<YYYYMMDD>.csv (docs/sources.md)"
        )
    if len(candidates) > 1 and candidates[0][1] == candidates[1][1]:
        names = [c[2].name for c in candidates if c[1] == candidates[0][1]]
        raise UnrecognisedUploadError(f"{file_name}: the headers fit {names} equally; name the file after its export")
    return candidates[0][2]


def classify(
    content: bytes,
    file_name: str,
    business_date: date | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    today: date | None = None,
) -> UploadPlan:
    """Recognise and check an upload without writing anything.

    The business date is, in order: ``business_date``, the date in the file name, the single date of a daily
    report's date column (cash closing, inventory), else the day before ``today`` (the newest day the daily
    partitions have).

    Raises:
        UploadTooLargeError, UnrecognisedUploadError, UploadError: see the classes.
        SourceFileError: the file cannot be read, or values do not fit (names row, column and value).
    """
    name = Path(file_name).name
    if len(content) > max_bytes:
        raise UploadTooLargeError(
            f"{name}: {len(content) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit; split the file"
        )
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        raise UploadError(f"{name}: only .csv, .txt and .xlsx files can be uploaded")
    named = _by_name(name)
    table = read_table(content, name)
    entity = named[0] if named else _by_headers(table.frame.columns, name)
    frame = coerce(map_columns(table, entity, name), entity, name)
    day = business_date or (named[1] if named else None) or _date_in_data(frame, entity, name)
    day = day or ((today or datetime.now(UTC).date()) - timedelta(days=1))
    suffix = Path(name).suffix.lower()
    landing_name = (
        f"fechamento_{day.isoformat()}{suffix}" if entity.name == "sales" else f"{entity.export}_{day:%Y%m%d}{suffix}"
    )
    return UploadPlan(entity.name, day, landing_name, frame.height, "file name" if named else "headers")


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
) -> UploadPlan:
    """Check an upload from the dashboard and put it into ``<inbox>/upload/`` (atomically, under the name it will
    land as); the upload sensor takes it from there. Returns what it will land as, for the page to show.

    Raises:
        UploadError, SourceFileError: the file is refused; nothing is written.
    """
    plan = classify(content, file_name, business_date, max_bytes=max_bytes, today=today)
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
    subtype = (
        "csv" if plan.file_name.endswith((".csv", ".txt")) else "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    message.add_attachment(
        content, maintype="text" if subtype == "csv" else "application", subtype=subtype, filename=plan.file_name
    )
    return bytes(message)


@dataclass(frozen=True)
class UploadRound:
    """What one pass over the drop folder did."""

    fetched: list[FetchedFile]
    duplicates: list[str]
    rejected: dict[str, str]


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():  # an earlier file of the same name stays; this one gets a timestamp
        target = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{path.name}"
    shutil.move(path, target)
    return target


def process_upload_folder(
    inbox: Path,
    conn: psycopg.Connection,
    *,
    settle_seconds: float = 10.0,
    max_bytes: int = MAX_UPLOAD_BYTES,
    today: date | None = None,
) -> UploadRound:
    """Move every settled file of ``<inbox>/upload/`` into the inbox folder it belongs to and record it.

    A file is settled when it was last modified ``settle_seconds`` ago (someone may still be copying it in;
    ``accept_upload`` writes atomically, so its files are complete at once). Hidden files are skipped.
    """
    folder = inbox / "upload"
    fetched: list[FetchedFile] = []
    duplicates: list[str] = []
    rejected: dict[str, str] = {}
    now = datetime.now(UTC).timestamp()
    paths = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in paths:
        if not path.is_file() or path.name.startswith(".") or now - path.stat().st_mtime < settle_seconds:
            continue
        content = path.read_bytes()
        try:
            plan = classify(content, path.name, max_bytes=max_bytes, today=today)
        except (UploadError, SourceFileError) as err:
            moved = _move(path, folder / "rejected")
            moved.with_name(moved.name + ".error.txt").write_text(str(err) + "\n", encoding="utf-8")
            rejected[path.name] = str(err)
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
