"""The demo factory: deterministic files that follow docs/sources.md and a ground truth that can be recovered."""

from __future__ import annotations

import email
import hashlib
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import polars as pl
import pytest

from fmrp.demo import DemoDataExistsError, FactoryConfig, FactorySummary, generate_factory

SMALL = FactoryConfig(finished_goods=24, years=2, start=date(2023, 1, 4), seed=7)
SOURCES_MD = Path(__file__).resolve().parents[2] / "docs" / "sources.md"
ADI_CUT, CV2_CUT = 1.32, 0.49


@dataclass(frozen=True)
class Generated:
    inbox: Path
    truth: Path
    summary: FactorySummary


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("demo")
    summary = generate_factory(SMALL, inbox_dir=root / "inbox", truth_dir=root / "truth")
    return Generated(root / "inbox", root / "truth", summary)


@pytest.fixture(scope="module")
def sales(factory: Generated) -> pl.DataFrame:
    return clean_sales(factory.inbox, set(truth_skus(factory)["sku"]))


# ---------------------------------------------------------------- reading the files back


def sha_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def read_erp(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator=";", infer_schema=False, encoding="utf8")


def latest_erp(inbox: Path, export: str) -> pl.DataFrame:
    return read_erp(sorted((inbox / "erp").glob(f"{export}_*.csv"))[-1])


def share(flags: pl.Series) -> float:
    """The share of true values in a boolean series."""
    return float(flags.sum()) / flags.len()


