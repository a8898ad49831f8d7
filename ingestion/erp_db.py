"""ERP exports from the ERP's own database: a configured SELECT per entity, pulled incrementally by a watermark.

The connector never writes to the ERP, by three locks: each query is parsed and refused unless it is a single plain
SELECT (no second statement, no INSERT/UPDATE/DELETE/DDL, no ``SELECT ... INTO``, no ``FOR UPDATE``/``FOR SHARE``,
no data-modifying CTE); it runs in a ``READ ONLY`` transaction on a session whose ``default_transaction_read_only``
is on, so even a function that writes fails; and the documentation asks for a role with SELECT grants only.

Each query names a watermark column and receives the last value seen as ``%(watermark)s`` (the first pull gets the
configured initial value); the new watermark, the largest value in the result, is stored in the warehouse
(``raw.erp_watermarks``) in the same transaction that records the file. Each file is a *full* export for its
business date (docs/sources.md): point the watermark at something that moves by whole exports - the snapshot date of
a position history (with ``business_date_column`` each day of the result becomes its own file), or, for master data,
the table's latest change: ``where (select max(changed_at) from items) > %(watermark)s`` returns the whole table
whenever anything in it changed.

PostgreSQL ERPs are reached with psycopg (``FMRP_ERP_DB_URL=postgresql://...``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from ingestion.fetched import FetchedFile, fetched_file, record_fetch, records_to_csv, write_erp_export
from ingestion.schema import ENTITIES, ENTITY_BY_EXPORT, Entity

SOURCE = "erp_db"
WATERMARK_PARAM = "%(watermark)s"

WATERMARKS_DDL = """
create schema if not exists raw;
create table if not exists raw.erp_watermarks (
    source text not null,
    query text not null,
    value text not null,
    value_type text not null,
    updated_at timestamptz not null default now(),
    primary key (source, query)
);
"""

_TOKENS = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$.*?\$(?P=tag)?\$)
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
    | (?P<semicolon>;)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.S | re.X,
)
# Inside one statement that starts with SELECT or WITH, these are the only ways to write: a data-modifying CTE
# (INSERT/UPDATE/DELETE/MERGE) and SELECT ... INTO. DDL and other commands fail the first-word rule already.
_FORBIDDEN = {"insert", "update", "delete", "merge", "into"}
_ROW_LOCKS = {"update", "share", "no", "key"}


class ErpDbError(Exception):
    """A pull from the ERP database failed."""


class NotASelectError(ErpDbError, ValueError):
    """The configured query is not one plain SELECT; it is refused before it reaches the ERP."""


class ErpDbConfigError(ErpDbError, ValueError):
    """A query file is incomplete (no watermark, unknown entity)."""


class ErpQueryError(ErpDbError):
    """The ERP refused or failed the query, or its result lacks the watermark column."""


def check_select(sql: str, name: str = "query") -> str:
    """Refuse anything but one SELECT (``WITH ... SELECT`` included); returns the query without a final ``;``.

    Raises:
        NotASelectError: naming the query and the word or construct refused.
    """
    words: list[str] = []
    statement_ended = False
    for token in _TOKENS.finditer(sql):
        kind = token.lastgroup
        if kind in ("comment", "space"):
            continue
        if statement_ended:
            raise NotASelectError(f"{name}: more than one statement (text after ';'): only one SELECT is allowed")
        if kind == "semicolon":
            statement_ended = True
        elif kind == "other" and token.group() in ("'", '"', "$"):
            raise NotASelectError(f"{name}: unterminated quote or dollar-quoted string at character {token.start()}")
        elif kind == "word":
            words.append(token.group().lower())
    if not words or words[0] not in ("select", "with"):
        first = words[0] if words else "nothing"
        raise NotASelectError(f"{name}: must start with SELECT or WITH, starts with {first!r}")
    for position, word in enumerate(words):
        if word in _FORBIDDEN and not (word == "update" and position and words[position - 1] in ("for", "key")):
            raise NotASelectError(
                f"{name}: {word.upper()!r} is not allowed: the ERP connector runs read-only SELECTs only "
                "(a column named like a keyword must be double-quoted)"
            )
        following = words[position + 1 : position + 4]
        if word == "for" and following and following[0] in _ROW_LOCKS:
            clause = " ".join(["for", *following[: _lock_clause_length(following)]]).upper()
            raise NotASelectError(f"{name}: '{clause}' locks rows in the ERP; remove it")
    if WATERMARK_PARAM not in sql:
        raise NotASelectError(
            f"{name}: the query must use {WATERMARK_PARAM} (the last watermark) to pull incrementally"
        )
    return sql.strip().rstrip(";").rstrip()


def _lock_clause_length(words: list[str]) -> int:
    """How many words after FOR make the row-lock clause (UPDATE, SHARE, NO KEY UPDATE, KEY SHARE)."""
    for length, word in enumerate(words, start=1):
        if word in ("update", "share"):
            return length
    return len(words)


@dataclass(frozen=True)
class ErpQuery:
    """One configured pull: the entity, its SELECT and the watermark column of the result.

    Attributes:
        name: names the query in errors and the watermark table (the file's stem).
        entity: the raw table the rows land in.
        sql: one SELECT using ``%(watermark)s`` (a literal ``%`` is written ``%%``).
        watermark_column: the result column whose largest value is the next watermark.
        initial_watermark: the value the first pull receives (text; PostgreSQL casts it by context).
        business_date_column: if set, the result is split into one file per value of this (date) column.
        fields: canonical field -> result column, for columns named neither like the field nor its header.
    """

    name: str
    entity: Entity
    sql: str
    watermark_column: str
    initial_watermark: str = "1900-01-01"
    business_date_column: str | None = None
    fields: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sql", check_select(self.sql, self.name))


_DIRECTIVE = re.compile(r"^\s*--\s*(watermark|initial watermark|business date)\s*:\s*(.+?)\s*$", re.I | re.M)


def load_queries(folder: Path) -> list[ErpQuery]:
    """Every ``<entity or export>.sql`` in ``folder``; each says its watermark in a comment at the top::

        -- watermark: changed_at
        -- initial watermark: 2020-01-01
        -- business date: snapshot_date
        select ... where changed_at > %(watermark)s

    Raises:
        ErpDbConfigError: a missing folder, an unknown entity or a file without ``-- watermark:``.
        NotASelectError: a query that is not one SELECT.
    """
    if not folder.is_dir():
        raise ErpDbConfigError(f"ERP query folder {folder} does not exist (FMRP_ERP_DB_QUERIES_DIR)")
    queries = []
    for path in sorted(folder.glob("*.sql")):
        entity = ENTITIES.get(path.stem) or ENTITY_BY_EXPORT.get(path.stem)
        if entity is None or entity.export is None:
            known = sorted(e.name for e in ENTITIES.values() if e.export)
            raise ErpDbConfigError(f"{path}: the file name must be an ERP entity or export ({known})")
        text = path.read_text(encoding="utf-8")
        directives = {key.lower(): value for key, value in _DIRECTIVE.findall(text)}
        if "watermark" not in directives:
            raise ErpDbConfigError(f"{path}: say the watermark column in a comment: '-- watermark: <column>'")
        queries.append(
            ErpQuery(
                name=path.stem,
                entity=entity,
                sql=text,
                watermark_column=directives["watermark"],
                initial_watermark=directives.get("initial watermark", "1900-01-01"),
                business_date_column=directives.get("business date"),
            )
        )
    return queries


def ensure_watermarks(conn: psycopg.Connection) -> None:
    """Create ``raw.erp_watermarks`` if absent."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('fmrp.raw_schema'))")
        conn.execute(WATERMARKS_DDL)


