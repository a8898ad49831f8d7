import datetime as dt

import numpy as np
import polars as pl
import pytest

from forecasting.data import Freq, future_frame, shift_buckets
from forecasting.models import MODEL_FACTORIES, STATISTICAL_FLEET, fit_predict_many, forecast_from_origin, get_model
from forecasting.models.base import ForecastError, finalize_quantiles, quantile_column
from tests.forecasting.panels import mixed_panel, series_frame

QUANTILE_COLUMNS = ["p10", "p25", "p50", "p75", "p90"]
LENGTHS: dict[str, int] = {"W": 104, "M": 48}
HORIZONS: dict[str, int] = {"W": 13, "M": 6}


@pytest.fixture(scope="module", params=["W", "M"])
def fleet_run(request: pytest.FixtureRequest) -> tuple[Freq, pl.DataFrame, pl.DataFrame]:
    freq: Freq = request.param
    panel = mixed_panel(freq, LENGTHS[freq])
    models = [get_model(name) for name in (*STATISTICAL_FLEET, "naive", "zero")]
    return freq, panel, fit_predict_many(models, panel, HORIZONS[freq], freq)


def test_every_model_forecasts_every_series_and_bucket(fleet_run: tuple[Freq, pl.DataFrame, pl.DataFrame]) -> None:
    freq, panel, forecasts = fleet_run
    expected = future_frame(panel, HORIZONS[freq], freq).sort("unique_id", "ds")
    for model, frame in forecasts.group_by("model"):
        keys = frame.select("unique_id", "ds").sort("unique_id", "ds")
        assert keys.equals(expected), f"{model} misses buckets"
    assert forecasts.columns == ["unique_id", "ds", "model", *QUANTILE_COLUMNS]


def test_quantiles_are_finite_non_negative_and_monotone(fleet_run: tuple[Freq, pl.DataFrame, pl.DataFrame]) -> None:
    _, _, forecasts = fleet_run
    values = forecasts.select(QUANTILE_COLUMNS).to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()


def test_quantiles_have_spread_where_demand_varies(fleet_run: tuple[Freq, pl.DataFrame, pl.DataFrame]) -> None:
    _, _, forecasts = fleet_run
    smooth = forecasts.filter((pl.col("unique_id") == "smooth") & (pl.col("model") != "zero"))
    assert (smooth["p90"] > smooth["p10"]).all()


def test_the_selection_names_are_registered() -> None:
    assert set(STATISTICAL_FLEET) <= set(MODEL_FACTORIES)
    with pytest.raises(KeyError, match="known models"):
        get_model("prophet")


@pytest.mark.parametrize("name", [*STATISTICAL_FLEET, "naive"])
def test_no_leakage_from_after_the_origin(name: str) -> None:
    panel = mixed_panel("W", 80, seed=3)
    origin = shift_buckets(panel.select(pl.col("ds").max()).item(), -13, "W")
    perturbed = panel.with_columns(y=pl.when(pl.col("ds") > origin).then(pl.col("y") * 10 + 500).otherwise(pl.col("y")))
    model = get_model(name)
    clean = forecast_from_origin(model, panel, origin, 13, "W")
    dirty = forecast_from_origin(model, perturbed, origin, 13, "W")
    assert clean.equals(dirty)
    assert clean.select(pl.col("ds").min()).item() > origin


def test_finalize_clips_and_sorts_quantiles() -> None:
    frame = pl.DataFrame(
        {
            "unique_id": ["a"],
            "ds": [dt.date(2024, 1, 1)],
            "model": ["m"],
            "p10": [-3.0],
            "p25": [5.0],
            "p50": [4.0],
            "p75": [6.0],
            "p90": [5.5],
        }
    )
    assert finalize_quantiles(frame).select(QUANTILE_COLUMNS).row(0) == (0.0, 4.0, 5.0, 5.5, 6.0)
    with pytest.raises(ForecastError, match="'m'"):
        finalize_quantiles(frame.with_columns(p50=pl.lit(float("nan"))))


def test_other_quantile_levels() -> None:
    panel = mixed_panel("W", 60)
    out = get_model("auto_ets").fit_predict(panel, 4, "W", quantiles=(0.05, 0.5, 0.95))
    assert out.columns == ["unique_id", "ds", "model", "p05", "p50", "p95"]
    assert quantile_column(0.025 * 2) == "p05"
    with pytest.raises(ValueError, match="whole percents"):
        quantile_column(0.333)


def test_moving_quantiles_is_the_window_distribution() -> None:
    values = [0.0] * 20 + [0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 0, 12, 0]  # last 13 weeks: 10 zeros, 3, 9, 12
    panel = series_frame("sparse", values, "W")
    forecast = get_model("moving_quantiles").fit_predict(panel, 4, "W")
    assert forecast.height == 4 and set(forecast["model"]) == {"moving_quantiles"}
    assert forecast["p50"].to_list() == [0.0] * 4  # the moving median
    expected_p90 = float(np.quantile([0] * 10 + [3, 9, 12], 0.9))
    assert forecast["p90"][0] == pytest.approx(expected_p90)
