"""Raw landing: one file -> one batch in ``raw.batches`` and its rows in ``raw.<entity>``, in one transaction.

Landing is idempotent: a file already seen (same entity, business date and sha256) changes nothing; the same
content for another business date (an unchanged daily position) is a new batch. A newer file for the same
entity and business date supersedes the earlier batch (both kept; the one received last is ``active``). A file
that cannot be read is recorded ``rejected`` with its error, and no rows land. Bad rows of a readable file
(``ingestion.validation``) are quarantined in ``raw.rejected_rows`` and the good rows land, unless the bad share is
over the reject threshold (IN-8): then the file is rejected whole, its bad rows still recorded. Every batch is
graded (``ingestion.grading``) in ``raw.batches.quality_score`` / ``quality_grade``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import psycopg
from psycopg import sql

from ingestion.grading import UNREADABLE, Grade, grade
from ingestion.mail import CashClosingEmail, parse_email, peek_business_date
from ingestion.readers import (
    MAX_REPORTED_PROBLEMS,
    InvalidValueError,
    SourceFileError,
    map_columns,
    problem_list,
    read_table,
)
from ingestion.schema import ENTITIES, ENTITY_BY_EXPORT, LINEAGE_COLUMNS, Entity, schema_ddl
from ingestion.templates import Template, ensure_templates, stored_templates
from ingestion.validation import DEFAULT_REJECT_THRESHOLD_PCT, ValidatedRows, validate_rows

Status = Literal["landed", "duplicate", "rejected"]
_ERP_NAME = re.compile(r"^(?P<export>[a-z_]+?)_(?P<date>\d{8})\.(csv|xlsx|txt|pdf)$", re.IGNORECASE)


class FileTooLargeError(SourceFileError):
    """A file over the configured size cap (IN-8: 25 MB by default); it is rejected unread."""


@dataclass(frozen=True)
class LandingResult:
    """What landing one file did."""

    entity: str
    file_name: str
    status: Status
    batch_id: int | None
    rows: int
    business_date: date | None
    error: str | None = None
    superseded: tuple[int, ...] = ()
    rows_rejected: int = 0
    quality_score: float | None = None
    quality_grade: str | None = None


@dataclass(frozen=True)
class InboxFile:
    """A file waiting in the inbox, with the business date it reports on."""

    path: Path
    kind: Literal["email", "erp"]
    business_date: date | None
    entity: str | None


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create the raw schema and tables if absent (idempotent)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('fmrp.raw_schema'))")
        conn.execute(schema_ddl())
        ensure_templates(conn)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def land_file(
    conn: psycopg.Connection,
    content: bytes,
    *,
    file_name: str,
    entity: Entity,
    source: str,
    source_ref: str,
    received_at: datetime,
    business_date: date | None,
    max_bytes: int | None = None,
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> LandingResult:
    """Land one file's table into ``raw.<entity>`` (see the module docstring for the rules).

    A file larger than ``max_bytes`` (when given) is recorded ``rejected`` without being read. Bad rows (see
    ``ingestion.validation``) go to ``raw.rejected_rows`` with row, field, value, reason and the row as delivered;
    the good rows land, unless more than ``reject_threshold_pct`` % of the rows are bad: then the file is
    rejected whole (its bad rows still recorded). Either way batch, rows and rejects are one transaction.
    ``passwords`` are tried on a password-protected workbook; one that none of them opens is rejected.
    """
    if not conn.autocommit:
        raise ValueError("landing needs an autocommit connection: each batch is its own transaction")
    digest = sha256_of(content)
    known = _known_batch(conn, entity.name, business_date, digest)
    if known:
        return LandingResult(entity.name, file_name, "duplicate", known[0], 0, business_date)
    outcome = check_file(
        content,
        file_name,
        entity,
        received_at=received_at,
        business_date=business_date,
        templates=stored_templates(conn, entity.name),
        max_bytes=max_bytes,
        reject_threshold_pct=reject_threshold_pct,
        passwords=passwords,
    )
    return _write_batch(
        conn, _Batch(entity, source, source_ref, file_name, digest, business_date, received_at), outcome
    )


def record_rejected_file(
    conn: psycopg.Connection,
    content: bytes,
    checked: CheckedFile,
    *,
    file_name: str,
    entity: Entity,
    source: str,
    source_ref: str,
    received_at: datetime,
    business_date: date | None,
) -> LandingResult:
    """Record a file that ``check_file`` refused before it got to the landing (an upload) as the landing records
    every rejected file: a ``rejected`` batch in ``raw.batches`` with the error, its bad rows in
    ``raw.rejected_rows``; nothing lands. The same file recorded again is a ``duplicate``.

    Raises:
        ValueError: ``checked`` has no error (a file that can land goes through ``land_file``), or ``conn`` is not
            autocommit.
    """
    if checked.error is None:
        raise ValueError(f"{file_name}: only a file check_file refused is recorded as rejected")
    if not conn.autocommit:
        raise ValueError("recording a rejected file needs an autocommit connection: the batch is its own transaction")
    batch = _Batch(entity, source, source_ref, file_name, sha256_of(content), business_date, received_at)
    return _write_batch(conn, batch, checked)


def _write_batch(conn: psycopg.Connection, batch: _Batch, outcome: CheckedFile) -> LandingResult:
    """The batch, its rejected rows and (unless rejected) its rows, in one transaction; a duplicate changes nothing."""
    entity, file_name, business_date = batch.entity, batch.file_name, batch.business_date
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"fmrp.land.{entity.name}",))
        again = _known_batch(conn, entity.name, business_date, batch.digest)
        if again:  # another process landed it meanwhile
            return LandingResult(entity.name, file_name, "duplicate", again[0], 0, business_date)
        batch_id = _insert_batch(conn, batch, outcome)
        if outcome.validated is not None and outcome.validated.problems.height:
            _copy_rejects(conn, outcome.validated, batch_id)
        if outcome.error is not None:
            error = str(outcome.error)
            return LandingResult(
                entity.name, file_name, "rejected", batch_id, 0, business_date, error, (), *outcome.counts()
            )
        assert outcome.validated is not None
        _copy_rows(
            conn,
            entity,
            outcome.validated.good,
            batch_id,
            batch.source,
            batch.source_ref,
            batch.digest,
            batch.received_at,
        )
        superseded = _resolve_active(conn, entity.name, business_date)
    return LandingResult(
        entity.name, file_name, "landed", batch_id, outcome.rows, business_date, None, superseded, *outcome.counts()
    )


@dataclass(frozen=True)
class _Batch:
    """Where a file came from: the ledger columns of its batch."""

    entity: Entity
    source: str
    source_ref: str
    file_name: str
    digest: str
    business_date: date | None
    received_at: datetime


@dataclass(frozen=True)
class CheckedFile:
    """A file read, mapped, validated and graded (``validated``), and why it cannot land (``error``), if it cannot."""

    validated: ValidatedRows | None
    error: SourceFileError | None
    quality: Grade

    @property
    def rows(self) -> int:
        return 0 if self.validated is None or self.error else self.validated.good.height

    def counts(self) -> tuple[int, float, str]:
        rejected = 0 if self.validated is None else self.validated.bad_rows
        return rejected, self.quality.score, self.quality.letter


def check_file(
    content: bytes,
    file_name: str,
    entity: Entity,
    *,
    received_at: datetime,
    business_date: date | None,
    templates: Sequence[Template] = (),
    max_bytes: int | None = None,
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> CheckedFile:
    """Parse, map (the built-in headers, else the best-fitting of ``templates``), validate, clean and grade a file
    as its landing will; nothing is written. Every source's landing and the upload check go through it."""
    try:
        if max_bytes is not None and len(content) > max_bytes:
            raise FileTooLargeError(
                file_name, f"{len(content) / 1e6:.1f} MB is over the size cap of {max_bytes / 1e6:.1f} MB"
            )
        headers = [column.source for template in templates for column in template.columns]
        table = read_table(content, file_name, known_headers=headers, passwords=passwords)
        mapped = map_columns(table, entity, file_name, templates)
        validated = validate_rows(mapped, entity, received_at)
    except SourceFileError as err:
        return CheckedFile(None, err, UNREADABLE)
    landed = validated.good.head(0) if validated.too_many_bad_rows(reject_threshold_pct) else validated.good
    quality = grade(landed, entity.field_names, validated.total_rows, received_at, business_date)
    if not validated.too_many_bad_rows(reject_threshold_pct):
        return CheckedFile(validated, None, quality)
    summary = (
        f"{validated.invalid_rows} of {validated.total_rows} rows bad ({validated.bad_share_pct:.1f}%, over the reject "
        f"threshold of {reject_threshold_pct:g}%)"
    )
    problems = problem_list(validated.problems, MAX_REPORTED_PROBLEMS)
    error = InvalidValueError(file_name, problems, validated.problems.height, summary)
    return CheckedFile(validated, error, quality)


