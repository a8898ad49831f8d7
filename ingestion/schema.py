"""The raw tables: one per source entity, each field with the Portuguese header the source writes.

docs/sources.md is the human-readable form of this module; keep the two in step.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

FieldType = Literal["text", "date", "numeric", "int", "bool", "time", "timestamp"]
EntityKind = Literal["daily", "master"]

PG_TYPES: dict[str, str] = {
    "text": "text",
    "date": "date",
    "numeric": "numeric",
    "int": "integer",
    "bool": "boolean",
    "time": "time",
    "timestamp": "timestamp",
}

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "bigint not null references raw.batches (batch_id)"),
    ("_source", "text not null"),
    ("_source_ref", "text not null"),
    ("_file_sha256", "text not null"),
    ("_received_at", "timestamptz not null"),
    ("_row_number", "integer not null"),
)


@dataclass(frozen=True)
class SourceField:
    """One column of a source file: its canonical name, the header the source writes, and its type."""

    name: str
    header: str
    type: FieldType = "text"
    required: bool = True
    minimum: float | None = None  # inclusive bounds of a numeric field; a value outside is a bad row
    maximum: float | None = None
    not_after_received: bool = False  # a date that cannot lie after the day the file was received


@dataclass(frozen=True)
class Entity:
    """A kind of source data landing in ``raw.<name>``."""

    name: str
    export: str | None
    kind: EntityKind
    fields: tuple[SourceField, ...]

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _f(
    name: str,
    header: str,
    type_: FieldType = "text",
    required: bool = True,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    past: bool = False,
) -> SourceField:
    return SourceField(name, header, type_, required, minimum, maximum, past)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "sales",
            None,
            "daily",
            (
                _f("sale_date", "Data", "date", past=True),
                _f("sku", "Código"),
                _f("description", "Descrição", required=False),
                _f("quantity", "Quantidade", "numeric"),
                _f("unit_price", "Preço Unitário", "numeric", required=False, minimum=0),
                _f("revenue", "Valor Total", "numeric"),
            ),
        ),
        Entity(
            "inventory",
            "estoque",
            "daily",
            (
                _f("snapshot_date", "Data", "date", past=True),
                _f("sku", "Código"),
                _f("warehouse_code", "Depósito"),
                _f("on_hand", "Saldo", "numeric"),
                _f("unit_cost", "Custo Médio", "numeric", required=False),
            ),
        ),
        Entity(
            "purchase_orders",
            "pedidos_compra",
            "daily",
            (
                _f("po_number", "Pedido"),
                _f("line_number", "Item", "int"),
                _f("sku", "Código"),
                _f("supplier_code", "Fornecedor"),
                _f("order_date", "Data Pedido", "date", required=False, past=True),
                _f("due_date", "Data Entrega", "date"),
                _f("quantity_ordered", "Quantidade", "numeric"),
                _f("quantity_received", "Quantidade Recebida", "numeric", required=False),
                _f("unit_price", "Preço Unitário", "numeric", required=False),
                _f("status", "Situação", required=False),
            ),
        ),
        Entity(
            "production_orders",
            "ordens_producao",
            "daily",
            (
                _f("order_number", "Ordem"),
                _f("sku", "Código"),
                _f("quantity_planned", "Quantidade", "numeric"),
                _f("quantity_completed", "Quantidade Produzida", "numeric", required=False),
                _f("start_date", "Data Início", "date", required=False),
                _f("due_date", "Data Fim", "date"),
                _f("status", "Situação", required=False),
            ),
        ),
        Entity(
            "customer_orders",
            "carteira",
            "daily",
            (
                _f("order_number", "Pedido"),
                _f("line_number", "Item", "int"),
                _f("customer", "Cliente", required=False),
                _f("sku", "Código"),
                _f("quantity", "Quantidade", "numeric"),
                _f("order_date", "Data Pedido", "date", required=False, past=True),
                _f("due_date", "Data Entrega", "date"),
            ),
        ),
        Entity(
            "items",
            "itens",
            "master",
            (
                _f("sku", "Código"),
                _f("description", "Descrição"),
                _f("item_type", "Tipo"),
                _f("uom", "Unidade"),
                _f("category", "Categoria", required=False),
                _f("standard_cost", "Custo Padrão", "numeric", required=False),
                _f("list_price", "Preço Venda", "numeric", required=False),
                _f("lead_time_days", "Lead Time (dias)", "int", required=False, minimum=0),
                _f("replenishment", "Política"),
                _f("lot_size_rule", "Regra Lote", required=False),
                _f("fixed_lot_qty", "Lote Fixo", "numeric", required=False),
                _f("min_lot", "Lote Mínimo", "numeric", required=False),
                _f("max_lot", "Lote Máximo", "numeric", required=False),
                _f("lot_multiple", "Múltiplo", "numeric", required=False),
                _f("safety_stock_override", "Estoque Segurança", "numeric", required=False),
                _f("is_phantom", "Fantasma", "bool", required=False),
                _f("is_active", "Ativo", "bool", required=False),
            ),
        ),
        Entity(
            "bom",
            "estrutura",
            "master",
            (
                _f("parent_sku", "Código Pai"),
                _f("component_sku", "Código Componente"),
                _f("qty_per", "Quantidade", "numeric", minimum=0),
                _f("scrap_pct", "Perda %", "numeric", required=False, minimum=0, maximum=100),
                _f("valid_from", "Válido De", "date", required=False),
                _f("valid_to", "Válido Até", "date", required=False),
            ),
        ),
        Entity(
            "suppliers",
            "fornecedores",
            "master",
            (
                _f("supplier_code", "Código"),
                _f("name", "Razão Social"),
                _f("tax_id", "CNPJ", required=False),
                _f("city", "Cidade", required=False),
                _f("state", "UF", required=False),
                _f("payment_terms_days", "Prazo Pagamento (dias)", "int", required=False),
            ),
        ),
        Entity(
            "item_suppliers",
            "item_fornecedor",
            "master",
            (
                _f("sku", "Código Item"),
                _f("supplier_code", "Código Fornecedor"),
                _f("lead_time_days", "Lead Time Médio (dias)", "numeric", minimum=0),
                _f("lead_time_min_days", "Lead Time Mín (dias)", "int", required=False, minimum=0),
                _f("lead_time_max_days", "Lead Time Máx (dias)", "int", required=False, minimum=0),
                _f("unit_price", "Preço", "numeric", required=False),
                _f("moq", "Lote Mínimo", "numeric", required=False),
                _f("order_multiple", "Múltiplo", "numeric", required=False),
                _f("is_preferred", "Preferencial", "bool", required=False),
            ),
        ),
        Entity(
            "work_centers",
            "centros_trabalho",
            "master",
            (
                _f("work_center_code", "Código"),
                _f("name", "Descrição"),
                _f("machines", "Máquinas", "int", required=False),
                _f("efficiency_pct", "Eficiência %", "numeric", required=False),
                _f("cost_per_hour", "Custo Hora", "numeric", required=False),
            ),
        ),
        Entity(
            "shifts",
            "turnos",
            "master",
            (
                _f("work_center_code", "Centro de Trabalho"),
                _f("shift_code", "Turno"),
                _f("weekday", "Dia da Semana", "int", minimum=1, maximum=7),
                _f("start_time", "Início", "time"),
                _f("end_time", "Fim", "time"),
            ),
        ),
        Entity(
            "planned_stops",
            "paradas",
            "master",
            (
                _f("work_center_code", "Centro de Trabalho"),
                _f("start_at", "Início", "timestamp"),
                _f("end_at", "Fim", "timestamp"),
                _f("reason", "Motivo", required=False),
            ),
        ),
        Entity(
            "routings",
            "roteiros",
            "master",
            (
                _f("sku", "Código Item"),
                _f("sequence", "Sequência", "int"),
                _f("work_center_code", "Centro de Trabalho"),
                _f("setup_minutes", "Setup (min)", "numeric", minimum=0),
                _f("run_minutes_per_unit", "Tempo Unitário (min)", "numeric", minimum=0),
            ),
        ),
        Entity(
            "calendar",
            "calendario",
            "master",
            (
                _f("calendar_date", "Data", "date"),
                _f("is_working_day", "Dia Útil", "bool"),
                _f("holiday_name", "Feriado", required=False),
                _f("is_collective_vacation", "Férias Coletivas", "bool", required=False),
            ),
        ),
        Entity(
            "warehouses",
            "depositos",
            "master",
            (
                _f("warehouse_code", "Código"),
                _f("name", "Descrição"),
                _f("warehouse_type", "Tipo", required=False),
            ),
        ),
    )
}

ENTITY_BY_EXPORT: dict[str, Entity] = {e.export: e for e in ENTITIES.values() if e.export}


def normalise_header(header: str) -> str:
    """Header as compared: no accents, lower case, single spaces (``' Preço  Unitário'`` -> ``'preco unitario'``)."""
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", text).strip().lower()


BATCHES_DDL = """
create schema if not exists raw;
create table if not exists raw.batches (
    batch_id bigserial primary key,
    entity text not null,
    source text not null,
    source_ref text not null,
    file_name text not null,
    file_sha256 text not null,
    business_date date,
    received_at timestamptz not null,
    landed_at timestamptz not null default now(),
    row_count integer not null default 0,
    status text not null check (status in ('active', 'superseded', 'rejected')),
    error text,
    superseded_by bigint references raw.batches (batch_id),
    unique nulls not distinct (entity, business_date, file_sha256)
);
create index if not exists batches_entity_date on raw.batches (entity, business_date);
alter table raw.batches add column if not exists rows_rejected integer not null default 0;
alter table raw.batches add column if not exists quality_score numeric(5, 1);
alter table raw.batches add column if not exists quality_grade text;
"""

REJECTED_ROWS_DDL = """
create table if not exists raw.rejected_rows (
    batch_id bigint not null references raw.batches (batch_id),
    row_number integer not null,
    field text,
    header text,
    value text,
    reason text not null,
    raw_row jsonb not null
);
create index if not exists rejected_rows_batch on raw.rejected_rows (batch_id);
"""


def table_ddl(entity: Entity) -> str:
    """``create table if not exists`` for one raw table, lineage columns first."""
    columns = [f"{name} {decl}" for name, decl in LINEAGE_COLUMNS]
    columns += [f"{f.name} {PG_TYPES[f.type]}" for f in entity.fields]
    body = ",\n    ".join(columns)
    return (
        f"create table if not exists {entity.table} (\n    {body}\n);\n"
        f"create index if not exists {entity.name}_batch on {entity.table} (_batch_id);\n"
    )


def schema_ddl() -> str:
    """The DDL of the whole raw schema (idempotent)."""
    return BATCHES_DDL + REJECTED_ROWS_DDL + "".join(table_ddl(e) for e in ENTITIES.values())
