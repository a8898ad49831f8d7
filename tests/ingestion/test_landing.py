from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest

from ingestion import landing
from ingestion.landing import ensure_raw_schema, land_email, land_erp_file, land_inbox_files, scan_inbox
from ingestion.schema import ENTITIES
from tests.factories import HEADER, cash_closing, encrypted, workbook


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


def sales_rows(n: int, bad: dict[int, str] | None = None) -> str:
    """``n`` rows of 03/01/2024, row i (1-based) replaced by ``bad[i]`` where given."""
    lines = [f"03/01/2024;PA-{i:03d};x;{i};2;{2 * i}" for i in range(1, n + 1)]
    for row, line in (bad or {}).items():
        lines[row - 1] = line
    return "\n".join(lines) + "\n"


def test_a_few_bad_rows_are_quarantined_and_the_good_rows_land_in_one_batch(conn):
    rows = sales_rows(40, {7: "03/01/2024;PA-007;x;12,5x;2;2", 30: "09/01/2024;PA-030;x;1;2;2"})
    raw = cash_closing(date(2024, 1, 3), rows, message_id="<few@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300")
    [result] = land_email(conn, raw, source="email")
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 38, 2)
    numbers = [n for (n,) in conn.execute("select _row_number from raw.sales order by 1").fetchall()]
    assert numbers == [n for n in range(1, 41) if n not in (7, 30)]
    rejects = conn.execute(
        "select batch_id, row_number, field, header, value, reason, raw_row from raw.rejected_rows order by 2"
    ).fetchall()
    assert [r[:6] for r in rejects] == [
        (result.batch_id, 7, "quantity", "Quantidade", "12,5x", "is not a number"),
        (
            result.batch_id,
            30,
            "sale_date",
            "Data",
            "09/01/2024",
            "is in the future (the file was received on 04/01/2024)",
        ),
    ]
    assert rejects[0][6] == {
        "sale_date": "03/01/2024",
        "sku": "PA-007",
        "description": "x",
        "quantity": "12,5x",
        "unit_price": "2",
        "revenue": "2",
    }
    batch = conn.execute("select status, row_count, rows_rejected, error from raw.batches").fetchone()
    assert batch == ("active", 38, 2, None)


def test_over_the_threshold_the_file_is_rejected_whole_with_its_bad_rows_recorded(conn):
    rows = sales_rows(
        40, {7: "03/01/2024;PA-007;x;12,5x;2;2", 30: "03/01/2024;;x;1;2;2", 31: "03/01/2024;PA-031;x;1;-2;2"}
    )
    raw = cash_closing(date(2024, 1, 3), rows, message_id="<many@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300")
    [result] = land_email(conn, raw, source="email")  # 3 of 40 = 7.5% > 5%
    assert (result.status, result.rows, result.rows_rejected) == ("rejected", 0, 3)
    assert "3 of 40 rows bad (7.5%, over the reject threshold of 5%)" in result.error
    assert "row 7, column 'Quantidade' (quantity): '12,5x' is not a number" in result.error
    assert "row 31, column 'Preço Unitário' (unit_price): '-2' is below the minimum 0" in result.error
    assert counts(conn) == (0, 1)
    assert conn.execute("select count(*) from raw.rejected_rows").fetchone() == (3,)
    assert conn.execute("select status, rows_rejected, quality_grade from raw.batches").fetchone() == (
        "rejected",
        3,
        "D",
    )


def test_the_threshold_is_a_setting_of_the_landing(conn):
    rows = sales_rows(
        40, {7: "03/01/2024;PA-007;x;12,5x;2;2", 30: "03/01/2024;;x;1;2;2", 31: "03/01/2024;PA-031;x;1;-2;2"}
    )
    raw = cash_closing(date(2024, 1, 3), rows, message_id="<lax@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300")
    [result] = land_email(conn, raw, source="email", reject_threshold_pct=10)
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 37, 3)