def _known_batch(conn: psycopg.Connection, entity: str, business_date: date | None, digest: str) -> tuple | None:
    return conn.execute(
        "select batch_id from raw.batches"
        " where entity = %s and business_date is not distinct from %s::date and file_sha256 = %s",
        (entity, business_date, digest),
    ).fetchone()


def _insert_batch(conn: psycopg.Connection, batch: _Batch, outcome: CheckedFile) -> int:
    rows_rejected, score, letter = outcome.counts()
    row = conn.execute(
        """
        insert into raw.batches (entity, source, source_ref, file_name, file_sha256, business_date,
                                 received_at, row_count, status, error, rows_rejected, quality_score, quality_grade)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        returning batch_id
        """,
        (
            batch.entity.name,
            batch.source,
            batch.source_ref,
            batch.file_name,
            batch.digest,
            batch.business_date,
            batch.received_at,
            outcome.rows,
            "rejected" if outcome.error else "active",
            None if outcome.error is None else str(outcome.error),
            rows_rejected,
            score,
            letter,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _copy_rows(
    conn: psycopg.Connection,
    entity: Entity,
    frame: pl.DataFrame,
    batch_id: int,
    source: str,
    source_ref: str,
    digest: str,
    received_at: datetime,
) -> None:
    """COPY the good rows (``_row_number`` already set: their numbers in the file) with their lineage."""
    lineage = frame.with_columns(
        pl.lit(batch_id).alias("_batch_id"),
        pl.lit(source).alias("_source"),
        pl.lit(source_ref).alias("_source_ref"),
        pl.lit(digest).alias("_file_sha256"),
        pl.lit(received_at.astimezone(UTC).isoformat()).alias("_received_at"),
    )
    columns = [name for name, _ in LINEAGE_COLUMNS] + entity.field_names
    _copy_csv(conn, sql.Identifier("raw", entity.name), lineage.select(columns), columns)


def _copy_rejects(conn: psycopg.Connection, validated: ValidatedRows, batch_id: int) -> None:
    """COPY one row per problem into ``raw.rejected_rows``, each with the bad row as delivered."""
    rejects = validated.problems.join(validated.raw_rows, left_on="row", right_on="_row_number", how="left")
    rejects = rejects.select(
        pl.lit(batch_id).alias("batch_id"),
        pl.col("row").alias("row_number"),
        "field",
        "header",
        "value",
        "reason",
        "raw_row",
    )
    _copy_csv(conn, sql.Identifier("raw", "rejected_rows"), rejects, rejects.columns)


def _copy_csv(conn: psycopg.Connection, table: sql.Identifier, frame: pl.DataFrame, columns: list[str]) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="\\N", float_precision=None)
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, null '\\N')").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor().copy(statement) as copy:
        copy.write(buffer.getvalue())


