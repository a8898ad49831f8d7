from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest

from ingestion import landing
from ingestion.landing import ensure_raw_schema, land_email, land_erp_file, land_inbox_files, scan_inbox
from tests.factories import cash_closing


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        yield connection


def counts(conn) -> tuple[int, int]:
    rows = conn.execute("select count(*) from raw.sales").fetchone()[0]
    batches = conn.execute("select count(*) from raw.batches").fetchone()[0]
    return rows, batches


def test_email_lands_with_lineage_on_every_row(conn):
    raw = cash_closing(
        date(2024, 1, 3),
        "03/01/2024;PA-1;x;2;5;10\n03/01/2024;PA-2;y;1;3;3\n",
        message_id="<m1@x>",
        sent="Thu, 04 Jan 2024 07:00:00 -0300",
    )
    [result] = land_email(conn, raw, source="email")
    assert (result.status, result.rows, result.business_date) == ("landed", 2, date(2024, 1, 3))
    rows = conn.execute(
        "select _batch_id, _source, _source_ref, _file_sha256, _received_at, _row_number, sku from raw.sales order by 6"
    ).fetchall()
    assert [r[5] for r in rows] == [1, 2]
    assert {r[0] for r in rows} == {result.batch_id}
    assert rows[0][1:4] == ("email", "<m1@x>", rows[0][3]) and len(rows[0][3]) == 64
    assert rows[0][4] == datetime(2024, 1, 4, 10, 0, tzinfo=UTC)


def test_the_same_file_twice_changes_nothing(conn):
    raw = cash_closing(
        date(2024, 1, 3), "03/01/2024;PA-1;x;2;5;10\n", message_id="<m1@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"
    )
    land_email(conn, raw, source="email")
    before = counts(conn)
    [again] = land_email(conn, raw, source="email")
    assert again.status == "duplicate"
    assert counts(conn) == before


@pytest.mark.parametrize("order", [("original", "corrected"), ("corrected", "original")])
def test_corrected_resend_supersedes_whatever_the_landing_order(conn, order):
    emails = {
        "original": cash_closing(
            date(2024, 1, 3), "03/01/2024;PA-1;x;2;5;10\n", message_id="<a@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"
        ),
        "corrected": cash_closing(
            date(2024, 1, 3),
            "03/01/2024;PA-1;x;3;5;15\n",
            message_id="<b@x>",
            sent="Fri, 05 Jan 2024 07:00:00 -0300",
            subject_suffix=" (corrigido)",
        ),
    }
    for name in order:
        land_email(conn, emails[name], source="email")
    active = conn.execute(
        "select s.quantity from raw.sales s join raw.batches b on b.batch_id = s._batch_id where b.status = 'active'"
    ).fetchall()
    assert [float(q) for (q,) in active] == [3.0]
    statuses = conn.execute(
        "select source_ref, status, superseded_by is not null from raw.batches order by 1"
    ).fetchall()
    assert statuses == [("<a@x>", "superseded", True), ("<b@x>", "active", False)]
    assert counts(conn) == (2, 2)  # both kept


def test_a_bad_file_is_recorded_rejected_with_its_error_and_lands_no_rows(conn):
    raw = cash_closing(
        date(2024, 1, 3),
        "03/01/2024;PA-1;x;2;5;10\n03/01/2024;PA-2;x;-;5;abc\n",
        message_id="<bad@x>",
        sent="Thu, 04 Jan 2024 07:00:00 -0300",
    )
    [result] = land_email(conn, raw, source="email")
    assert result.status == "rejected"
    assert "fechamento_2024-01-03.csv: " in result.error and "row 2, column 'Quantidade'" in result.error
    assert counts(conn) == (0, 1)
    assert conn.execute("select status, error from raw.batches").fetchone() == ("rejected", result.error)


def test_an_email_without_attachment_is_rejected_once(conn):
    message = EmailMessage()
    message["Subject"] = "Fechamento de caixa 03/01/2024"
    message["Message-ID"] = "<html@x>"
    message["Date"] = "Thu, 04 Jan 2024 07:00:00 -0300"
    message.add_alternative("<p>sem anexo</p>", subtype="html")
    [result] = land_email(conn, bytes(message), source="email")
    assert result.status == "rejected" and "no .xlsx or .csv attachment" in result.error
    assert land_email(conn, bytes(message), source="email")[0].status == "duplicate"


def test_a_failure_during_the_copy_leaves_nothing_half_written(conn, monkeypatch):
    raw = cash_closing(
        date(2024, 1, 3), "03/01/2024;PA-1;x;2;5;10\n", message_id="<m@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"
    )

    def broken_copy(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(landing, "_copy_rows", broken_copy)
    with pytest.raises(RuntimeError):
        land_email(conn, raw, source="email")
    assert counts(conn) == (0, 0)
    monkeypatch.undo()
    assert land_email(conn, raw, source="email")[0].status == "landed"
    assert counts(conn) == (1, 1)


def test_erp_files_by_name_and_inbox_scan(conn, tmp_path: Path):
    erp = tmp_path / "erp"
    erp.mkdir()
    (erp / "estoque_20240105.csv").write_text(
        "Data;Código;Depósito;Saldo;Custo Médio\n05/01/2024;PA-1;PA01;1.234,5;10,25\n"
    )
    (erp / "notes.txt").write_text("ignored")
    files = list(scan_inbox(tmp_path))
    assert [(f.kind, f.entity, f.business_date) for f in files] == [("erp", "inventory", date(2024, 1, 5))]
    [result] = land_inbox_files(conn, files)
    assert (result.entity, result.rows) == ("inventory", 1)
    assert conn.execute("select on_hand, unit_cost from raw.inventory").fetchone() == (
        pytest.approx(1234.5),
        pytest.approx(10.25),
    )
    assert land_erp_file(conn, erp / "estoque_20240105.csv").status == "duplicate"


def test_landing_refuses_a_connection_inside_a_transaction(database_url):
    with psycopg.connect(database_url) as plain, pytest.raises(ValueError, match="autocommit"):
        land_email(
            plain,
            cash_closing(date(2024, 1, 3), "", message_id="<x@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"),
            source="email",
        )


def test_an_unchanged_position_on_another_day_is_a_new_batch(conn, tmp_path: Path):
    content = "Data;Código;Depósito;Saldo;Custo Médio\n05/01/2024;PA-1;PA01;10;1\n"
    for day in ("20240105", "20240108"):
        (tmp_path / f"estoque_{day}.csv").write_text(content)
    first = land_erp_file(conn, tmp_path / "estoque_20240105.csv")
    second = land_erp_file(conn, tmp_path / "estoque_20240108.csv")
    assert (first.status, second.status) == ("landed", "landed")
    assert conn.execute("select count(*) from raw.batches where status = 'active'").fetchone() == (2,)


def test_a_header_only_export_is_an_empty_active_batch(conn, tmp_path: Path):
    (tmp_path / "paradas_20240105.csv").write_text("Centro de Trabalho;Início;Fim;Motivo\n")
    result = land_erp_file(conn, tmp_path / "paradas_20240105.csv")
    assert (result.status, result.rows) == ("landed", 0)
    assert conn.execute("select status, row_count from raw.batches").fetchone() == ("active", 0)