def br_number(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


def br_date(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def read_email(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    parts = list(message.iter_attachments())
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)  # the attachment's bytes, whatever its content type
    assert isinstance(payload, bytes)
    return parts[0].get_filename() or "", payload


def attachment_frame(message: EmailMessage) -> pl.DataFrame:
    """The attachment as text columns named by its own header (dates as DD/MM/YYYY, numbers as 1234.5)."""
    name, payload = attachment(message)
    if name.endswith(".xlsx"):
        frame = pl.read_excel(io.BytesIO(payload), engine="calamine", sheet_name="Vendas")
        return frame.with_columns(
            pl.col(frame.columns[0]).cast(pl.Date).dt.strftime("%d/%m/%Y"),
            *[pl.col(c).cast(pl.Float64).cast(pl.String) for c in frame.columns[3:]],
        )
    text = payload.decode("cp1252")
    frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=";", infer_schema=False)
    return frame.with_columns(
        [pl.col(c).map_elements(lambda s: str(br_number(s)), return_dtype=pl.String) for c in frame.columns[3:]]
    )


def contract() -> tuple[list[str], dict[str, list[str]]]:
    """Headers of the email attachment and of every ERP export, as docs/sources.md states them."""
    text = SOURCES_MD.read_text(encoding="utf-8")
    email_section = text.split("## The cash-closing email")[1].split("## ERP exports")[0]
    email_headers = [
        m.group(1).strip()
        for m in re.finditer(r"^\| ([^|]+) \| [a-z_]+ \| [a-z]+ \|$", email_section, re.MULTILINE)
        if m.group(1).strip() != "header"  # the table's own heading row
    ]
    exports = {}
    for m in re.finditer(r"^\| `([a-z_]+)` \| `raw\.[a-z_]+` \| (.+) \|$", text, re.MULTILINE):
        exports[m.group(1)] = [part.split(" -> ")[0].strip() for part in m.group(2).split("; ")]
    return email_headers, exports


def truth_skus(factory: Generated) -> pl.DataFrame:
    return pl.read_csv(factory.truth / "skus.csv", try_parse_dates=True)


def defects(factory: Generated) -> pl.DataFrame:
    return pl.read_csv(factory.truth / "defects.csv", infer_schema=False)


def clean_sales(inbox: Path, known: set[str]) -> pl.DataFrame:
    """What a careful pipeline would keep: the latest send per day, known SKUs, no negatives, no duplicates."""
    latest: dict[str, Path] = {}
    for path in sorted((inbox / "email").glob("*.eml")):
        latest[path.stem.split("_")[0]] = path  # N = 2 sorts after N = 1
    frames = []
    for path in latest.values():
        frame = attachment_frame(read_email(path))
        frame.columns = ["day", "sku", "description", "quantity", "unit_price", "revenue"]  # by position
        frames.append(frame.unique(maintain_order=True))
    return (
        pl.concat(frames)
        .with_columns(pl.col("day").str.to_date("%d/%m/%Y"), pl.col("quantity").cast(pl.Float64))
        .filter(pl.col("sku").is_in(list(known)) & (pl.col("quantity") > 0))
    )


def classify_weekly(sales: pl.DataFrame, truth: pl.DataFrame) -> dict[str, str]:
    """Syntetos-Boylan class of every SKU on ISO weeks over the truth's measurement window."""
    weekly = sales.group_by("sku", week=pl.col("day").dt.truncate("1w")).agg(pl.col("quantity").sum())
    result = {}
    for row in truth.iter_rows(named=True):
        first, last = row["pattern_from"], row["pattern_to"]
        n_weeks = (last - first).days // 7 + 1
        sizes = weekly.filter(
            (pl.col("sku") == row["sku"]) & pl.col("week").is_between(first, last) & (pl.col("quantity") > 0)
        )["quantity"]
        values = sizes.to_list()
        adi = n_weeks / len(values) if values else float("inf")
        cv2 = statistics.pvariance(values) / statistics.mean(values) ** 2 if values else 0.0
        if adi <= ADI_CUT:
            result[row["sku"]] = "smooth" if cv2 <= CV2_CUT else "erratic"
        else:
            result[row["sku"]] = "intermittent" if cv2 <= CV2_CUT else "lumpy"
    return result


# ---------------------------------------------------------------- determinism and API


def test_config_normalises_start_to_monday_and_validates():
    assert SMALL.start == date(2023, 1, 2)
    assert SMALL.end == date(2024, 12, 29)  # 104 weeks, ending on a Sunday
    with pytest.raises(ValueError, match="finished_goods"):
        FactoryConfig(finished_goods=3)


def test_same_seed_gives_byte_identical_files(factory: Generated, tmp_path: Path):
    generate_factory(SMALL, inbox_dir=tmp_path / "inbox", truth_dir=tmp_path / "truth")
    first, second = sha_tree(factory.inbox), sha_tree(tmp_path / "inbox")
    assert first == second
    assert sha_tree(factory.truth) == sha_tree(tmp_path / "truth")
    manifest = json.loads((factory.truth / "manifest.json").read_text(encoding="utf-8"))
    assert {f["path"]: f["sha256"] for f in manifest["inbox_files"]} == first


def test_another_seed_gives_different_data(factory: Generated, tmp_path: Path):
    other = FactoryConfig(finished_goods=SMALL.finished_goods, years=SMALL.years, start=SMALL.start, seed=8)
    generate_factory(other, inbox_dir=tmp_path / "inbox", truth_dir=tmp_path / "truth")
    first, second = sha_tree(factory.inbox), sha_tree(tmp_path / "inbox")
    emails = [k for k in first if k.startswith("email/") and k in second]
    assert sum(first[k] != second[k] for k in emails) > 0.9 * len(emails)
    assert first["erp/itens_20230102.csv"] != second["erp/itens_20230102.csv"]


def test_refuses_to_overwrite_unless_asked(factory: Generated, tmp_path: Path):
    with pytest.raises(DemoDataExistsError, match="overwrite"):
        generate_factory(SMALL, inbox_dir=factory.inbox, truth_dir=factory.truth)
    stale = tmp_path / "inbox" / "email" / "1999-01-04_1.eml"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    generate_factory(SMALL, inbox_dir=tmp_path / "inbox", truth_dir=tmp_path / "truth", overwrite=True)
    assert not stale.exists()
    assert sha_tree(tmp_path / "inbox") == sha_tree(factory.inbox)


def test_summary_counts(factory: Generated):
    summary = factory.summary
    assert summary.items_by_type["Acabado"] == 24
    assert set(summary.items_by_type) == {
        "Acabado",
        "Semiacabado",
        "Componente",
        "Matéria-prima",
        "Embalagem",
        "Revenda",
    }
    assert summary.bom_depth >= 4
    assert summary.emails == len(list((factory.inbox / "email").glob("*.eml")))
    assert summary.erp_files == len(list((factory.inbox / "erp").glob("*.csv")))
    assert summary.defects == len(defects(factory))
    labels = [label for label, _ in summary.as_rows()]
    assert {"items", "BOM depth", "emails", "ERP files", "sales rows", "elapsed"} <= set(labels)


# ---------------------------------------------------------------- demand patterns


def test_true_patterns_are_recoverable_from_the_emails(factory: Generated, sales: pl.DataFrame):
    truth = truth_skus(factory)
    recovered = classify_weekly(sales, truth)
    expected = dict(truth.select("sku", "pattern").iter_rows())
    matches = sum(recovered[sku] == pattern for sku, pattern in expected.items())
    assert matches >= 0.9 * len(expected), {s: (p, recovered[s]) for s, p in expected.items() if recovered[s] != p}
    assert set(expected.values()) == {"smooth", "erratic", "intermittent", "lumpy"}
    assert set(recovered.values()) == {"smooth", "erratic", "intermittent", "lumpy"}
    assert (truth["pattern"] == truth["realised_pattern"]).all()


def test_pattern_mix_lifecycles_and_sold_items(factory: Generated, sales: pl.DataFrame):
    truth = truth_skus(factory)
    shares = Counter(truth["pattern"].to_list())
    assert shares.most_common(1)[0][0] == "smooth"
    assert truth["is_new"].any() and truth["is_inactive"].any()
    items = latest_erp(factory.inbox, "itens")
    sold = set(items.filter(pl.col("Tipo").is_in(["Acabado", "Revenda"]))["Código"])
    assert set(truth["sku"]) == sold
    assert (truth.filter(pl.col("item_type") == "Revenda").height) >= 1
    last_day = max(sales["day"].to_list())
    for row in truth.filter(pl.col("is_inactive")).iter_rows(named=True):
        sku_sales = sales.filter(pl.col("sku") == row["sku"])
        assert max(sku_sales["day"].to_list()) < last_day - timedelta(weeks=52)
    for row in truth.filter(pl.col("is_new")).iter_rows(named=True):
        assert sales.filter(pl.col("sku") == row["sku"])["day"].min() >= row["launch_date"]
        assert row["launch_date"] > last_day - timedelta(weeks=13)


def test_revenue_is_quantity_times_price_and_prices_move(factory: Generated, sales: pl.DataFrame):
    truth = truth_skus(factory)
    money = sales.select(pl.col("quantity"), pl.col("unit_price", "revenue").cast(pl.Float64))
    assert ((money["quantity"] * money["unit_price"] - money["revenue"]).abs() < 0.011).all()
    assert share(truth["price_changes"] > 0) > 0.8
    assert truth["promotions"].sum() > 0


# ---------------------------------------------------------------- master data


def test_bom_is_deep_acyclic_and_shares_components(factory: Generated):
    bom = latest_erp(factory.inbox, "estrutura")
    items = latest_erp(factory.inbox, "itens")
    known = set(items["Código"])
    assert set(bom["Código Pai"]) <= known and set(bom["Código Componente"]) <= known
    children: dict[str, set[str]] = {}
    for parent, child in bom.select("Código Pai", "Código Componente").iter_rows():
        children.setdefault(parent, set()).add(child)
    depth: dict[str, int] = {}

    def longest(node: str, path: tuple[str, ...]) -> int:
        assert node not in path, f"cycle {(*path, node)}"
        if node not in depth:
            depth[node] = max((1 + longest(c, (*path, node)) for c in children.get(node, ())), default=0)
        return depth[node]

    assert max(longest(p, ()) for p in children) >= 4
    parents_per_component = Counter(bom["Código Componente"].to_list())
    assert sum(n >= 3 for n in parents_per_component.values()) >= 5
    made = set(items.filter(pl.col("Política") == "Fabricar")["Código"])
    assert made <= set(children)  # every made item has a structure
    assert (bom["Perda %"].map_elements(br_number, return_dtype=pl.Float64) > 0).sum() > 0
    ends = bom.filter(pl.col("Válido Até").is_not_null())
    assert ends.height >= 2
    for parent, old, valid_to in ends.select("Código Pai", "Código Componente", "Válido Até").iter_rows():
        replacement = bom.filter((pl.col("Código Pai") == parent) & pl.col("Válido De").is_not_null())
        assert (br_date(valid_to) + timedelta(days=1)).strftime("%d/%m/%Y") in replacement["Válido De"].to_list()
        assert old not in replacement["Código Componente"].to_list()


def test_items_have_plausible_planning_parameters(factory: Generated):
    items = latest_erp(factory.inbox, "itens")
    assert items["Código"].str.contains(r"^(PA|SA|CP|MP|EM|RV)-\d{5}$").all()
    rules = Counter(items["Regra Lote"].to_list())
    assert set(rules) == {"LFL", "FOQ", "EOQ", "POQ", "SM", "LUC", "PPB", "WW"}
    assert rules["WW"] >= 0.1 * items.height
    assert items.filter(pl.col("Regra Lote") == "FOQ")["Lote Fixo"].is_not_null().all()
    assert items["Lote Máximo"].is_not_null().sum() >= 2
    assert items["Estoque Segurança"].is_not_null().sum() >= 2
    assert (items["Fantasma"] == "S").sum() >= 1
    assert items.filter(pl.col("Fantasma") == "S")["Tipo"].unique().to_list() == ["Semiacabado"]
    assert (items["Ativo"] == "N").sum() >= 1
    assert set(items["Unidade"]) <= {"UN", "KG", "M", "L", "CX"}
    sold = items.filter(pl.col("Tipo").is_in(["Acabado", "Revenda"]))
    assert sold["Preço Venda"].is_not_null().all()
    assert items.filter(~pl.col("Tipo").is_in(["Acabado", "Revenda"]))["Preço Venda"].is_null().all()
    margin = sold["Preço Venda"].map_elements(br_number, return_dtype=pl.Float64) / sold["Custo Padrão"].map_elements(
        br_number, return_dtype=pl.Float64
    )
    assert share(margin > 1.0) > 0.9


def test_quarterly_snapshots_change_costs_and_prices(factory: Generated):
    itens = sorted((factory.inbox / "erp").glob("itens_*.csv"))
    terms = sorted((factory.inbox / "erp").glob("item_fornecedor_*.csv"))
    assert len(itens) == len(terms) >= 8  # start, 7 quarters, end
    assert itens[0].name == "itens_20230102.csv"
    for export in ("estrutura", "fornecedores", "centros_trabalho", "turnos", "paradas", "roteiros", "calendario"):
        assert len(list((factory.inbox / "erp").glob(f"{export}_*.csv"))) == 2
    first, last = read_erp(itens[0]), read_erp(itens[-1])
    both = first.join(last, on="Código", suffix="_end")
    assert share(both["Custo Padrão"] != both["Custo Padrão_end"]) > 0.8
    assert last.height > first.height  # new SKUs entered the item master
    t0, t1 = read_erp(terms[0]), read_erp(terms[-1])
    both = t0.join(t1, on=["Código Item", "Código Fornecedor"])
    assert share(both["Preço"] != both["Preço_right"]) > 0.8


def test_suppliers_and_purchase_terms(factory: Generated):
    suppliers = latest_erp(factory.inbox, "fornecedores")
    for tax_id in suppliers["CNPJ"]:
        assert re.fullmatch(r"\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}", tax_id)
        digits = [int(c) for c in re.sub(r"\D", "", tax_id)]
        for n, weights in ((12, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]), (13, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])):
            remainder = sum(d * w for d, w in zip(digits[:n], weights, strict=True)) % 11
            assert digits[n] == (0 if remainder < 2 else 11 - remainder)
    assert suppliers["UF"].str.contains(r"^[A-Z]{2}$").all()
    terms = latest_erp(factory.inbox, "item_fornecedor")
    items = latest_erp(factory.inbox, "itens")
    bought = set(items.filter(pl.col("Política") == "Comprar")["Código"])
    assert set(terms["Código Item"]) == bought
    per_item = terms.group_by("Código Item").agg(pl.len(), (pl.col("Preferencial") == "S").sum().alias("preferred"))
    assert per_item["len"].is_between(1, 3).all()
    assert (per_item["preferred"] == 1).all()
    assert set(terms["Código Fornecedor"]) <= set(suppliers["Código"])
    lead = terms.select(pl.col(c).map_elements(br_number, return_dtype=pl.Float64) for c in terms.columns[2:5])
    assert (lead[:, 1] <= lead[:, 0]).all() and (lead[:, 0] <= lead[:, 2]).all()


