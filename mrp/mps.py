"""Master production schedule (PL-1): the independent demand of the finished goods, per item and bucket.

Inside the firm horizon (the first ``firm_horizon`` buckets, 2 by default) the demand of a bucket is
``max(forecast quantile, firm customer orders)``: orders above the forecast are planned in full, orders below
it are taken to consume the forecast. Beyond the firm horizon it is the forecast alone; firm orders there are
reported but do not change the demand (the forecast already expects them).

- The forecast is one quantile column (``p50`` by default, the point forecast of :mod:`forecasting`).
- Buckets are 0-based indices of a :class:`mrp.horizon.Horizon`; a ``bucket`` / ``ds`` / ``due_week`` column
  holds either that index or a date inside the bucket.
- Customer orders due before bucket 0 are past due and count in bucket 0; forecasts dated before bucket 0
  are stale and ignored; both are ignored after the horizon.
- ``source`` says where ``mps_demand`` comes from: ``forecast`` beyond the firm horizon or where there are no
  firm orders; ``firm`` inside the firm horizon when the orders exceed the forecast; ``max`` inside the firm
  horizon when there are orders but the forecast is at least as large (the max rule kept the forecast).

The result has a ``quantity`` column equal to ``mps_demand``, so it is ``run_mrp``'s ``demand`` as it is.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mrp.horizon import Horizon

MPS_COLUMNS: tuple[str, ...] = (
    "sku",
    "bucket",
    "bucket_start",
    "forecast",
    "firm_orders",
    "mps_demand",
    "source",
    "quantity",
)


class MpsInputError(ValueError):
    """A forecast or customer-order frame the MPS cannot use: a missing column, a bad value, a duplicate."""


def master_production_schedule(
    forecasts: pl.DataFrame,
    customer_orders: pl.DataFrame,
    horizon: Horizon,
    *,
    firm_horizon: int = 2,
    quantile: str = "p50",
) -> pl.DataFrame:
    """The MPS demand of every item with a forecast or a firm order, one row per item and bucket.

    Args:
        forecasts: ``sku`` (or ``unique_id``), ``bucket`` (or ``ds``) and the quantile column; one row per
            item and bucket (filter one ``model`` first).
        customer_orders: ``sku``, ``due_week`` (or ``bucket``), ``quantity`` (>= 0); rows are summed.
        horizon: The planning buckets.
        firm_horizon: Buckets, from bucket 0, in which firm orders raise the demand (the caller's
            ``settings.firm_horizon``); 0 plans on the forecast alone.
        quantile: The forecast column planned on (``p50``, or e.g. ``p75`` for a cautious plan).

    Returns:
        Columns :data:`MPS_COLUMNS`, sorted by ``sku`` and ``bucket``; every bucket of the horizon for every item.

    Raises:
        MpsInputError: A column is missing, a value is null, negative or not finite, or an item has two
            forecasts for one bucket.

    Example:
        >>> import datetime as dt
        >>> fc = pl.DataFrame({"sku": ["FG"] * 3, "bucket": [0, 1, 2], "p50": [10.0, 10.0, 10.0]})
        >>> orders = pl.DataFrame({"sku": ["FG", "FG"], "due_week": [0, 2], "quantity": [14.0, 30.0]})
        >>> mps = master_production_schedule(fc, orders, Horizon.weekly(dt.date(2026, 1, 5), 3))
        >>> mps["mps_demand"].to_list(), mps["source"].to_list()
        ([14.0, 10.0, 10.0], ['firm', 'forecast', 'forecast'])
    """
    if firm_horizon < 0:
        raise MpsInputError(f"firm_horizon must be >= 0 buckets, got {firm_horizon}")
    forecast = forecast_per_bucket(forecasts, horizon, quantile)
    duplicated = forecast.filter(pl.struct("sku", "bucket").is_duplicated())
    if duplicated.height:
        row = duplicated.row(0, named=True)
        raise MpsInputError(
            f"forecasts has {duplicated.height} rows for repeated (sku, bucket) pairs, e.g. sku {row['sku']!r} "
            f"bucket {row['bucket']}: keep one model's forecast per item"
        )
    orders = _orders_per_bucket(customer_orders, horizon)
    skus = pl.concat([forecast.select("sku"), orders.select("sku")]).unique()
    grid = skus.join(horizon.frame().select("bucket", "bucket_start"), how="cross")
    firm = pl.col("bucket") < firm_horizon
    has_orders = pl.col("firm_orders") > 0
    return (
        grid.join(forecast.rename({quantile: "forecast"}), on=["sku", "bucket"], how="left")
        .join(orders, on=["sku", "bucket"], how="left")
        .with_columns(pl.col("forecast", "firm_orders").fill_null(0.0))
        .with_columns(
            mps_demand=pl.when(firm).then(pl.max_horizontal("forecast", "firm_orders")).otherwise(pl.col("forecast")),
            source=pl.when(firm & has_orders & (pl.col("firm_orders") > pl.col("forecast")))
            .then(pl.lit("firm"))
            .when(firm & has_orders)
            .then(pl.lit("max"))
            .otherwise(pl.lit("forecast")),
        )
        .with_columns(quantity=pl.col("mps_demand"))
        .select(MPS_COLUMNS)
        .sort("sku", "bucket")
    )


def forecast_per_bucket(forecasts: pl.DataFrame, horizon: Horizon | None, *columns: str) -> pl.DataFrame:
    """``sku``, ``bucket`` (index inside the horizon) and the given quantile columns of a forecast frame.

    Rows before bucket 0 or after the horizon are dropped. Accepts Nixtla's ``unique_id`` / ``ds`` names.

    Args:
        forecasts: ``sku`` or ``unique_id``; ``bucket`` or ``ds`` (index or date); the ``columns``.
        horizon: Maps dates to buckets; may be None when the buckets are indices (then nothing is dropped
            above).
        columns: Quantile columns to keep; each must be a finite number >= 0 on every row.
    """
    sku = _first_present(forecasts, ("sku", "unique_id"), "forecasts")
    bucket = _first_present(forecasts, ("bucket", "ds"), "forecasts")
    for column in columns:
        _check_quantities(forecasts, column, "forecasts")
    buckets = _bucket_index(forecasts, bucket, horizon, "forecasts")
    size = horizon.size if horizon is not None else np.iinfo(np.int32).max
    keep = (buckets >= 0) & (buckets < size)
    frame = forecasts.select(pl.col(sku).cast(pl.String).alias("sku"), *[pl.col(c).cast(pl.Float64) for c in columns])
    return frame.with_columns(pl.Series("bucket", buckets, pl.Int32)).filter(pl.Series(keep))


def _orders_per_bucket(customer_orders: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    _first_present(customer_orders, ("sku",), "customer_orders")
    bucket = _first_present(customer_orders, ("due_week", "bucket"), "customer_orders")
    _check_quantities(customer_orders, "quantity", "customer_orders")
    buckets = np.maximum(_bucket_index(customer_orders, bucket, horizon, "customer_orders"), 0)  # past due: now
    return (
        customer_orders.select(pl.col("sku").cast(pl.String), pl.col("quantity").cast(pl.Float64))
        .with_columns(pl.Series("bucket", buckets, pl.Int32))
        .filter(pl.col("bucket") < horizon.size)
        .group_by("sku", "bucket")
        .agg(pl.col("quantity").sort().sum().alias("firm_orders"))  # sorted: the sum does not depend on row order
    )


def _first_present(frame: pl.DataFrame, names: tuple[str, ...], frame_name: str) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise MpsInputError(f"{frame_name} lacks the column {' or '.join(map(repr, names))}")


def _check_quantities(frame: pl.DataFrame, column: str, frame_name: str) -> None:
    if column not in frame.columns:
        raise MpsInputError(f"{frame_name} lacks the column {column!r}")
    values = frame[column].cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        raise MpsInputError(
            f"{frame_name} row {bad[0]}: {column} must be a finite number >= 0, got {frame[column][int(bad[0])]}"
        )


def _bucket_index(frame: pl.DataFrame, column: str, horizon: Horizon | None, frame_name: str) -> np.ndarray:
    series = frame[column]
    if series.null_count():
        raise MpsInputError(f"{frame_name}.{column} is empty on {series.null_count()} row(s): every row needs a bucket")
    if series.dtype.is_integer() or series.dtype == pl.Null:
        return series.to_numpy().astype(np.int64)
    if series.dtype in (pl.Date, pl.Datetime):
        if horizon is None:
            raise MpsInputError(f"{frame_name}.{column} holds dates: pass the horizon that maps them to buckets")
        return horizon.bucket_of(series).astype(np.int64)
    raise MpsInputError(f"{frame_name}.{column} must be a bucket index or a date, got {series.dtype}")
