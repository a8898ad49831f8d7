"""Forecasting benchmarks (issue 4): M4 Weekly and carparts accuracy, calibration, fleet speed.

- ``m4``: every model of the product on M4 Weekly (359 series, h = 13) and the ``auto`` selection; naive must
  reproduce the published Naive2 row (sMAPE 9.161, MASE 2.777) before the OWA means anything.
- ``carparts``: 2,674 monthly intermittent series, last 12 months held out (7 series with no earlier value are
  left out); ``auto`` against seasonal naive and Croston-SBA on MASE and on scaled pinball loss (mean pinball
  over the mean absolute in-sample value of each series, averaged over series).
- ``speed``: a generated fleet of 10,000 SKUs x 156 weeks (smooth, seasonal, intermittent and lumpy), the
  statistical fleet as the FC-2 matrix assigns it (ETS + intermittent family + baselines, quantiles included),
  and the LightGBM global model on the same panel; wall seconds and peak RSS.

Data come from ``../shared/data`` (never copied into the repository).
"""

from __future__ import annotations

import resource
import time

import numpy as np
import polars as pl

from fmrp.settings import project_root
from forecasting.bench import run_bench
from forecasting.classification import SelectionRules, classify, select_models
from forecasting.data import read_train_test, read_wide_csv, train_test_split
from forecasting.fleet import forecast_fleet
from forecasting.metrics import owa
from forecasting.models.lightgbm import LightGBMModel

DATA = project_root().parent / "shared" / "data"
NAIVE2 = (9.161, 2.777)
M4_MODELS = ("naive", "seasonal_naive", "moving_average", "auto_ets", "lightgbm")


def _rows(table: pl.DataFrame, owa_reference: tuple[float, float] | None = None) -> list[tuple[str, str]]:
    rows = []
    for r in table.iter_rows(named=True):
        text = f"sMAPE {r['smape']:.3f}  MASE {r['mase']:.3f}  pinball {r['pinball_mean']:.3f}"
        text += f"  P10-P90 {100 * r['coverage_p10_p90']:.1f}%  {r['seconds']:.1f} s"
        if owa_reference:
            text += f"  OWA {owa(r['smape'], r['mase'], *owa_reference):.3f}"
        rows.append((f"  {r['model']}", text))
    return rows


def m4() -> list[tuple[str, str]]:
    folder = DATA / "m4_weekly"
    train, test = read_train_test(folder / "Weekly-train.csv", folder / "Weekly-test.csv", "W")
    result = run_bench(train, test, "W", 13, models=M4_MODELS)
    naive = result.table.filter(pl.col("model") == "naive").row(0, named=True)
    auto = result.table.filter(pl.col("model") == "auto").row(0, named=True)
    return [
        ("M4 Weekly, 359 series, h = 13 (published Naive2: sMAPE 9.161, MASE 2.777)", ""),
        *_rows(result.table, NAIVE2),
        ("  Naive2 reproduced", f"{naive['smape']:.3f} / {naive['mase']:.3f}"),
        ("  auto OWA (target <= 0.85; M4 winner 0.851)", f"{owa(auto['smape'], auto['mase'], *NAIVE2):.3f}"),
    ]


def _scaled_pinball(forecasts: pl.DataFrame, test: pl.DataFrame, train: pl.DataFrame) -> pl.DataFrame:
    scale = train.group_by("unique_id").agg(_scale=pl.col("y").abs().mean())
    scored = forecasts.join(test, on=["unique_id", "ds"]).join(scale, on="unique_id").filter(pl.col("_scale") > 0)
    losses = []
    for q, column in ((0.1, "p10"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.9, "p90")):
        diff = pl.col("y") - pl.col(column)
        losses.append(pl.max_horizontal(q * diff, (q - 1) * diff))
    per_series = (
        scored.with_columns(_loss=pl.mean_horizontal(losses) / pl.col("_scale"))
        .group_by("model", "unique_id")
        .agg(pl.col("_loss").mean())
    )
    return per_series.group_by("model").agg(scaled_pinball=pl.col("_loss").mean())