def test_a_rejected_row_never_reaches_the_table_and_a_resend_supersedes_with_its_own_rejects(conn):
    first = cash_closing(
        date(2024, 1, 3),
        sales_rows(30, {5: "03/01/2024;PA-005;x;?;2;2"}),
        message_id="<r1@x>",
        sent="Thu, 04 Jan 2024 07:00:00 -0300",
    )
    fixed = cash_closing(
        date(2024, 1, 3),
        sales_rows(30),
        message_id="<r2@x>",
        sent="Thu, 04 Jan 2024 09:00:00 -0300",
        subject_suffix=" (corrigido)",
    )
    [a] = land_email(conn, first, source="email")
    [b] = land_email(conn, fixed, source="email")
    assert (a.rows_rejected, b.rows_rejected, b.superseded) == (1, 0, (a.batch_id,))
    assert conn.execute("select batch_id from raw.rejected_rows").fetchall() == [(a.batch_id,)]
    assert counts(conn) == (59, 2)


def test_exact_copies_are_cleaned_away_without_counting_against_the_threshold(conn):
    rows = sales_rows(10, {4: sales_rows(1)[:-1], 9: sales_rows(2).split("\n")[1]})  # 2 of 10 rows are copies
    raw = cash_closing(date(2024, 1, 3), rows, message_id="<dup@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300")
    [result] = land_email(conn, raw, source="email")
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 8, 2)
    assert conn.execute("select row_number, reason from raw.rejected_rows order by 1").fetchall() == [
        (4, "is an exact copy of row 1"),
        (9, "is an exact copy of row 2"),
    ]


def test_every_batch_is_graded(conn):
    on_time = cash_closing(
        date(2024, 1, 3), sales_rows(20), message_id="<g1@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300"
    )
    late = cash_closing(date(2024, 1, 5), sales_rows(20), message_id="<g2@x>", sent="Fri, 12 Jan 2024 07:00:00 -0300")
    [a] = land_email(conn, on_time, source="email")
    [b] = land_email(conn, late, source="email")
    assert (a.quality_score, a.quality_grade) == (100.0, "A")
    assert b.quality_score == pytest.approx(100 * (0.3 + 0.5 + 0.2 * (1 - 6 / 7)), abs=0.05)
    assert b.quality_grade == "B"
    stored = conn.execute("select quality_score, quality_grade from raw.batches order by batch_id").fetchall()
    assert [(float(s), g) for s, g in stored] == [(100.0, "A"), (b.quality_score, "B")]


SALES_SHEET = [HEADER.strip().split(";"), ["03/01/2024", "PA-1", "x", 2, 5, 10], ["03/01/2024", "PA-2", "y", 1, 3, 3]]
WORKBOOK_EXPECTED = {
    "corrupt xlsx": (b"PK\x03\x04 truncated zip", "not a readable workbook"),
    "password-protected xlsx": (encrypted(workbook(SALES_SHEET), "s3nha"), "a password-protected workbook"),
    "empty attachment": (b"", "the file is empty"),
}


@pytest.mark.parametrize("kind", list(WORKBOOK_EXPECTED))
def test_unreadable_workbooks_are_recorded_rejected_with_a_clear_error(conn, kind):
    content, expected = WORKBOOK_EXPECTED[kind]
    result = landing.land_file(
        conn,
        content,
        file_name="fechamento_2024-01-03.xlsx",
        entity=ENTITIES["sales"],
        source="email",
        source_ref=f"<{kind}@x>",
        received_at=datetime(2024, 1, 4, 10, tzinfo=UTC),
        business_date=date(2024, 1, 3),
    )
    assert result.status == "rejected" and expected in result.error
    assert result.error.startswith("fechamento_2024-01-03.xlsx: ")
    assert conn.execute("select status, error, quality_grade from raw.batches").fetchone() == (
        "rejected",
        result.error,
        "D",
    )
    assert counts(conn) == (0, 1)


