import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pytest

from forecasting.backtest import backtest_origins, rolling_origin_backtest
from forecasting.classification import classify
from forecasting.data import Freq, shift_buckets
from forecasting.metrics import mape, mase, pinball, smape, wape
from forecasting.models import get_model
from forecasting.models.base import QUANTILES
from tests.forecasting.panels import mixed_panel

HORIZON = 13


@dataclass
class SpyModel:
    """Seasonal naive that records the last bucket of every history it is given."""

    name: str = "spy"
    seen: list[dt.date] = field(default_factory=list)

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        self.seen.append(train["ds"].max())  # type: ignore[arg-type]
        return get_model("naive").fit_predict(train, horizon, freq, quantiles).with_columns(model=pl.lit(self.name))


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return mixed_panel("W", 120, seed=11).filter(pl.col("unique_id") != "short")


def test_origins_step_back_from_the_last_bucket(panel: pl.DataFrame) -> None:
    last = panel["ds"].max()
    origins = backtest_origins(panel, "W", horizon=HORIZON, n_windows=3)
    assert origins == [shift_buckets(last, -HORIZON * k, "W") for k in (3, 2, 1)]  # type: ignore[arg-type]
    monthly = mixed_panel("M", 48)
    overlapping = backtest_origins(monthly, "M", horizon=6, n_windows=4, step=1)
    assert shift_buckets(overlapping[-1], 6, "M") == monthly["ds"].max()
    assert [shift_buckets(o, 1, "M") for o in overlapping[:-1]] == overlapping[1:]
    with pytest.raises(ValueError, match="positive"):
        backtest_origins(panel, "W", n_windows=0)


def test_each_window_scores_horizon_buckets_after_its_origin(panel: pl.DataFrame) -> None:
    result = rolling_origin_backtest(panel, ["naive"], "W", horizon=HORIZON, n_windows=3)
    origins = backtest_origins(panel, "W", horizon=HORIZON, n_windows=3)
    sizes = result.forecasts.group_by("window", "origin", "unique_id").agg(
        n=pl.len(), first=pl.col("ds").min(), last=pl.col("ds").max()
    )
    assert sizes.height == 3 * panel["unique_id"].n_unique()
    assert (sizes["n"] == HORIZON).all()
    for row in sizes.iter_rows(named=True):
        assert row["origin"] == origins[row["window"]]
        assert row["first"] == shift_buckets(row["origin"], 1, "W")
        assert row["last"] == shift_buckets(row["origin"], HORIZON, "W")
    actual = result.forecasts.join(panel, on=["unique_id", "ds"], suffix="_panel")
    assert actual["y"].equals(actual["y_panel"], check_names=False)


def test_no_window_sees_data_after_its_origin(panel: pl.DataFrame) -> None:
    spy = SpyModel()
    rolling_origin_backtest(panel, [spy], "W", horizon=HORIZON, n_windows=3)
    assert spy.seen == backtest_origins(panel, "W", horizon=HORIZON, n_windows=3)

    first_origin = backtest_origins(panel, "W", horizon=HORIZON, n_windows=3)[0]
    perturbed = panel.with_columns(
        y=pl.when(pl.col("ds") > first_origin).then(pl.col("y") * 7 + 300).otherwise(pl.col("y"))
    )
    models = ["seasonal_naive", "auto_ets", "croston_sba"]
    clean = rolling_origin_backtest(panel, models, "W", horizon=HORIZON, n_windows=3).forecasts
    dirty = rolling_origin_backtest(perturbed, models, "W", horizon=HORIZON, n_windows=3).forecasts
    quantile_cols = ["p10", "p25", "p50", "p75", "p90"]
    first_clean = clean.filter(pl.col("window") == 0).select("unique_id", "ds", "model", *quantile_cols)
    first_dirty = dirty.filter(pl.col("window") == 0).select("unique_id", "ds", "model", *quantile_cols)
    assert first_clean.equals(first_dirty)
    later = ~clean.filter(pl.col("window") == 2)["p50"].equals(dirty.filter(pl.col("window") == 2)["p50"])
    assert later, "the perturbation should reach the later windows, or the test proves nothing"


def test_metrics_per_series_model_and_class_match_a_direct_computation(panel: pl.DataFrame) -> None:
    classes = classify(panel, "W")
    result = rolling_origin_backtest(
        panel, ["naive", "moving_average"], "W", horizon=HORIZON, n_windows=3, classes=classes
    )
    origins = backtest_origins(panel, "W", horizon=HORIZON, n_windows=3)
    fc = result.forecasts
    for (model, uid), rows in fc.group_by("model", "unique_id"):
        y, p50 = rows["y"].to_numpy(), rows["p50"].to_numpy()
        mases = []
        for k, origin in enumerate(origins):
            window = rows.filter(pl.col("window") == k)
            insample = panel.filter((pl.col("unique_id") == uid) & (pl.col("ds") <= origin))["y"].to_numpy()
            mases.append(mase(window["y"].to_numpy(), window["p50"].to_numpy(), insample))
        got = result.by_series.filter((pl.col("model") == model) & (pl.col("unique_id") == uid)).row(0, named=True)
        assert got["windows"] == 3
        assert got["smape"] == pytest.approx(smape(y, p50))
        if np.abs(y).sum() > 0:
            assert got["wape"] == pytest.approx(wape(y, p50))
        expected_mape = mape(y, p50)
        assert got["mape"] is None if np.isnan(expected_mape) else got["mape"] == pytest.approx(expected_mape)
        assert got["pinball_p90"] == pytest.approx(pinball(y, rows["p90"].to_numpy(), 0.9))
        assert got["mase"] == pytest.approx(np.nanmean(mases))

    by_model = result.by_model.filter(pl.col("model") == "naive").row(0, named=True)
    naive = fc.filter(pl.col("model") == "naive")
    assert by_model["series"] == panel["unique_id"].n_unique()
    assert by_model["smape"] == pytest.approx(smape(naive["y"].to_numpy(), naive["p50"].to_numpy()))

    assert result.by_class is not None
    for row in result.by_class.iter_rows(named=True):
        members = classes.filter(pl.col(row["class_column"]) == row["class_value"])["unique_id"]
        rows = fc.filter((pl.col("model") == row["model"]) & pl.col("unique_id").is_in(members.implode()))
        assert row["series"] == members.len()
        assert row["wape"] == pytest.approx(wape(rows["y"].to_numpy(), rows["p50"].to_numpy()))
