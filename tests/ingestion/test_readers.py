import io
from datetime import date, time

import polars as pl
import pytest
import xlsxwriter

from ingestion.readers import (
    EncryptedWorkbookError,
    InvalidValueError,
    UnknownHeaderError,
    UnreadableFileError,
    coerce,
    find_header_row,
    map_columns,
    read_table,
    sniff_delimiter,
)
from ingestion.schema import ENTITIES
from tests.factories import encrypted, workbook

SALES_HEADER = "Data;Código;Descrição;Quantidade;Preço Unitário;Valor Total\n"


def typed(content: bytes, name: str, entity: str) -> pl.DataFrame:
    spec = ENTITIES[entity]
    return coerce(map_columns(read_table(content, name), spec, name), spec, name)


def test_brazilian_csv_in_cp1252_parses_decimal_comma_thousands_dot_and_dates():
    text = SALES_HEADER + "03/01/2024; pa-00001 ;Balde plástico 10L;1.234,5;10,50;12.962,25\n"
    frame = typed(text.encode("cp1252"), "fechamento.csv", "sales")
    row = frame.row(0, named=True)
    assert row["sale_date"] == date(2024, 1, 3)
    assert row["sku"] == "pa-00001"
    assert row["description"] == "Balde plástico 10L"
    assert row["quantity"] == pytest.approx(1234.5)
    assert row["revenue"] == pytest.approx(12962.25)


def test_headers_match_without_accents_case_or_extra_spaces():
    text = "data;CODIGO;descricao; quantidade ;preco unitario;VALOR TOTAL\n04/01/2024;A;x;1;2;2\n"
    assert typed(text.encode(), "f.csv", "sales")["quantity"].to_list() == [1.0]


def test_xlsx_with_real_date_cells_and_numbers():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Vendas")
    for col, header in enumerate(["Data", "Código", "Descrição", "Quantidade", "Preço Unitário", "Valor Total"]):
        sheet.write(0, col, header)
    sheet.write_datetime(
        1, 0, __import__("datetime").datetime(2024, 2, 1), book.add_format({"num_format": "dd/mm/yyyy"})
    )
    sheet.write_row(1, 1, ["PA-1", "Item", 3, 1.5, 4.5])
    book.close()
    frame = typed(buffer.getvalue(), "f.xlsx", "sales")
    assert frame.row(0) == (date(2024, 2, 1), "PA-1", "Item", 3.0, 1.5, 4.5)


def test_misspelled_header_names_the_file_the_missing_column_and_the_likely_typo():
    text = "Data;Código;Descrição;Quantidde;Preço Unitário;Valor Total\n03/01/2024;A;x;1;1;1\n"
    with pytest.raises(UnknownHeaderError) as raised:
        typed(text.encode(), "fechamento_2024-01-03.csv", "sales")
    message = str(raised.value)
    assert "fechamento_2024-01-03.csv" in message
    assert "'Quantidade'" in message
    assert "Quantidde" in message


def test_invalid_value_names_row_column_and_value():
    text = SALES_HEADER + "03/01/2024;A;x;1;1;1\n03/01/2024;B;x;12,5x;1;1\n31/02/2024;C;x;1;1;1\n"
    with pytest.raises(InvalidValueError) as raised:
        typed(text.encode(), "f.csv", "sales")
    message = str(raised.value)
    assert "f.csv" in message
    assert "row 2, column 'Quantidade' (quantity): '12,5x' is not a number" in message
    assert "row 3, column 'Data' (sale_date): '31/02/2024' is not a date" in message
    assert [p.row for p in raised.value.problems] == [2, 3]


def test_missing_required_value_is_reported():
    text = SALES_HEADER + "03/01/2024;;x;1;1;1\n"
    with pytest.raises(InvalidValueError, match="row 1, column 'Código' \\(sku\\): '' is missing"):
        typed(text.encode(), "f.csv", "sales")


