"""Forecast a whole fleet of SKUs, each with the model the selection matrix chose (FC-2, FC-3).

This is the product's own forecast, the ``auto`` row of the benchmarks: every SKU gets the forecast of its
selected model; the class-A ``ensemble`` is the weighted quantile average of its members
(:mod:`forecasting.ensemble`); the baselines (seasonal naive, moving average) are computed for every SKU
as well, so each forecast can be judged against them.

Statistical models are fitted only on the SKUs that chose them. Global models (LightGBM, TFT) learn across
series, so they are fitted on every SKU with history and their forecasts kept for the SKUs that use them.
A model that raises is not silently replaced: the error names the model and the SKUs it was given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from forecasting.data import Freq
from forecasting.ensemble import DEFAULT_WEIGHTS, combine
from forecasting.models import get_model
from forecasting.models.base import QUANTILES, Forecaster, quantile_columns

#: Models that learn across series: fitted on the whole panel.
GLOBAL_MODELS: frozenset[str] = frozenset({"lightgbm", "tft", "tft_revenue"})

#: Always computed for every SKU (FC-3).
BASELINES: tuple[str, ...] = ("seasonal_naive", "moving_average")

ENSEMBLE = "ensemble"


class FleetError(RuntimeError):
    """A model failed on the SKUs it was given; the message names both."""


@dataclass(frozen=True)
class FleetForecast:
    """What :func:`forecast_fleet` returns.

    Attributes:
        selected: one row per SKU and bucket: ``unique_id, ds, model`` (the selected model) and the quantiles.
        members: every model's forecast that was computed (the selected ones, ensemble members and baselines),
            ``unique_id, ds, model`` and the quantiles.
        seconds: wall time per model.
    """

    selected: pl.DataFrame
    members: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def forecast_fleet(
    panel: pl.DataFrame,
    selection: pl.DataFrame,
    horizon: int,
    freq: Freq,
    *,
    models: Mapping[str, Forecaster] | None = None,
    weights: Mapping[str, float] | None = None,
    baselines: Sequence[str] = BASELINES,
    quantiles: Sequence[float] = QUANTILES,
    on_model: Callable[[str, int, float], None] | None = None,
) -> FleetForecast:
    """Forecast every SKU of ``selection`` with its model.

    Args:
        panel: history ``unique_id, ds, y`` (plus any feature columns the global models use), gaps filled.
        selection: ``unique_id, model`` (:func:`forecasting.classification.select_models`).
        horizon: buckets ahead.
        freq: ``"W"`` or ``"M"``.
        models: model objects by name, replacing the registered defaults (a trained TFT from the registry,
            a LightGBM with other settings ...).
        weights: ensemble member weights (default TFT 0.6 + LightGBM 0.4).
        baselines: models computed for every SKU besides its selected one.
        quantiles: quantile levels.
        on_model: called after each model with its name, SKU count and seconds (progress reporting).

    Returns:
        The selected forecast per SKU and every member forecast (:class:`FleetForecast`).

    Raises:
        FleetError: a model failed; the message names the model and how many SKUs it was given.
    """
    ensemble_weights = dict(weights or DEFAULT_WEIGHTS)
    chosen = selection.select("unique_id", "model").unique("unique_id", keep="last")
    skus_by_model: dict[str, set[str]] = {}
    for (chosen_model,), group in chosen.group_by("model"):
        skus_by_model[str(chosen_model)] = set(group["unique_id"].to_list())
    needed: dict[str, set[str]] = {name: set(skus) for name, skus in skus_by_model.items() if name != ENSEMBLE}
    for member in ensemble_weights:
        needed.setdefault(member, set()).update(skus_by_model.get(ENSEMBLE, set()))
    all_skus = set(chosen["unique_id"].to_list())
    for name in baselines:
        needed.setdefault(name, set()).update(all_skus)

    history = panel.filter(pl.col("unique_id").is_in(list(all_skus)))
    outputs: list[pl.DataFrame] = []
    seconds: dict[str, float] = {}
    for name in sorted(needed, key=lambda n: (n in GLOBAL_MODELS, n)):
        skus = needed[name]
        if not skus:
            continue
        model = (models or {}).get(name) or get_model(name)
        train = history if name in GLOBAL_MODELS else history.filter(pl.col("unique_id").is_in(list(skus)))
        started = time.perf_counter()
        try:
            forecast = model.fit_predict(train, horizon, freq, quantiles)
        except Exception as err:  # the model's own error, re-raised with what it was asked to do
            raise FleetError(f"model {name!r} failed on {len(skus)} SKUs: {err}") from err
        seconds[name] = time.perf_counter() - started
        if on_model:
            on_model(name, len(skus), seconds[name])
        outputs.append(forecast.filter(pl.col("unique_id").is_in(list(skus))).with_columns(model=pl.lit(name)))

    cols = quantile_columns(quantiles)
    members = pl.concat([o.select("unique_id", "ds", "model", *cols) for o in outputs], how="vertical_relaxed")
    if skus_by_model.get(ENSEMBLE):
        blended = combine(
            members.filter(pl.col("unique_id").is_in(list(skus_by_model[ENSEMBLE]))),
            ensemble_weights,
            name=ENSEMBLE,
            quantiles=quantiles,
        )
        members = pl.concat([members, blended.select(members.columns)], how="vertical_relaxed")
    selected = members.join(chosen, on=["unique_id", "model"], how="semi").sort("unique_id", "ds")
    return FleetForecast(selected=selected, members=members.sort("model", "unique_id", "ds"), seconds=seconds)
