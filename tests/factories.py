"""Small hand-made source files for tests."""

import io
from datetime import date, datetime
from email.message import EmailMessage

import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile

HEADER = "Data;Código;Descrição;Quantidade;Preço Unitário;Valor Total\n"


def cash_closing(day: date, rows: str, *, message_id: str, sent: str, subject_suffix: str = "") -> bytes:
    message = EmailMessage()
    message["Subject"] = f"Fechamento de caixa {day:%d/%m/%Y}{subject_suffix}"
    message["From"] = "Financeiro <financeiro@industria-exemplo.com.br>"
    message["Message-ID"] = message_id
    message["Date"] = sent
    message.set_content("Segue o fechamento.")
    message.add_attachment(
        (HEADER + rows).encode("cp1252"), maintype="text", subtype="csv", filename=f"fechamento_{day}.csv"
    )
    return bytes(message)


def workbook(rows: list[list[object]], title_lines: tuple[str, ...] = ()) -> bytes:
    """An .xlsx whose first sheet has ``title_lines`` (one cell each, then a blank row) above ``rows``."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Relatório")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    top = len(title_lines) + 1 if title_lines else 0
    for row, line in enumerate(title_lines):
        sheet.write(row, 0, line)
    for row, cells in enumerate(rows, start=top):
        for col, value in enumerate(cells):
            if isinstance(value, datetime):
                sheet.write_datetime(row, col, value, dates)
            else:
                sheet.write(row, col, value)
    book.close()
    return buffer.getvalue()


def encrypted(content: bytes, password: str) -> bytes:
    """An Office file encrypted the way Excel's "Protect with password" does (agile encryption in an OLE2 file)."""
    encrypted_file = io.BytesIO()
    OOXMLFile(io.BytesIO(content)).encrypt(password, encrypted_file)
    return encrypted_file.getvalue()
