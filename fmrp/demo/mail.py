"""The daily cash-closing email: its attachment (.xlsx or cp1252 .csv) and the RFC 5322 message."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

import xlsxwriter

from fmrp.demo.vocab import COMPANY_DOMAIN, COMPANY_NAME

SENDER = f"Financeiro <financeiro@{COMPANY_DOMAIN}>"
RECIPIENT = f"planejamento@{COMPANY_DOMAIN}"
BRASILIA = timezone(timedelta(hours=-3))
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

SaleRow = tuple[date, str, str, float, float, float]  # Data, Código, Descrição, Quantidade, Preço, Valor


@dataclass(frozen=True)
class CashClosing:
    """One email as written to disk."""

    business_date: date
    sequence: int  # 1 = first send, 2 = corrected resend
    file_name: str
    message_id: str
    attachment_name: str
    data: bytes


def message_id(business_date: date, sequence: int) -> str:
    """The Message-ID of the cash-closing email of a business date (with angle brackets)."""
    return f"<fechamento-{business_date:%Y%m%d}-{sequence}@{COMPANY_DOMAIN}>"


def brl(value: float) -> str:
    """Money the way Excel writes it in a Brazilian locale: `1.234,56`."""
    text = f"{value:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _quantity(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0").replace(".", ",")


def render_xlsx(rows: Sequence[SaleRow], headers: Sequence[str], created: datetime) -> bytes:
    """The workbook: one sheet `Vendas`, headers in row 1, real date cells, numbers as numbers."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties(
        {"title": "Fechamento de caixa", "author": "Financeiro", "company": COMPANY_NAME, "created": created}
    )
    sheet = workbook.add_worksheet("Vendas")
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, headers, bold)
    sheet.set_column(0, 0, 11)
    sheet.set_column(1, 1, 10)
    sheet.set_column(2, 2, 48)
    sheet.set_column(3, 5, 14)
    for r, (day, sku, description, quantity, price, revenue) in enumerate(rows, start=1):
        sheet.write_datetime(r, 0, datetime.combine(day, time()), date_format)
        sheet.write_string(r, 1, sku)
        sheet.write_string(r, 2, description)
        sheet.write_number(r, 3, quantity)
        sheet.write_number(r, 4, price, money)
        sheet.write_number(r, 5, revenue, money)
    workbook.close()
    return buffer.getvalue()


def render_csv(rows: Sequence[SaleRow], headers: Sequence[str]) -> bytes:
    """The attachment as Excel's "CSV (separado por ponto e vírgula)": cp1252, `;`, CRLF, `1.234,56`."""
    lines = [";".join(headers)]
    lines += [
        f"{day:%d/%m/%Y};{sku};{description};{_quantity(quantity)};{brl(price)};{brl(revenue)}"
        for day, sku, description, quantity, price, revenue in rows
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def build_email(
    business_date: date,
    sequence: int,
    attachment_name: str,
    attachment: bytes,
    sent_at: datetime,
    item_count: int,
    total: float,
    corrected: bool = False,
) -> CashClosing:
    """The RFC 5322 message (CRLF line ends) with a text body and one base64 attachment."""
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = RECIPIENT
    msg["Subject"] = f"Fechamento de caixa {business_date:%d/%m/%Y}" + (" (corrigido)" if corrected else "")
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id(business_date, sequence)
    if corrected:
        intro = (
            f"Segue o fechamento de caixa de {business_date:%d/%m/%Y} corrigido. Algumas quantidades foram\n"
            "ajustadas; por favor desconsiderem o arquivo enviado ontem."
        )
    else:
        intro = f"Segue em anexo o fechamento de caixa de {business_date:%d/%m/%Y}."
    msg.set_content(
        f"Bom dia,\n\n{intro}\n\nItens vendidos: {item_count}\nValor total: R$ {brl(total)}\n\n"
        f"Atenciosamente,\nFinanceiro\n{COMPANY_NAME}\n",
        cte="quoted-printable",
    )
    if attachment_name.endswith(".xlsx"):
        msg.add_attachment(attachment, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=attachment_name)
    else:
        msg.add_attachment(
            attachment, maintype="text", subtype="csv", filename=attachment_name, params={"charset": "windows-1252"}
        )
    for part in msg.iter_parts():
        del part["MIME-Version"]
    msg.set_boundary(f"=_fechamento_{business_date:%Y%m%d}_{sequence}")
    return CashClosing(
        business_date=business_date,
        sequence=sequence,
        file_name=f"{business_date:%Y-%m-%d}_{sequence}.eml",
        message_id=msg["Message-ID"],
        attachment_name=attachment_name,
        data=msg.as_bytes(policy=policy.SMTP),
    )
