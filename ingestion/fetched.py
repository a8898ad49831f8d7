"""What the connectors fetched: the ledger in PostgreSQL and the files they put into the local inbox.

Every connector (SFTP, ERP REST, ERP database, the upload folder) works the same way: it *fetches* into the inbox
(``<inbox>/erp/<export>_<YYYYMMDD>.<ext>``, the file contract of docs/sources.md) and records what it fetched in
``raw.fetched_files``, unique on ``(source, remote_ref, sha256)``, so nothing is fetched twice. The daily landing
asset then lands the day's inbox files (idempotently). REST and database pulls arrive as records; they are written
as a CSV with the entity's canonical headers (``records_to_csv``) so they land through the same reader.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import psycopg

from ingestion.schema import Entity, SourceField, normalise_header

LEDGER_DDL = """
create schema if not exists raw;
create table if not exists raw.fetched_files (
    fetch_id bigserial primary key,
    source text not null,
    remote_ref text not null,
    size bigint not null,
    mtime timestamptz,
    sha256 text not null,
    entity text not null,
    business_date date,
    local_path text not null,
    fetched_at timestamptz not null default now(),
    unique (source, remote_ref, sha256)
);
create index if not exists fetched_files_ref on raw.fetched_files (source, remote_ref);
"""


class RecordMappingError(ValueError):
    """Records (from an ERP API or database) that do not fit the entity: the message names record, field, value."""


@dataclass(frozen=True)
class FetchedFile:
    """One file a connector put into the inbox, as recorded in ``raw.fetched_files``."""

    source: str
    remote_ref: str
    entity: str
    business_date: date | None
    sha256: str
    size: int
    local_path: Path
    mtime: datetime | None = None

    @property
    def run_key(self) -> str:
        """Stable run key: the same remote file with the same content always gives the same key."""
        return f"{self.source}:{self.remote_ref}:{self.sha256}"


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def ensure_ledger(conn: psycopg.Connection) -> None:
    """Create ``raw.fetched_files`` if absent (idempotent; serialised with the raw schema's creation)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('fmrp.raw_schema'))")
        conn.execute(LEDGER_DDL)


def already_fetched(
    conn: psycopg.Connection,
    source: str,
    remote_ref: str,
    *,
    size: int | None = None,
    mtime: datetime | None = None,
    sha256: str | None = None,
) -> bool:
    """Whether the ledger has this remote file with the given size and mtime, or the given content."""
    if sha256 is not None:
        query = "select 1 from raw.fetched_files where source = %s and remote_ref = %s and sha256 = %s"
        return conn.execute(query, (source, remote_ref, sha256)).fetchone() is not None
    query = (
        "select 1 from raw.fetched_files where source = %s and remote_ref = %s"
        " and size = %s and mtime is not distinct from %s"
    )
    return conn.execute(query, (source, remote_ref, size, mtime)).fetchone() is not None


def fetched_signatures(conn: psycopg.Connection, source: str) -> set[tuple[str, int, datetime | None]]:
    """``(remote_ref, size, mtime)`` of everything fetched from ``source``: one query per listing, not per file."""
    rows = conn.execute("select remote_ref, size, mtime from raw.fetched_files where source = %s", (source,))
    return {(ref, int(size), mtime) for ref, size, mtime in rows.fetchall()}


def record_fetch(conn: psycopg.Connection, fetched: FetchedFile) -> bool:
    """Record a fetched file; False if the ledger already had this content from this remote file.

    A known content with a new size/mtime (the same file touched or re-uploaded) updates the row, so the cheap
    size/mtime look of ``already_fetched`` recognises it next time without downloading it again.
    """
    row = conn.execute(
        """
        insert into raw.fetched_files (source, remote_ref, size, mtime, sha256, entity, business_date, local_path)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (source, remote_ref, sha256) do update set size = excluded.size, mtime = excluded.mtime
        returning (xmax = 0) as inserted
        """,
        (
            fetched.source,
            fetched.remote_ref,
            fetched.size,
            fetched.mtime,
            fetched.sha256,
            fetched.entity,
            fetched.business_date,
            str(fetched.local_path),
        ),
    ).fetchone()
    return bool(row and row[0])


def fetched_since(conn: psycopg.Connection, sources: list[str], after_id: int) -> list[tuple[int, FetchedFile]]:
    """Ledger rows of ``sources`` recorded after ``after_id``, oldest first, with their ids (a sensor's cursor)."""
    rows = conn.execute(
        """
        select fetch_id, source, remote_ref, entity, business_date, sha256, size, local_path, mtime
        from raw.fetched_files where source = any(%s) and fetch_id > %s order by fetch_id
        """,
        (sources, after_id),
    ).fetchall()
    return [
        (int(row[0]), FetchedFile(row[1], row[2], row[3], row[4], row[5], int(row[6]), Path(row[7]), row[8]))
        for row in rows
    ]


def canonical_name(entity: Entity, business_date: date, suffix: str = ".csv") -> str:
    """The inbox name of an ERP export: ``<export>_<YYYYMMDD><suffix>`` (what ``erp_file_entity`` recognises)."""
    if entity.export is None:
        raise ValueError(f"{entity.name} is not an ERP export (it arrives by email)")
    return f"{entity.export}_{business_date:%Y%m%d}{suffix.lower()}"


def write_atomically(path: Path, content: bytes, *, mtime: datetime | None = None) -> Path:
    """Write ``content`` to ``path`` so a reader never sees half a file (temp file + rename in the same folder).

    ``mtime`` sets the file's modification time: the landing records it as the time the source delivered the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(temporary, (stamp, stamp))
    os.replace(temporary, path)
    return path


def write_erp_export(
    inbox: Path,
    entity: Entity,
    business_date: date,
    content: bytes,
    *,
    suffix: str = ".csv",
    mtime: datetime | None = None,
) -> Path:
    """Put one export into ``<inbox>/erp`` under its canonical name (a newer one for the same day replaces it)."""
    return write_atomically(inbox / "erp" / canonical_name(entity, business_date, suffix), content, mtime=mtime)


def fetched_file(
    source: str,
    remote_ref: str,
    entity: Entity,
    business_date: date | None,
    content: bytes,
    local_path: Path,
    mtime: datetime | None = None,
) -> FetchedFile:
    return FetchedFile(
        source=source,
        remote_ref=remote_ref,
        entity=entity.name,
        business_date=business_date,
        sha256=sha256_hex(content),
        size=len(content),
        local_path=local_path,
        mtime=mtime.astimezone(UTC) if mtime else None,
    )


def _field_keys(
    records: list[Mapping[str, object]], entity: Entity, fields: Mapping[str, str] | None
) -> dict[str, str]:
    """Which record key holds each field: the configured mapping, else the field name or its header."""
    keys: dict[str, str] = {}
    seen = {key for record in records for key in record}
    by_normalised = {normalise_header(key): key for key in seen}
    for field in entity.fields:
        if fields and field.name in fields:
            keys[field.name] = fields[field.name]
            continue
        for candidate in (field.name, field.header):
            found = by_normalised.get(normalise_header(candidate))
            if found is not None:
                keys[field.name] = found
                break
    return keys


def _lookup(record: Mapping[str, object], key: str) -> object:
    """``record[key]``; a dotted key (``produto.codigo``) walks into nested objects."""
    if key in record:
        return record[key]
    value: object = record
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _number_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        return format(number, "f") if number.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return format(number, "f") if number.is_finite() else None
    return None


def _cell(value: object, field: SourceField, where: str) -> str:
    """One value as the reader expects it in a ``,``-delimited file: dot decimals, ISO dates, true/false."""
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        raise RecordMappingError(f"{where}, field '{field.name}': a JSON object or list is not a value: {value!r}")
    if field.type in ("numeric", "int"):
        text = _number_text(value)
        if text is None:
            raise RecordMappingError(
                f"{where}, field '{field.name}' ({field.header}): {value!r} is not a number (expected a JSON number "
                "or a string like '1234.56')"
            )
        return text
    if isinstance(value, datetime):
        if field.type == "date":
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type == "timestamp" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value  # left for the reader, whose error names the row, column and value
    return str(value)


def records_to_csv(
    records: Iterable[Mapping[str, object]],
    entity: Entity,
    *,
    where: str,
    fields: Mapping[str, str] | None = None,
) -> bytes:
    """Records -> a UTF-8, ``,``-delimited CSV with the entity's canonical (Portuguese) headers.

    Args:
        records: one mapping per row (JSON objects, database rows as dicts).
        entity: the entity the records are.
        where: names the source in errors (``"GET https://erp/v1/estoque"``, ``"query inventory.sql"``).
        fields: canonical field name -> record key (dotted for nested objects), for keys that are neither the
            field's name nor its header.

    Raises:
        RecordMappingError: a required field has no key in the records, or a value cannot be written.
    """
    rows = list(records)
    keys = _field_keys(rows, entity, fields)
    missing = [f for f in entity.fields if f.required and f.name not in keys]
    if rows and missing:
        seen = sorted({key for record in rows for key in record})
        names = ", ".join(f"'{f.name}' ({f.header})" for f in missing)
        raise RecordMappingError(
            f"{where}: no key for required field(s) {names} of {entity.name}; the records have {seen}"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\n")
    writer.writerow([f.header for f in entity.fields])
    for number, record in enumerate(rows, start=1):
        if not isinstance(record, Mapping):
            raise RecordMappingError(f"{where}, record {number}: expected an object, got {record!r}")
        writer.writerow(
            [
                _cell(_lookup(record, keys[f.name]) if f.name in keys else None, f, f"{where}, record {number}")
                for f in entity.fields
            ]
        )
    return buffer.getvalue().encode("utf-8")
