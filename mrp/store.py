"""The planning tables in PostgreSQL (schema ``planning``) that the dashboards and the CLI read.

Every plan table is keyed by the forecast ``origin`` (the first day of the last bucket of history; the plan's
first bucket is the one after) and the bucket ``freq`` (``'W'`` weeks, ``'M'`` months: a month starting on a
Monday is also a week's origin, and the two plans must not overwrite each other), so a partition writes exactly
its own rows: :func:`replace_plan` deletes the origin's rows of every plan table and copies the new ones in
**one** transaction — a rerun replaces the whole plan, a failed run leaves the previous plan in place, and no
reader ever sees half of one. Tables created before monthly plans existed get the ``freq`` column (``'W'`` for
their rows) and the wider primary key from :func:`ensure_schema`.

Plan tables (one origin and freq each, written by the weekly or the monthly plan):

- ``mps``: PL-1, one row per item and bucket; ``inventory_policy``: PL-2, one row per item.
- ``mrp_records``: PL-3, the MRP record per item and bucket; ``planned_orders``: one row per planned order.
- ``pegs``: PL-5, one row per piece of supply serving a piece of demand; ``shortage_reasons``: PL-5 reason codes.
- ``action_messages``: PL-6; ``capacity_load`` / ``capacity_operations``: PL-7 per work center and bucket and
  the order operations behind it.
- ``purchase_proposals``: PL-8, with the status of their decision; ``alerts``: PL-9, with acknowledgements.

Tables that outlive a rerun (never deleted by :func:`replace_plan`):

- ``proposal_decisions``: approve/reject with who and when, keyed by ``(origin, freq, proposal_key)``. The
  ``proposal_id`` is the planned order's ``order_id`` and is renumbered by every run, so the stable key is
  ``sku|need_date|supplier|n`` (``n`` numbers the proposals of one item, date and supplier, e.g. a max-lot
  split); a rerun's proposals pick their decisions up by that key.
- ``alert_acknowledgements``: keyed by ``alert_key`` (type, subject and date: the same condition found next week
  has the same key, so an acknowledgement carries over; a monthly plan's keys end in ``|M``).
- ``scenarios`` (name, definition), ``scenario_results`` (per item) and ``scenario_totals``, keyed by name,
  origin and freq (the plan they were compared with); ``alert_summaries``: one row per daily summary sent (or
  not sent, with the reason).
- ``pipeline_alerts``: alerts about the pipeline rather than a plan (``pipeline_failure``, ``rejected_file``),
  keyed by ``alert_key`` alone: :func:`record_pipeline_alerts` writes an alert once however often it is raised,
  and the acknowledgement is kept on its row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl
import psycopg
from psycopg import sql

from fmrp import pgframes

SCHEMA = "planning"

#: The tables a plan run replaces for its origin and frequency, in the order they are written.
PLAN_TABLES: tuple[str, ...] = (
    "mps",
    "inventory_policy",
    "mrp_records",
    "planned_orders",
    "pegs",
    "action_messages",
    "shortage_reasons",
    "capacity_load",
    "capacity_operations",
    "purchase_proposals",
    "alerts",
)

DDL = f"""
create schema if not exists {SCHEMA};

create table if not exists {SCHEMA}.mps (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    bucket integer not null,
    bucket_start date not null,
    forecast double precision not null check (forecast >= 0),
    firm_orders double precision not null check (firm_orders >= 0),
    mps_demand double precision not null check (mps_demand >= 0),
    source text not null check (source in ('forecast', 'firm', 'max')),
    computed_at timestamptz not null default now(),
    primary key (origin, freq, sku, bucket)
);

create table if not exists {SCHEMA}.inventory_policy (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    abc_class text not null,
    service_level double precision not null,
    z double precision not null,
    lead_time_buckets double precision not null,
    lead_time_std_buckets double precision not null,
    demand_per_bucket double precision not null,
    demand_std_per_bucket double precision not null,
    safety_stock_method text not null,
    safety_stock double precision not null check (safety_stock >= 0),
    reorder_point double precision not null,
    min_stock double precision not null,
    max_stock double precision not null,
    review_period double precision not null,
    setup_cost double precision not null,
    holding_cost double precision not null,
    eoq double precision,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, sku)
);

