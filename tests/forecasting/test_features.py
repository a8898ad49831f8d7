import datetime as dt

import numpy as np
import polars as pl
import pytest

from forecasting.data import shift_buckets
from forecasting.features import (
    FeatureConfig,
    check_columns,
    feature_names,
    last_origins,
    origin_features,
    prepare_panel,
    training_rows,
)
from tests.forecasting.panels import mixed_panel, series_frame

CONFIG = FeatureConfig()


def _features_at(history: pl.DataFrame, uid: str, position: int, horizon: int) -> pl.DataFrame:
    panel = prepare_panel(history, CONFIG)
    start = panel.starts[panel.ids.index(uid)]
    origin = np.full(horizon, start + position)
    return origin_features(panel, origin, np.arange(1, horizon + 1), "W", CONFIG)


def test_lags_reach_only_to_the_origin_and_scale_by_the_level() -> None:
    values = np.arange(1.0, 81.0)
    history = series_frame("a", values, "W")
    frame = _features_at(history, "a", 59, 13)
    level = values[47:60].mean()
    assert frame["level"].to_numpy() == pytest.approx(np.full(13, level))
    for h, row in enumerate(frame.iter_rows(named=True), start=1):
        assert row["ds"] == shift_buckets(history["ds"][59], h, "W")
        assert row["step"] == h
        assert row["last"] == pytest.approx(values[59] / level)
        assert row["roll_mean_4"] == pytest.approx(values[56:60].mean() / level)
        assert row["roll_std_13"] == pytest.approx(values[47:60].std(ddof=1) / level)
        assert row["week"] == row["ds"].isocalendar().week
        for k in (1, 2, 4, 8, 13, 26, 52):
            if k >= h:
                assert row[f"lag_{k}"] == pytest.approx(values[59 + h - k] / level)
            else:
                assert np.isnan(row[f"lag_{k}"])


def test_features_at_an_origin_ignore_everything_after_it() -> None:
    panel = mixed_panel("W", 104, seed=5)
    rng = np.random.default_rng(0)
    for uid in ("smooth", "intermittent", "dying"):
        for position in rng.integers(0, 90, size=4):
            origin_day = panel.filter(pl.col("unique_id") == uid)["ds"][int(position)]
            perturbed = panel.with_columns(
                y=pl.when(pl.col("ds") > origin_day).then(pl.col("y") * 13 + 999).otherwise(pl.col("y"))
            )
            truncated = panel.filter(pl.col("ds") <= origin_day)
            clean = _features_at(truncated, uid, int(position), 13)
            assert clean.equals(_features_at(perturbed, uid, int(position), 13))
            assert clean.equals(_features_at(panel, uid, int(position), 13))


def test_training_targets_are_observed_recent_and_capped() -> None:
    panel = prepare_panel(mixed_panel("W", 104), CONFIG)
    ends = panel.starts[1:] - 1
    origins, steps, target = training_rows(panel, 13, max_history=52, max_rows=10_000, seed=0)
    series = panel.series[origins]
    assert (origins + steps <= ends[series]).all()
    assert (ends[series] - origins <= 52).all()
    assert target == pytest.approx(panel.y[origins + steps] / panel.level[origins])
    capped, _, _ = training_rows(panel, 13, max_history=52, max_rows=100, seed=0)
    assert capped.size == 100
    assert np.array_equal(capped, training_rows(panel, 13, max_history=52, max_rows=100, seed=0)[0])
    future_origins, future_steps = last_origins(panel, 13)
    assert np.array_equal(future_origins[::13], ends)
    assert np.array_equal(future_steps[:13], np.arange(1, 14))


def test_scaling_makes_small_and_large_series_look_alike() -> None:
    values = np.random.default_rng(1).poisson(20, 60).astype(float)
    history = pl.concat([series_frame("small", values, "W"), series_frame("large", values * 1000, "W")])
    small = _features_at(history, "small", 50, 13)
    large = _features_at(history, "large", 50, 13)
    same = [c for c in feature_names(small) if c != "log_level"]
    np.testing.assert_allclose(small.select(same).to_numpy(), large.select(same).to_numpy())
    assert (large["log_level"] > small["log_level"]).all()


def test_optional_price_category_and_calendar_columns() -> None:
    history = mixed_panel("W", 60).with_columns(
        price=pl.col("ds").rank("dense").cast(pl.Float64) + 10.0,
        category=pl.when(pl.col("unique_id").is_in(["smooth", "trend"]))
        .then(pl.lit("bulk"))
        .otherwise(pl.lit("spare")),
    )
    calendar = pl.DataFrame({"ds": history["ds"].unique().sort()}).with_columns(
        holiday=(pl.col("ds").dt.month() == 12).cast(pl.Float64)
    )
    last: dt.date = history["ds"].max()  # type: ignore[assignment]
    future_days = [shift_buckets(last, h, "W") for h in range(1, 14)]
    calendar = pl.concat([calendar, pl.DataFrame({"ds": future_days, "holiday": 1.0})])
    config = FeatureConfig(static_columns=("category",), origin_columns=("price",), calendar=calendar)
    panel = prepare_panel(history, config)
    frame = origin_features(panel, *last_origins(panel, 13), "W", config)
    assert {"price", "price_change", "category", "holiday"} <= set(feature_names(frame))
    assert (frame["price"] == 70.0).all()
    assert frame["price_change"].to_numpy() == pytest.approx(np.full(frame.height, 70.0 / 66.0 - 1.0))
    assert (frame["holiday"] == 1.0).all()
    assert set(frame["category"].to_list()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="price"):
        check_columns(history.drop("price"), config)
