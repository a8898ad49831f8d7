"""Classify a report (IN-6): which entity a file is (sales, inventory, BOM, open orders, ...) and which mapping
template reads it, from its headers and first lines.

Reports exported by hand often carry a title or a blank line above the header ("Relatório de Vendas - 03/01/2024").
The header line is the one, among the first ``SCAN_LINES``, whose cells best fit a template (Jaccard on normalised
headers, templates covering every required field first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingestion.readers import SourceFileError, decode_text, read_table, sniff_delimiter
from ingestion.templates import Suggestion, Template, suggest

SCAN_LINES = 10


class UnclassifiedReportError(SourceFileError):
    """No template fits the file's headers."""


@dataclass(frozen=True)
class Classification:
    """What a file is: the entity, the best template, its overlap score, the 0-based line of the header."""

    entity: str
    template: str
    score: float
    complete: bool
    header_line: int
    candidates: tuple[Suggestion, ...]


def _header_candidates(content: bytes, file_name: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the lines a header may be on: the first line of a workbook, the first few of a text."""
    if not file_name.lower().endswith((".csv", ".txt", ".tsv")):
        return [(0, [str(c) for c in read_table(content, file_name).frame.columns])]
    text = decode_text(content, file_name) if content else ""
    if not text.strip():
        raise UnclassifiedReportError(file_name, "the file is empty")
    lines = text.splitlines()[:SCAN_LINES]
    delimiter = sniff_delimiter(max(lines, key=lambda line: sum(line.count(s) for s in ";\t,|")))
    return [(i, [c.strip().strip('"') for c in line.split(delimiter)]) for i, line in enumerate(lines) if line.strip()]


def classify_report(content: bytes, file_name: str, templates: Iterable[Template]) -> Classification:
    """The entity and template of a file, from the header line that fits a template best.

    Raises:
        UnclassifiedReportError: no line of the first ``SCAN_LINES`` shares a header with any template.
        SourceFileError: the file cannot be read.
    """
    templates = list(templates)
    best: tuple[int, list[Suggestion]] | None = None
    for line, cells in _header_candidates(content, file_name):
        ranked = suggest(cells, templates)
        if ranked and (best is None or _key(ranked[0]) > _key(best[1][0])):
            best = (line, ranked)
    if best is None or best[1][0].score == 0:
        raise UnclassifiedReportError(file_name, "no line of its first lines has the headers of a known report")
    line, ranked = best
    top = ranked[0]
    return Classification(top.template.entity, top.template.name, top.score, top.complete, line, tuple(ranked[:5]))


def _key(suggestion: Suggestion) -> tuple[bool, float]:
    return suggestion.complete, suggestion.score
