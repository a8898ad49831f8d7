import datetime as dt

import numpy as np
import polars as pl
import pytest

from forecasting.classification import SelectionRules, classify, select_models
from tests.forecasting.panels import START, series_frame

RNG = np.random.default_rng(11)
N = 104


def _sku(uid: str, values: np.ndarray | list[float], price: float = 1.0, start: dt.date | None = None) -> pl.DataFrame:
    frame = series_frame(uid, values, "W", start=start)
    return frame.with_columns(revenue=pl.col("y") * price)


def _panel() -> pl.DataFrame:
    last = START["W"] + dt.timedelta(weeks=N - 1)
    return pl.concat(
        [
            # smooth: demand every week, low variation; 800 of ~1000 revenue shares go to it
            _sku("smooth", 100 + RNG.normal(0, 5, N), price=8.0),
            # erratic: demand every week, sizes vary a lot
            _sku("erratic", np.r_[np.tile([1.0, 30.0], N // 2)], price=1.0),
            # intermittent: one week in three, steady size
            _sku("intermittent", np.tile([5.0, 0.0, 0.0], N // 3 + 1)[:N], price=1.0),
            # lumpy: one week in four, sizes from 1 to 40
            _sku("lumpy", np.tile([40.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], N // 8), price=1.0),
            # new: 8 weeks of history, ending on the panel's last week
            _sku("new", [3.0] * 8, start=last - dt.timedelta(weeks=7)),
            # inactive: demand long ago, nothing in the last 60 weeks
            _sku("inactive", np.r_[[4.0] * (N - 60), [0.0] * 60]),
        ]
    )


def test_syntetos_boylan_patterns_and_status() -> None:
    classes = classify(_panel(), "W").sort("unique_id")
    by_id = {row["unique_id"]: row for row in classes.iter_rows(named=True)}
    assert by_id["smooth"]["pattern"] == "smooth"
    assert by_id["erratic"]["pattern"] == "erratic"
    assert by_id["intermittent"]["pattern"] == "intermittent"
    assert by_id["intermittent"]["adi"] == pytest.approx(N / 35, rel=0.01)
    assert by_id["lumpy"]["pattern"] == "lumpy"
    assert by_id["new"]["status"] == "new"
    assert by_id["new"]["history_buckets"] == 8
    assert by_id["inactive"]["status"] == "inactive"
    assert {by_id[s]["status"] for s in ("smooth", "erratic", "intermittent", "lumpy")} == {"active"}


def test_xyz_by_coefficient_of_variation() -> None:
    weeks = 30
    panel = pl.concat(
        [
            series_frame("x", 10 + RNG.normal(0, 1, weeks), "W"),  # CV ≈ 0.1
            series_frame("y", np.tile([5.0, 15.0, 2.0, 18.0], 8)[:weeks], "W"),  # CV ≈ 0.7
            series_frame("z", np.tile([0.0, 0.0, 0.0, 40.0], 8)[:weeks], "W"),  # CV ≈ 1.7
        ]
    )
    classes = classify(panel, "W")
    assert dict(classes.select("unique_id", "xyz").iter_rows()) == {"x": "X", "y": "Y", "z": "Z"}


def test_abc_by_cumulative_revenue_share() -> None:
    revenue = {"a1": 500.0, "a2": 300.0, "b1": 100.0, "b2": 50.0, "c1": 30.0, "c2": 20.0}
    panel = pl.concat([_sku(uid, [r / 4] * 4) for uid, r in revenue.items()])
    classes = classify(panel, "W")
    assert dict(classes.select("unique_id", "abc").iter_rows()) == {
        "a1": "A",
        "a2": "A",  # 80% exactly is still A
        "b1": "B",
        "b2": "B",  # 95% exactly is still B
        "c1": "C",
        "c2": "C",
    }


def test_a_dominant_sku_is_class_a() -> None:
    panel = pl.concat([_sku("big", [90.0] * 4), _sku("small", [10.0] * 4)])
    assert dict(classify(panel, "W").select("unique_id", "abc").iter_rows()) == {"big": "A", "small": "C"}


def test_classification_ignores_everything_after_as_of() -> None:
    panel = _panel()
    as_of = START["W"] + dt.timedelta(weeks=60)
    before = classify(panel, "W", as_of=as_of)
    perturbed = panel.with_columns(
        pl.when(pl.col("ds") > as_of).then(pl.col("y") * 7 + 3).otherwise(pl.col("y")).alias("y")
    )
    assert classify(perturbed, "W", as_of=as_of).equals(before)


def test_selection_matrix_gives_every_sku_a_model_and_a_reason() -> None:
    classes = classify(_panel(), "W")
    chosen = select_models(classes)
    assert chosen.height == classes.height
    models = dict(chosen.select("unique_id", "model").iter_rows())
    assert models["intermittent"] == "croston_sba"
    assert models["lumpy"] == "tsb"
    assert models["new"] == "moving_average"
    assert models["inactive"] == "zero"
    assert models["smooth"] == "ensemble"  # class A, smooth, 104 weeks
    assert chosen.select(pl.col("reason").str.len_chars().min()).item() > 0


def test_matrix_by_class_and_history() -> None:
    classes = pl.DataFrame(
        {
            "unique_id": ["a_long", "a_short", "b_long", "c_long"],
            "abc": ["A", "A", "B", "C"],
            "pattern": ["smooth", "erratic", "smooth", "smooth"],
            "status": ["active"] * 4,
            "history_buckets": [52, 20, 52, 52],
        }
    )
    models = dict(select_models(classes).select("unique_id", "model").iter_rows())
    assert models == {"a_long": "ensemble", "a_short": "auto_ets", "b_long": "tft", "c_long": "auto_ets"}


def test_override_wins_and_unavailable_models_fall_back_with_the_reason() -> None:
    classes = classify(_panel(), "W")
    rules = SelectionRules(available=frozenset({"auto_ets", "croston_sba", "tsb", "moving_average"}))
    chosen = select_models(classes, overrides={"lumpy": "imapa"}, rules=rules)
    rows = {r["unique_id"]: r for r in chosen.iter_rows(named=True)}
    assert rows["lumpy"]["model"] == "imapa"
    assert rows["lumpy"]["reason"] == "planner override"
    assert rows["smooth"]["model"] == "auto_ets"
    assert "ensemble not available" in rows["smooth"]["reason"]
    assert rows["inactive"]["model"] == "zero"


def test_monthly_classification() -> None:
    panel = pl.concat(
        [
            series_frame("steady", 50 + RNG.normal(0, 2, 36), "M"),
            series_frame("sparse", np.tile([6.0, 0.0, 0.0], 12), "M"),
        ]
    )
    classes = classify(panel, "M")
    assert dict(classes.select("unique_id", "pattern").iter_rows()) == {"sparse": "intermittent", "steady": "smooth"}
    assert classes.filter(pl.col("unique_id") == "steady")["history_buckets"].item() == 36


def test_new_skus_get_a_baseline_that_fits_their_pattern() -> None:
    classes = pl.DataFrame(
        {
            "unique_id": ["new_smooth", "new_sparse", "new_lumpy"],
            "abc": ["B", "C", "C"],
            "pattern": ["smooth", "intermittent", "lumpy"],
            "status": ["new"] * 3,
            "history_buckets": [8, 8, 8],
        }
    )
    chosen = select_models(classes)
    models = dict(chosen.select("unique_id", "model").iter_rows())
    assert models == {"new_smooth": "moving_average", "new_sparse": "moving_quantiles", "new_lumpy": "moving_quantiles"}
    assert "intermittent" in chosen.filter(pl.col("unique_id") == "new_sparse")["reason"][0]
