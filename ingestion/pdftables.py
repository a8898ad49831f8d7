"""The text tables of a PDF report (IN-1 SHOULD: a cash-closing or ERP report printed to PDF), with pdfplumber.

A page with a ruled table (cell borders drawn) is read by its lines. A page without ruling is read by the alignment
of its words: the columns are found on the first such page that has enough aligned words, and then applied to every
unruled page, so a continuation page with only a few rows (too few for the columns to show) is read with the same
columns. Scanned PDFs (images, no text) have no tables here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pdfplumber
from pdfplumber.page import Page

_TEXT_STRATEGY = {"vertical_strategy": "text", "horizontal_strategy": "text"}


@dataclass(frozen=True)
class PdfTable:
    """One table on one page (0-based), its cells as text; blank rows are left out."""

    page: int
    rows: list[list[str]]  # two or more columns: a single column of text is no table


def pdf_tables(content: bytes) -> list[PdfTable]:
    """Every table of every page, in reading order.

    Raises:
        pdfplumber.utils.exceptions.PdfminerException: the bytes are not a PDF (or an encrypted one).
    """
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        pages = list(pdf.pages)
        ruled = [_tables(page.extract_tables()) for page in pages]
        columns = _text_columns([page for page, tables in zip(pages, ruled, strict=True) if not tables])
        found: list[PdfTable] = []
        for number, (page, tables) in enumerate(zip(pages, ruled, strict=True)):
            if not tables and columns:
                tables = _tables(page.extract_tables(_explicit_columns(page, columns)))
            found.extend(PdfTable(number, rows) for rows in tables)
    return found


def _tables(extracted: list[list[list[str | None]]]) -> list[list[list[str]]]:
    """The tables as text without blank rows; a single column (a framed paragraph, a logo box) is no table."""
    tables = [_text_rows(table) for table in extracted]
    return [rows for rows in tables if rows and len(rows[0]) > 1]


def _text_columns(pages: list[Page]) -> list[float]:
    """The x of the column edges of the first unruled table the word alignment finds (none: no such table)."""
    for page in pages:
        tables = [table for table in page.find_tables(_TEXT_STRATEGY) if len(table.columns) > 1]
        if tables:
            widest = max(tables, key=lambda t: len(t.columns))
            return [widest.columns[0].bbox[0], *(column.bbox[2] for column in widest.columns)]
    return []


def _explicit_columns(page: Page, edges: list[float]) -> dict[str, Any]:
    """Table settings with the given column edges, the outer ones widened to the page's words (the alignment puts the
    last edge at the end of the data, which cuts a longer header such as "Valor Total"), and every row line meeting
    every column line (a row line spans only this page's words, which may end short of the last edge)."""
    words = page.extract_words()
    left = min([edges[0], *(w["x0"] for w in words)]) - 1
    right = max([edges[-1], *(w["x1"] for w in words)]) + 1
    return {
        "vertical_strategy": "explicit",
        "explicit_vertical_lines": [left, *edges[1:-1], right],
        "horizontal_strategy": "text",
        "intersection_x_tolerance": right - left,
    }


def _text_rows(table: list[list[str | None]]) -> list[list[str]]:
    rows = [[" ".join((cell or "").split()) for cell in row] for row in table]
    return [row for row in rows if any(row)]
