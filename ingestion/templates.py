"""Mapping templates (IN-6): a source's own headers -> canonical fields, with per-field transformations.

A template is stored in ``raw.mapping_templates`` (one row per template, its columns as JSON). The built-in
Portuguese headers of ``ingestion.schema`` are seeded as the ``default_<entity>`` template of each entity; a
customer's other layouts are added with ``fmrp templates add``. ``map_columns`` tries the built-in headers first and
falls back to the template whose headers overlap the file's most (Jaccard on normalised headers).

Transformations, applied in order to the column's text before typing:

- ``trim``: strip surrounding spaces; ``upper``: upper case;
- ``zero_pad(n)``: left-pad with zeros to ``n`` characters (``123`` -> ``000123``);
- ``date_format(<strftime>)``: parse dates written that way (``date_format(%d.%m.%Y)``);
- ``decimal_comma`` / ``decimal_point``: the column's numbers use that decimal mark, whatever the file's delimiter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import polars as pl
import psycopg

from ingestion.readers import RawTable
from ingestion.schema import ENTITIES, Entity, normalise_header

TEMPLATES_DDL = """
create table if not exists raw.mapping_templates (
    name text primary key,
    entity text not null,
    columns jsonb not null,
    is_default boolean not null default false,
    created_at timestamptz not null default now()
);
"""
_TRANSFORM = re.compile(r"^(?P<name>[a-z_]+)(?:\((?P<arg>.*)\))?$")
_SIMPLE = {"trim", "upper", "decimal_comma", "decimal_point"}


class TemplateError(ValueError):
    """A template that cannot be stored or applied; the message names the template and the column."""


@dataclass(frozen=True)
class ColumnMap:
    """One source column: its header, the canonical field it fills, and the transformations to apply."""

    source: str
    field: str
    transforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A named layout of one entity's files."""

    name: str
    entity: str
    columns: tuple[ColumnMap, ...]
    is_default: bool = False

    @property
    def headers(self) -> set[str]:
        return {normalise_header(c.source) for c in self.columns}

    def to_json(self) -> list[dict[str, object]]:
        return [{"source": c.source, "field": c.field, "transforms": list(c.transforms)} for c in self.columns]


def parse_transform(text: str) -> tuple[str, str | None]:
    """``'zero_pad(6)'`` -> ``('zero_pad', '6')``; an unknown transformation raises ``TemplateError``."""
    match = _TRANSFORM.match(text.strip())
    if not match:
        raise TemplateError(f"{text!r} is not a transformation")
    name, arg = match["name"], match["arg"]
    if name in _SIMPLE and arg is None:
        return name, None
    if name == "zero_pad" and arg is not None and arg.isdigit() and int(arg) > 0:
        return name, arg
    if name == "date_format" and arg and "%" in arg:
        return name, arg
    raise TemplateError(
        f"{text!r} is not a transformation (trim, upper, zero_pad(n), date_format(%d/%m/%Y), decimal_comma, "
        "decimal_point)"
    )


def make_template(name: str, entity: str, columns: Iterable[ColumnMap], *, is_default: bool = False) -> Template:
    """A checked template: a known entity, known fields each filled once, every required field, valid transforms."""
    if entity not in ENTITIES:
        raise TemplateError(f"template {name!r}: unknown entity {entity!r} (one of {sorted(ENTITIES)})")
    spec = ENTITIES[entity]
    columns = tuple(columns)
    fields = [c.field for c in columns]
    unknown = [f for f in fields if f not in spec.field_names]
    if unknown:
        raise TemplateError(f"template {name!r}: {unknown} are not fields of {entity} ({spec.field_names})")
    twice = sorted({f for f in fields if fields.count(f) > 1})
    if twice:
        raise TemplateError(f"template {name!r}: {twice} mapped more than once")
    missing = [f.name for f in spec.fields if f.required and f.name not in fields]
    if missing:
        raise TemplateError(f"template {name!r}: required field(s) {missing} of {entity} have no source column")
    for column in columns:
        for transform in column.transforms:
            try:
                parse_transform(transform)
            except TemplateError as err:
                raise TemplateError(f"template {name!r}, column {column.source!r}: {err}") from err
    return Template(name, entity, columns, is_default)


def default_template(entity: Entity) -> Template:
    """The entity's built-in headers as a template (``default_<entity>``)."""
    return Template(
        f"default_{entity.name}", entity.name, tuple(ColumnMap(f.header, f.name) for f in entity.fields), True
    )


def template_from_dict(data: dict[str, object]) -> Template:
    """A template from its YAML/JSON form: ``{name, entity, columns: [{source, field, transforms: [...]}]}``."""
    try:
        raw_columns = data["columns"]
        assert isinstance(raw_columns, list)
        columns = [
            ColumnMap(str(c["source"]), str(c["field"]), tuple(str(t) for t in c.get("transforms") or ()))
            for c in raw_columns
        ]
        return make_template(str(data["name"]), str(data["entity"]), columns)
    except (KeyError, TypeError, AssertionError) as err:
        raise TemplateError(
            f"a template needs name, entity and columns [{{source, field, transforms}}]: {err!r} in {data}"
        ) from err


def ensure_templates(conn: psycopg.Connection) -> None:
    """Create ``raw.mapping_templates`` and seed the default template of every entity (idempotent)."""
    conn.execute(TEMPLATES_DDL)
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into raw.mapping_templates (name, entity, columns, is_default) values (%s, %s, %s, true)"
            " on conflict (name) do nothing",
            [(t.name, t.entity, json.dumps(t.to_json())) for t in map(default_template, ENTITIES.values())],
        )