def test_booleans_times_and_timestamps():
    shifts = "Centro de Trabalho;Turno;Dia da Semana;Início;Fim\nCT01;T3;1;22:00;06:00\n"
    frame = typed(shifts.encode(), "turnos_20240101.csv", "shifts")
    assert frame.row(0) == ("CT01", "T3", 1, time(22, 0), time(6, 0))
    calendar = "Data;Dia Útil;Feriado;Férias Coletivas\n21/04/2024;N;Tiradentes;N\n22/04/2024;S;;N\n"
    frame = typed(calendar.encode(), "calendario_20240101.csv", "calendar")
    assert frame["is_working_day"].to_list() == [False, True]
    assert frame["holiday_name"].to_list() == ["Tiradentes", None]


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"", "a.xlsx", "empty"),
        (b"not a zip", "a.xlsx", "workbook"),
        (b"x", "a.doc", "unsupported"),
        (b"x", "a.pdf", "not a readable PDF"),
    ],
)
def test_unreadable_files(content, name, reason):
    with pytest.raises(UnreadableFileError, match=reason):
        read_table(content, name)


SALES_CELLS = [
    ["Data", "Código", "Descrição", "Quantidade", "Preço Unitário", "Valor Total"],
    ["03/01/2024", "PA-1", "Balde, azul, 10L", "2", "5", "10"],
    ["03/01/2024", "PA-2", "Pá", "1", "3", "3"],
]
TITLE_LINES = ("Fechamento de caixa", "Loja 12", "Data: 03/01/2024, emitido às 18:00")


@pytest.mark.parametrize("padded", [False, True])
def test_title_lines_above_a_csv_header_are_skipped_and_rows_keep_their_line_numbers(padded):
    body = "".join(";".join(row) + "\n" for row in SALES_CELLS)
    pad = ";;;;;" if padded else ""  # Excel pads every line of a ';' export to the table's width
    titled = "".join(f"{line}{pad}\n" for line in TITLE_LINES) + pad + "\n" + body
    plain_table = read_table(body.encode("cp1252"), "f.csv")
    titled_table = read_table(titled.encode("cp1252"), "f.csv")
    assert titled_table.frame.equals(plain_table.frame)
    assert titled_table.decimal_comma and (plain_table.first_row, titled_table.first_row) == (1, 5)


def test_title_rows_above_a_sheet_header_are_skipped_and_rows_keep_their_sheet_numbers():
    plain_table = read_table(workbook(SALES_CELLS), "f.xlsx")
    titled_table = read_table(workbook(SALES_CELLS, TITLE_LINES), "f.xlsx")
    assert titled_table.frame.equals(plain_table.frame)
    assert (plain_table.first_row, titled_table.first_row) == (1, 5)


def test_the_header_row_is_the_one_with_known_headers_else_the_first_that_looks_like_one():
    foreign = [["Relatório de estoque"], [], ["Dt. Posicao", "Cod. Produto", "Armazem", "Qtde"], ["05.01.2024", "1"]]
    assert find_header_row(foreign) == 2  # by its shape: the first row of text cells as wide as the table
    assert find_header_row([["Loja", "Centro"], *foreign], ["Dt. Posicao", "Armazem"]) == 3  # by its template
    stock = [["Loja", "12"], ["Data", "Código", "Depósito", "Saldo"], ["05/01/2024", "Código", "D1", "1"]]
    assert find_header_row(stock) == 1
    assert find_header_row([["1", "2"], ["3", "4"]]) == 0


def test_the_delimiter_is_the_one_every_line_has_as_often():
    lines = ["Relatório de vendas, loja 12", "Data;Código;Descrição", "03/01/2024;A;Balde, azul, 10L, novo"]
    assert sniff_delimiter(lines) == ";"
    assert sniff_delimiter(["a,b,c", "1,2,3"]) == "," and sniff_delimiter(["título"]) == ";"


def test_a_password_protected_workbook_is_refused_unless_a_configured_password_opens_it():
    plain = workbook(SALES_CELLS)
    locked = encrypted(plain, "s3nha")
    assert locked[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # the OLE2 container Excel writes, not a zip
    with pytest.raises(EncryptedWorkbookError, match=r"^caixa\.xlsx: a password-protected workbook \(no password"):
        read_table(locked, "caixa.xlsx")
    with pytest.raises(EncryptedWorkbookError, match="none of the 2 configured passwords opens it"):
        read_table(locked, "caixa.xlsx", passwords=["errada", "outra"])
    opened = read_table(locked, "caixa.xlsx", passwords=["errada", "s3nha"])
    assert opened.frame.equals(read_table(plain, "caixa.xlsx").frame)