create table if not exists {SCHEMA}.mrp_records (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    bucket integer not null,
    bucket_start date not null,
    independent_demand double precision not null,
    dependent_demand double precision not null,
    gross_requirements double precision not null,
    scheduled_receipts double precision not null,
    projected_on_hand double precision not null,
    net_requirements double precision not null,
    planned_receipts double precision not null,
    planned_releases double precision not null,
    past_due_releases double precision not null,
    safety_stock double precision not null,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, sku, bucket)
);

create table if not exists {SCHEMA}.planned_orders (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    order_id bigint not null,
    sku text not null,
    replenishment text,
    release_bucket integer not null,
    receipt_bucket integer not null,
    release_date date not null,
    need_date date not null,
    quantity double precision not null check (quantity > 0),
    is_past_due boolean not null,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, order_id)
);

create table if not exists {SCHEMA}.pegs (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    supply_type text not null,
    supply_bucket integer not null,
    supply_key bigint,
    demand_type text not null,
    demand_bucket integer,
    parent_sku text,
    parent_key bigint,
    quantity double precision not null
);
create index if not exists pegs_origin_sku on {SCHEMA}.pegs (origin, sku);
create index if not exists pegs_origin_supply on {SCHEMA}.pegs (origin, supply_key);

create table if not exists {SCHEMA}.action_messages (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    action text not null check (action in ('new', 'increase', 'reduce', 'cancel', 'expedite', 'defer')),
    order_type text,
    order_number text,
    planned_order_id bigint,
    old_date date,
    new_date date,
    old_quantity double precision,
    new_quantity double precision,
    need_bucket integer,
    reason text not null
);
create index if not exists action_messages_origin on {SCHEMA}.action_messages (origin, sku);

create table if not exists {SCHEMA}.shortage_reasons (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    bucket integer not null,
    bucket_start date,
    shortage_type text not null,
    planned_order_id bigint,
    order_number text,
    quantity double precision,
    reason_code text not null,
    reason_codes text[] not null
);
create index if not exists shortage_reasons_origin on {SCHEMA}.shortage_reasons (origin, sku);

create table if not exists {SCHEMA}.capacity_load (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    work_center_code text not null,
    bucket integer not null,
    bucket_start date not null,
    planned_load_hours double precision not null check (planned_load_hours >= 0),
    released_load_hours double precision not null check (released_load_hours >= 0),
    load_hours double precision not null check (load_hours >= 0),
    capacity_hours double precision not null check (capacity_hours >= 0),
    utilisation double precision,
    overload_hours double precision not null,
    spare_hours_earlier double precision not null,
    suggestion text not null,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, work_center_code, bucket)
);

create table if not exists {SCHEMA}.capacity_operations (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    source text not null,
    order_ref text not null,
    sku text not null,
    sequence integer not null,
    work_center_code text not null,
    bucket integer not null,
    quantity double precision not null,
    setup_hours double precision not null,
    run_hours double precision not null,
    load_hours double precision not null
);
create index if not exists capacity_operations_origin
    on {SCHEMA}.capacity_operations (origin, work_center_code, bucket);

create table if not exists {SCHEMA}.purchase_proposals (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    proposal_key text not null,
    proposal_id bigint not null,
    supplier_code text,
    supplier_name text,
    supplier_tax_id text,
    payment_terms_days integer,
    sku text not null,
    planned_quantity double precision not null,
    quantity double precision not null check (quantity > 0),
    rounding double precision not null,
    moq double precision,
    order_multiple double precision,
    unit_price numeric(18, 4),
    value numeric(18, 2),
    need_date date not null,
    release_date date not null,
    lead_time_days integer,
    priority text not null,
    selection text not null,
    status text not null check (status in ('proposed', 'approved', 'rejected')),
    decided_by text,
    decided_at timestamptz,
    reject_reason text,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, proposal_key)
);

