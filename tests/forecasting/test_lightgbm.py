import numpy as np
import polars as pl
import pytest

from forecasting.data import future_frame, shift_buckets
from forecasting.features import FeatureConfig
from forecasting.metrics import mae
from forecasting.models import MODEL_FACTORIES, forecast_from_origin, get_model
from forecasting.models.lightgbm import LightGBMModel
from tests.forecasting.panels import mixed_panel, series_frame

QUANTILE_COLUMNS = ["p10", "p25", "p50", "p75", "p90"]
#: Small and single-threaded so the suite stays quick on a busy machine.
FAST = LightGBMModel(n_estimators=40, num_threads=1)


def seasonal_panel(n_series: int = 24, length: int = 156, seed: int = 2) -> pl.DataFrame:
    """Mildly seasonal series of very different sizes with heavy noise: seasonal naive copies last year's noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        size = 10.0 ** rng.uniform(0.5, 3.5)
        shape = 1 + 0.3 * np.sin(2 * np.pi * (t + rng.integers(52)) / 52)
        frames.append(series_frame(f"s{i:02d}", size * shape * rng.gamma(4, 1 / 4, length), "W"))
    return pl.concat(frames)


@pytest.mark.parametrize(("freq", "length", "horizon"), [("W", 104, 13), ("M", 48, 6)])
def test_contract(freq: str, length: int, horizon: int) -> None:
    panel = mixed_panel(freq, length)  # type: ignore[arg-type]
    forecast = FAST.fit_predict(panel, horizon, freq)  # type: ignore[arg-type]
    assert forecast.columns == ["unique_id", "ds", "model", *QUANTILE_COLUMNS]
    expected = future_frame(panel, horizon, freq).sort("unique_id", "ds")  # type: ignore[arg-type]
    assert forecast.select("unique_id", "ds").equals(expected)
    values = forecast.select(QUANTILE_COLUMNS).to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()
    smooth = forecast.filter(pl.col("unique_id") == "smooth")
    assert (smooth["p90"] > smooth["p10"]).all()


def test_registered_with_small_thread_count() -> None:
    model = get_model("lightgbm")
    assert "lightgbm" in MODEL_FACTORIES
    assert isinstance(model, LightGBMModel)
    assert model.name == "lightgbm"
    assert model.num_threads == 1


def test_no_leakage_from_after_the_origin() -> None:
    panel = mixed_panel("W", 104, seed=3)
    origin = shift_buckets(panel["ds"].max(), -13, "W")  # type: ignore[arg-type]
    perturbed = panel.with_columns(y=pl.when(pl.col("ds") > origin).then(pl.col("y") * 10 + 500).otherwise(pl.col("y")))
    clean = forecast_from_origin(FAST, panel, origin, 13, "W")
    assert clean.equals(forecast_from_origin(FAST, perturbed, origin, 13, "W"))
    assert clean.select(pl.col("ds").min()).item() > origin


def test_deterministic() -> None:
    panel = mixed_panel("W", 104, seed=4)
    assert FAST.fit_predict(panel, 13, "W").equals(FAST.fit_predict(panel, 13, "W"))


def test_beats_seasonal_naive_on_noisy_seasonal_series() -> None:
    panel = seasonal_panel()
    origin = shift_buckets(panel["ds"].max(), -13, "W")  # type: ignore[arg-type]
    actual = panel.filter(pl.col("ds") > origin)
    scores = {}
    for model in (LightGBMModel(n_estimators=80, num_threads=1), get_model("seasonal_naive")):
        forecast = forecast_from_origin(model, panel, origin, 13, "W").join(actual, on=["unique_id", "ds"])
        scaled = forecast.with_columns(scale=pl.col("y").mean().over("unique_id"))
        scores[model.name] = mae(
            (scaled["y"] / scaled["scale"]).to_numpy(), (scaled["p50"] / scaled["scale"]).to_numpy()
        )
    assert scores["lightgbm"] < 0.9 * scores["seasonal_naive"], scores


def test_optional_columns_and_short_histories() -> None:
    panel = mixed_panel("W", 60).with_columns(
        price=10.0 + pl.col("ds").rank("dense").cast(pl.Float64) / 10,
        category=pl.when(pl.col("unique_id") == "smooth").then(pl.lit("bulk")).otherwise(pl.lit("spare")),
    )
    model = LightGBMModel(
        n_estimators=20, num_threads=1, features=FeatureConfig(static_columns=("category",), origin_columns=("price",))
    )
    assert model.fit_predict(panel, 13, "W").height == panel["unique_id"].n_unique() * 13
    tiny = series_frame("new", [3.0, 5.0, 4.0], "W")
    fallback = FAST.fit_predict(tiny, 4, "W")
    assert fallback.height == 4
    assert fallback["p50"].to_numpy() == pytest.approx(np.full(4, 4.0))
