"""PDF reports: ruled and unruled text tables, continued over pages, landed like any other file (real PDFs, fpdf2)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage

import psycopg
import pytest
from fpdf import FPDF

from ingestion.fetched import ensure_ledger
from ingestion.landing import ensure_raw_schema, land_email, land_file, land_inbox_files, scan_inbox
from ingestion.schema import ENTITIES
from ingestion.upload import accept_upload, process_upload_folder

HEADER = ["Data", "Código", "Descrição", "Quantidade", "Preço Unitário", "Valor Total"]
WIDTHS = [25, 25, 40, 25, 30, 25]  # mm
TITLES = ("Fechamento de caixa - Loja 12", "Data: 03/01/2024")
LAND = dict(
    entity=ENTITIES["sales"],
    source="email",
    source_ref="<pdf@x>",
    received_at=datetime(2024, 1, 4, 10, tzinfo=UTC),
    business_date=date(2024, 1, 3),
)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        ensure_ledger(connection)
        yield connection


def sales_cells(n: int, *, largest_first: bool = False) -> list[list[str]]:
    order = range(n, 0, -1) if largest_first else range(1, n + 1)
    return [["03/01/2024", f"PA-{i:03d}", f"Produto {i}", f"{i},5", "2,00", f"{2 * i + 1},00"] for i in order]


def expected_rows(n: int, first_row: int, *, largest_first: bool = False) -> list[tuple]:
    order = range(n, 0, -1) if largest_first else range(1, n + 1)
    return [
        (first_row + k, date(2024, 1, 3), f"PA-{i:03d}", f"Produto {i}", Decimal(f"{i}.5"), 2, 2 * i + 1)
        for k, i in enumerate(order)
    ]


def landed(conn) -> list[tuple]:
    return conn.execute(
        "select _row_number, sale_date, sku, description, quantity, unit_price, revenue from raw.sales order by 1"
    ).fetchall()


def report() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=9)
    return pdf


def title(pdf: FPDF) -> None:
    for line in TITLES:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def ruled_pdf(rows: list[list[str]]) -> bytes:
    """A report with a bordered table; fpdf2 breaks it over pages and repeats the header on each."""
    pdf = report()
    pdf.add_page()
    title(pdf)
    with pdf.table(col_widths=WIDTHS, borders_layout="ALL", repeat_headings=1) as table:
        for cells in [HEADER, *rows]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    return bytes(pdf.output())


def unruled_pdf(rows: list[list[str]], *, repeat_header: bool) -> bytes:
    """A report printed as aligned text without any lines; a new page gets the title and header again, or not."""
    pdf = report()
    pdf.set_auto_page_break(False)

    def line(cells: list[str]) -> None:
        for width, cell in zip(WIDTHS, cells, strict=True):
            pdf.cell(width, 6, cell)
        pdf.ln(6)

    pdf.add_page()
    title(pdf)
    line(HEADER)
    for cells in rows:
        if pdf.get_y() > 270:
            pdf.add_page()
            if repeat_header:
                title(pdf)
                line(HEADER)
        line(cells)
    assert pdf.pages_count == 2
    return bytes(pdf.output())


def test_a_ruled_table_lands_exactly(conn):
    content = ruled_pdf(sales_cells(45))  # two pages, the header repeated on the second
    result = land_file(conn, content, file_name="fechamento_2024-01-03.pdf", **LAND)
    assert (result.status, result.rows, result.rows_rejected) == ("landed", 45, 0)
    assert landed(conn) == expected_rows(45, first_row=1)  # the ruled table starts at its header: no title rows


@pytest.mark.parametrize(
    ("rows", "repeat_header", "largest_first"),
    [(42, False, True), (60, True, False)],
    ids=[
        "two short rows on the second page, no header there",  # too few to show columns, narrower than page 1's
        "header and title repeated on the second page",
    ],
)
def test_an_unruled_table_over_two_pages_lands_exactly_from_an_email(conn, rows, repeat_header, largest_first):
    message = EmailMessage()
    message["Subject"] = "Fechamento de caixa 03/01/2024"
    message["Message-ID"] = "<pdf@x>"
    message["Date"] = "Thu, 04 Jan 2024 07:00:00 -0300"
    message.set_content("Segue o fechamento em PDF.")
    pdf = unruled_pdf(sales_cells(rows, largest_first=largest_first), repeat_header=repeat_header)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="fechamento.pdf")
    [result] = land_email(conn, bytes(message), source="email")
    assert (result.status, result.rows, result.rows_rejected) == ("landed", rows, 0)
    # the title lines keep their numbers: the first data row is row 3
    assert landed(conn) == expected_rows(rows, first_row=len(TITLES) + 1, largest_first=largest_first)


def test_a_pdf_without_a_table_is_rejected_naming_the_file(conn):
    pdf = report()
    pdf.add_page()
    pdf.multi_cell(0, 6, "Prezados,\nsegue o fechamento de caixa de hoje.\nAtenciosamente, Financeiro")
    result = land_file(conn, bytes(pdf.output()), file_name="carta.pdf", **LAND)
    assert result.status == "rejected"
    assert result.error.startswith("carta.pdf: no table found in the PDF")
    assert conn.execute("select status, error, row_count from raw.batches").fetchone() == (
        "rejected",
        result.error,
        0,
    )
    assert landed(conn) == []


def test_an_uploaded_pdf_report_lands_through_the_inbox(conn, tmp_path):
    inbox = tmp_path / "inbox"
    plan = accept_upload(ruled_pdf(sales_cells(3)), "caixa de sexta.pdf", inbox=inbox, today=date(2024, 1, 10))
    assert (plan.entity, plan.file_name, plan.rows, plan.recognised_by) == (
        "sales",
        "fechamento_2024-01-03.pdf",
        3,
        "headers",
    )
    uploaded = process_upload_folder(inbox, conn, settle_seconds=0, today=date(2024, 1, 10))
    assert [(f.entity, f.business_date) for f in uploaded.fetched] == [("sales", date(2024, 1, 3))]
    [result] = land_inbox_files(conn, scan_inbox(inbox))
    assert (result.status, result.file_name, result.rows) == ("landed", "fechamento_2024-01-03.pdf", 3)
    assert landed(conn) == expected_rows(3, first_row=1)
