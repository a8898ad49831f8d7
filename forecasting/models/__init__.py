"""Forecasting models behind one contract (:class:`~forecasting.models.base.Forecaster`).

``STATISTICAL_FLEET`` names the models fitted here today; :func:`get_model` builds one with its defaults.
The LightGBM global model is registered as ``lightgbm``, the TFT as ``tft`` (small CPU settings; see
:mod:`forecasting.models.tft` for training and inference apart); the ensemble will join under the name the
selection matrix already uses (``ensemble``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from forecasting.data import Freq
from forecasting.models.base import QUANTILES, Forecaster, ForecastError, forecast_from_origin
from forecasting.models.baselines import moving_average, moving_quantiles, naive, seasonal_naive
from forecasting.models.ets import auto_ets
from forecasting.models.intermittent import adida, croston_classic, croston_sba, imapa, tsb
from forecasting.models.lightgbm import lightgbm
from forecasting.models.zero import zero


def _tft() -> Forecaster:
    """The TFT with the small CPU settings (:func:`forecasting.models.tft.tft`)."""
    # imported here: torch, Lightning and pytorch-forecasting take seconds and ~450 MB to import, and most
    # users of this package (backtests of the statistical fleet, the pipeline's code location) never need them;
    # named apart so that it does not clash with the submodule ``forecasting.models.tft``
    from forecasting.models.tft import tft as small_tft

    return small_tft()


MODEL_FACTORIES: dict[str, Callable[[], Forecaster]] = {
    "seasonal_naive": seasonal_naive,
    "naive": naive,
    "moving_average": moving_average,
    "moving_quantiles": moving_quantiles,
    "auto_ets": auto_ets,
    "croston_classic": croston_classic,
    "croston_sba": croston_sba,
    "tsb": tsb,
    "adida": adida,
    "imapa": imapa,
    "zero": zero,
    "lightgbm": lightgbm,
    "tft": _tft,
}

#: Baselines, ETS and the intermittent family: the models this package fits today.
STATISTICAL_FLEET: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "auto_ets",
    "croston_classic",
    "croston_sba",
    "tsb",
    "adida",
    "imapa",
)


def get_model(name: str) -> Forecaster:
    """The model registered as ``name``, with default settings.

    Raises:
        KeyError: unknown name; the message lists the known ones.
    """
    try:
        return MODEL_FACTORIES[name]()
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODEL_FACTORIES))}") from None


def fit_predict_many(
    models: Sequence[Forecaster],
    train: pl.DataFrame,
    horizon: int,
    freq: Freq,
    quantiles: Sequence[float] = QUANTILES,
) -> pl.DataFrame:
    """Run several models on the same history; their forecasts stacked, told apart by ``model``."""
    return pl.concat([m.fit_predict(train, horizon, freq, quantiles) for m in models])


__all__ = [
    "MODEL_FACTORIES",
    "QUANTILES",
    "STATISTICAL_FLEET",
    "ForecastError",
    "Forecaster",
    "fit_predict_many",
    "forecast_from_origin",
    "get_model",
]