def save_template(conn: psycopg.Connection, template: Template, *, replace: bool = False) -> None:
    """Store a template; an existing name is an error unless ``replace`` (a default template is never replaced)."""
    existing = conn.execute("select is_default from raw.mapping_templates where name = %s", (template.name,)).fetchone()
    if existing and (existing[0] or not replace):
        why = "a built-in default" if existing[0] else "taken (use --replace)"
        raise TemplateError(f"template {template.name!r} exists: {why}")
    conn.execute(
        "insert into raw.mapping_templates (name, entity, columns) values (%s, %s, %s)"
        " on conflict (name) do update set entity = excluded.entity, columns = excluded.columns, created_at = now()",
        (template.name, template.entity, json.dumps(template.to_json())),
    )


def load_templates(conn: psycopg.Connection, entity: str | None = None) -> list[Template]:
    """The stored templates (of one entity when given), defaults first, then by name."""
    rows = conn.execute(
        "select name, entity, columns, is_default from raw.mapping_templates"
        " where %s::text is null or entity = %s order by is_default desc, name",
        (entity, entity),
    ).fetchall()
    return [
        Template(
            name,
            ent,
            tuple(ColumnMap(c["source"], c["field"], tuple(c.get("transforms") or ())) for c in columns),
            is_default,
        )
        for name, ent, columns, is_default in rows
    ]


def stored_templates(conn: psycopg.Connection, entity: str | None = None) -> list[Template]:
    """``load_templates``, or none when ``raw.mapping_templates`` does not exist yet (a warehouse older than it)."""
    exists = conn.execute("select to_regclass('raw.mapping_templates') is not null").fetchone()
    return load_templates(conn, entity) if exists and exists[0] else []


@dataclass(frozen=True)
class Suggestion:
    """How well a template fits a file's headers."""

    template: Template
    score: float  # Jaccard of the normalised header sets
    complete: bool  # every required field's source column is present
    matched: int = 0  # the file's headers the template maps


def suggest(headers: Sequence[str], templates: Iterable[Template]) -> list[Suggestion]:
    """Templates ranked: complete ones first, then by how many of the file's headers they map, then by overlap
    (Jaccard on normalised headers). A small template (warehouses: code, name) can have the higher Jaccard on a
    file that a larger one (items) explains far better, so the count of mapped headers decides first."""
    present = {normalise_header(h) for h in headers if str(h).strip()}
    ranked = []
    for template in templates:
        wanted = template.headers
        union = present | wanted
        score = len(present & wanted) / len(union) if union else 0.0
        spec = ENTITIES[template.entity]
        required = {normalise_header(c.source) for c in template.columns if c.field in _required(spec)}
        ranked.append(Suggestion(template, round(score, 3), required <= present, len(present & wanted)))
    return sorted(
        ranked, key=lambda s: (not s.complete, -s.matched, -s.score, not s.template.is_default, s.template.name)
    )


def _required(entity: Entity) -> set[str]:
    return {f.name for f in entity.fields if f.required}


def apply_template(table: RawTable, template: Template, entity: Entity) -> RawTable:
    """Rename and transform the template's columns; numbers come out with a decimal point, ``decimal_comma`` off."""
    by_header = {normalise_header(c): c for c in table.frame.columns}
    expressions = []
    for column in template.columns:
        source = by_header.get(normalise_header(column.source))
        if source is None:
            expressions.append(pl.lit(None, dtype=pl.String).alias(column.field))
            continue
        field = next(f for f in entity.fields if f.name == column.field)
        dtype = table.frame.schema[source]
        expressions.append(
            _transformed(source, column.transforms, field.type, dtype, table.decimal_comma).alias(field.name)
        )
    frame = table.frame.select(expressions)
    absent = [f.name for f in entity.fields if f.name not in frame.columns]
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(name) for name in absent])
    return replace(table, frame=frame.select(entity.field_names), decimal_comma=False)


def _transformed(
    source: str, transforms: Sequence[str], field_type: str, dtype: pl.DataType, decimal_comma: bool
) -> pl.Expr:
    if dtype.is_numeric() and field_type in ("numeric", "int"):
        return pl.col(source).cast(pl.String)  # a workbook's number: already typed, no decimal mark to read
    text = pl.col(source).cast(pl.String)
    comma = decimal_comma
    date_format = None
    for transform in transforms:
        name, arg = parse_transform(transform)
        if name == "trim":
            text = text.str.strip_chars()
        elif name == "upper":
            text = text.str.to_uppercase()
        elif name == "zero_pad":
            text = text.str.strip_chars().str.zfill(int(arg or 0))
        elif name == "date_format":
            date_format = arg
        else:
            comma = name == "decimal_comma"
    if date_format:  # rewritten to ISO; a value that does not parse stays as delivered, for the error to show it
        parsed = text.str.strip_chars().str.to_date(date_format, strict=False).dt.strftime("%Y-%m-%d")
        return pl.coalesce(parsed, text)
    if field_type in ("numeric", "int"):
        # rewritten to the decimal point the typing step reads (the table leaves apply_template with decimal_comma off)
        digits = text.str.strip_chars().str.replace_all(r"\s", "")
        if comma:
            return digits.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
        return digits.str.replace_all(",", "", literal=True)
    return text
