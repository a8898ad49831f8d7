"""The monthly plan through Dagster: ``monthly_plan_job`` for one origin month on a small hand-made warehouse.

The warehouse is the synthetic plant of tests/mrp/test_plan_inputs.py (the marts, history views and snapshots a
plan reads, without dbt) with four years of monthly demand for its two finished goods in ``marts.demand_monthly``.
Its origin 2025-12-01 is a Monday and the first of a month: the weekly plans of that origin and of 2025-12-29 are
stored first, and the monthly partition must leave every one of their rows as it was. The registry holds a TFT
champion trained on weeks (a dummy artifact): the monthly forecasts must neither choose nor load it.
"""

from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import psycopg
import pytest
from psycopg import sql

from fmrp.settings import get_settings
from forecasting.data import shift_buckets
from forecasting.registry import ModelStore, Registry
from mrp import store
from mrp.runs import load_plan_inputs, plan_origin, read_alerts, read_proposals, store_plan
from tests.mrp.test_plan_inputs import LATER, ORIGIN, WEEKS, build_warehouse
from tests.mrp.warehouse import write_relation

HORIZON = 6
MONTHS = [shift_buckets(ORIGIN, k, "M") for k in range(1, HORIZON + 1)]  # 2026-01-01 .. 2026-06-01
PRICES = {"FG1": 40.0, "FG2": 60.0}


def monthly_demand(months: int = 48, seed: int = 3) -> pl.DataFrame:
    """``marts.demand_monthly``'s columns: a seasonal FG1 around 85 a month and a flat FG2 around 50."""
    rng = np.random.default_rng(seed)
    starts = [shift_buckets(ORIGIN, -k, "M") for k in reversed(range(months))]
    season = 10 * np.sin(2 * np.pi * np.arange(months) / 12)
    volumes = {"FG1": 85 + season + rng.normal(0, 4, months), "FG2": 50 + rng.normal(0, 5, months)}
    return pl.concat(
        pl.DataFrame(
            {
                "sku": sku,
                "month_start": starts,
                "volume": np.round(volume),
                "revenue": np.round(volume) * PRICES[sku],
                "avg_price": PRICES[sku],
                "is_complete_month": True,
            }
        )
        for sku, volume in volumes.items()
    )


def snapshot(conn: psycopg.Connection, freq: str) -> dict[str, tuple]:
    """Per plan table, the rows of that frequency: their count and a digest of their text (``computed_at`` too)."""
    query = "select count(*), md5(string_agg(t::text, '|' order by t::text)) from {} t where freq = %s"
    return {
        table: conn.execute(sql.SQL(query).format(sql.Identifier("planning", table)), [freq]).fetchone()
        for table in store.PLAN_TABLES
    }


def register_weekly_tft(conn: psycopg.Connection, model_store: str, folder: Path) -> None:
    """A champion TFT trained on weeks whose artifact no TFT could load."""
    folder.mkdir()
    (folder / "tft.json").write_text("{}")
    _, decision = Registry(conn, ModelStore(model_store)).register(
        "tft",
        folder,
        freq="W",
        data_start=None,
        data_end=None,
        params={},
        metrics={},
        metric_name="wape",
        metric_value=10.0,
        baseline_value=50.0,
    )
    assert decision.promote