def _encode(value: object) -> tuple[str, str]:
    if isinstance(value, datetime):
        return value.isoformat(), "timestamp"
    if isinstance(value, date):
        return value.isoformat(), "date"
    if isinstance(value, bool):
        raise ErpQueryError("a boolean cannot be a watermark")
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, Decimal | float):
        return str(value), "numeric"
    return str(value), "text"


_DECODERS: dict[str, Callable[[str], object]] = {
    "timestamp": datetime.fromisoformat,
    "date": date.fromisoformat,
    "int": int,
    "numeric": Decimal,
    "text": str,
}


def _decode(text: str, kind: str) -> object:
    return _DECODERS[kind](text)


def read_watermark(conn: psycopg.Connection, query: ErpQuery) -> object:
    """The last watermark stored for the query, typed as the ERP returned it; else the initial value (text)."""
    row = conn.execute(
        "select value, value_type from raw.erp_watermarks where source = %s and query = %s", (SOURCE, query.name)
    ).fetchone()
    return query.initial_watermark if row is None else _decode(row[0], row[1])


def run_query(erp_url: str, query: ErpQuery, watermark: object, *, statement_timeout_s: int = 600) -> list[dict]:
    """Run the SELECT in a read-only transaction on the ERP; rows as dicts keyed by column name."""
    options = f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_s * 1000)}"
    try:
        with psycopg.connect(erp_url, options=options, connect_timeout=30) as erp:
            erp.read_only = True  # BEGIN READ ONLY, on top of the session default
            with erp.cursor() as cursor:
                cursor.execute(query.sql, {"watermark": watermark})
                columns = [column.name for column in cursor.description or []]
                rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            erp.rollback()
    except psycopg.Error as err:
        raise ErpQueryError(f"ERP query {query.name}: {type(err).__name__}: {str(err).strip()}") from err
    if query.watermark_column not in columns:
        raise ErpQueryError(
            f"ERP query {query.name}: the result has no column {query.watermark_column!r} (the watermark); "
            f"columns: {columns}"
        )
    return rows


