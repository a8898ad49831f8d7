import numpy as np
import polars as pl
import pytest

from forecasting.ensemble import EnsembleError, combine, fit_weights, normalized, scale_width, width_factors
from forecasting.models.base import quantile_columns

COLS = quantile_columns()


def _forecast(model: str, p50: list[float], spread: float = 1.0) -> pl.DataFrame:
    n = len(p50)
    return pl.DataFrame(
        {
            "unique_id": ["a"] * n,
            "ds": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 1 + 7 * (n - 1)), "1w", eager=True),
            "model": [model] * n,
            **{c: [v + spread * k for v in p50] for k, c in zip((-2, -1, 0, 1, 2), COLS, strict=True)},
        }
    )


def test_combine_is_the_weighted_average_of_each_quantile() -> None:
    stacked = pl.concat([_forecast("tft", [10.0, 20.0]), _forecast("lightgbm", [20.0, 40.0])])
    out = combine(stacked, {"tft": 0.6, "lightgbm": 0.4})
    assert out["p50"].to_list() == pytest.approx([14.0, 28.0])
    assert out["p10"].to_list() == pytest.approx([12.0, 26.0])
    assert set(out["model"]) == {"ensemble"}


def test_a_sku_missing_a_member_uses_the_members_it_has() -> None:
    stacked = pl.concat([_forecast("tft", [10.0]), _forecast("lightgbm", [30.0]).with_columns(unique_id=pl.lit("b"))])
    out = combine(stacked, {"tft": 0.6, "lightgbm": 0.4}).sort("unique_id")
    assert out["p50"].to_list() == pytest.approx([10.0, 30.0])


def test_bad_weights_are_refused() -> None:
    with pytest.raises(EnsembleError, match="non-negative"):
        normalized({"tft": -1.0, "lightgbm": 2.0})
    with pytest.raises(EnsembleError, match="positive sum"):
        normalized({"tft": 0.0})
    with pytest.raises(EnsembleError, match="none of the ensemble members"):
        combine(_forecast("ets", [1.0]), {"tft": 1.0})


def test_fitted_weights_favour_the_member_that_was_right() -> None:
    actual = [10.0, 12.0, 11.0, 13.0]
    good = _forecast("good", actual, spread=0.5)
    bad = _forecast("bad", [v * 2 for v in actual], spread=0.5)
    backtest = pl.concat([good, bad]).join(good.select("unique_id", "ds", y=pl.Series(actual)), on=["unique_id", "ds"])
    weights = fit_weights(backtest, ["good", "bad"])
    assert weights == {"good": 1.0, "bad": 0.0}
    assert sum(weights.values()) == pytest.approx(1.0)


def test_equal_members_keep_equal_weights() -> None:
    a = _forecast("a", [10.0, 10.0])
    backtest = pl.concat([a, a.with_columns(model=pl.lit("b"))]).with_columns(y=pl.lit(10.0))
    assert fit_weights(backtest, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    with pytest.raises(EnsembleError, match="no backtest forecasts"):
        fit_weights(backtest, ["a", "c"])
    assert np.isclose(sum(fit_weights(backtest, ["a", "b"], step=0.25).values()), 1.0)


def test_width_factors_bring_the_interval_to_80_percent_and_scaling_keeps_the_contract() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.normal(100, 10, 2000)
    z90 = 1.2815515655446004
    too_wide = pl.DataFrame(
        {
            "model": "m",
            "y": y,
            "p10": 100 - 2 * z90 * 10,
            "p25": 90.0,
            "p50": 100.0,
            "p75": 110.0,
            "p90": 100 + 2 * z90 * 10,
        }
    )
    factor = width_factors(too_wide)["m"]
    assert factor == pytest.approx(0.5, abs=0.051)  # twice too wide -> half
    scaled = scale_width(too_wide.with_columns(p10=pl.lit(-5.0)), 0.5)
    assert (scaled["p10"] >= 0).all() and (scaled["p25"] <= scaled["p50"]).all()
    assert scaled["p90"][0] == pytest.approx(100 + z90 * 10)
    right = too_wide.with_columns(p10=pl.lit(100 - z90 * 10), p90=pl.lit(100 + z90 * 10))
    assert width_factors(right)["m"] == pytest.approx(1.0, abs=0.051)
