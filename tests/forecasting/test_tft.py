import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from forecasting.data import DataError, Freq, future_frame, shift_buckets
from forecasting.metrics import mae
from forecasting.models import MODEL_FACTORIES, forecast_from_origin, get_model
from forecasting.models.tft import (
    ARTIFACT_FORMAT,
    MeanScaler,
    TFTArtifactError,
    TFTModel,
    TFTNotTrainedError,
    TFTSettings,
)
from tests.forecasting.panels import START, mixed_panel, series_frame

QUANTILE_COLUMNS = ["p10", "p25", "p50", "p75", "p90"]
#: Tiny network, one thread, a handful of batches: each fit takes a few seconds on a busy machine.
FAST = TFTSettings.small(num_threads=1)


def sized_panel(n_series: int = 16, length: int = 130, seed: int = 5) -> pl.DataFrame:
    """Seasonal series from about 3 to about 3,000 a week, with noise and a price per series."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        size = 10.0 ** (0.5 + 3.0 * i / (n_series - 1))
        shape = 1 + 0.3 * np.sin(2 * np.pi * (t + rng.integers(52)) / 52)
        frame = series_frame(f"s{i:02d}", size * shape * rng.gamma(8, 1 / 8, length), "W")
        price = 5.0 * (1 + i) * np.where(t >= length // 2, 1.1, 1.0)
        frames.append(frame.with_columns(price=pl.Series(price)))
    return pl.concat(frames)


def holidays(first: dt.date, weeks: int) -> pl.DataFrame:
    """A factory calendar: a holiday flag on the last two weeks of each year and weeks to the next one."""
    ds = pl.date_range(first, first + dt.timedelta(weeks=weeks - 1), "1w", eager=True)
    flag = ds.dt.week() >= 51
    return pl.DataFrame({"ds": ds, "holiday": flag.cast(pl.Int8), "weeks_to_holiday": (51 - ds.dt.week()).clip(0)})


def last_bucket(panel: pl.DataFrame) -> dt.date:
    last = panel["ds"].max()
    assert isinstance(last, dt.date)
    return last


def assert_contract(forecast: pl.DataFrame, history: pl.DataFrame, horizon: int, freq: Freq, name: str) -> None:
    assert forecast.columns == ["unique_id", "ds", "model", *QUANTILE_COLUMNS]
    expected = future_frame(history, horizon, freq).sort("unique_id", "ds")
    assert forecast.select("unique_id", "ds").equals(expected)
    assert forecast["model"].unique().to_list() == [name]
    values = forecast.select(QUANTILE_COLUMNS).to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()


@pytest.fixture(scope="module")
def weekly() -> tuple[TFTModel, pl.DataFrame]:
    """A weekly TFT trained once with a price, a category and a holiday calendar, on 6 mixed series."""
    panel = mixed_panel("W", 104).with_columns(
        price=10.0 + pl.col("ds").rank("dense").cast(pl.Float64) / 20,
        category=pl.when(pl.col("unique_id").is_in(["smooth", "trend"]))
        .then(pl.lit("bulk"))
        .otherwise(pl.lit("spare")),
    )
    model = TFTModel(FAST, calendar=holidays(START["W"], 160))
    model.fit(panel, "W", horizon=13)
    return model, panel


def test_weekly_forecast_meets_the_contract(weekly: tuple[TFTModel, pl.DataFrame]) -> None:
    model, panel = weekly
    assert model.trained is not None
    layout = model.trained.layout
    assert layout.static_columns == ("category",)
    assert layout.observed_columns == ("price",)
    assert layout.calendar_columns == ("holiday", "weeks_to_holiday")
    assert layout.encoder_length == 52
    assert_contract(model.predict(panel, 13, "W"), panel, 13, "W", "tft")
    shorter = model.predict(panel, 4, "W", quantiles=(0.1, 0.5, 0.9))
    assert shorter.columns == ["unique_id", "ds", "model", "p10", "p50", "p90"]
    assert shorter.height == 6 * 4


def test_monthly_fit_predict_meets_the_contract() -> None:
    panel = mixed_panel("M", 48)
    model = TFTModel(FAST)
    forecast = model.fit_predict(panel, 6, "M")
    assert_contract(forecast, panel, 6, "M", "tft")
    assert model.trained is not None and model.trained.layout.encoder_length == 24


def test_forecasts_follow_each_series_and_beat_seasonal_naive() -> None:
    panel = sized_panel()
    origin = shift_buckets(last_bucket(panel), -13, "W")
    actual = panel.filter(pl.col("ds") > origin)
    scaled_errors = {}
    for model in (TFTModel(FAST), get_model("seasonal_naive")):
        forecast = forecast_from_origin(model, panel, origin, 13, "W").join(actual, on=["unique_id", "ds"])
        scale = forecast.select(pl.col("y").mean().over("unique_id")).to_series().to_numpy()
        scaled_errors[model.name] = mae(forecast["y"].to_numpy() / scale, forecast["p50"].to_numpy() / scale)
        if model.name == "tft":
            ratio = forecast.group_by("unique_id").agg(r=pl.col("p50").mean() / pl.col("y").mean())["r"]
            # sizes span three orders of magnitude: a scaling slip would put ratios near 0.001 or 1000
            assert ratio.min() > 1 / 3 and ratio.max() < 3, ratio.sort().to_list()  # type: ignore[operator]
            inside = ((forecast["y"] >= forecast["p10"]) & (forecast["y"] <= forecast["p90"])).mean()
            assert 0.5 <= inside <= 1.0, inside  # type: ignore[operator]
    # even the tiny CPU network, a few batches in, reads the season better than last year's noise
    assert scaled_errors["tft"] < scaled_errors["seasonal_naive"], scaled_errors


def test_save_and_load_give_identical_forecasts(weekly: tuple[TFTModel, pl.DataFrame], tmp_path: Path) -> None:
    model, panel = weekly
    directory = model.save(tmp_path / "tft")
    assert sorted(p.name for p in directory.iterdir()) == ["tft.json", "weights.pt"]
    config = json.loads((directory / "tft.json").read_text())
    assert (config["format"], config["version"], config["freq"], config["horizon"]) == (ARTIFACT_FORMAT, 1, "W", 13)
    assert config["dataset"]["target_normalizer"] == "mean_scale"
    assert set(torch.load(directory / "weights.pt", weights_only=True)) == set(model.trained.network.state_dict())  # type: ignore[union-attr]

    loaded = TFTModel.load(directory, calendar=model.calendar)
    assert loaded.predict(panel, 13, "W").equals(model.predict(panel, 13, "W"))
    # the weekly run after a monthly training: newer history, a new SKU, forecast from the saved artifact
    later = pl.concat(
        [
            panel,
            panel.filter(pl.col("ds") > shift_buckets(last_bucket(panel), -4, "W")).with_columns(
                ds=pl.col("ds").dt.offset_by("4w")
            ),
            series_frame(
                "launched", [5.0, 7.0, 6.0], "W", start=shift_buckets(last_bucket(panel), 2, "W")
            ).with_columns(price=pl.lit(12.0), category=pl.lit("new-category")),
        ],
        how="diagonal",
    )
    from_artifact = loaded.predict(later, 13, "W")
    assert from_artifact.equals(model.predict(later, 13, "W"))
    assert_contract(from_artifact, later, 13, "W", "tft")
    with pytest.raises(TFTArtifactError, match="calendar"):
        TFTModel.load(directory)


def test_no_leakage_from_after_the_origin() -> None:
    panel = mixed_panel("W", 104, seed=3)
    origin = shift_buckets(last_bucket(panel), -13, "W")
    perturbed = panel.with_columns(y=pl.when(pl.col("ds") > origin).then(pl.col("y") * 10 + 500).otherwise(pl.col("y")))
    clean = forecast_from_origin(TFTModel(FAST), panel, origin, 13, "W")
    assert clean.equals(forecast_from_origin(TFTModel(FAST), perturbed, origin, 13, "W"))
    assert clean.select(pl.col("ds").min()).item() > origin


def test_revenue_target_reads_price_as_observed() -> None:
    panel = sized_panel(n_series=8, length=110, seed=6)
    model = TFTModel(TFTSettings.small(num_threads=1, target="revenue"))
    forecast = model.fit_predict(panel, 13, "W")
    assert model.name == "tft_revenue"
    assert_contract(forecast, panel, 13, "W", "tft_revenue")
    assert model.trained is not None
    assert model.trained.layout.unknown_reals == ["revenue", "y", "price"]
    recent = panel.filter(pl.col("ds") > shift_buckets(last_bucket(panel), -13, "W"))
    level = recent.group_by("unique_id").agg(revenue=(pl.col("y") * pl.col("price")).mean(), volume=pl.col("y").mean())
    ratio = forecast.group_by("unique_id").agg(p50=pl.col("p50").mean()).join(level, on="unique_id")
    # prices run from 5 to 40 per unit: forecasts in revenue, not in units
    assert ((ratio["p50"] / ratio["revenue"]).is_between(1 / 3, 3)).all(), ratio
    assert (ratio["p50"] > 3 * ratio["volume"]).all()


def test_series_shorter_than_the_encoder_get_forecasts() -> None:
    panel = pl.concat([series_frame(f"new{i}", np.arange(1.0, 9.0) * (i + 1), "W") for i in range(3)])
    model = TFTModel(FAST)
    forecast = model.fit_predict(panel, 13, "W")
    assert_contract(forecast, panel, 13, "W", "tft")
    assert model.trained is not None and model.trained.trained["samples"] == 3


def test_registered_with_small_cpu_settings() -> None:
    model = get_model("tft")
    assert "tft" in MODEL_FACTORIES
    assert isinstance(model, TFTModel)
    assert model.name == "tft"
    assert model.settings == TFTSettings.small()
    assert model.settings.accelerator == "cpu"
    production = TFTSettings.production()
    assert production.hidden_size > model.settings.hidden_size and production.accelerator == "auto"


def test_mean_scaler_uses_the_encoder_mean_and_survives_all_zero_windows() -> None:
    scaler = MeanScaler().fit(torch.tensor([0.0, 2.0, 4.0]))
    assert scaler.get_parameters().tolist() == [0.0, 2.0]
    assert MeanScaler().fit(torch.zeros(5)).get_parameters().tolist() == [0.0, 1.0]


def test_bad_input_is_refused_with_a_clear_error(weekly: tuple[TFTModel, pl.DataFrame]) -> None:
    model, panel = weekly
    with pytest.raises(DataError, match="lacks the columns"):
        TFTModel(FAST).fit(panel.drop("y"), "W")
    with pytest.raises(DataError, match="no rows"):
        TFTModel(FAST).fit(panel.clear(), "W")
    with pytest.raises(DataError, match="price"):
        TFTModel(TFTSettings.small(target="revenue")).fit(panel.drop("price"), "W")
    with pytest.raises(DataError, match="not a Monday"):
        TFTModel(FAST).fit(panel.with_columns(ds=pl.col("ds") + dt.timedelta(days=1)), "W")
    with pytest.raises(TFTNotTrainedError):
        TFTModel(FAST).predict(panel, 13, "W")
    with pytest.raises(DataError, match="price"):
        model.predict(panel.drop("price"), 13, "W")
    with pytest.raises(TFTArtifactError, match="1 to 13"):
        model.predict(panel, 26, "W")
    with pytest.raises(TFTArtifactError, match="freq"):
        model.predict(panel, 13, "M")
    with pytest.raises(TFTArtifactError, match="quantiles"):
        model.predict(panel, 13, "W", quantiles=(0.05, 0.5))
