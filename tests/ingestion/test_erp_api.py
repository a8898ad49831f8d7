"""The ERP REST connector against a real HTTP server on loopback (tests/peers/erp_api.py)."""

from datetime import date
from typing import Any

import psycopg
import pytest

from ingestion.erp_api import (
    ErpApiClient,
    ErpApiConfig,
    ErpApiConfigError,
    ErpApiHttpError,
    ErpApiResponseError,
    ErpApiUnavailableError,
    pull_exports,
    pulled_for,
)
from ingestion.fetched import RecordMappingError, ensure_ledger
from ingestion.landing import ensure_raw_schema, land_erp_file
from ingestion.schema import ENTITIES
from tests.peers.erp_api import ErpApiPeer, erp_api  # noqa: F401  (the fixture)

DAY = date(2024, 1, 3)
INVENTORY = ENTITIES["inventory"]


def stock(n: int) -> list[dict]:
    return [
        {
            "snapshot_date": "2024-01-03",
            "sku": f"MP-{i}",
            "warehouse_code": "D01",
            "on_hand": i + 0.5,
            "unit_cost": "2.25",
        }
        for i in range(1, n + 1)
    ]


def config(peer: ErpApiPeer, **overrides) -> ErpApiConfig:
    values: dict[str, Any] = dict(
        base_url=f"{peer.url}/v1",
        endpoints={"inventory": "estoque/{date:%Y-%m-%d}"},
        records_path="data.items",
        pagination="page",
        page_size=2,
        timeout=0.3,
        retries=2,
        backoff=0.01,
    )
    values.update(overrides)
    return ErpApiConfig(**values)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        ensure_ledger(connection)
        yield connection


