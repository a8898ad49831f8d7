import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from forecasting import metrics
from forecasting.data import read_train_test
from forecasting.models import get_model

M4_WEEKLY = Path("/work/shared/data/m4_weekly")


def test_smape_by_hand() -> None:
    # 200·|100−110|/210 = 9.5238..., 200·|50−40|/90 = 22.222..., both zero counts as 0
    assert metrics.smape([100, 50, 0], [110, 40, 0]) == pytest.approx((2000 / 210 + 2000 / 90 + 0) / 3)


def test_mase_by_hand_with_seasonal_period() -> None:
    insample = [1.0, 3.0, 2.0, 4.0]
    assert metrics.mase_scale(insample, 1) == pytest.approx((2 + 1 + 2) / 3)
    assert metrics.mase_scale(insample, 2) == pytest.approx((1 + 1) / 2)
    assert metrics.mase([5.0, 6.0], [4.0, 8.0], insample, m=2) == pytest.approx(1.5 / 1.0)
    assert np.isnan(metrics.mase([1.0], [1.0], [2.0, 2.0, 2.0]))


def test_point_metrics_by_hand() -> None:
    y, yhat = [10.0, 0.0, 20.0], [12.0, 1.0, 15.0]
    assert metrics.mae(y, yhat) == pytest.approx(8 / 3)
    assert metrics.rmse(y, yhat) == pytest.approx(np.sqrt((4 + 1 + 25) / 3))
    assert metrics.wape(y, yhat) == pytest.approx(100 * 8 / 30)
    assert metrics.mape(y, yhat) == pytest.approx(100 * (0.2 + 0.25) / 2)  # the zero actual is skipped
    assert metrics.bias(y, yhat) == pytest.approx(100 * (2 + 1 - 5) / 30)


def test_pinball_and_coverage_by_hand() -> None:
    y = [10.0, 10.0]
    assert metrics.pinball(y, [8.0, 12.0], 0.9) == pytest.approx((0.9 * 2 + 0.1 * 2) / 2)
    assert metrics.pinball(y, [8.0, 12.0], 0.1) == pytest.approx((0.1 * 2 + 0.9 * 2) / 2)
    assert metrics.coverage([1.0, 5.0, 9.0, 10.0], [0, 4, 9.5, 10], [2, 6, 12, 10]) == 0.75


def test_owa_of_naive2_is_one() -> None:
    assert metrics.owa(9.161, 2.777, 9.161, 2.777) == 1.0
    assert metrics.owa(4.5805, 2.777, 9.161, 2.777) == pytest.approx(0.75)


def test_evaluate_matches_the_array_functions() -> None:
    day = dt.date(2024, 1, 1)
    weeks = [day + dt.timedelta(weeks=i) for i in range(6)]
    insample = pl.DataFrame({"unique_id": ["a"] * 4 + ["b"] * 4, "ds": weeks[:4] * 2, "y": [1.0, 3, 2, 4, 5, 5, 6, 7]})
    actuals = pl.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": weeks[4:] * 2, "y": [5.0, 6, 0, 8]})
    p50 = [4.0, 8, 1, 7]
    fc = actuals.select("unique_id", "ds").with_columns(
        model=pl.lit("m"),
        p10=pl.Series([3.0, 5, 0, 6]),
        p25=pl.Series(p50) - 0.5,
        p50=pl.Series(p50),
        p75=pl.Series(p50) + 0.5,
        p90=pl.Series([6.0, 9, 2, 7.5]),
    )
    row = metrics.evaluate(fc, actuals, insample, m=1).row(0, named=True)
    y = [5.0, 6, 0, 8]
    assert row["smape"] == pytest.approx(metrics.smape(y, p50))
    expected_mase = np.mean([metrics.mase([5, 6], [4, 8], [1, 3, 2, 4]), metrics.mase([0, 8], [1, 7], [5, 5, 6, 7])])
    assert row["mase"] == pytest.approx(expected_mase)
    assert row["wape"] == pytest.approx(metrics.wape(y, p50))
    assert row["mape"] == pytest.approx(metrics.mape(y, p50))
    assert row["rmse"] == pytest.approx(metrics.rmse(y, p50))
    assert row["bias"] == pytest.approx(metrics.bias(y, p50))
    assert row["pinball_p90"] == pytest.approx(metrics.pinball(y, [6.0, 9, 2, 7.5], 0.9))
    assert row["coverage_p10_p90"] == pytest.approx(0.75)
    assert row["series"] == 2


@pytest.mark.skipif(not M4_WEEKLY.exists(), reason="no M4 Weekly data at /work/shared/data")
def test_naive_reproduces_the_published_m4_weekly_naive2_row() -> None:
    train, test = read_train_test(M4_WEEKLY / "Weekly-train.csv", M4_WEEKLY / "Weekly-test.csv", "W")
    forecast = get_model("naive").fit_predict(train, 13, "W")
    row = metrics.evaluate(forecast, test, train, m=1).row(0, named=True)
    assert row["series"] == 359
    assert round(row["smape"], 3) == 9.161
    assert round(row["mase"], 3) == 2.777
