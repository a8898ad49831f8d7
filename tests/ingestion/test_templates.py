import json
from datetime import UTC, date, datetime

import psycopg
import pytest
from typer.testing import CliRunner

from fmrp.cli import app
from ingestion.classify import UnclassifiedReportError, classify_report
from ingestion.landing import ensure_raw_schema, land_file
from ingestion.readers import UnknownHeaderError, map_columns, read_table
from ingestion.schema import ENTITIES
from ingestion.templates import (
    ColumnMap,
    TemplateError,
    default_template,
    load_templates,
    make_template,
    save_template,
    suggest,
)
from ingestion.validation import validate_rows
from tests.factories import workbook

# another ERP's stock report: its own headers, codes without zero padding, dotted dates, dot decimals in a ';' file
OTHER_STOCK = "Dt. Posicao;Cod. Produto;Armazem;Qtde Disponivel\n05.01.2024; 123 ;pa01;1234.5\n05.01.2024;4567;pa02;7\n"
OTHER_TEMPLATE = make_template(
    "outro_erp_estoque",
    "inventory",
    [
        ColumnMap("Dt. Posicao", "snapshot_date", ("date_format(%d.%m.%Y)",)),
        ColumnMap("Cod. Produto", "sku", ("trim", "zero_pad(6)")),
        ColumnMap("Armazem", "warehouse_code", ("trim", "upper")),
        ColumnMap("Qtde Disponivel", "on_hand", ("decimal_point",)),
    ],
)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        yield connection


def test_a_template_maps_and_transforms_a_foreign_layout():
    inventory = ENTITIES["inventory"]
    table = read_table(OTHER_STOCK.encode(), "estoque.csv")
    with pytest.raises(UnknownHeaderError):
        map_columns(table, inventory, "estoque.csv")
    mapped = map_columns(table, inventory, "estoque.csv", [default_template(inventory), OTHER_TEMPLATE])
    result = validate_rows(mapped, inventory, datetime(2024, 1, 6, tzinfo=UTC))
    assert result.bad_rows == 0
    assert result.good.select("snapshot_date", "sku", "warehouse_code", "on_hand", "unit_cost").rows() == [
        (date(2024, 1, 5), "000123", "PA01", 1234.5, None),
        (date(2024, 1, 5), "004567", "PA02", 7.0, None),
    ]


def test_decimal_comma_and_a_bad_date_under_a_template():
    template = make_template(
        "virgula",
        "inventory",
        [
            ColumnMap("Dt", "snapshot_date", ("date_format(%Y%m%d)",)),
            ColumnMap("Prod", "sku"),
            ColumnMap("Dep", "warehouse_code"),
            ColumnMap("Qtd", "on_hand", ("decimal_comma",)),
        ],
    )
    text = 'Dt,Prod,Dep,Qtd\n20240105,A,D1,"1.234,5"\n2024-13-01,B,D1,2\n'
    inventory = ENTITIES["inventory"]
    mapped = map_columns(read_table(text.encode(), "x.csv"), inventory, "x.csv", [template])
    result = validate_rows(mapped, inventory, datetime(2024, 1, 6, tzinfo=UTC))
    assert result.good["on_hand"].to_list() == [1234.5]
    assert result.problems.select("row", "field", "value").rows() == [(2, "snapshot_date", "2024-13-01")]


def test_templates_are_checked_before_they_are_stored():
    with pytest.raises(TemplateError, match="required field"):
        make_template("t", "inventory", [ColumnMap("Cod", "sku")])
    with pytest.raises(TemplateError, match="not fields of inventory"):
        make_template("t", "inventory", [*OTHER_TEMPLATE.columns, ColumnMap("X", "colour")])
    with pytest.raises(TemplateError, match="zero_pad"):
        make_template(
            "t", "inventory", [ColumnMap(c.source, c.field, ("zero_pad(x)",)) for c in OTHER_TEMPLATE.columns]
        )
    with pytest.raises(TemplateError, match="unknown entity"):
        make_template("t", "stock", [])


def test_suggestion_ranks_by_header_overlap():
    templates = [default_template(e) for e in ENTITIES.values()] + [OTHER_TEMPLATE]
    ranked = suggest(["Dt. Posicao", "Cod. Produto", "Armazem", "Qtde Disponivel", "Lote"], templates)
    assert (ranked[0].template.name, ranked[0].score, ranked[0].complete) == ("outro_erp_estoque", 0.8, True)
    ranked = suggest(["Data", "Código", "Depósito", "Saldo"], templates)
    assert ranked[0].template.name == "default_inventory" and ranked[0].score == 0.8


