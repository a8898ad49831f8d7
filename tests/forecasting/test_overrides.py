"""Planner overrides (FC-8): stored with an audit trail, one active per cell, revertible, applied to P50."""

import datetime as dt

import polars as pl
import psycopg
import pytest

from forecasting.overrides import OverrideError, add_override, apply_overrides, list_overrides, revert_override

MONDAY = dt.date(2026, 11, 16)


def test_add_replace_revert_keeps_the_trail(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        first = add_override(
            conn, sku="FG-1", bucket_start=MONDAY, p50=120, reason_category="promotion", created_by="ana"
        )
        second = add_override(
            conn, sku="FG-1", bucket_start=MONDAY, p50=150, reason_category="promotion", created_by="bia"
        )
        active = list_overrides(conn)
        assert active["override_id"].to_list() == [second]
        everything = list_overrides(conn, active_only=False)
        replaced = everything.filter(pl.col("override_id") == first)
        assert replaced["reverted_by"][0] == "bia" and replaced["reverted_at"][0] is not None
        revert_override(conn, second, reverted_by="carla")
        assert list_overrides(conn).is_empty()
        assert list_overrides(conn, active_only=False).height == 2
        with pytest.raises(OverrideError, match="already reverted"):
            revert_override(conn, second, reverted_by="carla")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p50": -1}, "p50 must be >= 0"),
        ({"reason_category": "gut feeling"}, "reason category 'gut feeling'"),
        ({"bucket_start": dt.date(2026, 11, 17)}, "start on Monday"),
        ({"created_by": " "}, "must name the planner"),
    ],
)
def test_bad_overrides_are_refused(database_url: str, kwargs: dict, message: str) -> None:
    args = {"sku": "FG-1", "bucket_start": MONDAY, "p50": 10.0, "reason_category": "other", "created_by": "ana"}
    with psycopg.connect(database_url, autocommit=True) as conn, pytest.raises(OverrideError, match=message):
        add_override(conn, **{**args, **kwargs})


def test_apply_rescales_the_other_quantiles() -> None:
    forecast = pl.DataFrame(
        {
            "unique_id": ["FG-1", "FG-1", "FG-2"],
            "ds": [MONDAY, MONDAY + dt.timedelta(weeks=1), MONDAY],
            "model": ["auto_ets"] * 3,
            "p10": [50.0, 50.0, 0.0],
            "p25": [80.0, 80.0, 0.0],
            "p50": [100.0, 100.0, 0.0],
            "p75": [120.0, 120.0, 0.0],
            "p90": [150.0, 150.0, 0.0],
        }
    )
    overrides = pl.DataFrame(
        {"override_id": [7, 8], "sku": ["FG-1", "FG-2"], "bucket_start": [MONDAY, MONDAY], "p50": [200.0, 30.0]}
    )
    out = apply_overrides(forecast, overrides).sort("unique_id", "ds")
    first = out.row(0, named=True)
    assert (first["p10"], first["p50"], first["p90"], first["p50_original"], first["override_id"]) == (
        100.0,
        200.0,
        300.0,
        100.0,
        7,
    )
    assert out.row(1, named=True)["override_id"] is None and out.row(1, named=True)["p50"] == 100.0
    zero_model = out.row(2, named=True)
    assert zero_model["p10"] == zero_model["p90"] == 30.0