def _resolve_active(conn: psycopg.Connection, entity: str, business_date: date | None) -> tuple[int, ...]:
    """Keep the batch received last active for (entity, business date); return the ones superseded now."""
    rows = conn.execute(
        """
        with ranked as (
            select batch_id,
                   first_value(batch_id) over (order by received_at desc, batch_id desc) as winner
            from raw.batches
            where entity = %s and business_date is not distinct from %s::date and status <> 'rejected'
        )
        update raw.batches b
        set status = case when b.batch_id = r.winner then 'active' else 'superseded' end,
            superseded_by = case when b.batch_id = r.winner then null else r.winner end
        from ranked r
        where b.batch_id = r.batch_id
          and b.status is distinct from case when b.batch_id = r.winner then 'active' else 'superseded' end
        returning b.batch_id, b.status
        """,
        (entity, business_date),
    ).fetchall()
    return tuple(batch_id for batch_id, status in rows if status == "superseded")


def land_email(
    conn: psycopg.Connection,
    raw: bytes,
    *,
    source: str,
    source_ref: str | None = None,
    max_attachment_bytes: int | None = None,
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> list[LandingResult]:
    """Land each table attachment of a cash-closing email into ``raw.sales`` (each over the cap is rejected)."""
    message: CashClosingEmail = parse_email(raw)
    if not message.attachments:
        reason = "the email has no .xlsx or .csv attachment (nor .pdf)"
        return [_reject_without_file(conn, message, reason, raw, source, source_ref)]
    return [
        land_file(
            conn,
            attachment.content,
            file_name=attachment.file_name,
            entity=ENTITIES["sales"],
            source=source,
            source_ref=source_ref or message.message_id,
            received_at=message.received_at,
            business_date=message.business_date,
            max_bytes=max_attachment_bytes,
            reject_threshold_pct=reject_threshold_pct,
            passwords=passwords,
        )
        for attachment in message.attachments
    ]


def _reject_without_file(
    conn: psycopg.Connection,
    message: CashClosingEmail,
    reason: str,
    raw: bytes,
    source: str,
    source_ref: str | None,
) -> LandingResult:
    entity = ENTITIES["sales"]
    digest = sha256_of(raw)
    with conn.transaction():
        known = _known_batch(conn, entity.name, message.business_date, digest)
        if known:
            return LandingResult(entity.name, message.subject, "duplicate", known[0], 0, message.business_date)
        error = SourceFileError(f"{message.message_id} ({message.subject!r})", reason)
        batch = _Batch(
            entity,
            source,
            source_ref or message.message_id,
            "(no attachment)",
            digest,
            message.business_date,
            message.received_at,
        )
        batch_id = _insert_batch(conn, batch, CheckedFile(None, error, UNREADABLE))
    return LandingResult(
        entity.name, "(no attachment)", "rejected", batch_id, 0, message.business_date, str(error), (), 0, 0.0, "D"
    )


def erp_file_entity(path: Path) -> tuple[Entity, date] | None:
    """The entity and business date of an ERP export named ``<export>_<YYYYMMDD>.csv``."""
    match = _ERP_NAME.match(path.name)
    if not match or match["export"].lower() not in ENTITY_BY_EXPORT:
        return None
    stamp = match["date"]
    return ENTITY_BY_EXPORT[match["export"].lower()], date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))


