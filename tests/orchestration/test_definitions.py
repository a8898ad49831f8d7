"""The code location loads, in process and through Dagster's own CLI check."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import project_root
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