@pytest.fixture
def warehouse(isolated_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("FMRP_HORIZON", str(HORIZON))
    get_settings.cache_clear()
    url = isolated_settings["WAREHOUSE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        build_warehouse(conn)
        conn.execute("drop table marts.demand_monthly")
        write_relation(conn, "marts", "demand_monthly", monthly_demand())
        conn.execute("delete from forecasting.forecasts where freq = 'M'")  # the job must write its own
        store.ensure_schema(conn)
        for origin in (ORIGIN, LATER):
            store_plan(conn, plan_origin(load_plan_inputs(conn, origin, WEEKS)))
        register_weekly_tft(conn, isolated_settings["FMRP_MODEL_STORE"], tmp_path / "weekly-tft")
    return url


def test_the_monthly_partition_forecasts_and_plans_in_months_beside_the_weekly_plans(warehouse: str) -> None:
    from orchestration.definitions import defs

    with psycopg.connect(warehouse) as conn:
        weekly_before = snapshot(conn, "W")
        weekly_forecasts = conn.execute("select count(*) from forecasting.forecasts where freq = 'W'").fetchone()
    job = defs().resolve_job_def("monthly_plan_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key=str(ORIGIN), instance=instance)
    assert result.success

    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        ("forecasting/forecasts_monthly", "quantiles_ordered"): True,
        ("forecasting/forecasts_monthly", "no_negative_quantiles"): True,
        ("forecasting/forecasts_monthly", "every_active_sku_forecast"): True,
        ("planning/mrp_records_monthly", "balance_equation"): True,
        ("planning/planned_orders_monthly", "past_releases_flagged"): True,
        ("planning/planned_orders_monthly", "no_negative_quantities"): True,
        ("planning/capacity_load_monthly", "no_negative_capacity"): True,
    }
    plan_meta = result.asset_materializations_for_node("monthly_plan")
    assert {m.metadata["freq"].value for m in plan_meta} == {"M"} and len(plan_meta) == len(store.PLAN_TABLES)
    classes_meta = result.asset_materializations_for_node("forecasting__sku_classes_monthly")[0].metadata
    assert "tft" not in classes_meta["models_available"].value.split(", ")  # the weekly champion is not for months

    with psycopg.connect(warehouse) as conn:
        classes = conn.execute(
            "select sku, status, model from forecasting.sku_classes where origin = %s and freq = 'M' order by sku",
            [ORIGIN],
        ).fetchall()
        # FG1 (class A, smooth, 48 months) sits in the TFT cell: without a monthly TFT, the LightGBM + ETS ensemble
        assert classes == [("FG1", "active", "ensemble"), ("FG2", "active", "auto_ets")]
        forecast_months = conn.execute(
            "select sku, array_agg(bucket_start order by bucket_start) from forecasting.forecasts"
            " where origin = %s and freq = 'M' and is_selected and target = 'volume' group by sku order by sku",
            [ORIGIN],
        ).fetchall()
        assert forecast_months == [("FG1", MONTHS), ("FG2", MONTHS)]
        backtest = conn.execute(
            "select count(*) from forecasting.backtest_metrics where origin = %s and freq = 'M'", [ORIGIN]
        ).fetchone()
        assert backtest[0] > 0

        # the plan: calendar months after the origin, from the monthly forecast, balanced
        months = conn.execute(
            "select distinct bucket_start from planning.mrp_records where origin = %s and freq = 'M' order by 1",
            [ORIGIN],
        ).fetchall()
        assert [m for (m,) in months] == MONTHS
        mismatched = conn.execute(
            "select count(*), count(*) filter (where m.forecast is distinct from f.p50) from planning.mps m"
            " join forecasting.forecasts f on f.origin = m.origin and f.freq = m.freq and f.sku = m.sku"
            " and f.bucket_start = m.bucket_start and f.target = 'volume' and f.is_selected"
            " where m.origin = %s and m.freq = 'M'",
            [ORIGIN],
        ).fetchone()
        assert mismatched[0] == 2 * HORIZON and mismatched[1] == 0
        unbalanced = conn.execute(
            """
            select count(*) from (
                select projected_on_hand - coalesce(lag(projected_on_hand) over w,
                       projected_on_hand - scheduled_receipts - planned_receipts + gross_requirements)
                       - scheduled_receipts - planned_receipts + gross_requirements as gap
                from planning.mrp_records where origin = %s and freq = 'M'
                window w as (partition by sku order by bucket)
            ) t where abs(gap) > 1e-6""",
            [ORIGIN],
        ).fetchone()
        assert unbalanced[0] == 0
        records = conn.execute("select count(*) from planning.mrp_records where origin = %s and freq = 'M'", [ORIGIN])
        assert records.fetchone()[0] == 6 * HORIZON  # FG1, FG2, SA1, RM1, RM2, PK1: every item, every month

        # the weekly plans (of the same origin date and of a later week) and forecasts were not touched
        assert snapshot(conn, "W") == weekly_before
        assert conn.execute("select count(*) from forecasting.forecasts where freq = 'W'").fetchone() == (
            weekly_forecasts
        )

        alerts = read_alerts(conn, ORIGIN, freq="M")
        assert alerts.height > 0 and all(key.endswith("|M") for key in alerts["alert_key"])
        assert not alerts["message"].str.contains("week").any()
        assert set(read_proposals(conn, ORIGIN, freq="M")["priority"]) <= {"past_due", "this_month", "next_months"}
        weekly_alerts = read_alerts(conn, ORIGIN)  # the weekly plan's alerts alone, as before
        stored = conn.execute("select count(*) from planning.alerts where origin = %s and freq = 'W'", [ORIGIN])
        assert weekly_alerts.height == stored.fetchone()[0] > 0
        assert weekly_alerts.filter(pl.col("alert_key").str.ends_with("|M")).is_empty()


def test_monthly_forecasts_of_less_than_two_years_of_history_have_no_mase_but_succeed(
    isolated_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # MASE scales by the seasonal naive of the same month a year before: undefined on 20 months and 4 windows
    from orchestration.defs.forecasting.assets import MONTHLY_ASSETS
    from orchestration.defs.forecasting.resources import ModelStoreResource
    from orchestration.defs.warehouse.resources import WarehouseResource

    monkeypatch.setenv("FMRP_HORIZON", str(HORIZON))
    get_settings.cache_clear()
    with psycopg.connect(isolated_settings["WAREHOUSE_URL"], autocommit=True) as conn:
        write_relation(conn, "marts", "demand_monthly", monthly_demand(months=20))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            MONTHLY_ASSETS,
            partition_key=str(ORIGIN),
            resources={"warehouse": WarehouseResource(), "model_store": ModelStoreResource()},
            instance=instance,
        )
    assert result.success
    meta = result.asset_materializations_for_node("forecasting__backtest_metrics_monthly")[0].metadata
    assert meta["auto_wape"].value > 0 and meta["auto_mase"].value is None
