"""The files of the contract in docs/sources.md: headers, field names and how each value is written.

The ERP exports are UTF-8 CSV with `;`, decimal comma, `DD/MM/YYYY` dates and `S`/`N` booleans.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Column:
    """One column of an export: the Portuguese header, the raw field and its format.

    `kind` is one of text, int, date, timestamp, bool, or `num:<decimals>` (fixed decimals) or
    `num~<decimals>` (up to that many decimals, trailing zeros dropped).
    """

    header: str
    field: str
    kind: str = "text"


EMAIL_COLUMNS: tuple[Column, ...] = (
    Column("Data", "sale_date", "date"),
    Column("Código", "sku"),
    Column("Descrição", "description"),
    Column("Quantidade", "quantity", "num~3"),
    Column("Preço Unitário", "unit_price", "num:2"),
    Column("Valor Total", "revenue", "num:2"),
)

EXPORTS: dict[str, tuple[Column, ...]] = {
    "estoque": (
        Column("Data", "snapshot_date", "date"),
        Column("Código", "sku"),
        Column("Depósito", "warehouse_code"),
        Column("Saldo", "on_hand", "num~3"),
        Column("Custo Médio", "unit_cost", "num:4"),
    ),
    "pedidos_compra": (
        Column("Pedido", "po_number"),
        Column("Item", "line_number", "int"),
        Column("Código", "sku"),
        Column("Fornecedor", "supplier_code"),
        Column("Data Pedido", "order_date", "date"),
        Column("Data Entrega", "due_date", "date"),
        Column("Quantidade", "quantity_ordered", "num~3"),
        Column("Quantidade Recebida", "quantity_received", "num~3"),
        Column("Preço Unitário", "unit_price", "num:4"),
        Column("Situação", "status"),
    ),
    "ordens_producao": (
        Column("Ordem", "order_number"),
        Column("Código", "sku"),
        Column("Quantidade", "quantity_planned", "num~3"),
        Column("Quantidade Produzida", "quantity_completed", "num~3"),
        Column("Data Início", "start_date", "date"),
        Column("Data Fim", "due_date", "date"),
        Column("Situação", "status"),
    ),
    "carteira": (
        Column("Pedido", "order_number"),
        Column("Item", "line_number", "int"),
        Column("Cliente", "customer"),
        Column("Código", "sku"),
        Column("Quantidade", "quantity", "num~3"),
        Column("Data Pedido", "order_date", "date"),
        Column("Data Entrega", "due_date", "date"),
    ),
    "itens": (
        Column("Código", "sku"),
        Column("Descrição", "description"),
        Column("Tipo", "item_type"),
        Column("Unidade", "uom"),
        Column("Categoria", "category"),
        Column("Custo Padrão", "standard_cost", "num:4"),
        Column("Preço Venda", "list_price", "num:2"),
        Column("Lead Time (dias)", "lead_time_days", "int"),
        Column("Política", "replenishment"),
        Column("Regra Lote", "lot_size_rule"),
        Column("Lote Fixo", "fixed_lot_qty", "num~3"),
        Column("Lote Mínimo", "min_lot", "num~3"),
        Column("Lote Máximo", "max_lot", "num~3"),
        Column("Múltiplo", "lot_multiple", "num~3"),
        Column("Estoque Segurança", "safety_stock_override", "num~3"),
        Column("Fantasma", "is_phantom", "bool"),
        Column("Ativo", "is_active", "bool"),
    ),
    "estrutura": (
        Column("Código Pai", "parent_sku"),
        Column("Código Componente", "component_sku"),
        Column("Quantidade", "qty_per", "num~4"),
        Column("Perda %", "scrap_pct", "num:1"),
        Column("Válido De", "valid_from", "date"),
        Column("Válido Até", "valid_to", "date"),
    ),
    "fornecedores": (
        Column("Código", "supplier_code"),
        Column("Razão Social", "name"),
        Column("CNPJ", "tax_id"),
        Column("Cidade", "city"),
        Column("UF", "state"),
        Column("Prazo Pagamento (dias)", "payment_terms_days", "int"),
    ),
    "item_fornecedor": (
        Column("Código Item", "sku"),
        Column("Código Fornecedor", "supplier_code"),
        Column("Lead Time Médio (dias)", "lead_time_days", "num:1"),
        Column("Lead Time Mín (dias)", "lead_time_min_days", "int"),
        Column("Lead Time Máx (dias)", "lead_time_max_days", "int"),
        Column("Preço", "unit_price", "num:4"),
        Column("Lote Mínimo", "moq", "num~3"),
        Column("Múltiplo", "order_multiple", "num~3"),
        Column("Preferencial", "is_preferred", "bool"),
    ),
    "centros_trabalho": (
        Column("Código", "work_center_code"),
        Column("Descrição", "name"),
        Column("Máquinas", "machines", "int"),
        Column("Eficiência %", "efficiency_pct", "num:1"),
        Column("Custo Hora", "cost_per_hour", "num:2"),
    ),
    "turnos": (
        Column("Centro de Trabalho", "work_center_code"),
        Column("Turno", "shift_code"),
        Column("Dia da Semana", "weekday", "int"),
        Column("Início", "start_time"),
        Column("Fim", "end_time"),
    ),
    "paradas": (
        Column("Centro de Trabalho", "work_center_code"),
        Column("Início", "start_at", "timestamp"),
        Column("Fim", "end_at", "timestamp"),
        Column("Motivo", "reason"),
    ),
    "roteiros": (
        Column("Código Item", "sku"),
        Column("Sequência", "sequence", "int"),
        Column("Centro de Trabalho", "work_center_code"),
        Column("Setup (min)", "setup_minutes", "num~1"),
        Column("Tempo Unitário (min)", "run_minutes_per_unit", "num~3"),
    ),
    "calendario": (
        Column("Data", "calendar_date", "date"),
        Column("Dia Útil", "is_working_day", "bool"),
        Column("Feriado", "holiday_name"),
        Column("Férias Coletivas", "is_collective_vacation", "bool"),
    ),
    "depositos": (
        Column("Código", "warehouse_code"),
        Column("Descrição", "name"),
        Column("Tipo", "warehouse_type"),
    ),
}

POSITION_EXPORTS = ("estoque", "pedidos_compra", "ordens_producao", "carteira")
MASTER_EXPORTS = tuple(name for name in EXPORTS if name not in POSITION_EXPORTS)
QUARTERLY_EXPORTS = ("itens", "item_fornecedor")


def br_number(expr: pl.Expr, decimals: int, trim: bool) -> pl.Expr:
    """Numbers as Brazilian text: decimal comma, no thousands separator (`-1234,5`)."""
    scale = 10**decimals
    scaled = (expr * scale).round(0).cast(pl.Int64)
    magnitude = scaled.abs()
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = sign + (magnitude // scale).cast(pl.String)
    if decimals == 0:
        return whole
    fraction = (magnitude % scale).cast(pl.String).str.zfill(decimals)
    if trim:
        fraction = fraction.str.strip_chars_end("0")
    return pl.when(fraction == "").then(whole).otherwise(whole + pl.lit(",") + fraction)


def _format(column: Column) -> pl.Expr:
    col = pl.col(column.field)
    if column.kind == "text":
        formatted = col.cast(pl.String)
    elif column.kind == "int":
        formatted = col.cast(pl.Int64).cast(pl.String)
    elif column.kind == "date":
        formatted = col.dt.strftime("%d/%m/%Y")
    elif column.kind == "timestamp":
        formatted = col.dt.strftime("%d/%m/%Y %H:%M")
    elif column.kind == "bool":
        formatted = pl.when(col).then(pl.lit("S")).otherwise(pl.lit("N"))
    else:
        formatted = br_number(col.cast(pl.Float64), int(column.kind[4:]), trim=column.kind[3] == "~")
    return pl.when(col.is_null()).then(None).otherwise(formatted).alias(column.header)


def render_export(name: str, frame: pl.DataFrame) -> bytes:
    """The CSV bytes of one ERP export from a frame with the raw field names."""
    columns = EXPORTS[name]
    text = frame.select([_format(c) for c in columns]).write_csv(separator=";", null_value="", line_terminator="\n")
    return text.encode("utf-8")
