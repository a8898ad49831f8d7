"""Uploads: the dashboard's accept_upload and the drop folder, feeding the inbox the landing assets read."""

import os
import time
from datetime import date

import psycopg
import pytest

from ingestion.fetched import ensure_ledger
from ingestion.landing import ensure_raw_schema, land_inbox_files, scan_inbox
from ingestion.readers import InvalidValueError, UnknownHeaderError
from ingestion.upload import (
    UnrecognisedUploadError,
    UploadError,
    UploadTooLargeError,
    accept_upload,
    classify,
    process_upload_folder,
)
from tests.factories import HEADER

TODAY = date(2024, 1, 10)
INVENTORY = "Data;Código;Depósito;Saldo\n03/01/2024;MP-1;D01;10,5\n03/01/2024;MP-2;D01;7\n".encode()
ITEMS = "Código;Descrição;Tipo;Unidade;Política\nMP-1;Aço;Matéria-prima;KG;Comprar\n".encode()
SALES = (HEADER + "05/01/2024;PA-1;x;2;5;10\n05/01/2024;PA-2;y;1;3;3\n").encode("cp1252")


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        ensure_ledger(connection)
        yield connection


def settled(path, seconds_ago: float = 60) -> None:
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))


def test_accept_upload_writes_the_file_under_the_name_it_lands_as(tmp_path):
    plan = accept_upload(INVENTORY, "estoque_20240103.csv", inbox=tmp_path, today=TODAY)
    assert (plan.entity, plan.business_date, plan.rows, plan.recognised_by) == (
        "inventory",
        date(2024, 1, 3),
        2,
        "file name",
    )
    assert (tmp_path / "upload" / "estoque_20240103.csv").read_bytes() == INVENTORY
    assert [p.name for p in (tmp_path / "upload").iterdir()] == ["estoque_20240103.csv"]  # no temp file left


def test_headers_say_what_an_oddly_named_file_is(tmp_path):
    items = classify(ITEMS, "Cadastro de produtos (final).csv", today=TODAY)
    assert (items.entity, items.file_name, items.recognised_by) == ("items", "itens_20240109.csv", "headers")
    assert classify(ITEMS, "x.csv", date(2024, 1, 2)).business_date == date(2024, 1, 2)
    stock = classify(INVENTORY, "saldo hoje.csv", today=TODAY)
    assert (stock.entity, stock.business_date) == ("inventory", date(2024, 1, 3))  # the date in the data
    sales = classify(SALES, "caixa.csv", today=TODAY)
    assert (sales.entity, sales.file_name) == ("sales", "fechamento_2024-01-05.csv")


def test_refusals_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(UploadTooLargeError, match=r"estoque_20240103.csv: .* over the .* upload limit"):
        accept_upload(INVENTORY, "estoque_20240103.csv", inbox=tmp_path, max_bytes=10)
    assert not (tmp_path / "upload").exists()
    with pytest.raises(UnrecognisedUploadError, match="no known report; closest is"):
        classify(b"Foo;Bar\n1;2\n", "planilha.csv")
    with pytest.raises(UnknownHeaderError, match="'Saldo' \\(found 'Sald': a misspelling\\?\\)"):
        classify(INVENTORY.replace(b"Saldo", b"Sald"), "estoque_20240103.csv")
    with pytest.raises(InvalidValueError, match="row 2, column 'Saldo' \\(on_hand\\): '7x' is not a number"):
        classify(INVENTORY.replace(b";7\n", b";7x\n"), "estoque_20240103.csv")
    two_days = INVENTORY + b"04/01/2024;MP-3;D01;1\n"
    with pytest.raises(UploadError, match="2 different dates"):
        classify(two_days, "saldos.csv")
    with pytest.raises(UploadError, match=r"only \.csv, \.txt and \.xlsx"):
        classify(INVENTORY, "estoque.pdf")


def test_the_drop_folder_feeds_the_inbox_and_the_landing(tmp_path, conn):
    inbox = tmp_path / "inbox"
    accept_upload(INVENTORY, "estoque_20240103.csv", inbox=inbox)
    dropped = inbox / "upload" / "Cadastro.csv"
    dropped.write_bytes(ITEMS)
    (inbox / "upload" / "caixa de sexta.csv").write_bytes(SALES)
    (inbox / "upload" / "lixo.csv").write_bytes(b"Foo;Bar\n1;2\n")
    for path in (inbox / "upload").iterdir():
        settled(path)
    (inbox / "upload" / "copiando.csv").write_bytes(ITEMS)  # still being copied in: left for the next round

    first = process_upload_folder(inbox, conn, today=TODAY)

    assert sorted((f.entity, f.business_date) for f in first.fetched) == [
        ("inventory", date(2024, 1, 3)),
        ("items", date(2024, 1, 9)),
        ("sales", date(2024, 1, 5)),
    ]
    assert list(first.rejected) == ["lixo.csv"]
    assert "no known report" in (inbox / "upload" / "rejected" / "lixo.csv.error.txt").read_text()
    assert (inbox / "upload" / "rejected" / "lixo.csv").exists()
    assert sorted(p.name for p in (inbox / "upload" / "done").iterdir()) == [
        "Cadastro.csv",
        "caixa de sexta.csv",
        "estoque_20240103.csv",
    ]
    assert sorted(p.name for p in (inbox / "upload").iterdir() if p.is_file()) == ["copiando.csv"]
    assert (inbox / "erp" / "itens_20240109.csv").read_bytes() == ITEMS

    results = land_inbox_files(conn, scan_inbox(inbox))
    assert sorted((r.entity, r.status, r.rows) for r in results) == [
        ("inventory", "landed", 2),
        ("items", "landed", 1),
        ("sales", "landed", 2),
    ]
    assert conn.execute("select count(*) from raw.sales where sale_date = '2024-01-05'").fetchone()[0] == 2

    dropped.parent.joinpath("again.csv").write_bytes(ITEMS)
    (inbox / "upload" / "Cadastro.csv").write_bytes(ITEMS)  # the same file a second time
    settled(inbox / "upload" / "Cadastro.csv")
    second = process_upload_folder(inbox, conn, today=TODAY, settle_seconds=3600)
    assert second.duplicates == [] and second.fetched == []  # nothing settled for an hour: nothing taken
    for path in (inbox / "upload").glob("*.csv"):
        settled(path)
    third = process_upload_folder(inbox, conn, today=TODAY)
    assert third.duplicates == ["Cadastro.csv"]
    assert sorted(f.entity for f in third.fetched) == ["items", "items"]  # again.csv and copiando.csv: new names
    assert len(list((inbox / "upload" / "done").glob("*Cadastro.csv"))) == 2  # the earlier one is kept
