"""The forecasting tables in PostgreSQL (schema ``forecasting``) that planning and the dashboards read.

Every table is keyed by the forecast ``origin`` (the last bucket of history the forecast saw) and ``freq``,
so a weekly partition writes exactly its own rows: :func:`replace_rows` deletes the partition's rows and
inserts the new ones in one transaction — a rerun replaces, a failed run leaves the old rows in place.

Tables:

- ``sku_classes``: one row per origin and SKU: FC-1 classes, the model the matrix chose and why (FC-2).
- ``forecasts``: one row per origin, SKU, bucket, model and target (``volume``, ``revenue``, or
  ``revenue_from_volume``): P10..P90 and whether it is the SKU's selected forecast.
- ``revenue_checks``: FC-5, one row per origin and SKU: revenue over the horizon both ways and the divergence flag.
- ``backtest_metrics``: FC-6, one row per origin, model and group (``overall``, a class column value or a SKU).
- ``model_versions``, ``drift``: the registry (:mod:`forecasting.registry`).
- ``overrides``: planner overrides of P50 with their audit trail (:mod:`forecasting.overrides`).
- ``model_choices``: a planner's per-SKU model choice, which wins over the matrix (FC-2).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg

from fmrp import pgframes

SCHEMA = "forecasting"

_QUANTILE_COLUMNS = (
    "p10 double precision not null, p25 double precision not null, p50 double precision not null, "
    "p75 double precision not null, p90 double precision not null"
)

DDL = f"""
create schema if not exists {SCHEMA};

create table if not exists {SCHEMA}.sku_classes (
    origin date not null,
    freq text not null check (freq in ('W', 'M')),
    sku text not null,
    abc text not null,
    xyz text not null,
    pattern text not null,
    status text not null,
    history_buckets integer not null,
    revenue double precision,
    cv double precision,
    adi double precision,
    cv2 double precision,
    model text not null,
    reason text not null,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, sku)
);

create table if not exists {SCHEMA}.forecasts (
    origin date not null,
    freq text not null check (freq in ('W', 'M')),
    sku text not null,
    bucket_start date not null,
    step integer not null check (step >= 1),
    model text not null,
    target text not null check (target in ('volume', 'revenue', 'revenue_from_volume')),
    is_selected boolean not null,
    {_QUANTILE_COLUMNS},
    p50_original double precision,
    override_id bigint,
    run_id text,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, sku, bucket_start, model, target),
    check (p10 >= 0 and p10 <= p25 and p25 <= p50 and p50 <= p75 and p75 <= p90)
);
create index if not exists forecasts_selected on {SCHEMA}.forecasts (origin, freq, target) where is_selected;

create table if not exists {SCHEMA}.revenue_checks (
    origin date not null,
    freq text not null,
    sku text not null,
    revenue_direct double precision,
    revenue_from_volume double precision,
    divergence double precision,
    is_divergent boolean not null,
    primary key (origin, freq, sku)
);

create table if not exists {SCHEMA}.backtest_metrics (
    origin date not null,
    freq text not null,
    grouping text not null,
    group_value text not null,
    model text not null,
    windows integer not null,
    horizon integer not null,
    series integer not null,
    smape double precision,
    mase double precision,
    wape double precision,
    mape double precision,
    mae double precision,
    rmse double precision,
    bias double precision,
    pinball_p10 double precision,
    pinball_p25 double precision,
    pinball_p50 double precision,
    pinball_p75 double precision,
    pinball_p90 double precision,
    pinball_mean double precision,
    coverage_p10_p90 double precision,
    computed_at timestamptz not null default now(),
    primary key (origin, freq, grouping, group_value, model)
);

create table if not exists {SCHEMA}.model_versions (
    model_type text not null,
    version integer not null,
    trained_at timestamptz not null default now(),
    freq text not null,
    data_start date,
    data_end date,
    params jsonb not null default '{{}}',
    metrics jsonb not null default '{{}}',
    metric_name text not null,
    metric_value double precision,
    baseline_value double precision,
    artifact_uri text,
    status text not null check (status in ('challenger', 'champion', 'retired', 'rejected')),
    decision text,
    promoted_at timestamptz,
    pruned_at timestamptz,
    primary key (model_type, version)
);

create table if not exists {SCHEMA}.drift (
    model_type text not null,
    origin date not null,
    freq text not null,
    metric_name text not null,
    reference_value double precision,
    recent_value double precision,
    change double precision,
    status text not null check (status in ('ok', 'warn', 'retrain')),
    computed_at timestamptz not null default now(),
    primary key (model_type, origin, freq)
);

create table if not exists {SCHEMA}.overrides (
    override_id bigint generated always as identity primary key,
    sku text not null,
    freq text not null check (freq in ('W', 'M')),
    bucket_start date not null,
    p50 double precision not null check (p50 >= 0),
    reason_category text not null
        check (reason_category in
            ('promotion', 'customer_information', 'supply', 'data_error', 'new_product', 'other')),
    note text not null default '',
    created_by text not null,
    created_at timestamptz not null default now(),
    reverted_by text,
    reverted_at timestamptz
);
create unique index if not exists overrides_one_active
    on {SCHEMA}.overrides (sku, freq, bucket_start) where reverted_at is null;

create table if not exists {SCHEMA}.model_choices (
    sku text primary key,
    model text not null,
    chosen_by text not null,
    chosen_at timestamptz not null default now(),
    note text not null default ''
);
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the ``forecasting`` schema and its tables if missing (idempotent)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('fmrp.forecasting.ddl'))")
        conn.execute(DDL)


def replace_rows(
    conn: psycopg.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    origin: dt.date,
    freq: str,
    where: dict[str, object] | None = None,
) -> int:
    """Replace the rows of ``forecasting.<table>`` for ``origin``/``freq`` (and ``where``) by ``frame``.

    The key columns are added to ``frame`` when it lacks them.

    One transaction: the delete and the COPY commit together or not at all.

    Returns:
        Rows written.
    """
    return pgframes.replace_rows(conn, SCHEMA, table, frame, {"origin": origin, "freq": freq, **(where or {})})


def copy_frame(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into ``forecasting.<table>``; its column names are the table's."""
    pgframes.copy_frame(conn, SCHEMA, table, frame)


read_frame = pgframes.read_frame
