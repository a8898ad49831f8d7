"""Inventory policy (PL-2): safety stock, reorder point, min/max and EOQ per item.

Units: demand per bucket; lead times in working days on the item master, turned into buckets by
``days_per_bucket`` (5 for weekly buckets). ``z`` is the normal inverse CDF of the item's service level,
which comes from its ABC class (PRODUCT §1: A 97 %, B 93 %, C 85 %; callers pass ``settings.service_level_*``).

Safety stock, by the first method that applies (``safety_stock_method``):

1. ``override``: the item's ``safety_stock_override`` always wins.
2. ``forecast_quantiles``: the forecast covers every bucket of the lead time (``L = lead time in buckets > 0``,
   buckets ``0 .. ceil(L)-1``, the last one weighted by the fraction ``L - floor(L)`` of it that falls inside).
   Each bucket's quantile at the service level is interpolated from the forecast quantiles *linearly in z*
   (the quantile levels mapped through the normal inverse CDF), so inside p10..p90 it follows the forecast's
   own shape and beyond p90 (97 % and 93 % are beyond it) it extrapolates the p75-p90 slope, a normal tail
   with the upper spread. The excess over the median, ``e_k = q_alpha,k - q_50,k``, is what the MPS does not
   already plan (it plans the P50). The excesses are summed over the lead time **comonotonically** by default:
   ``SS_demand = sum w_k e_k``, the exact service-level quantile of lead-time demand minus its median when the
   buckets' errors move together, for any shape of the marginals. We choose it because forecast errors of
   consecutive buckets are strongly positively correlated (a level that is wrong stays wrong for the whole
   lead time) and because the per-bucket quantiles of models whose intervals widen with the horizon already
   carry that accumulated uncertainty; it is the cautious end, up to sqrt(L) times the independent value.
   ``aggregation="independent"`` gives the other end, ``sqrt(sum w_k e_k^2)``: exact for independent normal
   buckets, and equal to the classical ``z sigma_d sqrt(L)`` for constant normal quantiles.
   Lead-time variability, which forecast quantiles do not describe, is added in quadrature, as in the
   classical formula: ``SS = sqrt(SS_demand^2 + (z d sigma_LT)^2)``, with ``d`` the mean P50 per bucket of the
   lead-time window.
3. ``monte_carlo`` (items whose class is in :attr:`MonteCarlo.classes`, when asked for, and that have no
   usable forecast): lead time ``~ max(0, N(L, sigma_LT))``, lead-time demand ``~ N(d l, sigma_d^2 l)`` given
   the lead time ``l``; ``SS = quantile_alpha(demand) - d L``. Seeded per item (seed and SKU), so a result does
   not depend on the other items or the row order. With a fixed lead time it converges to the classical value;
   with a variable one it captures the skew of the compound that the closed formula treats as normal.
4. ``classical``: ``SS = z sqrt(L sigma_d^2 + d^2 sigma_LT^2)`` with ``d``, ``sigma_d`` from the demand
   statistics (per bucket).

Safety stock is never negative (a service level below 50 % gives 0). Then, with the same ``d`` and ``L``:
``reorder_point = min_stock = d L + SS``, ``max_stock = d (L + review period) + SS``, and
``eoq = sqrt(2 d K / h)`` (:func:`mrp.lotsizing.economic_order_quantity`, per bucket) with the item's
``setup_cost`` / ``holding_cost`` or the :class:`mrp.engine.CostDefaults` the MRP run uses.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy.stats import norm

from mrp.engine import CostDefaults
from mrp.horizon import Horizon
from mrp.lotsizing import economic_order_quantity
from mrp.mps import forecast_per_bucket

SERVICE_LEVELS: Mapping[str, float] = {"A": 0.97, "B": 0.93, "C": 0.85}

POLICY_COLUMNS: tuple[str, ...] = (
    "sku",
    "abc_class",
    "service_level",
    "z",
    "lead_time_buckets",
    "lead_time_std_buckets",
    "demand_per_bucket",
    "demand_std_per_bucket",
    "safety_stock_method",
    "safety_stock",
    "reorder_point",
    "min_stock",
    "max_stock",
    "review_period",
    "setup_cost",
    "holding_cost",
    "eoq",
)

_QUANTILE_COLUMN = re.compile(r"^p(\d{2})$")


class PolicyInputError(ValueError):
    """An item, demand or parameter the inventory policy cannot use."""


@dataclass(frozen=True)
class MonteCarlo:
    """The Monte-Carlo safety stock option.

    Attributes:
        samples: Simulated lead-time demands per item.
        seed: Base seed; each item's stream is seeded with (seed, CRC-32 of its SKU).
        classes: ABC classes simulated (class A by default); the others keep the closed formula.
    """

    samples: int = 20_000
    seed: int = 0
    classes: tuple[str, ...] = ("A",)


def service_level_z(service_level: float) -> float:
    """``z`` of a service level: the standard normal inverse CDF (0.97 -> 1.8808).

    Example:
        >>> round(service_level_z(0.97), 4)
        1.8808
    """
    if not 0.0 < service_level < 1.0:
        raise PolicyInputError(f"a service level lies strictly between 0 and 1, got {service_level}")
    return float(norm.ppf(service_level))


def inventory_policy(
    items: pl.DataFrame,
    demand: pl.DataFrame,
    *,
    forecasts: pl.DataFrame | None = None,
    horizon: Horizon | None = None,
    service_levels: Mapping[str, float] = SERVICE_LEVELS,
    default_class: str = "C",
    days_per_bucket: float = 5.0,
    review_period: float = 1.0,
    aggregation: Literal["comonotonic", "independent"] = "comonotonic",
    monte_carlo: MonteCarlo | None = None,
    costs: CostDefaults | None = None,
) -> pl.DataFrame:
    """Safety stock, reorder point, min/max and EOQ of every item (see the module docstring for the methods).

    Args:
        items: ``sku``, ``lead_time_days``; optional ``lead_time_std_days``, ``abc_class``,
            ``safety_stock_override``, ``setup_cost``, ``holding_cost``, ``standard_cost``.
        demand: Demand statistics per bucket: ``sku``, ``demand_mean``, ``demand_std``; items without a row
            have no demand.
        forecasts: Optional quantile forecasts: ``sku``/``unique_id``, ``bucket``/``ds``, ``p10`` .. ``p90``
            (two quantile columns at least), one row per item and bucket from bucket 0.
        horizon: Maps forecast dates to buckets (needed when ``bucket``/``ds`` holds dates).
        service_levels: Service level per ABC class.
        default_class: Class of items whose ``abc_class`` is missing.
        days_per_bucket: Working days in a bucket.
        review_period: Review period in buckets, for ``max_stock``.
        aggregation: How per-bucket forecast quantiles add up over the lead time.
        monte_carlo: Simulate the safety stock of these classes instead of the closed formula.
        costs: Setup and holding cost defaults (those of the MRP run).

    Returns:
        One row per item, :data:`POLICY_COLUMNS`, sorted by ``sku``; ``safety_stock`` is what
        ``run_mrp(..., safety_stock=...)`` reads.

    Raises:
        PolicyInputError: A missing column, a negative or non-finite number, an unknown class.
        mrp.mps.MpsInputError: A bad forecast frame.
    """
    if aggregation not in ("comonotonic", "independent"):
        raise PolicyInputError(f"aggregation must be 'comonotonic' or 'independent', got {aggregation!r}")
    if not days_per_bucket > 0 or not review_period >= 0:
        raise PolicyInputError(
            f"days_per_bucket must be > 0 and review_period >= 0, got {days_per_bucket}, {review_period}"
        )
    costs = costs or CostDefaults()
    frame = _items_with_demand(items, demand, service_levels, default_class)
    lead = frame["lead_time_days"].to_numpy() / days_per_bucket
    lead_std = frame["lead_time_std_days"].to_numpy() / days_per_bucket
    z = np.array([service_level_z(level) for level in frame["service_level"]])
    mean, std = frame["demand_mean"].to_numpy(), frame["demand_std"].to_numpy()
    safety = np.maximum(z, 0.0) * np.sqrt(lead * std**2 + mean**2 * lead_std**2)
    method = np.full(frame.height, "classical", dtype=object)

    if forecasts is not None:
        found, excess, forecast_mean = _forecast_excess(frame, forecasts, horizon, lead, z, aggregation)
        mean = np.where(found, forecast_mean, mean)
        safety = np.where(found, np.sqrt(excess**2 + (np.maximum(z, 0.0) * mean * lead_std) ** 2), safety)
        method[found] = "forecast_quantiles"
    if monte_carlo is not None:
        simulated = (method == "classical") & frame["abc_class"].is_in(list(monte_carlo.classes)).to_numpy()
        for i in np.flatnonzero(simulated):
            safety[i] = _simulated_safety_stock(
                frame["sku"][int(i)],
                monte_carlo,
                float(frame["service_level"][int(i)]),
                lead[i],
                lead_std[i],
                mean[i],
                std[i],
            )
        method[simulated] = "monte_carlo"
    override = frame["safety_stock_override"].to_numpy()
    overridden = ~np.isnan(override)
    safety = np.where(overridden, override, np.maximum(safety, 0.0))
    method[overridden] = "override"

    setup = frame["setup_cost"].fill_null(costs.setup_cost).to_numpy()
    unit_cost = frame["standard_cost"].fill_null(0.0).to_numpy()
    default_holding = costs.carrying_rate * np.where(unit_cost > 0, unit_cost, costs.unit_cost) / costs.buckets_per_year
    holding = np.where(frame["holding_cost"].is_null().to_numpy(), default_holding, frame["holding_cost"].to_numpy())
    eoq = [economic_order_quantity(d, k, h) for d, k, h in zip(mean, setup, holding, strict=True)]
    reorder_point = mean * lead + safety
    return (
        frame.select("sku", "abc_class", "service_level")
        .with_columns(
            pl.Series("z", z),
            pl.Series("lead_time_buckets", lead),
            pl.Series("lead_time_std_buckets", lead_std),
            pl.Series("demand_per_bucket", mean),
            pl.Series("demand_std_per_bucket", std),
            pl.Series("safety_stock_method", method.tolist(), pl.String),
            pl.Series("safety_stock", safety),
            pl.Series("reorder_point", reorder_point),
            pl.Series("min_stock", reorder_point),
            pl.Series("max_stock", mean * (lead + review_period) + safety),
            pl.lit(float(review_period)).alias("review_period"),
            pl.Series("setup_cost", setup, pl.Float64),
            pl.Series("holding_cost", holding, pl.Float64),
            pl.Series("eoq", eoq, pl.Float64),
        )
        .select(POLICY_COLUMNS)
    )


def _items_with_demand(
    items: pl.DataFrame, demand: pl.DataFrame, service_levels: Mapping[str, float], default_class: str
) -> pl.DataFrame:
    for name, frame, columns in (
        ("items", items, ("sku", "lead_time_days")),
        ("demand", demand, ("sku", "demand_mean", "demand_std")),
    ):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise PolicyInputError(f"{name} lacks the column(s) {', '.join(missing)}")
    optional = {
        "lead_time_std_days": pl.Float64(),
        "abc_class": pl.String(),
        "safety_stock_override": pl.Float64(),
        "setup_cost": pl.Float64(),
        "holding_cost": pl.Float64(),
        "standard_cost": pl.Float64(),
    }
    frame = (
        items.with_columns(
            [pl.lit(None, dtype).alias(name) for name, dtype in optional.items() if name not in items.columns]
        )
        .select(
            pl.col("sku").cast(pl.String),
            pl.col("lead_time_days").cast(pl.Float64).fill_null(0.0),
            pl.col("lead_time_std_days").cast(pl.Float64).fill_null(0.0),
            pl.col("abc_class").cast(pl.String).str.strip_chars().str.to_uppercase().fill_null(default_class),
            *[
                pl.col(name).cast(dtype)
                for name, dtype in optional.items()
                if name not in ("lead_time_std_days", "abc_class")
            ],
        )
        .sort("sku")
    )
    if frame["sku"].null_count() or frame["sku"].is_duplicated().any():
        raise PolicyInputError("items must have one row per non-null sku")
    stats = demand.select(
        pl.col("sku").cast(pl.String), pl.col("demand_mean").cast(pl.Float64), pl.col("demand_std").cast(pl.Float64)
    )
    if stats["sku"].is_duplicated().any():
        raise PolicyInputError(
            f"demand has several rows for sku {stats.filter(pl.col('sku').is_duplicated())['sku'][0]!r}"
        )
    frame = frame.join(stats, on="sku", how="left", maintain_order="left").with_columns(
        pl.col("demand_mean", "demand_std").fill_null(0.0)
    )
    for column in (
        "lead_time_days",
        "lead_time_std_days",
        "demand_mean",
        "demand_std",
        "safety_stock_override",
        "setup_cost",
        "holding_cost",
    ):
        bad = frame.filter(~((pl.col(column) >= 0) & pl.col(column).is_finite()).fill_null(True))
        if bad.height:
            raise PolicyInputError(
                f"item {bad['sku'][0]!r}: {column} must be a finite number >= 0, got {bad[column][0]}"
            )
    unknown = frame.filter(~pl.col("abc_class").is_in(list(service_levels)))
    if unknown.height:
        raise PolicyInputError(
            f"item {unknown['sku'][0]!r}: class {unknown['abc_class'][0]!r} has no service level "
            f"(known: {', '.join(sorted(service_levels))})"
        )
    return frame.with_columns(
        pl.col("abc_class").replace_strict(dict(service_levels), return_dtype=pl.Float64).alias("service_level"),
        pl.col("safety_stock_override").fill_null(float("nan")),
    )


def _forecast_excess(
    frame: pl.DataFrame,
    forecasts: pl.DataFrame,
    horizon: Horizon | None,
    lead: np.ndarray,
    z: np.ndarray,
    aggregation: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: whether the forecast covers the lead time, the aggregated excess and the mean P50 per bucket."""
    columns = sorted((c for c in forecasts.columns if _QUANTILE_COLUMN.match(c)), key=lambda c: int(c[1:]))
    if len(columns) < 2:
        raise PolicyInputError(f"forecasts needs two quantile columns (p10 .. p90) at least, got {columns}")
    z_levels = norm.ppf([int(c[1:]) / 100 for c in columns])
    rows = forecast_per_bucket(forecasts, horizon, *columns)
    if rows.select(pl.struct("sku", "bucket").is_duplicated().any()).item():
        raise PolicyInputError("forecasts has several rows for one (sku, bucket): keep one model's forecast per item")
    position = pl.DataFrame({"sku": frame["sku"], "item": np.arange(frame.height), "lead": lead, "z": z})
    rows = rows.join(position, on="sku", how="inner").filter(pl.col("bucket") < pl.col("lead").ceil())
    item = rows["item"].to_numpy()
    values = np.sort(rows.select(columns).to_numpy(), axis=1)  # rearranged: quantiles never cross
    weight = np.clip(rows["lead"].to_numpy() - rows["bucket"].to_numpy(), 0.0, 1.0)
    median = np.maximum(_quantile_in_z(values, z_levels, np.zeros(item.size)), 0.0)
    excess = np.maximum(_quantile_in_z(values, z_levels, rows["z"].to_numpy()) - median, 0.0)
    n = frame.height
    covered = np.bincount(item, minlength=n)
    found = (lead > 0) & (covered == np.ceil(lead))
    weighted_median = np.bincount(item, weight * median, minlength=n)
    if aggregation == "comonotonic":
        total = np.bincount(item, weight * excess, minlength=n)
    else:
        total = np.sqrt(np.bincount(item, weight * excess**2, minlength=n))
    return found, total, np.divide(weighted_median, lead, out=np.zeros(n), where=lead > 0)


def _quantile_in_z(values: np.ndarray, z_levels: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Each row's quantile at ``z``, linear in z between the known levels and extrapolated from the end segments."""
    segment = np.clip(np.searchsorted(z_levels, z, side="right") - 1, 0, z_levels.size - 2)
    rows = np.arange(values.shape[0])
    low, high = values[rows, segment], values[rows, segment + 1]
    return low + (high - low) * (z - z_levels[segment]) / (z_levels[segment + 1] - z_levels[segment])


def _simulated_safety_stock(
    sku: str, options: MonteCarlo, service_level: float, lead: float, lead_std: float, mean: float, std: float
) -> float:
    rng = np.random.default_rng([options.seed, zlib.crc32(sku.encode())])
    lead_times = np.maximum(lead + lead_std * rng.standard_normal(options.samples), 0.0)
    demand = mean * lead_times + std * np.sqrt(lead_times) * rng.standard_normal(options.samples)
    return max(float(np.quantile(demand, service_level)) - mean * lead, 0.0)