def carparts() -> list[tuple[str, str]]:
    panel = read_wide_csv(DATA / "carparts" / "carparts.csv", "M")
    train, test = train_test_split(panel, 12)
    both = set(train["unique_id"].unique()) & set(test["unique_id"].unique())
    train = train.filter(pl.col("unique_id").is_in(list(both)))
    test = test.filter(pl.col("unique_id").is_in(list(both)))
    result = run_bench(train, test, "M", 12, models=("seasonal_naive", "croston_sba", "tsb", "auto_ets"))
    scaled = dict(_scaled_pinball(result.forecasts, test, train).iter_rows())
    rows = [(f"carparts, {len(both):,} series, monthly, last 12 held out (MASE m = 12)", "")]
    rows += _rows(result.table)
    for name in ("seasonal_naive", "croston_sba", "auto"):
        mase = result.table.filter(pl.col("model") == name)["mase"][0]
        rows.append((f"  {name}: MASE / scaled pinball", f"{mase:.3f} / {scaled[name]:.4f}"))
    return rows


def fleet_panel(skus: int = 10_000, weeks: int = 156, seed: int = 1) -> pl.DataFrame:
    """A generated fleet: a quarter each smooth, seasonal, intermittent and lumpy."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    kinds = rng.integers(0, 4, skus)
    level = rng.lognormal(3, 1, skus)[:, None]
    noise = rng.normal(0, 0.25, (skus, weeks))
    seasonal = 1 + 0.4 * np.sin(2 * np.pi * (t[None, :] + rng.uniform(0, 52, (skus, 1))) / 52)
    occurs = rng.random((skus, weeks)) < np.where(kinds >= 2, 0.25, 1.0)[:, None]
    sizes = np.where((kinds == 3)[:, None], rng.gamma(0.6, 1.6, (skus, weeks)), 1 + noise)
    shape = np.where((kinds == 1)[:, None], seasonal * (1 + noise), sizes)
    values = np.maximum(0, np.round(level * shape * occurs))
    ds = pl.date_range(pl.date(2023, 1, 2), pl.date(2023, 1, 2) + pl.duration(weeks=weeks - 1), "1w", eager=True)
    return pl.DataFrame(
        {
            "unique_id": np.repeat([f"SKU{k:05d}" for k in range(skus)], weeks),
            "ds": np.tile(ds.to_numpy(), skus),
            "y": values.ravel(),
        }
    ).with_columns(pl.col("ds").cast(pl.Date))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed() -> list[tuple[str, str]]:
    panel = fleet_panel()
    started = time.perf_counter()
    classes = classify(panel, "W")
    statistical = frozenset({"auto_ets", "croston_sba", "tsb", "moving_average", "seasonal_naive", "zero"})
    selection = select_models(classes, rules=SelectionRules(available=statistical, fallback="auto_ets"))
    fleet = forecast_fleet(panel, selection, 13, "W")
    fleet_seconds = time.perf_counter() - started
    counts = ", ".join(f"{m} {n}" for m, n in selection.group_by("model").len().sort("model").iter_rows())
    rss_fleet = _rss_mb()
    started = time.perf_counter()
    LightGBMModel().fit_predict(panel, 13, "W")
    lgb_seconds = time.perf_counter() - started
    return [
        ("statistical fleet, 10,000 SKUs x 156 weeks, with quantiles (target <= 60 s)", f"{fleet_seconds:.1f} s"),
        ("  models assigned by the FC-2 matrix", counts),
        (
            "  seconds per model (baselines run on every SKU)",
            ", ".join(f"{m} {s:.1f}" for m, s in fleet.seconds.items()),
        ),
        ("  peak RSS after the fleet", f"{rss_fleet:.0f} MB"),
        ("LightGBM global model, same panel, 5 quantiles, 1 thread (target <= 120 s)", f"{lgb_seconds:.1f} s"),
        ("  peak RSS (target <= 4 GB)", f"{_rss_mb():.0f} MB"),
    ]


def run() -> list[tuple[str, str]]:
    if not (DATA / "m4_weekly").exists():
        return [("forecasting", f"skipped: no benchmark data in {DATA}")]
    return [*m4(), *carparts(), *speed()]


if __name__ == "__main__":
    for measure, value in run():
        print(f"{measure:90s} {value}")
