"""A rejected file through the real landing job (IN-8): the no_rejected_files check fails naming the file, and one
rejected_file alert is raised, carried by the daily summary until a corrected file lands and someone acknowledges it."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings
from mrp.runs import acknowledge_alerts, deliver_daily_summary, read_alerts
from orchestration.defs.ingestion.resources import InboxResource
from orchestration.defs.warehouse.resources import WarehouseResource

DAY = dt.date(2024, 1, 3)
INVENTORY = dg.AssetKey(["raw", "inventory"])
ITEMS = dg.AssetKey(["raw", "items"])
# two of three rows bad: over the 5 % reject threshold, so the file is rejected whole
BAD_INVENTORY = "Data;Código;Depósito;Saldo\n03/01/2024;MP-1;D01;dez\n03/01/2024;MP-2;D01;7\n03/01/2024;MP-3;D01;4x\n"
GOOD_INVENTORY = "Data;Código;Depósito;Saldo\n03/01/2024;MP-1;D01;10\n03/01/2024;MP-2;D01;7\n03/01/2024;MP-3;D01;4\n"
ITEMS_FILE = "Código;Descrição;Tipo;Unidade;Política\nMP-1;Aço;Matéria-prima;KG;Comprar\n"


@pytest.fixture
def landing(isolated_settings, monkeypatch):
    """The code location, a Dagster instance on the isolated PostgreSQL, and the inbox's ERP folder."""
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    get_settings.cache_clear()
    prepare_dagster_home()
    erp = Path(isolated_settings["FMRP_INBOX_DIR"]) / "erp"
    erp.mkdir(parents=True)
    from orchestration.definitions import defs

    with dg.DagsterInstance.get() as instance:
        yield defs(), instance, erp, isolated_settings["WAREHOUSE_URL"]


def write(path: Path, text: str, received: dt.datetime) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (received.timestamp(), received.timestamp()))  # an ERP file's mtime is its received time


def land_day(definitions: dg.Definitions, instance: dg.DagsterInstance) -> dict[dg.AssetKey, dg.AssetCheckEvaluation]:
    result = definitions.resolve_job_def("ingestion_job").execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), asset_selection=[INVENTORY, ITEMS]
    )
    assert result.success, "a rejected file fails its check, not the landing run"
    return {
        evaluation.asset_key: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "no_rejected_files"
    }


def pipeline_alerts(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select alert_key, alert_type, severity, bucket_start, message from planning.pipeline_alerts"
        ).fetchall()


def test_a_rejected_file_fails_its_check_and_raises_one_alert_until_a_corrected_file_lands(landing):
    definitions, instance, erp, url = landing
    write(erp / "estoque_20240103.csv", BAD_INVENTORY, dt.datetime(2024, 1, 4, 6, 0, tzinfo=dt.UTC))
    write(erp / "itens_20240103.csv", ITEMS_FILE, dt.datetime(2024, 1, 4, 6, 0, tzinfo=dt.UTC))

    checks = land_day(definitions, instance)
    assert checks[ITEMS].passed, "one bad file does not fail the other sources"
    failed = checks[INVENTORY]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.description == "1 file(s) rejected, nothing of them landed: estoque_20240103.csv"
    metadata = {key: value.value for key, value in failed.metadata.items()}
    assert metadata["rejected_files"] == 1
    assert "estoque_20240103.csv" in metadata["errors"] and "over the reject threshold of 5%" in metadata["errors"]
    assert "| estoque_20240103.csv | 1 | Saldo | dez | is not a number |" in metadata["bad_values"]
    assert "| estoque_20240103.csv | 3 | Saldo | 4x | is not a number |" in metadata["bad_values"]

    [alert] = pipeline_alerts(url)
    key, kind, severity, day, message = alert
    assert (kind, severity, day) == ("rejected_file", "critical", DAY)
    assert key.startswith("rejected_file|inventory|2024-01-03|")
    assert message.startswith("inventory file estoque_20240103.csv for 2024-01-03 was rejected, nothing of it landed")

    again = land_day(definitions, instance)  # the same file again: still rejected, still one alert
    assert not again[INVENTORY].passed
    assert pipeline_alerts(url) == [alert]

    origin = dt.date(2024, 1, 1)  # no plan needed: the pipeline's alerts are in every origin's list
    with psycopg.connect(url, autocommit=True) as conn:
        status, subject = deliver_daily_summary(conn, origin, dt.date(2024, 1, 4), None, not_sent_reason="no SMTP")
        assert status == "not_sent" and subject == "[forecasting-mrp] 2024-01-04: 1 critical, 0 warning, 0 info"

    write(erp / "estoque_20240103.csv", GOOD_INVENTORY, dt.datetime(2024, 1, 4, 9, 0, tzinfo=dt.UTC))
    corrected = land_day(definitions, instance)
    assert corrected[INVENTORY].passed, "the corrected resend replaced the rejected file"
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("select count(*) from raw.inventory").fetchone()[0] == 3
        assert read_alerts(conn, origin, open_only=True)["alert_key"].to_list() == [key], "open until acknowledged"
        assert acknowledge_alerts(conn, origin, [key], "ana") == 1
        assert read_alerts(conn, origin, open_only=True).is_empty()
    assert len(pipeline_alerts(url)) == 1


def test_a_rejected_upload_fails_its_days_check_and_raises_the_alert_like_any_rejected_file(landing, monkeypatch):
    definitions, instance, erp, url = landing
    monkeypatch.setenv("FMRP_UPLOAD_SETTLE_SECONDS", "0")
    get_settings.cache_clear()
    upload = erp.parent / "upload"
    upload.mkdir()
    (upload / "saldo de estoque.csv").write_bytes(BAD_INVENTORY.encode())

    sensor = definitions.resolve_sensor_def("upload_folder_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        resources={"inbox": InboxResource(), "warehouse": WarehouseResource()},
        definitions=definitions,
    )
    tick = sensor.evaluate_tick(context)
    assert (upload / "rejected" / "saldo de estoque.csv.error.txt").exists()
    [request] = tick.run_requests
    assert (request.partition_key, request.asset_selection) == (DAY.isoformat(), [INVENTORY])

    result = definitions.resolve_job_def("ingestion_job").execute_in_process(
        instance=instance, partition_key=request.partition_key, asset_selection=request.asset_selection
    )
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "no_rejected_files"]
    assert not check.passed and check.description.endswith("saldo de estoque.csv")
    assert "| saldo de estoque.csv | 1 | Saldo | dez | is not a number |" in check.metadata["bad_values"].value
    [(_, kind, severity, day, message)] = pipeline_alerts(url)
    assert (kind, severity, day) == ("rejected_file", "critical", DAY)
    assert message.startswith("inventory file saldo de estoque.csv for 2024-01-03 was rejected")
