"""Planner overrides of P50 (FC-8): per SKU and bucket, with a reason category and an audit trail.

An override is a row in ``forecasting.overrides``; it is never updated in place except to be reverted (who and
when), so the table is its own audit trail. At most one override is active per SKU, frequency and bucket: a
new one reverts the one it replaces. :func:`apply_overrides` puts the active ones on a forecast: P50 takes
the planner's value, the other quantiles keep their ratio to P50 (the model's uncertainty, rescaled), and
the model's own P50 is kept in ``p50_original``.

The CLI (``fmrp override add|list|revert``) and the dashboards call :func:`add_override`, :func:`list_overrides`
and :func:`revert_override`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

import polars as pl
import psycopg

from forecasting.models.base import QUANTILES, quantile_columns
from forecasting.store import SCHEMA, ensure_schema, read_frame

ReasonCategory = Literal["promotion", "customer_information", "supply", "data_error", "new_product", "other"]
REASON_CATEGORIES: tuple[str, ...] = get_args(ReasonCategory)


class OverrideError(ValueError):
    """An override that cannot be stored or reverted; the message says which field and value."""


def add_override(
    conn: psycopg.Connection,
    *,
    sku: str,
    bucket_start: dt.date,
    p50: float,
    reason_category: str,
    created_by: str,
    note: str = "",
    freq: str = "W",
) -> int:
    """Store an override of P50 for one SKU and bucket; an active one for the same cell is reverted.

    Returns:
        The new override's id.

    Raises:
        OverrideError: a negative value, an unknown reason category, a bucket that does not start a bucket of
            ``freq``, or an empty ``created_by``.
    """
    if not p50 >= 0:
        raise OverrideError(f"override of {sku} on {bucket_start}: p50 must be >= 0, got {p50}")
    if reason_category not in REASON_CATEGORIES:
        raise OverrideError(
            f"override of {sku}: reason category {reason_category!r} is not one of {', '.join(REASON_CATEGORIES)}"
        )
    if freq == "W" and bucket_start.isoweekday() != 1:
        raise OverrideError(f"override of {sku}: weekly buckets start on Monday, {bucket_start} is not one")
    if freq == "M" and bucket_start.day != 1:
        raise OverrideError(f"override of {sku}: monthly buckets start on the 1st, {bucket_start} is not one")
    if not created_by.strip():
        raise OverrideError(f"override of {sku}: created_by must name the planner")
    ensure_schema(conn)
    with conn.transaction():
        conn.execute(
            f"update {SCHEMA}.overrides set reverted_at = now(), reverted_by = %s"
            " where sku = %s and freq = %s and bucket_start = %s and reverted_at is null",
            (created_by, sku, freq, bucket_start),
        )
        row = conn.execute(
            f"insert into {SCHEMA}.overrides (sku, freq, bucket_start, p50, reason_category, note, created_by)"
            " values (%s, %s, %s, %s, %s, %s, %s) returning override_id",
            (sku, freq, bucket_start, p50, reason_category, note, created_by),
        ).fetchone()
    assert row is not None
    return int(row[0])


def revert_override(conn: psycopg.Connection, override_id: int, *, reverted_by: str) -> None:
    """Revert an active override (it stays in the table with who reverted it and when).

    Raises:
        OverrideError: no such override, or it is already reverted.
    """
    ensure_schema(conn)
    row = conn.execute(
        f"update {SCHEMA}.overrides set reverted_at = now(), reverted_by = %s"
        " where override_id = %s and reverted_at is null returning override_id",
        (reverted_by, override_id),
    ).fetchone()
    if row is None:
        raise OverrideError(f"override {override_id} does not exist or is already reverted")


def list_overrides(conn: psycopg.Connection, *, sku: str | None = None, active_only: bool = True) -> pl.DataFrame:
    """Overrides, newest first: ``override_id, sku, freq, bucket_start, p50, reason_category, note, created_by,
    created_at, reverted_by, reverted_at``."""
    ensure_schema(conn)
    clauses, params = [], []
    if active_only:
        clauses.append("reverted_at is null")
    if sku:
        clauses.append("sku = %s")
        params.append(sku)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    return read_frame(
        conn,
        "select override_id, sku, freq, bucket_start, p50, reason_category, note, created_by, created_at,"
        f" reverted_by, reverted_at from {SCHEMA}.overrides {where} order by override_id desc",
        params,
    )


def apply_overrides(
    forecast: pl.DataFrame, overrides: pl.DataFrame, quantiles: tuple[float, ...] = QUANTILES
) -> pl.DataFrame:
    """Put active overrides on a forecast (``unique_id, ds`` + quantiles): P50 replaced, the rest rescaled.

    Returns:
        The forecast with ``p50_original`` (the model's P50) and ``override_id`` (null where none applies).
    """
    cols = quantile_columns(quantiles)
    keyed = overrides.select(
        pl.col("sku").cast(pl.String).alias("unique_id"),
        pl.col("bucket_start").cast(pl.Date).alias("ds"),
        pl.col("override_id").cast(pl.Int64),
        pl.col("p50").cast(pl.Float64).alias("_p50_new"),
    )
    joined = forecast.join(keyed, on=["unique_id", "ds"], how="left").with_columns(p50_original=pl.col("p50"))
    has = pl.col("override_id").is_not_null()
    scale = pl.when(pl.col("p50") > 0).then(pl.col("_p50_new") / pl.col("p50"))
    rescaled = {}
    for c in cols:
        if c == "p50":
            rescaled[c] = pl.when(has).then(pl.col("_p50_new")).otherwise(pl.col(c))
        else:
            # with a zero model P50 there is no ratio to keep: the planner's value is the whole distribution
            rescaled[c] = pl.when(has).then((pl.col(c) * scale).fill_null(pl.col("_p50_new"))).otherwise(pl.col(c))
    return joined.with_columns(**rescaled).drop("_p50_new")


def set_model_choice(conn: psycopg.Connection, *, sku: str, model: str, chosen_by: str, note: str = "") -> None:
    """A planner's model for one SKU (FC-2 override): it wins over the selection matrix from the next run.

    Raises:
        OverrideError: an unknown model name or an empty ``chosen_by``.
    """
    from forecasting.fleet import ENSEMBLE
    from forecasting.models import MODEL_FACTORIES

    known = sorted(set(MODEL_FACTORIES) | {ENSEMBLE})
    if model not in known:
        raise OverrideError(f"model choice for {sku}: unknown model {model!r}; known: {', '.join(known)}")
    if not chosen_by.strip():
        raise OverrideError(f"model choice for {sku}: chosen_by must name the planner")
    ensure_schema(conn)
    conn.execute(
        f"insert into {SCHEMA}.model_choices (sku, model, chosen_by, note) values (%s, %s, %s, %s)"
        " on conflict (sku) do update set model = excluded.model, chosen_by = excluded.chosen_by,"
        " note = excluded.note, chosen_at = now()",
        (sku, model, chosen_by, note),
    )


def clear_model_choice(conn: psycopg.Connection, sku: str) -> bool:
    """Give a SKU back to the selection matrix; False if it had no choice."""
    ensure_schema(conn)
    row = conn.execute(f"delete from {SCHEMA}.model_choices where sku = %s returning sku", (sku,)).fetchone()
    return row is not None
