import polars as pl
import pytest

from forecasting.fleet import FleetError, forecast_fleet
from forecasting.models.base import quantile_columns
from forecasting.models.lightgbm import LightGBMModel
from tests.forecasting.panels import mixed_panel

HORIZON = 8
FAST = {"lightgbm": LightGBMModel(n_estimators=20)}


def _selection(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"unique_id": list(mapping), "model": list(mapping.values())})


def test_every_sku_gets_its_selected_model_and_the_baselines() -> None:
    panel = mixed_panel("W", 104)
    chosen = {
        "smooth": "ensemble",
        "trend": "auto_ets",
        "intermittent": "croston_sba",
        "lumpy": "tsb",
        "dying": "zero",
        "short": "moving_average",
    }
    result = forecast_fleet(
        panel, _selection(chosen), HORIZON, "W", models=FAST, weights={"lightgbm": 0.5, "auto_ets": 0.5}
    )
    picked = result.selected.group_by("unique_id").agg(pl.col("model").first(), n=pl.len())
    assert dict(zip(picked["unique_id"], picked["model"], strict=True)) == chosen
    assert set(picked["n"]) == {HORIZON}
    baselines = result.members.filter(pl.col("model").is_in(["seasonal_naive", "moving_average"]))
    assert baselines.group_by("model").agg(pl.col("unique_id").n_unique())["unique_id"].to_list() == [6, 6]
    cols = quantile_columns()
    values = result.selected.select(cols).to_numpy()
    assert (values >= 0).all() and (values[:, :-1] <= values[:, 1:]).all()
    assert result.selected.filter(pl.col("unique_id") == "dying")["p90"].max() == 0


def test_the_ensemble_lies_between_its_members() -> None:
    panel = mixed_panel("W", 104)
    result = forecast_fleet(
        panel, _selection({"smooth": "ensemble"}), HORIZON, "W", models=FAST, weights={"lightgbm": 0.5, "auto_ets": 0.5}
    )
    wide = result.members.filter(pl.col("unique_id") == "smooth").pivot(on="model", index="ds", values="p50")
    low = wide.select(pl.min_horizontal("lightgbm", "auto_ets")).to_series()
    high = wide.select(pl.max_horizontal("lightgbm", "auto_ets")).to_series()
    assert ((wide["ensemble"] >= low - 1e-9) & (wide["ensemble"] <= high + 1e-9)).all()


def test_a_failing_model_is_named() -> None:
    class Broken:
        name = "auto_ets"

        def fit_predict(self, train, horizon, freq, quantiles=None):  # type: ignore[no-untyped-def]
            raise ValueError("singular matrix")

    with pytest.raises(FleetError, match="'auto_ets' failed on 1 SKUs: singular matrix"):
        forecast_fleet(mixed_panel("W", 60), _selection({"smooth": "auto_ets"}), 4, "W", models={"auto_ets": Broken()})