create table if not exists {SCHEMA}.proposal_decisions (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    proposal_key text not null,
    sku text not null,
    supplier_code text,
    need_date date not null,
    quantity double precision not null,
    status text not null check (status in ('approved', 'rejected')),
    decided_by text not null,
    decided_at timestamptz not null,
    reject_reason text,
    primary key (origin, freq, proposal_key)
);

create table if not exists {SCHEMA}.alerts (
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    alert_key text not null,
    alert_type text not null,
    severity text not null check (severity in ('critical', 'warning', 'info')),
    sku text,
    work_center_code text,
    bucket_start date,
    value double precision,
    message text not null,
    acknowledged boolean not null,
    acknowledged_by text,
    acknowledged_at timestamptz,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, alert_key)
);

create table if not exists {SCHEMA}.alert_acknowledgements (
    alert_key text primary key,
    acknowledged_by text not null,
    acknowledged_at timestamptz not null
);

create table if not exists {SCHEMA}.alert_summaries (
    day date not null,
    origin date,
    status text not null check (status in ('sent', 'not_sent')),
    reason text,
    subject text not null,
    recipients text[] not null,
    open_alerts integer not null,
    critical integer not null,
    warning integer not null,
    created_at timestamptz not null default now()
);

create table if not exists {SCHEMA}.pipeline_alerts (
    alert_key text primary key,
    alert_type text not null,
    severity text not null check (severity in ('critical', 'warning', 'info')),
    sku text,
    work_center_code text,
    bucket_start date,
    value double precision,
    message text not null,
    acknowledged boolean not null default false,
    acknowledged_by text,
    acknowledged_at timestamptz,
    raised_at timestamptz not null default now()
);

create table if not exists {SCHEMA}.scenarios (
    name text primary key,
    description text not null default '',
    definition jsonb not null,
    created_by text not null,
    created_at timestamptz not null default now()
);

create table if not exists {SCHEMA}.scenario_results (
    name text not null references {SCHEMA}.scenarios (name) on delete cascade,
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    sku text not null,
    base_orders bigint not null,
    scenario_orders bigint not null,
    base_quantity double precision not null,
    scenario_quantity double precision not null,
    base_value double precision not null,
    scenario_value double precision not null,
    base_past_due bigint not null,
    scenario_past_due bigint not null,
    delta_orders bigint not null,
    delta_quantity double precision not null,
    delta_value double precision not null,
    delta_past_due bigint not null,
    computed_at timestamptz not null default now(),
    primary key (name, origin, freq, sku)
);

