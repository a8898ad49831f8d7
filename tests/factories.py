"""Small hand-made source files for tests."""

from datetime import date
from email.message import EmailMessage

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