def _business_days(query: ErpQuery, rows: list[dict], business_date: date) -> dict[date, list[dict]]:
    if not query.business_date_column:
        return {business_date: rows}
    days: dict[date, list[dict]] = defaultdict(list)
    for number, row in enumerate(rows, start=1):
        value = row.get(query.business_date_column)
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise ErpQueryError(
                f"ERP query {query.name}, row {number}: business date column {query.business_date_column!r} "
                f"is {value!r}, not a date"
            )
        days[value].append(row)
    return dict(days)


@dataclass(frozen=True)
class ErpDbPull:
    """What one pull of one query did."""

    query: str
    rows: int
    watermark_before: object
    watermark_after: object
    fetched: list[FetchedFile]


def pull_query(
    erp_url: str,
    conn: psycopg.Connection,
    inbox: Path,
    query: ErpQuery,
    business_date: date,
    *,
    source_name: str = "erp",
    statement_timeout_s: int = 600,
) -> ErpDbPull:
    """Pull the rows past the watermark into ``<inbox>/erp`` (one file per business date), then record the files
    and the new watermark in one warehouse transaction. No rows: no file, the watermark stays.

    Args:
        erp_url: the ERP database (psycopg URL), ideally as a role with SELECT grants only.
        conn: autocommit connection to the warehouse (``ensure_ledger`` and ``ensure_watermarks`` have run).
        inbox: the local inbox.
        query: the pull.
        business_date: the files' business date (unless the query has a ``business_date_column``).
        source_name: names the ERP in ``remote_ref`` (never the URL: it may hold a password).
    """
    before = read_watermark(conn, query)
    rows = run_query(erp_url, query, before, statement_timeout_s=statement_timeout_s)
    values = [row[query.watermark_column] for row in rows if row[query.watermark_column] is not None]
    if not values:
        return ErpDbPull(query.name, len(rows), before, before, [])
    after = max(values)  # the column's values share one SQL type, so they compare
    written: list[tuple[bytes, date, Path]] = []
    for day, day_rows in sorted(_business_days(query, rows, business_date).items()):
        content = records_to_csv(day_rows, query.entity, where=f"ERP query {query.name}", fields=query.fields)
        written.append((content, day, write_erp_export(inbox, query.entity, day, content)))
    remote_ref = f"{SOURCE}://{source_name}/{query.name}?watermark={_encode(before)[0]}"
    now = datetime.now(UTC)
    fetched = [
        fetched_file(SOURCE, remote_ref, query.entity, day, content, path, now) for content, day, path in written
    ]
    value, kind = _encode(after)
    with conn.transaction():
        for row in fetched:
            record_fetch(conn, row)
        conn.execute(
            """
            insert into raw.erp_watermarks (source, query, value, value_type) values (%s, %s, %s, %s)
            on conflict (source, query) do update
            set value = excluded.value, value_type = excluded.value_type, updated_at = now()
            """,
            (SOURCE, query.name, value, kind),
        )
    return ErpDbPull(query.name, len(rows), before, after, fetched)


def watermark_text(value: Any) -> str:
    """A watermark as text, for logs and metadata."""
    return _encode(value)[0]
