import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from fmrp.settings import project_root
from fmrp.warehouse import (
    EmbeddedPostgres,
    connection_params,
    dbt_env,
    embedded_server,
    redact,
    warehouse_url,
    with_database,
)


def fmrp(*args: str, env: dict[str, str] | None = None) -> str:
    command = [str(Path(sys.executable).parent / "fmrp"), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=project_root()).stdout


@pytest.fixture(scope="module")
def restartable_server(tmp_path_factory) -> EmbeddedPostgres:
    """A server of its own, to stop and start."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("restartable") / "pg", port=54411)
    server.start()
    yield server
    server.stop()


def test_a_second_process_finds_the_running_server_instead_of_starting_another(server_url):
    if os.environ.get("WAREHOUSE_URL"):
        pytest.skip("the tests run against an external WAREHOUSE_URL")
    status = embedded_server().status()
    assert status is not None
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_URL", "FMRP_WAREHOUSE_URL")}
    assert fmrp("db", "url", env=env).strip() == warehouse_url()
    assert f"pid {status.pid}" in fmrp("db", "status", env=env)
    assert embedded_server().status() == status


def test_data_survives_a_restart(restartable_server: EmbeddedPostgres):
    url = restartable_server.start().url("postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table if not exists kept (n int)")
        conn.execute("insert into kept values (42)")
    assert restartable_server.stop() is True
    assert restartable_server.status() is None
    assert restartable_server.stop() is False
    restarted = restartable_server.start()
    with psycopg.connect(restarted.url("postgres")) as conn:
        assert conn.execute("select n from kept").fetchall() == [(42,)]


def test_start_is_idempotent(restartable_server: EmbeddedPostgres):
    assert restartable_server.start() == restartable_server.start()


def test_warehouse_url_points_the_cli_at_another_server(monkeypatch, second_server_url: str):
    other = with_database(second_server_url, "warehouse_elsewhere")
    monkeypatch.setenv("WAREHOUSE_URL", other)
    from fmrp.settings import get_settings

    get_settings.cache_clear()
    try:
        assert warehouse_url() == other
        assert "pid" not in fmrp("db", "status")  # no embedded server involved
        assert fmrp("db", "url").strip() == other
    finally:
        get_settings.cache_clear()


def test_url_helpers():
    url = "postgresql://planner:s3cret@db.example:6543/wh?sslmode=require"
    assert redact(url) == "postgresql://planner:***@db.example:6543/wh?sslmode=require"
    assert connection_params(url) == {
        "host": "db.example",
        "port": "6543",
        "user": "planner",
        "password": "s3cret",
        "dbname": "wh",
        "sslmode": "require",
    }
    socket = "postgresql://postgres@/warehouse?host=/work/x/.data/postgres&port=54329"
    assert dbt_env(socket)["FMRP_PG_HOST"] == "/work/x/.data/postgres"
    assert dbt_env(socket)["FMRP_PG_PORT"] == "54329"
    assert with_database(socket, "dagster") == "postgresql://postgres@/dagster?host=/work/x/.data/postgres&port=54329"