def test_each_row_defect_has_its_documented_outcome_and_nothing_is_lost(conn):
    rows = sales_rows(
        30,
        {
            3: "03/01/2024;PA-003;x;-4;2;-8",  # negative quantity: lands (no return flag), staging flags it
            4: "03/01/2024;PA-99999;x;3;2;6",  # unknown SKU: lands, staging flags it
            5: "05/01/2024;PA-005;x;5;2;10",  # future date: quarantined
            6: "03/01/2024;PA-001;x;1;2;2",  # exact copy of row 1: quarantined, the first lands
        },
    )
    raw = cash_closing(date(2024, 1, 3), rows, message_id="<defects@x>", sent="Thu, 04 Jan 2024 07:00:00 -0300")
    [result] = land_email(conn, raw, source="email")
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 28, 2)
    landed = dict(conn.execute("select _row_number, sku from raw.sales where _row_number in (3, 4)").fetchall())
    assert landed == {3: "PA-003", 4: "PA-99999"}
    quarantined = conn.execute("select row_number, field, reason from raw.rejected_rows order by 1").fetchall()
    assert [(r, f) for r, f, _ in quarantined] == [(5, "sale_date"), (6, None)]
    landed_or_kept = conn.execute(
        "select count(*) from (select _row_number from raw.sales union select row_number from raw.rejected_rows) n"
    ).fetchone()
    assert landed_or_kept == (30,)


def test_a_password_protected_workbook_lands_with_a_configured_password(conn):
    land = dict(
        file_name="fechamento_2024-01-03.xlsx",
        entity=ENTITIES["sales"],
        source="email",
        source_ref="<locked@x>",
        received_at=datetime(2024, 1, 4, 10, tzinfo=UTC),
        business_date=date(2024, 1, 3),
    )
    locked = encrypted(workbook(SALES_SHEET), "s3nha")
    refused = landing.land_file(conn, locked, **land, passwords=["errada"])
    assert refused.status == "rejected" and "none of the 1 configured passwords opens it" in refused.error
    opened = landing.land_file(conn, encrypted(workbook(SALES_SHEET), "s3nha"), **land, passwords=["errada", "s3nha"])
    assert (opened.status, opened.rows) == ("landed", 2)
    assert conn.execute("select sku, quantity, revenue from raw.sales order by _row_number").fetchall() == [
        ("PA-1", 2, 10),
        ("PA-2", 1, 3),
    ]


TITLE_LINES = ("Fechamento de caixa", "Loja 12", "Data: 03/01/2024")


def sales_file(suffix: str, rows: str, title_lines: tuple[str, ...] = ()) -> bytes:
    if suffix == "xlsx":
        return workbook([line.split(";") for line in (HEADER + rows).splitlines()], title_lines)
    titles = "".join(f"{line}\n" for line in title_lines) + ("\n" if title_lines else "")
    return (titles + HEADER + rows).encode("cp1252")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_title_lines_above_the_header_land_like_the_file_without_them_and_rows_keep_their_numbers(conn, suffix):
    rows = sales_rows(40, {7: "03/01/2024;PA-007;x;12,5x;2;2"})
    land = dict(
        entity=ENTITIES["sales"],
        source="email",
        received_at=datetime(2024, 1, 4, 10, tzinfo=UTC),
        business_date=date(2024, 1, 3),
    )
    plain = landing.land_file(conn, sales_file(suffix, rows), file_name=f"a.{suffix}", source_ref="<a@x>", **land)
    titled_file = sales_file(suffix, rows, TITLE_LINES)
    titled = landing.land_file(conn, titled_file, file_name=f"b.{suffix}", source_ref="<b@x>", **land)
    assert [(r.status, r.rows, r.rows_rejected) for r in (plain, titled)] == [("landed", 39, 1)] * 2

    def landed(batch_id: int) -> list[tuple]:
        return conn.execute(
            "select _row_number, sale_date, sku, description, quantity, unit_price, revenue from raw.sales"
            " where _batch_id = %s order by _row_number",
            (batch_id,),
        ).fetchall()

    lines_above = len(TITLE_LINES) + 1  # and a blank one
    assert [(n + lines_above, *rest) for n, *rest in landed(plain.batch_id)] == landed(titled.batch_id)
    rejects = conn.execute("select batch_id, row_number, value from raw.rejected_rows order by 1").fetchall()
    assert rejects == [(plain.batch_id, 7, "12,5x"), (titled.batch_id, 7 + lines_above, "12,5x")]

    strict = landing.land_file(
        conn,
        titled_file,
        file_name=f"c.{suffix}",
        source_ref="<c@x>",
        **{**land, "business_date": date(2024, 1, 2)},
        reject_threshold_pct=0,
    )
    assert strict.status == "rejected"
    assert f"row {7 + lines_above}, column 'Quantidade' (quantity): '12,5x' is not a number" in strict.error
