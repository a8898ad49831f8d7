from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from forecasting.data import shift_buckets
from forecasting.models import forecast_from_origin
from forecasting.models._statsforecast import StatsForecastModel
from forecasting.models.intermittent import croston_sba, tsb
from tests.forecasting.panels import series_frame


def intermittent_panel(n_series: int = 60, length: int = 120, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        sizes = rng.gamma(rng.uniform(0.5, 4), rng.uniform(2, 20), length)
        frames.append(series_frame(f"i{i:02d}", np.round(sizes * (rng.random(length) < rng.uniform(0.1, 0.6))), "W"))
    return pl.concat(frames)


@pytest.mark.parametrize("factory", [croston_sba, tsb])
def test_empirical_quantiles_center_on_the_median_and_cover_the_tails(
    factory: Callable[..., StatsForecastModel],
) -> None:
    panel = intermittent_panel()
    origin = shift_buckets(panel["ds"].max(), -13, "W")  # type: ignore[arg-type]
    empirical = forecast_from_origin(factory(), panel, origin, 13, "W")
    conformal = forecast_from_origin(factory(intervals="conformal"), panel, origin, 13, "W")
    # P50 is a median, not the mean rate the point forecast is: at most half the actuals lie on either side
    scored = empirical.join(panel, on=["unique_id", "ds"])
    assert scored.select((pl.col("y") <= pl.col("p50")).mean()).item() >= 0.45
    assert scored.select((pl.col("y") >= pl.col("p50")).mean()).item() >= 0.45
    assert (empirical["p50"] <= conformal["p50"] + 1e-9).mean() > 0.9  # right-skewed sizes: median below the mean
    # Every series has at least 40% zeros, so P10 is 0 and only the upper tail can miss.
    assert (scored["p10"] == 0).all()
    above = scored.select((pl.col("y") > pl.col("p90")).mean()).item()
    conformal_above = conformal.join(panel, on=["unique_id", "ds"]).select((pl.col("y") > pl.col("p90")).mean()).item()
    assert 0.04 <= above <= 0.16
    assert above < conformal_above
