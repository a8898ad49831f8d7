"""Dagster's instance storage is PostgreSQL: runs and event logs of a real materialization land there."""

from datetime import date

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from tests.factories import cash_closing


@pytest.fixture
def dagster_home(isolated_settings, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    return prepare_dagster_home()


def test_runs_and_event_logs_land_in_postgres(dagster_home, isolated_settings, tmp_path):
    from orchestration.defs.ingestion.assets import raw_sales
    from orchestration.defs.ingestion.resources import ImapResource, InboxResource
    from orchestration.defs.warehouse.resources import WarehouseResource

    inbox = tmp_path / "inbox" / "email"
    inbox.mkdir(parents=True)
    (inbox / "a.eml").write_bytes(
        cash_closing(
            date(2024, 1, 3), "03/01/2024;PA-1;x;2;5;10\n", message_id="<s@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"
        )
    )
    assert (dagster_home / "dagster.yaml").read_text().count("postgres_url") == 1
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = dg.materialize(
            [raw_sales],
            instance=instance,
            partition_key="2024-01-03",
            resources={"warehouse": WarehouseResource(), "inbox": InboxResource(), "imap": ImapResource()},
        )
    assert result.success
    with psycopg.connect(isolated_settings["DAGSTER_STORAGE_URL"]) as conn:
        status = conn.execute("select status from runs where run_id = %s", (result.run_id,)).fetchone()
        events = conn.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
            (result.run_id,),
        ).fetchone()
    assert status == ("SUCCESS",)
    assert events == (1,)
    with psycopg.connect(isolated_settings["WAREHOUSE_URL"]) as conn:
        assert conn.execute("select sku, quantity from raw.sales").fetchall() == [("PA-1", 2)]
