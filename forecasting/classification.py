"""SKU classification (FC-1) and the model selection matrix (FC-2).

Classification reads a demand panel ``unique_id, ds, y`` (bucket volume, optionally a ``revenue`` column;
without it ABC ranks by volume) and looks only at buckets up to ``as_of``. Missing buckets count as zero
demand. A SKU's history runs from its first bucket with demand to ``as_of``; the statistics use that span.

- ABC: SKUs ranked by revenue; A while the cumulative share stays within 80%, B within 95%, C after
  (the top SKU is always A, even if it alone passes 80%; SKUs without revenue are C).
- XYZ: coefficient of variation (sample std / mean) of bucket volume: X ≤ 0.5, Y ≤ 1.0, Z above.
- Syntetos-Boylan: ADI = buckets / buckets with demand, CV² of the non-zero sizes; ADI above 1.32 is
  intermittent or lumpy, CV² above 0.49 erratic or lumpy, both at most the cut is smooth.
- Status: ``inactive`` with no demand in the last 52 buckets, ``new`` with fewer than 13 buckets of
  history, ``active`` otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from forecasting.data import Freq, fill_gaps


@dataclass(frozen=True)
class ClassificationRules:
    """The FC-1 thresholds."""

    abc_a: float = 0.80
    abc_b: float = 0.95
    xyz_x: float = 0.5
    xyz_y: float = 1.0
    adi_cut: float = 1.32
    cv2_cut: float = 0.49
    new_below: int = 13
    inactive_after: int = 52


@dataclass(frozen=True)
class SelectionRules:
    """The FC-2 matrix settings.

    Attributes:
        min_history_tft: buckets of history a smooth or erratic A/B SKU needs for the TFT (or ensemble).
        available: models that can run now; a choice outside it falls back to ``fallback`` and says so.
        fallback: model used when the matrix's choice is not available.
        new_model: baseline for new SKUs.
        new_intermittent_model: baseline for new SKUs whose few buckets are already intermittent or lumpy (a
            moving median: on carparts' new parts MASE 3.0 against the moving average's 3.3).
    """

    min_history_tft: int = 40
    available: frozenset[str] | None = None
    fallback: str = "auto_ets"
    new_model: str = "moving_average"
    new_intermittent_model: str = "moving_quantiles"


def classify(
    demand: pl.DataFrame, freq: Freq, *, as_of: dt.date | None = None, rules: ClassificationRules | None = None
) -> pl.DataFrame:
    """Classify every SKU of a demand panel (FC-1).

    Args:
        demand: ``unique_id, ds, y`` and optionally ``revenue``; one row per SKU and bucket with demand.
        freq: ``"W"`` or ``"M"``.
        as_of: last bucket considered (the forecast origin); defaults to the panel's last bucket.
        rules: thresholds; FC-1's by default.

    Returns:
        One row per SKU: ``unique_id, abc, xyz, pattern, status, history_buckets, revenue, revenue_share,
        cumulative_share, cv, adi, cv2``.
    """
    r = rules or ClassificationRules()
    origin: dt.date = as_of if as_of is not None else demand["ds"].max()  # type: ignore[assignment]
    seen = demand.filter(pl.col("ds") <= origin)
    if "revenue" not in seen.columns:
        seen = seen.with_columns(revenue=pl.col("y"))
    revenue = seen.group_by("unique_id").agg(revenue=pl.col("revenue").sum())
    first_demand = seen.filter(pl.col("y") > 0).group_by("unique_id").agg(_first=pl.col("ds").min())
    panel = (
        fill_gaps(seen.select("unique_id", "ds", "y"), freq, end=origin)
        .join(first_demand, on="unique_id", how="left")
        .filter(pl.col("ds") >= pl.col("_first"))
    )
    stats = panel.group_by("unique_id").agg(
        history_buckets=pl.len(),
        _nonzero=(pl.col("y") > 0).sum(),
        _recent=pl.col("y").tail(r.inactive_after).sum(),
        cv=pl.col("y").std() / pl.col("y").mean(),
        cv2=(pl.col("y").filter(pl.col("y") > 0).std() / pl.col("y").filter(pl.col("y") > 0).mean()) ** 2,
    )
    stats = stats.with_columns(
        adi=pl.col("history_buckets") / pl.col("_nonzero"),
        cv=pl.col("cv").fill_null(0.0).fill_nan(0.0),
        cv2=pl.col("cv2").fill_null(0.0).fill_nan(0.0),
    )
    out = (
        _abc(revenue, r)
        .join(stats, on="unique_id", how="left")
        .with_columns(pl.col("history_buckets", "_nonzero", "_recent").fill_null(0))
    )
    return out.select(
        "unique_id",
        "abc",
        xyz=pl.when(pl.col("cv").is_null() | (pl.col("_nonzero") == 0))
        .then(pl.lit("Z"))
        .when(pl.col("cv") <= r.xyz_x)
        .then(pl.lit("X"))
        .when(pl.col("cv") <= r.xyz_y)
        .then(pl.lit("Y"))
        .otherwise(pl.lit("Z")),
        pattern=_pattern_expr(r),
        status=pl.when(pl.col("_recent") <= 0)
        .then(pl.lit("inactive"))
        .when(pl.col("history_buckets") < r.new_below)
        .then(pl.lit("new"))
        .otherwise(pl.lit("active")),
        history_buckets="history_buckets",
        revenue="revenue",
        revenue_share="revenue_share",
        cumulative_share="cumulative_share",
        cv="cv",
        adi="adi",
        cv2="cv2",
    ).sort("unique_id")


def select_models(
    classes: pl.DataFrame,
    *,
    overrides: Mapping[str, str] | None = None,
    rules: SelectionRules | None = None,
) -> pl.DataFrame:
    """Choose every SKU's model with the FC-2 matrix and say why.

    In order: a planner override wins; inactive -> ``zero``; new -> the baseline; intermittent ->
    ``croston_sba``; lumpy -> ``tsb``; smooth or erratic with enough history: class A -> ``ensemble``
    (TFT 0.6 + LightGBM 0.4), class B -> ``tft``; everything else (class C, short history) -> ``auto_ets``.
    A choice not in ``rules.available`` falls back to ``rules.fallback``, and the reason says so.

    Args:
        classes: output of :func:`classify`.
        overrides: model name per SKU chosen by a planner.
        rules: matrix settings.

    Returns:
        ``unique_id, model, reason``, one row per SKU.
    """
    r = rules or SelectionRules()
    chosen = [_choose(row, overrides or {}, r) for row in classes.iter_rows(named=True)]
    return pl.DataFrame(
        {"unique_id": classes["unique_id"], "model": [m for m, _ in chosen], "reason": [why for _, why in chosen]},
        schema={"unique_id": classes.schema["unique_id"], "model": pl.String, "reason": pl.String},
    )


def _choose(row: Mapping[str, object], overrides: Mapping[str, str], r: SelectionRules) -> tuple[str, str]:
    sku = row["unique_id"]
    if sku in overrides:
        return overrides[str(sku)], "planner override"
    model, reason = _matrix(row, r)
    if r.available is not None and model not in r.available and model != "zero":
        return r.fallback, f"{reason}; {model} not available, fell back to {r.fallback}"
    return model, reason


def _matrix(row: Mapping[str, object], r: SelectionRules) -> tuple[str, str]:
    history, pattern, abc = row["history_buckets"], row["pattern"], row["abc"]
    if row["status"] == "inactive":
        return "zero", "inactive: no demand in the last 52 buckets"
    if row["status"] == "new":
        if pattern in ("intermittent", "lumpy"):
            return r.new_intermittent_model, f"new: {history} buckets of history, {pattern}"
        return r.new_model, f"new: {history} buckets of history"
    if pattern == "intermittent":
        return "croston_sba", "intermittent demand (ADI above 1.32, CV² at most 0.49)"
    if pattern == "lumpy":
        return "tsb", "lumpy demand (ADI above 1.32, CV² above 0.49)"
    long_enough = int(history) >= r.min_history_tft  # type: ignore[call-overload]
    if abc == "A" and long_enough:
        return "ensemble", f"class A, {pattern}, {history} buckets of history"
    if abc == "B" and long_enough:
        return "tft", f"class B, {pattern}, {history} buckets of history"
    if abc == "C":
        return "auto_ets", f"class C, {pattern}"
    return "auto_ets", f"class {abc}, {pattern}, short history ({history} < {r.min_history_tft} buckets)"


def _abc(revenue: pl.DataFrame, r: ClassificationRules) -> pl.DataFrame:
    total = revenue["revenue"].sum()
    ranked = revenue.sort(["revenue", "unique_id"], descending=[True, False]).with_columns(
        revenue_share=pl.col("revenue") / total if total > 0 else pl.lit(0.0),
    )
    ranked = ranked.with_columns(cumulative_share=pl.col("revenue_share").cum_sum(), _rank=pl.int_range(pl.len()))
    return ranked.with_columns(
        abc=pl.when(pl.col("revenue") <= 0)
        .then(pl.lit("C"))
        .when((pl.col("cumulative_share") <= r.abc_a + 1e-12) | (pl.col("_rank") == 0))
        .then(pl.lit("A"))
        .when(pl.col("cumulative_share") <= r.abc_b + 1e-12)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    ).drop("_rank")


def _pattern_expr(r: ClassificationRules) -> pl.Expr:
    sparse, variable = pl.col("adi") > r.adi_cut, pl.col("cv2") > r.cv2_cut
    return (
        pl.when(pl.col("_nonzero") == 0)
        .then(pl.lit("none"))
        .when(sparse & variable)
        .then(pl.lit("lumpy"))
        .when(sparse)
        .then(pl.lit("intermittent"))
        .when(variable)
        .then(pl.lit("erratic"))
        .otherwise(pl.lit("smooth"))
    )
