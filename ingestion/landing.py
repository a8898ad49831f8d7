"""Raw landing: one file -> one batch in ``raw.batches`` and its rows in ``raw.<entity>``, in one transaction.

Landing is idempotent: a file already seen (same entity, business date and sha256) changes nothing; the same
content for another business date (an unchanged daily position) is a new batch. A newer file for the same
entity and business date supersedes the earlier batch (both kept; the one received last is ``active``). A file
that cannot be read is recorded ``rejected`` with its error, and no rows land.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import psycopg
from psycopg import sql

from ingestion.mail import CashClosingEmail, parse_email, peek_business_date
from ingestion.readers import SourceFileError, coerce, map_columns, read_table
from ingestion.schema import ENTITIES, ENTITY_BY_EXPORT, LINEAGE_COLUMNS, Entity, schema_ddl

Status = Literal["landed", "duplicate", "rejected"]
_ERP_NAME = re.compile(r"^(?P<export>[a-z_]+?)_(?P<date>\d{8})\.(csv|xlsx|txt)$", re.IGNORECASE)


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
) -> LandingResult:
    """Land one file's table into ``raw.<entity>`` (see the module docstring for the rules).

    A file larger than ``max_bytes`` (when given) is recorded ``rejected`` without being read.
    """
    if not conn.autocommit:
        raise ValueError("landing needs an autocommit connection: each batch is its own transaction")
    digest = sha256_of(content)
    known = _known_batch(conn, entity.name, business_date, digest)
    if known:
        return LandingResult(entity.name, file_name, "duplicate", known[0], 0, business_date)
    try:
        if max_bytes is not None and len(content) > max_bytes:
            raise FileTooLargeError(
                file_name, f"{len(content) / 1e6:.1f} MB is over the size cap of {max_bytes / 1e6:.1f} MB"
            )
        frame = coerce(map_columns(read_table(content, file_name), entity, file_name), entity, file_name)
        error = None
    except SourceFileError as err:
        frame, error = None, str(err)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"fmrp.land.{entity.name}",))
        again = _known_batch(conn, entity.name, business_date, digest)
        if again:  # another process landed it meanwhile
            return LandingResult(entity.name, file_name, "duplicate", again[0], 0, business_date)
        batch_id = _insert_batch(
            conn, entity, source, source_ref, file_name, digest, business_date, received_at, frame, error
        )
        if frame is None:
            return LandingResult(entity.name, file_name, "rejected", batch_id, 0, business_date, error)
        _copy_rows(conn, entity, frame, batch_id, source, source_ref, digest, received_at)
        superseded = _resolve_active(conn, entity.name, business_date)
    return LandingResult(entity.name, file_name, "landed", batch_id, frame.height, business_date, None, superseded)


def _known_batch(conn: psycopg.Connection, entity: str, business_date: date | None, digest: str) -> tuple | None:
    return conn.execute(
        "select batch_id from raw.batches"
        " where entity = %s and business_date is not distinct from %s::date and file_sha256 = %s",
        (entity, business_date, digest),
    ).fetchone()


def _insert_batch(
    conn: psycopg.Connection,
    entity: Entity,
    source: str,
    source_ref: str,
    file_name: str,
    digest: str,
    business_date: date | None,
    received_at: datetime,
    frame: pl.DataFrame | None,
    error: str | None,
) -> int:
    row = conn.execute(
        """
        insert into raw.batches (entity, source, source_ref, file_name, file_sha256, business_date,
                                 received_at, row_count, status, error)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        returning batch_id
        """,
        (
            entity.name,
            source,
            source_ref,
            file_name,
            digest,
            business_date,
            received_at,
            0 if frame is None else frame.height,
            "rejected" if frame is None else "active",
            error,
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
    lineage = frame.with_columns(
        pl.lit(batch_id).alias("_batch_id"),
        pl.lit(source).alias("_source"),
        pl.lit(source_ref).alias("_source_ref"),
        pl.lit(digest).alias("_file_sha256"),
        pl.lit(received_at.astimezone(UTC).isoformat()).alias("_received_at"),
        pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("_row_number"),
    )
    columns = [name for name, _ in LINEAGE_COLUMNS] + entity.field_names
    buffer = io.BytesIO()
    lineage.select(columns).write_csv(buffer, include_header=False, null_value="\\N", float_precision=None)
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, null '\\N')").format(
        sql.Identifier("raw", entity.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
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
) -> list[LandingResult]:
    """Land each table attachment of a cash-closing email into ``raw.sales`` (each over the cap is rejected)."""
    message: CashClosingEmail = parse_email(raw)
    if not message.attachments:
        return [
            _reject_without_file(conn, message, "the email has no .xlsx or .csv attachment", raw, source, source_ref)
        ]
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
        error = f"{message.message_id} ({message.subject!r}): {reason}"
        batch_id = _insert_batch(
            conn,
            entity,
            source,
            source_ref or message.message_id,
            "(no attachment)",
            digest,
            message.business_date,
            message.received_at,
            None,
            error,
        )
    return LandingResult(entity.name, "(no attachment)", "rejected", batch_id, 0, message.business_date, error)


def erp_file_entity(path: Path) -> tuple[Entity, date] | None:
    """The entity and business date of an ERP export named ``<export>_<YYYYMMDD>.csv``."""
    match = _ERP_NAME.match(path.name)
    if not match or match["export"].lower() not in ENTITY_BY_EXPORT:
        return None
    stamp = match["date"]
    return ENTITY_BY_EXPORT[match["export"].lower()], date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))


def land_erp_file(conn: psycopg.Connection, path: Path, *, source: str = "erp") -> LandingResult:
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
) -> list[LandingResult]:
    """Land the given inbox files in order (emails by business date, then ERP exports)."""
    results: list[LandingResult] = []
    for item in files:
        if item.kind == "email":
            landed = land_email(conn, item.path.read_bytes(), source="email")
        else:
            landed = [land_erp_file(conn, item.path)]
        results.extend(landed)
        if on_file:
            on_file(item, landed)
    return results