def land_erp_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    source: str = "erp",
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> LandingResult:
    """Land one ERP export file; its name says the entity and the business date."""
    identified = erp_file_entity(path)
    if identified is None:
        raise SourceFileError(path.name, "not an ERP export name (<export>_<YYYYMMDD>.csv with a known export)")
    entity, business_date = identified
    received_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return land_file(
        conn,
        path.read_bytes(),
        file_name=path.name,
        entity=entity,
        source=source,
        source_ref=str(path),
        received_at=received_at,
        business_date=business_date,
        reject_threshold_pct=reject_threshold_pct,
        passwords=passwords,
    )


def scan_inbox(inbox: Path) -> Iterator[InboxFile]:
    """Every email and ERP export waiting in ``inbox/email`` and ``inbox/erp``, sorted by name."""
    for path in sorted((inbox / "email").glob("*.eml")):
        raw = path.read_bytes()
        business_date = peek_business_date(raw)
        yield InboxFile(path, "email", business_date or parse_email(raw).business_date, "sales")
    for path in sorted((inbox / "erp").glob("*")):
        identified = erp_file_entity(path)
        if identified:
            yield InboxFile(path, "erp", identified[1], identified[0].name)


def files_between(files: Iterable[InboxFile], first: date, last: date) -> list[InboxFile]:
    """The files whose business date falls in [first, last]."""
    return [f for f in files if f.business_date is not None and first <= f.business_date <= last]


def land_inbox_files(
    conn: psycopg.Connection,
    files: Iterable[InboxFile],
    *,
    on_file: Callable[[InboxFile, list[LandingResult]], None] | None = None,
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> list[LandingResult]:
    """Land the given inbox files in order (emails by business date, then ERP exports); ``passwords`` open
    password-protected workbooks."""
    results: list[LandingResult] = []
    for item in files:
        if item.kind == "email":
            landed = land_email(
                conn,
                item.path.read_bytes(),
                source="email",
                reject_threshold_pct=reject_threshold_pct,
                passwords=passwords,
            )
        else:
            landed = [land_erp_file(conn, item.path, reject_threshold_pct=reject_threshold_pct, passwords=passwords)]
        results.extend(landed)
        if on_file:
            on_file(item, landed)
    return results