def test_defaults_are_seeded_once_and_stored_templates_round_trip(conn):
    ensure_raw_schema(conn)  # twice: still one default per entity
    stored = load_templates(conn)
    assert sorted(t.name for t in stored if t.is_default) == sorted(f"default_{e}" for e in ENTITIES)
    save_template(conn, OTHER_TEMPLATE)
    assert load_templates(conn, "inventory") == [default_template(ENTITIES["inventory"]), OTHER_TEMPLATE]
    with pytest.raises(TemplateError, match="taken"):
        save_template(conn, OTHER_TEMPLATE)
    with pytest.raises(TemplateError, match="built-in default"):
        save_template(conn, default_template(ENTITIES["sales"]), replace=True)


def test_landing_uses_a_stored_template_and_headers_matching_none_are_rejected(conn):
    args = dict(
        entity=ENTITIES["inventory"],
        source="erp",
        source_ref="x",
        received_at=datetime(2024, 1, 6, tzinfo=UTC),
        business_date=date(2024, 1, 5),
    )
    before = land_file(conn, OTHER_STOCK.encode(), file_name="estoque_20240105.csv", **args)
    assert before.status == "rejected" and "required column(s) 'Data'" in before.error
    save_template(conn, OTHER_TEMPLATE)
    again = OTHER_STOCK + "05.01.2024;89;pa01;1\n"  # a new file: the rejected one stays rejected
    after = land_file(conn, again.encode(), file_name="estoque_20240105.csv", **args)
    assert (after.status, after.rows) == ("landed", 3)
    assert conn.execute("select sku, warehouse_code from raw.inventory order by _row_number").fetchall() == [
        ("000123", "PA01"),
        ("004567", "PA02"),
        ("000089", "PA01"),
    ]


def test_classify_finds_the_report_below_a_title_line():
    templates = [default_template(e) for e in ENTITIES.values()]
    text = "Relatório de carteira - 05/01/2024\n\nPedido;Item;Cliente;Código;Quantidade;Data Pedido;Data Entrega\n"
    found = classify_report(text.encode("cp1252"), "carteira.csv", templates)
    assert (found.entity, found.header_line, found.complete) == ("customer_orders", 2, True)
    with pytest.raises(UnclassifiedReportError, match="no line"):
        classify_report(b"foo;bar\n1;2\n", "x.csv", templates)
    sheet = workbook([["Pedido", "Item", "Código", "Quantidade", "Data Entrega"]], ("Carteira", "05/01/2024"))
    found = classify_report(sheet, "carteira.xlsx", templates)
    assert (found.entity, found.header_line) == ("customer_orders", 3)  # below two title rows and a blank one


def test_the_templates_cli(isolated_settings, tmp_path):
    runner = CliRunner()
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "name: outro_erp_estoque\nentity: inventory\ncolumns:\n"
        + "".join(
            f"  - {{source: '{c.source}', field: {c.field}, transforms: {json.dumps(list(c.transforms))}}}\n"
            for c in OTHER_TEMPLATE.columns
        )
    )
    added = runner.invoke(app, ["templates", "add", "--file", str(spec)])
    assert added.exit_code == 0, added.output
    by_options = runner.invoke(
        app,
        [
            "templates",
            "add",
            "--name",
            "curto",
            "--entity",
            "warehouses",
            "--map",
            "Cod=warehouse_code:trim,upper",
            "--map",
            "Nome=name",
        ],
    )
    assert by_options.exit_code == 0, by_options.output
    bad = runner.invoke(
        app,
        [
            "templates",
            "add",
            "--name",
            "x",
            "--entity",
            "warehouses",
            "--map",
            "C=warehouse_code",
            "--map",
            "N=name:shout",
        ],
    )
    assert bad.exit_code == 2 and "not a transformation" in bad.output
    listed = runner.invoke(app, ["templates", "list"])
    assert "outro_erp_estoque" in listed.output and "default_sales" in listed.output and "curto" in listed.output
    shown = runner.invoke(app, ["templates", "show", "outro_erp_estoque"])
    assert "zero_pad(6)" in shown.output and "Cod. Produto" in shown.output
    report = tmp_path / "estoque.csv"
    report.write_text(OTHER_STOCK)
    suggested = runner.invoke(app, ["templates", "suggest", str(report), "--json"])
    assert suggested.exit_code == 0, suggested.output
    answer = json.loads(suggested.output)
    assert answer["entity"] == "inventory" and answer["candidates"][0]["template"] == "outro_erp_estoque"


def test_classify_prefers_the_template_that_maps_most_of_the_headers():
    """An items export with only its required headers is items, not warehouses (Código, Descrição): the small
    template's Jaccard overlap is higher, but items maps all five headers."""
    templates = [default_template(e) for e in ENTITIES.values()]
    text = "Código;Descrição;Tipo;Unidade;Política\nP-1;Parafuso;component;UN;MTS\n"
    found = classify_report(text.encode(), "cadastro.csv", templates)
    assert (found.entity, found.complete) == ("items", True)
    warehouses = classify_report(b"C\xc3\xb3digo;Descri\xc3\xa7\xc3\xa3o;Tipo\nW1;Central;main\n", "dep.csv", templates)
    assert warehouses.entity == "warehouses"
