"""A hand-made ``marts.demand_weekly`` (the mart's contract columns) for tests that do not need dbt."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import psycopg

from tests.forecasting.panels import mixed_panel

DDL = """
create schema if not exists marts;
create table marts.demand_weekly (
    sku text, week_start date, iso_year integer, iso_week integer, volume numeric, revenue numeric,
    avg_price numeric, sales_days integer, is_gap_filled boolean, is_outlier boolean, outlier_threshold numeric,
    is_complete_week boolean
);
"""


def demand_panel(weeks: int = 120, seed: int = 7) -> pl.DataFrame:
    """The mixed test panel with prices: ``unique_id, ds, y, revenue``."""
    panel = mixed_panel("W", weeks, seed=seed)
    prices = {uid: 5.0 + k for k, uid in enumerate(sorted(panel["unique_id"].unique()))}
    return panel.with_columns(revenue=pl.col("y") * pl.col("unique_id").replace_strict(prices, return_dtype=pl.Float64))


def load_demand_mart(url: str, panel: pl.DataFrame) -> dt.date:
    """Create and fill ``marts.demand_weekly``; returns its last week."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DDL)
        with (
            conn.cursor() as cur,
            cur.copy(
                "copy marts.demand_weekly (sku, week_start, volume, revenue, avg_price, sales_days, is_gap_filled,"
                " is_outlier, is_complete_week) from stdin"
            ) as copy,
        ):
            for sku, ds, y, revenue in panel.select("unique_id", "ds", "y", "revenue").iter_rows():
                price = revenue / y if y else None
                copy.write_row((sku, ds, y, revenue, price, 5, False, False, True))
    last: dt.date = panel["ds"].max()  # type: ignore[assignment]
    return last


def bump_after(panel: pl.DataFrame, origin: dt.date) -> pl.DataFrame:
    """The panel with every value after ``origin`` changed (for leakage tests)."""
    rng = np.random.default_rng(0)
    late = pl.col("ds") > origin
    return panel.with_columns(
        y=pl.when(late).then(pl.col("y") * 7 + pl.lit(rng.integers(50, 100))).otherwise(pl.col("y")),
        revenue=pl.when(late).then(pl.col("revenue") * 9).otherwise(pl.col("revenue")),
    )
