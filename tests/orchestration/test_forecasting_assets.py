"""The weekly forecasting assets materialized in process on a small warehouse (real PostgreSQL)."""

import dagster as dg
import psycopg
import pytest

from forecasting.data import shift_buckets
from orchestration.defs.forecasting import assets
from orchestration.defs.forecasting.resources import ModelStoreResource
from orchestration.defs.warehouse.resources import WarehouseResource
from tests.forecasting.warehouse import demand_panel, load_demand_mart

ASSETS = [assets.sku_classes, assets.forecasts, assets.backtest_metrics]


@pytest.fixture
def warehouse(isolated_settings: dict[str, str]) -> str:
    url = isolated_settings["WAREHOUSE_URL"]
    load_demand_mart(url, demand_panel(weeks=110))
    return url


def _materialize(partition: str) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            ASSETS,
            partition_key=partition,
            resources={"warehouse": WarehouseResource(), "model_store": ModelStoreResource()},
            instance=instance,
        )


def _count(url: str, table: str, origin: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"select count(*) from forecasting.{table} where origin = %s", (origin,)).fetchone()
    assert row is not None
    return int(row[0])


def _count_where(url: str, table: str, origin: str, where: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"select count(*) from forecasting.{table} where origin = %s and {where}", (origin,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _summary(url: str) -> str:
    from rich.console import Console

    from fmrp import forecast_cli

    recorder = Console(record=True, width=120)
    original, forecast_cli.console = forecast_cli.console, recorder
    try:
        forecast_cli.print_forecast_summary(url)
    finally:
        forecast_cli.console = original
    return recorder.export_text()


def test_weekly_partitions_write_forecasts_and_a_rolling_accuracy_history(warehouse: str) -> None:
    with psycopg.connect(warehouse) as conn:
        last = conn.execute("select max(week_start) from marts.demand_weekly").fetchone()[0]  # type: ignore[index]
    origins = [str(shift_buckets(last, -k, "W")) for k in (1, 0)]
    for origin in origins:
        result = _materialize(origin)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {
            "quantiles_ordered": True,
            "no_negative_quantiles": True,
            "every_active_sku_forecast": True,
        }
        meta = result.asset_materializations_for_node("forecasting__forecasts")[0].metadata
        assert meta["skus"].value == 6
    assert _count(warehouse, "sku_classes", origins[1]) == 6
    rows = _count(warehouse, "forecasts", origins[1])
    assert rows > 6 * 13
    with psycopg.connect(warehouse) as conn:
        history = conn.execute(
            "select origin, wape from forecasting.backtest_metrics"
            " where grouping = 'overall' and model = 'auto' order by origin"
        ).fetchall()
    assert [str(o) for o, _ in history] == origins and all(w > 0 for _, w in history)
    with psycopg.connect(warehouse) as conn:
        drift = conn.execute("select origin, reference_value, recent_value, status from forecasting.drift").fetchall()
    # the first origin has no earlier accuracy to compare with; the second is compared with the first
    assert [(str(o), ref) for o, ref, _, _ in drift] == [(origins[1], pytest.approx(history[0][1]))]
    assert drift[0][2] == pytest.approx(history[1][1]) and drift[0][3] in {"ok", "warn", "retrain"}
    summary = _summary(warehouse)
    assert f"Forecasts of origin {origins[1]}" in summary
    active = _count_where(warehouse, "sku_classes", origins[1], "status = 'active'")
    assert f"active SKUs forecast: {active} of {active}" in summary
    # a rerun replaces its partition's rows instead of adding to them
    assert _materialize(origins[1]).success
    assert _count(warehouse, "forecasts", origins[1]) == rows


def test_a_partition_before_any_demand_fails_clearly(warehouse: str) -> None:
    with pytest.raises(Exception, match="no demand up to the origin 2020-01-06"):
        _materialize("2020-01-06")


def test_monthly_tft_training_registers_a_version_the_weekly_forecast_can_use(
    warehouse: str, isolated_settings: dict[str, str]
) -> None:
    from pathlib import Path

    from forecasting.registry import ModelStore
    from forecasting.training import available_models, trained_models

    with psycopg.connect(warehouse) as conn:
        last = conn.execute("select max(week_start) from marts.demand_weekly").fetchone()[0]  # type: ignore[index]
    month = last.replace(day=1)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [assets.tft_model],
            partition_key=month.isoformat(),
            resources={"warehouse": WarehouseResource(), "model_store": ModelStoreResource()},
            run_config={"ops": {"forecasting__tft_model": {"config": {"max_epochs": 1}}}},
            instance=instance,
        )
    assert result.success
    meta = result.asset_materializations_for_node("forecasting__tft_model")[0].metadata
    promoted = meta["holdout_wape"].value < meta["seasonal_naive_wape"].value
    assert meta["status"].value == ("champion" if promoted else "challenger")
    assert (Path(isolated_settings["FMRP_MODEL_STORE"]) / "tft" / "v0001" / "tft.json").exists()
    store = ModelStore(isolated_settings["FMRP_MODEL_STORE"])
    with psycopg.connect(warehouse, autocommit=True) as conn:
        assert ("tft" in available_models(conn, store)) == promoted
        loaded = trained_models(conn, store)
        assert ("tft" in loaded) == promoted
        if promoted:  # the champion forecasts without retraining
            from tests.forecasting.warehouse import demand_panel

            panel = demand_panel(weeks=110).select("unique_id", "ds", "y")
            forecast = loaded["tft"].fit_predict(panel, 13, "W")
            assert forecast.height == panel["unique_id"].n_unique() * 13
