"""Classify a report (IN-6): which entity a file is (sales, inventory, BOM, open orders, ...) and which mapping
template reads it, from its headers and first lines.

Reports exported by hand often carry a title or a blank line above the header ("Relatório de Vendas - 03/01/2024").
The header line is the one, among the first ``HEADER_SCAN_ROWS`` (of a text file, a sheet or a PDF's table), whose
cells best fit a template (Jaccard on normalised headers, templates covering every required field first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingestion.readers import SourceFileError, head_rows
from ingestion.templates import Suggestion, Template, suggest


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
    """(row number, cells) of the non-blank rows among the first ones: where the header may be."""
    if not content.strip():
        raise UnclassifiedReportError(file_name, "the file is empty")
    return [(i, cells) for i, cells in enumerate(head_rows(content, file_name)) if any(cells)]


def classify_report(content: bytes, file_name: str, templates: Iterable[Template]) -> Classification:
    """The entity and template of a file, from the header line that fits a template best.

    Raises:
        UnclassifiedReportError: no row of the first ``HEADER_SCAN_ROWS`` shares a header with any template.
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


def _key(suggestion: Suggestion) -> tuple[bool, int, float]:
    return suggestion.complete, suggestion.matched, suggestion.score
