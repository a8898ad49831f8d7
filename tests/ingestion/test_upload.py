"""Uploads: the dashboard's accept_upload and the drop folder, feeding the inbox the landing assets read."""

import os
import time
from datetime import date

import psycopg
import pytest

from ingestion.fetched import ensure_ledger
from ingestion.landing import ensure_raw_schema, land_inbox_files, scan_inbox
from ingestion.readers import InvalidValueError, UnknownHeaderError
from ingestion.templates import ColumnMap, make_template, save_template, stored_templates
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
    with pytest.raises(UploadError, match=r"only \.csv, \.txt, \.xlsx and \.pdf"):
        classify(INVENTORY, "estoque.doc")


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


# another ERP's stock report under title lines: its own headers, codes without zero padding, dotted dates
OTHER_STOCK = (
    "Posição de estoque\nEmitido em 06/01/2024\n\n"
    "Dt. Posicao;Cod. Produto;Armazem;Qtde Disponivel\n05.01.2024; 123 ;d01;1234.5\n05.01.2024;4567;d02;7\n"
).encode()
OTHER_TEMPLATE = make_template(
    "outro_erp_estoque",
    "inventory",
    [
        ColumnMap("Dt. Posicao", "snapshot_date", ("date_format(%d.%m.%Y)",)),
        ColumnMap("Cod. Produto", "sku", ("trim", "zero_pad(6)")),
        ColumnMap("Armazem", "warehouse_code", ("trim", "upper")),
        ColumnMap("Qtde Disponivel", "on_hand", ("decimal_point",)),
    ],
)


def stock(rows: int, bad: dict[int, str]) -> bytes:
    """An inventory export of ``rows`` rows, row i's balance replaced by ``bad[i]``."""
    lines = [f"03/01/2024;MP-{i:03d};D01;{bad.get(i, i)}" for i in range(1, rows + 1)]
    return ("Data;Código;Depósito;Saldo\n" + "\n".join(lines) + "\n").encode()


def test_an_upload_with_foreign_headers_lands_through_its_mapping_template(tmp_path, conn):
    inbox = tmp_path / "inbox"
    with pytest.raises(UnrecognisedUploadError, match=r"no known report.*add a mapping template"):
        accept_upload(OTHER_STOCK, "saldo outro erp.csv", inbox=inbox, templates=stored_templates(conn))
    save_template(conn, OTHER_TEMPLATE)
    plan = accept_upload(OTHER_STOCK, "saldo outro erp.csv", inbox=inbox, today=TODAY, templates=stored_templates(conn))
    assert (plan.entity, plan.business_date, plan.file_name, plan.rows, plan.recognised_by) == (
        "inventory",
        date(2024, 1, 5),
        "estoque_20240105.csv",
        2,
        "headers",
    )
    (inbox / "upload" / "estoque_20240108.csv").write_bytes(OTHER_STOCK.replace(b"05.01", b"08.01"))  # the drop folder

    uploaded = process_upload_folder(inbox, conn, settle_seconds=0, today=TODAY)

    assert uploaded.rejected == {}
    results = land_inbox_files(conn, scan_inbox(inbox))
    assert [(r.file_name, r.status, r.rows) for r in results] == [
        ("estoque_20240105.csv", "landed", 2),
        ("estoque_20240108.csv", "landed", 2),
    ]
    assert conn.execute(
        "select snapshot_date, sku, warehouse_code, on_hand, _row_number from raw.inventory order by 1, 5"
    ).fetchall() == [
        (date(2024, 1, 5), "000123", "D01", 1234.5, 4),  # line 5 is row 4: the title lines keep their numbers
        (date(2024, 1, 5), "004567", "D02", 7, 5),
        (date(2024, 1, 8), "000123", "D01", 1234.5, 4),
        (date(2024, 1, 8), "004567", "D02", 7, 5),
    ]


def test_an_upload_with_a_few_bad_rows_lands_the_good_ones_and_quarantines_the_bad(tmp_path, conn):
    inbox = tmp_path / "inbox"
    plan = accept_upload(stock(40, {7: "7x"}), "estoque_20240103.csv", inbox=inbox, today=TODAY)
    assert (plan.rows, plan.rows_rejected) == (39, 1)  # 2.5 % bad: under the 5 % threshold
    process_upload_folder(inbox, conn, settle_seconds=0, today=TODAY)
    [result] = land_inbox_files(conn, scan_inbox(inbox))
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 39, 1)
    assert conn.execute("select row_number, field, value, reason from raw.rejected_rows").fetchall() == [
        (7, "on_hand", "7x", "is not a number")
    ]
    assert conn.execute("select count(*) from raw.inventory where sku = 'MP-007'").fetchone() == (0,)


