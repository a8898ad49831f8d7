"""`fmrp templates`: the mapping templates in the warehouse (list, show, add, suggest one for a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import psycopg
import typer
import yaml  # type: ignore[import-untyped,unused-ignore]  # PyYAML (a dagster dependency) ships no stubs
from rich.console import Console
from rich.table import Table

from fmrp.warehouse import connect
from ingestion.classify import UnclassifiedReportError, classify_report
from ingestion.landing import ensure_raw_schema
from ingestion.readers import SourceFileError
from ingestion.templates import (
    ColumnMap,
    TemplateError,
    load_templates,
    make_template,
    save_template,
    template_from_dict,
)

templates_app = typer.Typer(help="Mapping templates: a source's headers -> canonical fields.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _connection() -> psycopg.Connection:
    conn = connect(autocommit=True)
    ensure_raw_schema(conn)
    return conn


@templates_app.command("list")
def list_templates(entity: Annotated[str | None, typer.Option(help="Only this entity's templates.")] = None) -> None:
    """Every stored template: name, entity, columns, and whether it is a built-in default."""
    with _connection() as conn:
        templates = load_templates(conn, entity)
    table = Table(title="mapping templates")
    for column in ("name", "entity", "columns", "default"):
        table.add_column(column)
    for t in templates:
        table.add_row(t.name, t.entity, str(len(t.columns)), "yes" if t.is_default else "")
    console.print(table)


@templates_app.command("show")
def show(name: str) -> None:
    """One template's columns: source header -> field, with its transformations."""
    with _connection() as conn:
        found = [t for t in load_templates(conn) if t.name == name]
    if not found:
        err_console.print(f"[red]no template {name!r} (fmrp templates list)[/red]")
        raise typer.Exit(1)
    template = found[0]
    table = Table(title=f"{template.name} ({template.entity})")
    for column in ("source column", "field", "transformations"):
        table.add_column(column)
    for c in template.columns:
        table.add_row(c.source, c.field, ", ".join(c.transforms))
    console.print(table)


@templates_app.command("add")
def add(
    file: Annotated[Path | None, typer.Option("--file", exists=True, dir_okay=False, help="YAML or JSON.")] = None,
    name: Annotated[str | None, typer.Option(help="Template name (with --entity and --map).")] = None,
    entity: Annotated[str | None, typer.Option(help="The entity the files land as (sales, inventory, ...).")] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="'Source header=field[:transform,transform]', e.g. 'Cod. Produto=sku:trim,upper'."),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace a stored template of that name.")] = False,
) -> None:
    """Store a template, from a YAML/JSON file ({name, entity, columns: [{source, field, transforms}]}) or options."""
    try:
        if file is not None:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            template = template_from_dict(data if isinstance(data, dict) else {})
        elif name and entity and mapping:
            template = make_template(name, entity, [_column(m) for m in mapping])
        else:
            raise TemplateError("give --file, or --name, --entity and at least one --map")
        with _connection() as conn:
            save_template(conn, template, replace=replace)
    except TemplateError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
    console.print(f"stored template {template.name!r} for {template.entity} ({len(template.columns)} columns)")


def _column(text: str) -> ColumnMap:
    source, sep, target = text.rpartition("=")
    if not sep or not source.strip():
        raise TemplateError(f"--map {text!r}: expected 'Source header=field[:transform,...]'")
    field, _, transforms = target.partition(":")
    return ColumnMap(source.strip(), field.strip(), tuple(t.strip() for t in transforms.split(",") if t.strip()))


@templates_app.command("suggest")
def suggest_for(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A delivered .csv or .xlsx.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which report a file is and which templates fit it best (header overlap, Jaccard on normalised headers)."""
    with _connection() as conn:
        templates = load_templates(conn)
    try:
        found = classify_report(file.read_bytes(), file.name, templates)
    except (UnclassifiedReportError, SourceFileError) as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    rows = [
        {"template": s.template.name, "entity": s.template.entity, "score": s.score, "complete": s.complete}
        for s in found.candidates
    ]
    if as_json:
        console.print_json(json.dumps({"entity": found.entity, "header_line": found.header_line, "candidates": rows}))
        return
    table = Table(title=f"{file.name}: {found.entity} (header on line {found.header_line + 1})")
    for column in ("template", "entity", "overlap", "all required columns"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["template"]), str(row["entity"]), f"{row['score']:.2f}", "yes" if row["complete"] else "no"
        )
    console.print(table)
