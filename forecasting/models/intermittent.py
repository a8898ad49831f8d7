"""Intermittent-demand models (FC-3) through statsforecast, with conformal quantiles.

statsforecast fits Croston classic and SBA, TSB, ADIDA and IMAPA as point forecasts only; each one here is
wrapped in conformal intervals built from its own errors over ``n_windows`` rolling origins of ``horizon``
buckets, so every series gets calibrated P10..P90 like the other models.
"""

from __future__ import annotations

from statsforecast.models import ADIDA, IMAPA, TSB, CrostonClassic, CrostonSBA
from statsforecast.utils import ConformalIntervals

from forecasting.data import Freq
from forecasting.models._statsforecast import StatsForecastModel


def croston_classic(*, n_windows: int = 3) -> StatsForecastModel:
    """Croston's method: smoothed demand size over smoothed interval."""

    def build(_: Freq, conformal: ConformalIntervals | None) -> CrostonClassic:
        return CrostonClassic(alias="croston_classic", prediction_intervals=conformal)

    return StatsForecastModel(name="croston_classic", build=build, n_windows=n_windows)


def croston_sba(*, n_windows: int = 3) -> StatsForecastModel:
    """Syntetos-Boylan approximation: Croston debiased by ``1 - alpha/2``."""

    def build(_: Freq, conformal: ConformalIntervals | None) -> CrostonSBA:
        return CrostonSBA(alias="croston_sba", prediction_intervals=conformal)

    return StatsForecastModel(name="croston_sba", build=build, n_windows=n_windows)


def tsb(alpha_d: float = 0.1, alpha_p: float = 0.1, *, n_windows: int = 3) -> StatsForecastModel:
    """Teunter-Syntetos-Babai: smooths the demand probability every bucket, so obsolescence shows."""

    def build(_: Freq, conformal: ConformalIntervals | None) -> TSB:
        return TSB(alpha_d=alpha_d, alpha_p=alpha_p, alias="tsb", prediction_intervals=conformal)

    return StatsForecastModel(name="tsb", build=build, n_windows=n_windows)


def adida(*, n_windows: int = 3) -> StatsForecastModel:
    """ADIDA: SES on demand aggregated over the mean inter-demand interval, disaggregated evenly."""

    def build(_: Freq, conformal: ConformalIntervals | None) -> ADIDA:
        return ADIDA(alias="adida", prediction_intervals=conformal)

    return StatsForecastModel(name="adida", build=build, n_windows=n_windows)


def imapa(*, n_windows: int = 3) -> StatsForecastModel:
    """IMAPA: ADIDA over several aggregation levels, averaged."""

    def build(_: Freq, conformal: ConformalIntervals | None) -> IMAPA:
        return IMAPA(alias="imapa", prediction_intervals=conformal)

    return StatsForecastModel(name="imapa", build=build, n_windows=n_windows)
