"""The code location loads, in process and through Dagster's own CLI check."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings, project_root
from ingestion.schema import ENTITIES


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def test_every_raw_table_is_a_landing_asset_in_the_ingestion_group(definitions):
    graph = definitions.resolve_asset_graph()
    for name in ENTITIES:
        key = dg.AssetKey(["raw", name])
        assert key in graph.get_all_asset_keys(), key
        node = graph.get(key)
        assert node.group_name == "ingestion"
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)


def test_dbt_models_are_warehouse_assets_downstream_of_the_raw_tables(definitions):
    graph = definitions.resolve_asset_graph()
    marts = [key for key in graph.get_all_asset_keys() if key.path[0] == "marts"]
    assert {"demand_weekly", "items", "bom_edges"} <= {key.path[-1] for key in marts}
    for key in marts:
        assert graph.get(key).group_name == "warehouse"
    staging = graph.get(dg.AssetKey(["staging", "stg_cash_closing__sales"]))
    assert dg.AssetKey(["raw", "sales"]) in staging.parent_keys


def test_dbt_tests_are_asset_checks(definitions):
    checks = definitions.resolve_asset_graph().asset_check_keys
    assert any(check.asset_key.path[0] == "marts" for check in checks)
    assert any(check.name == "no_rejected_files" for check in checks)


def test_jobs_and_schedule_resolve(definitions):
    assert definitions.resolve_job_def("ingestion_job").partitions_def is not None
    assert definitions.resolve_job_def("warehouse_job") is not None
    assert definitions.resolve_schedule_def("daily_ingestion_schedule").cron_schedule == "0 6 * * *"
    sensor = definitions.resolve_sensor_def("warehouse_after_landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


FORECAST_TABLES = ("sku_classes", "forecasts", "backtest_metrics")
PLAN_TABLES = (
    "mps",
    "inventory_policy",
    "mrp_records",
    "planned_orders",
    "pegs",
    "action_messages",
    "shortage_reasons",
    "capacity_load",
    "capacity_operations",
    "purchase_proposals",
    "alerts",
)


@pytest.mark.parametrize(
    ("cadence", "suffix", "partitions", "cron", "tick", "origin"),
    [
        # Monday 2026-02-02: the origin is the week just ended; Sunday 2026-02-01: the month just ended
        ("weekly", "", dg.WeeklyPartitionsDefinition, "0 7 * * 1", datetime(2026, 2, 2, 7), "2026-01-26"),
        ("monthly", "_monthly", dg.MonthlyPartitionsDefinition, "0 7 1 * *", datetime(2026, 2, 1, 7), "2026-01-01"),
    ],
)
def test_each_cadence_forecasts_and_plans_in_its_own_assets_job_and_schedule(
    definitions, cadence, suffix, partitions, cron, tick, origin
):
    keys = {dg.AssetKey(["forecasting", f"{t}{suffix}"]) for t in FORECAST_TABLES}
    keys |= {dg.AssetKey(["planning", f"{t}{suffix}"]) for t in PLAN_TABLES}
    graph = definitions.resolve_asset_graph()
    for key in keys:
        assert isinstance(graph.get(key).partitions_def, partitions), key
    job = definitions.resolve_job_def(f"{cadence}_plan_job")
    assert set(job.asset_layer.selected_asset_keys) == keys
    assert {(check.asset_key.path[-1], check.name) for check in job.asset_layer.asset_graph.asset_check_keys} == {
        (f"forecasts{suffix}", "quantiles_ordered"),
        (f"forecasts{suffix}", "no_negative_quantiles"),
        (f"forecasts{suffix}", "every_active_sku_forecast"),
        (f"mrp_records{suffix}", "balance_equation"),
        (f"planned_orders{suffix}", "past_releases_flagged"),
        (f"planned_orders{suffix}", "no_negative_quantities"),
        (f"capacity_load{suffix}", "no_negative_capacity"),
    }
    schedule = definitions.resolve_schedule_def(f"{cadence}_plan_schedule")
    on = cadence == "monthly" and get_settings().freq == "M"  # a .env with FMRP_FREQUENCY=month
    assert schedule.cron_schedule == cron
    factory_time = tick.replace(tzinfo=ZoneInfo(get_settings().timezone))
    with dg.build_schedule_context(scheduled_execution_time=factory_time) as context:
        assert [run.partition_key for run in schedule.evaluate_tick(context).run_requests or []] == [origin]
    assert schedule.default_status == (dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED)
    upstream = graph.get(dg.AssetKey(["planning", f"mps{suffix}"])).parent_keys
    assert dg.AssetKey(["forecasting", f"forecasts{suffix}"]) in upstream


def test_the_monthly_schedule_is_on_where_the_installation_plans_in_months():
    import importlib

    from orchestration.defs.planning import schedules

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FMRP_FREQUENCY", "month")
        get_settings.cache_clear()
        monthly = importlib.reload(schedules).monthly_plan_schedule
        patch.setenv("FMRP_FREQUENCY", "week")
        get_settings.cache_clear()
        weekly = importlib.reload(schedules).monthly_plan_schedule
    get_settings.cache_clear()
    importlib.reload(schedules)
    assert monthly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert weekly.default_status == dg.DefaultScheduleStatus.STOPPED


def test_dagster_cli_validates_the_code_location(isolated_settings, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    prepare_dagster_home()  # an instance on PostgreSQL, as `make dev` has
    env = dict(os.environ)
    dagster = str(Path(sys.executable).parent / "dagster")
    result = subprocess.run(
        [dagster, "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_monthly_training_on_the_first_trains_the_new_month_on_the_weeks_before_it(definitions):
    from orchestration.defs.forecasting.partitions import training_origin

    schedule = definitions.resolve_schedule_def("monthly_training_schedule")
    tick = datetime(2026, 2, 1, 3).replace(tzinfo=ZoneInfo(get_settings().timezone))
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        [run] = schedule.evaluate_tick(context).run_requests or []
    assert run.partition_key == "2026-02-01"
    assert training_origin(run.partition_key) == datetime(2026, 1, 19).date()  # the last week ended by then (Jan 19-25)