def test_plant_has_shifts_stops_and_routings(factory: Generated):
    centers = latest_erp(factory.inbox, "centros_trabalho")
    assert 8 <= centers.height <= 20
    shifts = latest_erp(factory.inbox, "turnos")
    per_center = shifts.group_by("Centro de Trabalho").agg(pl.col("Turno").n_unique())
    assert set(per_center["Turno"]) >= {1, 3}
    assert (shifts["Fim"] < shifts["Início"]).any()  # a night shift ends past midnight
    assert (shifts["Dia da Semana"] == "6").any()
    stops = latest_erp(factory.inbox, "paradas")
    assert stops.height > 0 and stops["Início"].str.contains(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$").all()
    routings = latest_erp(factory.inbox, "roteiros")
    items = latest_erp(factory.inbox, "itens")
    made = set(items.filter((pl.col("Política") == "Fabricar") & (pl.col("Fantasma") == "N"))["Código"])
    assert set(routings["Código Item"]) == made
    assert routings.group_by("Código Item").len()["len"].is_between(1, 3).all()
    assert set(routings["Centro de Trabalho"]) <= set(centers["Código"])


def test_calendar_marks_holidays_and_collective_vacation(factory: Generated):
    calendar = latest_erp(factory.inbox, "calendario")
    by_day = {row["Data"]: row for row in calendar.iter_rows(named=True)}
    assert by_day["21/04/2023"]["Dia Útil"] == "N" and by_day["21/04/2023"]["Feriado"] == "Tiradentes"
    assert by_day["25/12/2023"]["Dia Útil"] == "N" and by_day["25/12/2023"]["Feriado"] == "Natal"
    assert by_day["07/04/2023"]["Feriado"] == "Sexta-feira Santa"
    for day in ("26/12/2023", "28/12/2023", "02/01/2024", "05/01/2024"):
        assert by_day[day]["Férias Coletivas"] == "S" and by_day[day]["Dia Útil"] == "N"
    assert by_day["08/01/2024"]["Férias Coletivas"] == "N" and by_day["08/01/2024"]["Dia Útil"] == "S"
    assert by_day["06/01/2024"]["Dia Útil"] == "N"  # a Saturday
    days = [br_date(d) for d in calendar["Data"]]
    assert days[0] <= SMALL.start and days[-1] >= SMALL.end + timedelta(days=365)


# ---------------------------------------------------------------- the contract


def test_every_file_has_the_contract_headers(factory: Generated):
    email_headers, exports = contract()
    assert email_headers == ["Data", "Código", "Descrição", "Quantidade", "Preço Unitário", "Valor Total"]
    assert len(exports) == 14
    for path in sorted((factory.inbox / "erp").glob("*.csv")):
        export = path.stem.rsplit("_", 1)[0]
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(";") == exports[export], path.name
    misspelled = defects(factory).filter(pl.col("kind") == "misspelled_header")["file_name"].to_list()
    for path in sorted((factory.inbox / "email").glob("*.eml")):
        columns = attachment_frame(read_email(path)).columns
        if path.name in misspelled:
            assert columns == [h.replace("Quantidade", "Quantidde") for h in email_headers]
        else:
            assert columns == email_headers, path.name


def test_emails_are_well_formed(factory: Generated):
    calendar = latest_erp(factory.inbox, "calendario")
    business = [
        br_date(d)
        for d, useful, holiday in calendar.select("Data", "Dia Útil", "Feriado").iter_rows()
        if br_date(d).weekday() < 5 and holiday is None and SMALL.start <= br_date(d) <= SMALL.end
    ]
    paths = sorted((factory.inbox / "email").glob("*.eml"))
    firsts = [p for p in paths if p.stem.endswith("_1")]
    assert [date.fromisoformat(p.stem[:10]) for p in firsts] == business
    extensions: Counter[str] = Counter()
    for path in paths:
        day, sequence = date.fromisoformat(path.stem[:10]), int(path.stem[-1])
        message = read_email(path)
        subject = f"Fechamento de caixa {day:%d/%m/%Y}" + (" (corrigido)" if sequence == 2 else "")
        assert message["Subject"] == subject
        assert message["From"] == "Financeiro <financeiro@industria-exemplo.com.br>"
        assert message["To"] == "planejamento@industria-exemplo.com.br"
        assert message["Message-ID"] == f"<fechamento-{day:%Y%m%d}-{sequence}@industria-exemplo.com.br>"
        sent = message["Date"].datetime
        assert sent.utcoffset() == timedelta(hours=-3)
        assert sent.date() == day + timedelta(days=sequence) and 6 <= sent.hour <= 9
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and "fechamento de caixa" in body.get_content()
        name, payload = attachment(message)
        assert name in (f"fechamento_{day:%Y-%m-%d}.xlsx", f"fechamento_{day:%Y-%m-%d}.csv")
        extensions[name.rsplit(".", 1)[1]] += 1
        if name.endswith(".csv"):
            payload.decode("cp1252")
            assert b"\r\n" in payload
    assert 0.03 < extensions["csv"] / len(paths) < 0.25


# ---------------------------------------------------------------- defects


def test_each_seeded_defect_is_where_the_truth_says(factory: Generated):
    found = defects(factory)
    assert set(found["kind"]) == {
        "corrected_resend",
        "unknown_sku",
        "negative_quantity",
        "misspelled_header",
        "duplicate_row",
    }
    last_day = max(date.fromisoformat(p.stem[:10]) for p in (factory.inbox / "email").glob("*.eml"))
    items = set(latest_erp(factory.inbox, "itens")["Código"])
    for record in found.iter_rows(named=True):
        day = date.fromisoformat(record["business_date"])
        assert (last_day - day).days > 30
        message = read_email(factory.inbox / "email" / record["file_name"])
        assert message["Message-ID"] == record["message_id"]
        assert attachment(message)[0] == record["attachment"]
        rows = attachment_frame(message)
        index = int(record["row"]) - 1  # row 1 is the first row under the header
        kind = record["kind"]
        if kind == "corrected_resend":
            assert float(rows.row(index)[3]) == float(record["value"])
            resend = read_email(factory.inbox / "email" / record["file_name"].replace("_1.eml", "_2.eml"))
            assert resend["Subject"].endswith("(corrigido)")
            fixed = attachment_frame(resend)
            assert float(fixed.row(index)[3]) == float(record["correct_value"]) != float(record["value"])
            assert fixed.row(index)[1] == rows.row(index)[1]
        elif kind == "unknown_sku":
            assert rows.row(index)[1] == record["value"] == "PA-99999" and "PA-99999" not in items
        elif kind == "negative_quantity":
            assert float(rows.row(index)[3]) == float(record["value"]) == -float(record["correct_value"]) < 0
        elif kind == "duplicate_row":
            assert rows.row(index) == rows.row(index - 1)
            assert rows.unique().height == rows.height - 1
        else:
            assert record["attachment"].endswith(".csv")
            assert "Quantidde" in rows.columns and "Quantidade" not in rows.columns
    resends = [p.name for p in (factory.inbox / "email").glob("*_2.eml")]
    assert resends == [found.filter(pl.col("kind") == "corrected_resend")["file_name"][0].replace("_1", "_2")]


# ---------------------------------------------------------------- ERP positions


def test_position_files_are_consistent_with_the_items(factory: Generated):
    erp = factory.inbox / "erp"
    items = latest_erp(factory.inbox, "itens")
    kinds = dict(items.select("Código", "Tipo").iter_rows())
    bought = set(items.filter(pl.col("Política") == "Comprar")["Código"])
    made = set(items.filter((pl.col("Política") == "Fabricar") & (pl.col("Fantasma") == "N"))["Código"])
    terms = {
        tuple(r)
        for r in latest_erp(factory.inbox, "item_fornecedor").select("Código Item", "Código Fornecedor").iter_rows()
    }
    days = sorted(p.stem.rsplit("_", 1)[1] for p in erp.glob("pedidos_compra_*.csv"))
    assert len(days) == 10
    for export in ("ordens_producao", "carteira"):
        assert sorted(p.stem.rsplit("_", 1)[1] for p in erp.glob(f"{export}_*.csv")) == days
    stock_days = {p.stem.rsplit("_", 1)[1] for p in erp.glob("estoque_*.csv")}
    assert set(days) <= stock_days and len(stock_days) >= 100  # weekly over two years + the last 10 days
    past_due = 0
    for day in days:
        as_of = datetime.strptime(day, "%Y%m%d").date()
        purchases = read_erp(erp / f"pedidos_compra_{day}.csv")
        assert purchases.height > 0 and set(purchases["Código"]) <= bought
        assert {tuple(r) for r in purchases.select("Código", "Fornecedor").iter_rows()} <= terms
        assert set(purchases["Situação"]) <= {"Aberto", "Parcial"}
        received = purchases["Quantidade Recebida"].map_elements(br_number, return_dtype=pl.Float64)
        assert ((received > 0) == (purchases["Situação"] == "Parcial")).all()
        orders = read_erp(erp / f"ordens_producao_{day}.csv")
        assert orders.height > 0 and set(orders["Código"]) <= made
        assert set(orders["Situação"]) <= {"Firme", "Liberada", "Em processo"}
        backlog = read_erp(erp / f"carteira_{day}.csv")
        assert backlog.height > 0 and {kinds[s] for s in backlog["Código"]} <= {"Acabado", "Revenda"}
        due = [br_date(d) for d in backlog["Data Entrega"]]
        assert sum(d >= as_of for d in due) > 0.7 * len(due)
        past_due += sum(d < as_of for d in due) + sum(br_date(d) < as_of for d in purchases["Data Entrega"])
        stock = read_erp(erp / f"estoque_{day}.csv")
        assert set(stock["Código"]) <= set(kinds) and (stock["Data"] == as_of.strftime("%d/%m/%Y")).all()
    assert past_due > 0