create table if not exists {SCHEMA}.scenario_totals (
    name text not null references {SCHEMA}.scenarios (name) on delete cascade,
    origin date not null,
    freq text not null default 'W' check (freq in ('W', 'M')),
    measure text not null,
    base double precision not null,
    scenario double precision not null,
    delta double precision not null,
    computed_at timestamptz not null default now(),
    primary key (name, origin, freq, measure)
);
"""


class PlanStoreError(RuntimeError):
    """A frame that does not fit its planning table, or a table that is not a plan table."""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the ``planning`` schema and its tables if missing (idempotent, safe to run concurrently)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('fmrp.planning.ddl'))")
        conn.execute(DDL)
        _add_freq(conn)


#: The tables keyed by origin and frequency.
FREQ_TABLES: tuple[str, ...] = (*PLAN_TABLES, "proposal_decisions", "scenario_results", "scenario_totals")


def _add_freq(conn: psycopg.Connection) -> None:
    """Give a table created before monthly plans its ``freq`` column (its rows are weekly) and key."""
    rows = conn.execute(
        "select t.table_name from information_schema.tables t where t.table_schema = %s"
        " and t.table_name = any(%s) and not exists (select 1 from information_schema.columns c"
        " where c.table_schema = t.table_schema and c.table_name = t.table_name and c.column_name = 'freq')",
        [SCHEMA, list(FREQ_TABLES)],
    ).fetchall()
    for (table,) in rows:
        name = sql.Identifier(SCHEMA, table)
        conn.execute(
            sql.SQL("alter table {} add column freq text not null default 'W' check (freq in ('W', 'M'))").format(name)
        )
        key = conn.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass"
            " and contype = 'p'",
            [f"{SCHEMA}.{table}"],
        ).fetchone()
        if key is not None:
            columns = key[1].removeprefix("PRIMARY KEY (").removesuffix(")").replace("origin, ", "origin, freq, ", 1)
            conn.execute(
                sql.SQL("alter table {} drop constraint {}, add primary key ({})").format(
                    name, sql.Identifier(key[0]), sql.SQL(columns)
                )
            )


def replace_plan(
    conn: psycopg.Connection, origin: dt.date, frames: Mapping[str, pl.DataFrame], *, freq: str = "W"
) -> dict[str, int]:
    """Replace the rows of ``origin`` and ``freq`` in every given plan table, all in one transaction.

    Args:
        conn: An open connection (autocommit or not: the writes run in their own transaction block).
        origin: The plan's origin; added to each frame as the ``origin`` column.
        frames: Table name (one of :data:`PLAN_TABLES`) -> rows with the table's column names.
        freq: The plan's buckets, ``'W'`` or ``'M'``; added as the ``freq`` column.

    Returns:
        Rows written per table.

    Raises:
        PlanStoreError: A table is not a plan table.
    """
    unknown = sorted(set(frames) - set(PLAN_TABLES))
    if unknown:
        raise PlanStoreError(f"not plan tables: {', '.join(unknown)} (known: {', '.join(PLAN_TABLES)})")
    written: dict[str, int] = {}
    with conn.transaction():
        for table in PLAN_TABLES:
            if table not in frames:
                continue
            delete = sql.SQL("delete from {} where origin = %s and freq = %s").format(sql.Identifier(SCHEMA, table))
            conn.execute(delete, [origin, freq])
            frame = frames[table].with_columns(pl.lit(origin, pl.Date).alias("origin"), pl.lit(freq).alias("freq"))
            copy_frame(conn, table, frame)
            written[table] = frame.height
    return written


def replace_rows(conn: psycopg.Connection, table: str, frame: pl.DataFrame, *, where: Mapping[str, object]) -> int:
    """Replace the rows of ``planning.<table>`` matching ``where`` by ``frame``, in one transaction.

    The ``where`` columns are added to ``frame`` when it lacks them.

    Returns:
        Rows written.

    Raises:
        PlanStoreError: The rows do not fit the table.
    """
    try:
        return pgframes.replace_rows(conn, SCHEMA, table, frame, where)
    except psycopg.errors.DataError as error:
        raise PlanStoreError(f"planning.{table}: the rows do not fit the table: {error}") from error


def copy_frame(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into ``planning.<table>``; its column names are the table's; naive datetimes are UTC."""
    try:
        pgframes.copy_frame(conn, SCHEMA, table, frame)
    except psycopg.errors.DataError as error:
        raise PlanStoreError(f"planning.{table}: the rows do not fit the table: {error}") from error


read_frame = pgframes.read_frame


def latest_origin(conn: psycopg.Connection, freq: str = "W") -> dt.date | None:
    """The newest origin with a stored plan of that frequency, or None when no plan was run yet."""
    row = conn.execute(f"select max(origin) from {SCHEMA}.mrp_records where freq = %s", [freq]).fetchone()
    return None if row is None else row[0]


def record_pipeline_alerts(conn: psycopg.Connection, alerts: pl.DataFrame) -> pl.DataFrame:
    """Write pipeline alerts (``mrp.alerts.ALERT_COLUMNS``) whose key is not stored yet; return those written.

    An alert raised again (the same failure re-evaluated, the same rejected file landed again) keeps its first
    row and its acknowledgement, and is not returned: the caller mails only what is new.
    """
    columns = ("alert_key", "alert_type", "severity", "sku", "work_center_code", "bucket_start", "value", "message")
    statement = sql.SQL(
        "insert into {} ({}) values ({}) on conflict (alert_key) do nothing returning alert_key"
    ).format(
        sql.Identifier(SCHEMA, "pipeline_alerts"),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    written: list[str] = []
    with conn.transaction(), conn.cursor() as cur:
        for row in alerts.select(columns).iter_rows():
            cur.execute(statement, row)
            written.extend(key for (key,) in cur.fetchall())
    return alerts.filter(pl.col("alert_key").is_in(written))