def test_page_pagination_with_an_api_key_gives_every_record(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(5)
    erp_api.auth = ("api_key", "k-123")
    with ErpApiClient(config(erp_api, auth="api_key", api_key="k-123")) as client:
        records = client.fetch_records(INVENTORY, DAY)
    assert [r["sku"] for r in records] == ["MP-1", "MP-2", "MP-3", "MP-4", "MP-5"]
    assert erp_api.requests == [
        "/v1/estoque/2024-01-03?page=1&per_page=2",
        "/v1/estoque/2024-01-03?page=2&per_page=2",
        "/v1/estoque/2024-01-03?page=3&per_page=2",
    ]


@pytest.mark.parametrize(
    ("mode", "pagination", "auth"),
    [
        ("offset", "offset", ("bearer", "tok")),
        ("next_link", "next", ("basic", "erp:s3cret")),
        ("cursor", "next", None),
        ("none", "none", None),
    ],
)
def test_other_paginations_and_auths(erp_api, mode, pagination, auth):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(5)
    erp_api.mode, erp_api.auth = mode, auth
    settings: dict = {"pagination": pagination}
    if auth and auth[0] == "bearer":
        settings.update(auth="bearer", api_key="tok")
    if auth and auth[0] == "basic":
        settings.update(auth="basic", username="erp", password="s3cret")
    with ErpApiClient(config(erp_api, **settings)) as client:
        assert len(client.fetch_records(INVENTORY, DAY)) == 5
    assert len(erp_api.requests) == {"offset": 3, "next_link": 3, "cursor": 3, "none": 1}[mode]


def test_the_export_is_a_csv_that_lands(erp_api, conn, tmp_path):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(3)
    [fetched] = pull_exports(config(erp_api), conn, tmp_path / "inbox", DAY)
    assert fetched.local_path == tmp_path / "inbox" / "erp" / "estoque_20240103.csv"
    assert fetched.remote_ref == f"{erp_api.url}/v1/estoque/2024-01-03"
    text = fetched.local_path.read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["Data,Código,Depósito,Saldo,Custo Médio", "2024-01-03,MP-1,D01,1.5,2.25"]
    landed = land_erp_file(conn, fetched.local_path)
    assert (landed.status, landed.rows) == ("landed", 3)
    on_hand = conn.execute("select sum(on_hand), min(unit_cost) from raw.inventory").fetchone()
    assert on_hand == (pytest.approx(7.5), pytest.approx(2.25))

    assert pulled_for(conn, config(erp_api), DAY)
    assert pull_exports(config(erp_api), conn, tmp_path / "inbox", DAY) == []  # same content: nothing new
    assert not pulled_for(conn, config(erp_api), date(2024, 1, 4))


def test_retries_5xx_and_timeouts_with_exponential_backoff(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(1)
    erp_api.faults = ["503", "timeout"]
    waits: list[float] = []
    with ErpApiClient(config(erp_api, backoff=0.05), sleep=waits.append) as client:
        assert len(client.fetch_records(INVENTORY, DAY)) == 1
    assert waits == [0.05, 0.1]
    assert len(erp_api.requests) == 3


def test_a_server_error_on_every_attempt_is_reported_with_its_status(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(1)
    erp_api.faults = ["500", "500", "500"]
    with ErpApiClient(config(erp_api)) as client, pytest.raises(ErpApiHttpError) as caught:
        client.fetch_records(INVENTORY, DAY)
    assert caught.value.status == 500 and "after 3 attempts" in str(caught.value)
    assert "/v1/estoque/2024-01-03?page=1&per_page=2" in str(caught.value)


def test_timeouts_on_every_attempt(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(1)
    erp_api.faults = ["timeout"] * 3
    with (
        ErpApiClient(config(erp_api)) as client,
        pytest.raises(ErpApiUnavailableError, match=r"timed out after 0\.3 s"),
    ):
        client.fetch_records(INVENTORY, DAY)


def test_a_refused_key_is_not_retried(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(1)
    erp_api.auth = ("api_key", "right")
    with (
        ErpApiClient(config(erp_api, auth="api_key", api_key="wrong")) as client,
        pytest.raises(ErpApiHttpError) as caught,
    ):
        client.fetch_records(INVENTORY, DAY)
    assert caught.value.status == 401 and "check FMRP_ERP_API_KEY" in str(caught.value)
    assert len(erp_api.requests) == 1


def test_unreachable_server(erp_api):  # noqa: F811
    closed = config(erp_api, base_url="http://127.0.0.1:9/v1", retries=1)
    with (
        ErpApiClient(closed, sleep=lambda s: None) as client,
        pytest.raises(ErpApiUnavailableError, match="connection"),
    ):
        client.fetch_records(INVENTORY, DAY)


def test_bodies_without_records_are_clear_errors(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = stock(1)
    with (
        ErpApiClient(config(erp_api, records_path="result.rows")) as client,
        pytest.raises(ErpApiResponseError, match=r"no 'result' in the body \(path 'result.rows'\); found \['data'\]"),
    ):
        client.fetch_records(INVENTORY, DAY)
    erp_api.faults = ["garbage"]
    with ErpApiClient(config(erp_api)) as client, pytest.raises(ErpApiResponseError, match=r"not JSON.*maintenance"):
        client.fetch_records(INVENTORY, DAY)


def test_records_that_do_not_fit_name_record_field_and_value(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = [{"sku": "MP-1", "warehouse_code": "D01", "on_hand": 1}]
    with ErpApiClient(config(erp_api)) as client, pytest.raises(RecordMappingError, match=r"'snapshot_date' \(Data\)"):
        client.fetch_export(INVENTORY, DAY)
    erp_api.records["/v1/estoque/2024-01-03"] = stock(2)
    erp_api.records["/v1/estoque/2024-01-03"][1]["on_hand"] = "1,5"  # a decimal comma would be read as 15
    with ErpApiClient(config(erp_api)) as client, pytest.raises(RecordMappingError) as caught:
        client.fetch_export(INVENTORY, DAY)
    assert "record 2, field 'on_hand' (Saldo): '1,5' is not a number" in str(caught.value)


def test_field_mapping_reaches_nested_keys(erp_api):  # noqa: F811
    erp_api.records["/v1/estoque/2024-01-03"] = [
        {"dia": "2024-01-03", "produto": {"codigo": "MP-9"}, "deposito": "D02", "qtd": 4}
    ]
    fields = {
        "inventory": {"snapshot_date": "dia", "sku": "produto.codigo", "warehouse_code": "deposito", "on_hand": "qtd"}
    }
    with ErpApiClient(config(erp_api, fields=fields)) as client:
        text = client.fetch_export(INVENTORY, DAY).decode()
    assert text.splitlines()[1] == "2024-01-03,MP-9,D02,4,"


def test_configuration_errors():
    with pytest.raises(ErpApiConfigError, match="not an ERP export"):
        ErpApiConfig(base_url="http://x", endpoints={"sales": "vendas/{date}"})
    with pytest.raises(ErpApiConfigError, match="not a valid template"):
        ErpApiConfig(base_url="http://x", endpoints={"estoque": "estoque/{dia}"})
    with pytest.raises(ErpApiConfigError, match="needs a key"):
        ErpApiConfig(base_url="http://x", endpoints={"estoque": "e"}, auth="bearer")
    with pytest.raises(ErpApiConfigError, match="http:// or https://"):
        ErpApiConfig(base_url="erp.local", endpoints={"estoque": "e"})
