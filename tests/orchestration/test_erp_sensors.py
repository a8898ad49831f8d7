"""Connector sensors on a real Dagster instance (PostgreSQL) against a real sshd, and the runs they request."""

import json
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings
from ingestion.fetched import sha256_hex
from ingestion.sftp import HostKeyMismatchError
from orchestration.defs.ingestion.resources import InboxResource, SftpResource
from orchestration.defs.ingestion.sensors import erp_sftp_sensor, upload_folder_sensor
from orchestration.defs.warehouse.resources import WarehouseResource
from tests.peers.sftp import sshd  # noqa: F401  (the session fixture)

INVENTORY = "Data;Código;Depósito;Saldo\n03/01/2024;MP-1;D01;10,5\n03/01/2024;MP-2;D01;7\n".encode()
ITEMS = "Código;Descrição;Tipo;Unidade;Política\nMP-1;Aço;Matéria-prima;KG;Comprar\n".encode()


@pytest.fixture
def dagster_env(isolated_settings, monkeypatch, sshd, tmp_path):  # noqa: F811
    remote = sshd.remote_dir(f"sensor-{tmp_path.name}")
    sftp = {
        "FMRP_SFTP_HOST": sshd.host,
        "FMRP_SFTP_PORT": str(sshd.port),
        "FMRP_SFTP_USER": sshd.user,
        "FMRP_SFTP_KEY_FILE": str(sshd.client_key),
        "FMRP_SFTP_KEY_PASSPHRASE": sshd.client_key_passphrase,
        "FMRP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
        "FMRP_SFTP_REMOTE_DIR": str(remote),
        "FMRP_SFTP_STABLE_SECONDS": "0.5",
        "FMRP_UPLOAD_SETTLE_SECONDS": "0",
    }
    for key, value in sftp.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    get_settings.cache_clear()
    prepare_dagster_home()
    from orchestration.definitions import defs

    with dg.DagsterInstance.get() as instance:
        yield {"remote": remote, "instance": instance, "defs": defs(), "settings": isolated_settings}
    get_settings.cache_clear()


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None, **resources):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"inbox": InboxResource(), "warehouse": WarehouseResource(), **resources},
    )
    return sensor(context)


def execute(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("ingestion_job")
    return job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        asset_selection=list(request.asset_selection or []),
        tags={"dagster/run_key": request.run_key or ""},
    )


def test_sftp_sensor_requests_each_new_file_once_and_the_runs_land_it(dagster_env, sshd):  # noqa: F811
    remote, instance, defs = dagster_env["remote"], dagster_env["instance"], dagster_env["defs"]
    (remote / "estoque_20240103.csv").write_bytes(INVENTORY)
    (remote / "itens_20240102.csv").write_bytes(ITEMS)
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    (remote / f"estoque_{today:%Y%m%d}.csv").write_bytes(INVENTORY)  # its partition does not exist yet
    growing = remote / "ordens_producao_20240103.csv"
    growing.write_bytes("Ordem;Código;Quantidade;Data Fim\n".encode())
    writing, stop = threading.Event(), threading.Event()

    def erp_writes_slowly() -> None:
        number = 0
        while not stop.wait(0.1):
            number += 1
            with growing.open("ab") as handle:
                handle.write(f"OP-{number};PA-1;10;10/01/2024\n".encode())
            writing.set()

    writer = threading.Thread(target=erp_writes_slowly)
    writer.start()
    writing.wait(5)
    try:
        first = evaluate(erp_sftp_sensor, instance, None, sftp=SftpResource())
    finally:
        stop.set()
        writer.join()

    requests = sorted(first.run_requests, key=lambda r: r.partition_key)
    ref = f"sftp://root@127.0.0.1:{sshd.port}{remote}"
    assert [(r.partition_key, r.asset_selection, r.run_key) for r in requests] == [
        ("2024-01-02", [dg.AssetKey(["raw", "items"])], f"sftp:{ref}/itens_20240102.csv:{sha256_hex(ITEMS)}"),
        ("2024-01-03", [dg.AssetKey(["raw", "inventory"])], f"sftp:{ref}/estoque_20240103.csv:{sha256_hex(INVENTORY)}"),
    ]
    pending = json.loads(first.cursor)["pending"]
    assert [entry["partition"] for entry in pending] == [today.isoformat()]

    for request in requests:
        assert execute(defs, instance, request).success
    with psycopg.connect(dagster_env["settings"]["WAREHOUSE_URL"]) as conn:
        assert conn.execute("select count(*) from raw.inventory").fetchone()[0] == 2
        assert conn.execute("select count(*) from raw.items").fetchone()[0] == 1
        assert conn.execute("select count(*) from raw.production_orders").fetchone()[0] == 0

    again = evaluate(erp_sftp_sensor, instance, first.cursor, sftp=SftpResource())
    [stable] = again.run_requests  # the file stopped growing: taken now, and only it
    assert stable.partition_key == "2024-01-03"
    assert stable.asset_selection == [dg.AssetKey(["raw", "production_orders"])]
    assert stable.run_key.endswith(sha256_hex(growing.read_bytes()))
    assert execute(defs, instance, stable).success

    third = evaluate(erp_sftp_sensor, instance, again.cursor, sftp=SftpResource())
    assert third.run_requests == [] and "1 file(s) waiting for their partition" in third.skip_reason.skip_message
    with psycopg.connect(dagster_env["settings"]["WAREHOUSE_URL"]) as conn:
        orders = conn.execute("select count(*) from raw.production_orders").fetchone()[0]
    assert orders == growing.read_bytes().count(b"\n") - 1


def test_sftp_sensor_fails_its_tick_on_a_host_key_mismatch(dagster_env, sshd, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("FMRP_SFTP_KNOWN_HOSTS", str(sshd.known_hosts_with_another_key(tmp_path)))
    get_settings.cache_clear()
    with pytest.raises(HostKeyMismatchError, match=r"is not the one .*known_hosts_impostor lists"):
        evaluate(erp_sftp_sensor, dagster_env["instance"], None, sftp=SftpResource())


def test_upload_sensor_requests_the_uploaded_day(dagster_env):
    inbox = Path(dagster_env["settings"]["FMRP_INBOX_DIR"])
    (inbox / "upload").mkdir(parents=True)
    (inbox / "upload" / "planilha de estoque.csv").write_bytes(INVENTORY)
    result = evaluate(upload_folder_sensor, dagster_env["instance"], None)
    [request] = result.run_requests
    assert (request.partition_key, request.asset_selection) == ("2024-01-03", [dg.AssetKey(["raw", "inventory"])])
    assert execute(dagster_env["defs"], dagster_env["instance"], request).success
    assert (inbox / "erp" / "estoque_20240103.csv").exists()
    assert evaluate(upload_folder_sensor, dagster_env["instance"], result.cursor).run_requests == []


def test_sensors_are_off_unless_their_source_is_configured(dagster_env):
    defs = dagster_env["defs"]
    for name in ("erp_sftp_sensor", "erp_pull_sensor", "upload_folder_sensor"):
        assert defs.resolve_sensor_def(name).job_name == "ingestion_job"
    # module-level defaults were fixed at import, before this test's environment: the rule is what we check
    from orchestration.defs.ingestion.sensors import _business_day, _status

    assert _status(False) == dg.DefaultSensorStatus.STOPPED and _status(True) == dg.DefaultSensorStatus.RUNNING
    zone = ZoneInfo(get_settings().timezone)
    morning = datetime(2024, 1, 10, 5, 59, tzinfo=zone)
    assert _business_day(morning) is None
    assert _business_day(morning + timedelta(minutes=1)) == date(2024, 1, 9)