def test_an_upload_over_the_reject_threshold_is_refused_whole_and_recorded_like_any_rejected_file(tmp_path, conn):
    inbox = tmp_path / "inbox"
    content = stock(40, {7: "7x", 8: "-", 30: "1,2,3"})  # 3 of 40 = 7.5 % bad
    refusal = r"3 of 40 rows bad \(7\.5%, over the reject threshold of 5%\): row 7, column 'Saldo' \(on_hand\): '7x'"
    with pytest.raises(InvalidValueError, match=refusal):
        accept_upload(content, "estoque_20240103.csv", inbox=inbox, today=TODAY)
    assert not (inbox / "upload").exists(), "without the warehouse, nothing is written"

    (inbox / "upload").mkdir(parents=True)
    (inbox / "upload" / "saldos.csv").write_bytes(content)
    uploaded = process_upload_folder(inbox, conn, settle_seconds=0, today=TODAY)
    assert list(uploaded.rejected) == ["saldos.csv"] and uploaded.fetched == []
    assert "over the reject threshold of 5%" in (inbox / "upload" / "rejected" / "saldos.csv.error.txt").read_text()
    assert land_inbox_files(conn, scan_inbox(inbox)) == []
    assert conn.execute("select count(*) from raw.inventory").fetchone() == (0,)
    [(batch_id, source, ref, day, status, error, rows_rejected)] = conn.execute(
        "select batch_id, source, source_ref, business_date, status, error, rows_rejected from raw.batches"
    ).fetchall()
    assert (source, ref, day, status, rows_rejected) == (
        "upload",
        "upload://saldos.csv",
        date(2024, 1, 3),
        "rejected",
        3,
    )
    assert "saldos.csv: 3 of 40 rows bad (7.5%, over the reject threshold of 5%)" in error
    assert conn.execute(
        "select batch_id, row_number, field, value, reason from raw.rejected_rows order by row_number"
    ).fetchall() == [
        (batch_id, 7, "on_hand", "7x", "is not a number"),
        (batch_id, 8, "on_hand", "-", "is not a number"),
        (batch_id, 30, "on_hand", "1,2,3", "is not a number"),
    ]
    [(entity, ledger_day, local_path)] = conn.execute(
        "select entity, business_date, local_path from raw.fetched_files"
    ).fetchall()  # the upload sensor requests the day's landing: its check fails and raises the alert
    assert (entity, ledger_day, local_path) == (
        "inventory",
        date(2024, 1, 3),
        str(inbox / "upload/rejected/saldos.csv"),
    )

    (inbox / "upload" / "saldos.csv").write_bytes(content)  # the same file again: known, nothing new
    again = process_upload_folder(inbox, conn, settle_seconds=0, today=TODAY)
    assert list(again.rejected) == ["saldos.csv"]
    assert conn.execute("select count(*) from raw.batches").fetchone() == (1,)
    assert conn.execute("select count(*) from raw.fetched_files").fetchone() == (1,)
    (inbox / "upload" / "saldos.csv").write_bytes(content)  # nor with a laxer threshold: it stands rejected (IN-7)
    lax = process_upload_folder(inbox, conn, settle_seconds=0, today=TODAY, reject_threshold_pct=10)
    assert lax.fetched == [] and lax.duplicates == ["saldos.csv"]


def test_a_refused_upload_from_the_page_is_kept_and_recorded_before_the_error(tmp_path, conn):
    inbox = tmp_path / "inbox"
    content = stock(10, {2: "dois"})  # 10 % bad
    with pytest.raises(InvalidValueError, match="row 2, column 'Saldo' \\(on_hand\\): 'dois' is not a number"):
        accept_upload(content, "estoque_20240104.csv", inbox=inbox, today=TODAY, conn=conn)
    assert (inbox / "upload" / "rejected" / "estoque_20240104.csv").read_bytes() == content
    assert "'dois' is not a number" in (inbox / "upload" / "rejected" / "estoque_20240104.csv.error.txt").read_text()
    assert [p.name for p in (inbox / "upload").iterdir()] == ["rejected"], "nothing waits for the landing"
    assert conn.execute("select entity, business_date, status, rows_rejected from raw.batches").fetchall() == [
        ("inventory", date(2024, 1, 4), "rejected", 1)
    ]
    assert conn.execute("select row_number, value from raw.rejected_rows").fetchall() == [(2, "dois")]

    with pytest.raises(UploadTooLargeError, match="upload limit"):  # known by its name: recorded unread
        accept_upload(INVENTORY, "estoque_20240105.csv", inbox=inbox, max_bytes=10, conn=conn)
    with pytest.raises(UnrecognisedUploadError):  # no kind to record it as: refused only
        accept_upload(b"Foo;Bar\n1;2\n", "planilha.csv", inbox=inbox, conn=conn)
    assert conn.execute(
        "select business_date, rows_rejected, error like '%%over the 0 MB upload limit%%' from raw.batches"
        " where business_date = '2024-01-05'"
    ).fetchall() == [(date(2024, 1, 5), 0, True)]
    assert conn.execute("select count(*) from raw.fetched_files").fetchone() == (2,)
