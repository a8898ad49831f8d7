"""`generate_factory`: write the demo factory's inbox (emails, ERP files) and its ground truth."""

from __future__ import annotations

import hashlib
import json
import sys
import time as clock
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from fmrp.demo.catalog import SOLD_TYPES
from fmrp.demo.config import FactoryConfig
from fmrp.demo.defects import DefectPlan
from fmrp.demo.exports import EMAIL_COLUMNS, EXPORTS, MASTER_EXPORTS, QUARTERLY_EXPORTS, render_export
from fmrp.demo.mail import BRASILIA, SaleRow, build_email, render_csv, render_xlsx
from fmrp.demo.model import FactoryModel, build_model
from fmrp.demo.positions import open_customer_orders, open_production_orders, open_purchase_orders

EMAIL_DIR, ERP_DIR = "email", "erp"


class DemoDataExistsError(FileExistsError):
    """The inbox or truth folder already holds demo files and overwriting was not asked for."""


@dataclass(frozen=True)
class FactorySummary:
    """What `generate_factory` wrote."""

    first_day: date
    last_day: date
    items_by_type: dict[str, int]
    bom_edges: int
    bom_depth: int
    suppliers: int
    work_centers: int
    sold_skus: int
    patterns: dict[str, int]
    emails: int
    erp_files: int
    sales_rows: int
    defects: int
    elapsed_seconds: float

    @property
    def items(self) -> int:
        return sum(self.items_by_type.values())

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for printing."""
        return [
            ("history", f"{self.first_day:%d/%m/%Y} .. {self.last_day:%d/%m/%Y}"),
            ("items", f"{self.items} (" + ", ".join(f"{k} {v}" for k, v in sorted(self.items_by_type.items())) + ")"),
            ("BOM edges", str(self.bom_edges)),
            ("BOM depth", str(self.bom_depth)),
            ("suppliers", str(self.suppliers)),
            ("work centers", str(self.work_centers)),
            ("sold SKUs", f"{self.sold_skus} (" + ", ".join(f"{k} {v}" for k, v in self.patterns.items()) + ")"),
            ("emails", str(self.emails)),
            ("ERP files", str(self.erp_files)),
            ("sales rows", str(self.sales_rows)),
            ("seeded defects", str(self.defects)),
            ("elapsed", f"{self.elapsed_seconds:.1f} s"),
        ]


class _Writer:
    """Writes files under a root and remembers their sha256 for the manifest."""

    def __init__(self, root: Path, bar: tqdm) -> None:
        self.root = root
        self.bar = bar
        self.files: dict[str, dict[str, object]] = {}

    def write(self, relative: str, data: bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[relative] = {"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        self.bar.update(1)


def generate_factory(
    cfg: FactoryConfig,
    inbox_dir: Path,
    truth_dir: Path,
    progress: bool = False,
    overwrite: bool = False,
) -> FactorySummary:
    """Generate a plausible Brazilian manufacturer and write its inbox and ground truth.

    Writes `inbox_dir/email/*.eml` (one cash-closing email per business day), `inbox_dir/erp/*.csv` (daily
    positions and master-data exports) and `truth_dir/{skus.csv, defects.csv, manifest.json}`. The output is
    byte-identical for the same config.

    Args:
        cfg: what to generate.
        inbox_dir: the inbox folder (`FMRP_INBOX_DIR`).
        truth_dir: where the ground truth goes (`FMRP_DEMO_TRUTH_DIR`).
        progress: show a progress bar on stderr.
        overwrite: replace demo files left by an earlier run instead of refusing.

    Raises:
        DemoDataExistsError: when the folders already hold demo files and `overwrite` is false.
    """
    started = clock.perf_counter()
    inbox_dir, truth_dir = Path(inbox_dir), Path(truth_dir)
    _clear(inbox_dir, truth_dir, overwrite)
    with tqdm(total=1, desc="factory model", unit="file", disable=not progress, file=sys.stderr) as bar:
        model = build_model(cfg)
        plan = DefectPlan.choose(model.business_days, model.rngs["defects"])
        bar.reset(total=len(model.business_days) + 2 + _erp_file_count(model))  # + resend + truth
        bar.set_description("ERP files")
        writer = _Writer(inbox_dir, bar)
        _write_master_data(model, writer)
        _write_positions(model, writer)
        bar.set_description("emails")
        _write_emails(model, plan, writer)
        bar.set_description("ground truth")
        _write_truth(model, plan, writer, truth_dir)
    return _summary(model, writer, plan, clock.perf_counter() - started)


def _clear(inbox_dir: Path, truth_dir: Path, overwrite: bool) -> None:
    existing = [
        *sorted((inbox_dir / EMAIL_DIR).glob("*.eml")),
        *sorted(p for p in (inbox_dir / ERP_DIR).glob("*_*.csv") if p.stem.rsplit("_", 1)[0] in EXPORTS),
        *[truth_dir / name for name in ("skus.csv", "defects.csv", "manifest.json") if (truth_dir / name).exists()],
    ]
    if existing and not overwrite:
        raise DemoDataExistsError(
            f"{len(existing)} demo files already exist (e.g. {existing[0]}); pass overwrite=True "
            f"(fmrp demo-data --overwrite) to replace them"
        )
    for path in existing:
        path.unlink()


def _master_dates(model: FactoryModel) -> dict[date, tuple[str, ...]]:
    first, last = model.business_days[0], model.last_business_day
    dates = {first: MASTER_EXPORTS, last: MASTER_EXPORTS}
    for day in model.regime_starts[1:]:
        dates.setdefault(day, QUARTERLY_EXPORTS)
    return dates


def _erp_file_count(model: FactoryModel) -> int:
    return (
        sum(len(names) for names in _master_dates(model).values())
        + len(model.inventory_days)
        + 3 * len(model.position_days)
    )


def _write_master_data(model: FactoryModel, writer: _Writer) -> None:
    lead_time_drift = _lead_time_drift(model)
    for day, names in sorted(_master_dates(model).items()):
        for name in names:
            frame = _master_frame(model, name, day, lead_time_drift)
            writer.write(f"{ERP_DIR}/{name}_{day:%Y%m%d}.csv", render_export(name, frame))


def _lead_time_drift(model: FactoryModel) -> np.ndarray:
    """Supplier lead-time factor per item-supplier row and regime: now and then a supplier gets slower/faster."""
    rng = model.rngs["prices"]
    rows, regimes = model.purchasing.item_suppliers.height, len(model.regime_starts)
    steps = np.where(rng.random((rows, regimes)) < 0.05, rng.uniform(0.8, 1.25, (rows, regimes)), 1.0)
    steps[:, 0] = 1.0
    return np.cumprod(steps, axis=1)


def _created(frame: pl.DataFrame, model: FactoryModel, day: date, *columns: str) -> pl.DataFrame:
    existing = model.items.filter(pl.col("created_on") <= day)["sku"]
    for column in columns:
        frame = frame.filter(pl.col(column).is_in(existing.implode()))
    return frame


def _master_frame(model: FactoryModel, name: str, day: date, lead_time_drift: np.ndarray) -> pl.DataFrame:
    if name == "itens":
        week = min(model.week_index(day), model.demand.regular_price.shape[1] - 1)
        price = dict(zip(model.demand.skus, model.demand.regular_price[:, week].tolist(), strict=True))
        cost = model.cost_at(day)
        return _created(model.items, model, day, "sku").with_columns(
            standard_cost=pl.col("sku").replace_strict(cost, return_dtype=pl.Float64),
            list_price=pl.when(pl.col("item_type").is_in(SOLD_TYPES)).then(
                pl.col("sku").replace_strict(price, default=None, return_dtype=pl.Float64)
            ),
            is_active=pl.col("deactivated_on").is_null() | (pl.col("deactivated_on") > day),
        )
    if name == "estrutura":
        return _created(model.catalog.bom, model, day, "parent_sku", "component_sku")
    if name == "item_fornecedor":
        k = model.regime(day)
        category = dict(model.items.select("sku", "supplier_category").drop_nulls().iter_rows())
        terms = model.purchasing.item_suppliers.with_columns(
            index=pl.col("sku").replace_strict({s: model.price_index[c][k] for s, c in category.items()}),
            drift=pl.Series(lead_time_drift[:, k]),
        ).with_columns(
            unit_price=(pl.col("unit_price") * pl.col("index")).round(4),
            lead_time_days=(pl.col("lead_time_days") * pl.col("drift")).round(1),
            lead_time_min_days=(pl.col("lead_time_min_days") * pl.col("drift")).round(0).clip(1),
            lead_time_max_days=(pl.col("lead_time_max_days") * pl.col("drift")).round(0),
        )
        return _created(terms, model, day, "sku")
    if name == "roteiros":
        return _created(model.plant.routings, model, day, "sku")
    if name == "calendario":
        return model.calendar
    tables = {
        "fornecedores": model.purchasing.suppliers,
        "centros_trabalho": model.plant.work_centers,
        "turnos": model.plant.shifts,
        "paradas": model.plant.planned_stops,
        "depositos": model.plant.warehouses,
    }
    return tables[name]


def _write_positions(model: FactoryModel, writer: _Writer) -> None:
    by_day = model.inventory.partition_by("snapshot_date", as_dict=True, maintain_order=True)
    for day in model.inventory_days:
        writer.write(f"{ERP_DIR}/estoque_{day:%Y%m%d}.csv", render_export("estoque", by_day[(day,)]))
    for day in model.position_days:
        writer.write(
            f"{ERP_DIR}/pedidos_compra_{day:%Y%m%d}.csv",
            render_export("pedidos_compra", open_purchase_orders(model.purchase_orders, day)),
        )
        writer.write(
            f"{ERP_DIR}/ordens_producao_{day:%Y%m%d}.csv",
            render_export("ordens_producao", open_production_orders(model.production_orders, day, model.workdays)),
        )
        writer.write(
            f"{ERP_DIR}/carteira_{day:%Y%m%d}.csv",
            render_export("carteira", open_customer_orders(model.customer_orders, day)),
        )


def _write_emails(model: FactoryModel, plan: DefectPlan, writer: _Writer) -> None:
    rng = model.rngs["mail"]
    days = model.business_days
    as_csv = rng.random(len(days)) < model.cfg.csv_share
    send_minutes = rng.integers(-12, 26, len(days))
    resend_minutes = rng.integers(0, 91, len(days))
    close_minutes = rng.integers(0, 60, len(days))
    description = dict(model.items.select("sku", "description").iter_rows())
    sales = model.demand.sales.with_columns(description=pl.col("sku").replace_strict(description))
    by_day = {
        key[0]: list(frame.select("sale_date", "sku", "description", "quantity", "unit_price", "revenue").iter_rows())
        for key, frame in sales.partition_by("sale_date", as_dict=True, maintain_order=True).items()
    }
    headers = [c.header for c in EMAIL_COLUMNS]
    for i, day in enumerate(days):
        extension = "csv" if as_csv[i] or day in plan.csv_days else "xlsx"
        rows: list[SaleRow] = by_day.get(day, [])
        for send in plan.sends(day, rows, headers, extension, model.rngs["defects"]):
            name = f"fechamento_{day:%Y-%m-%d}.{extension}"
            closed = datetime.combine(day, time(18, 0)) + timedelta(minutes=int(close_minutes[i]))
            if extension == "csv":
                attachment = render_csv(send.rows, send.headers)
            else:
                attachment = render_xlsx(send.rows, send.headers, closed + timedelta(days=send.sequence - 1))
            if send.corrected:
                sent = datetime.combine(day + timedelta(days=2), time(8, 0), BRASILIA)
                sent += timedelta(minutes=int(resend_minutes[i]))
            else:
                sent = datetime.combine(day + timedelta(days=1), time(7, 0), BRASILIA)
                sent += timedelta(minutes=int(send_minutes[i]))
            total = sum(abs(r[5]) for r in send.rows)
            email = build_email(day, send.sequence, name, attachment, sent, len(send.rows), total, send.corrected)
            writer.write(f"{EMAIL_DIR}/{email.file_name}", email.data)


def _write_truth(model: FactoryModel, plan: DefectPlan, writer: _Writer, truth_dir: Path) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    skus = model.demand.truth.sort("sku").write_csv().encode("utf-8")
    defects = (
        pl.DataFrame(
            plan.records,
            schema={
                "kind": pl.String,
                "business_date": pl.Date,
                "file_name": pl.String,
                "message_id": pl.String,
                "attachment": pl.String,
                "row": pl.Int64,
                "field": pl.String,
                "value": pl.String,
                "correct_value": pl.String,
                "note": pl.String,
            },
        )
        .sort("business_date", "kind", "row")
        .write_csv()
        .encode("utf-8")
    )
    truth_files = {"skus.csv": skus, "defects.csv": defects}
    for name, data in truth_files.items():
        (truth_dir / name).write_bytes(data)
    manifest = {
        "generator": "fmrp.demo",
        "config": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(model.cfg).items()},
        "history": {
            "first_day": model.business_days[0].isoformat(),
            "last_day": model.last_business_day.isoformat(),
            "weeks": model.cfg.weeks,
        },
        "counts": _counts(model, writer, plan),
        "engineering_changes": [
            {"old_sku": c.old_sku, "new_sku": c.new_sku, "valid_to": c.valid_to.isoformat()}
            for c in model.catalog.changes
        ],
        "defects": {kind: day.isoformat() for kind, day in plan.days.items()},
        "inbox_files": [writer.files[k] for k in sorted(writer.files)],
        "truth_files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(truth_files.items())
        ],
    }
    (truth_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    writer.bar.update(1)


def _counts(model: FactoryModel, writer: _Writer, plan: DefectPlan) -> dict[str, object]:
    summary = _summary(model, writer, plan, elapsed=0.0)
    return {
        "items_by_type": summary.items_by_type,
        "bom_edges": summary.bom_edges,
        "bom_depth": summary.bom_depth,
        "suppliers": summary.suppliers,
        "item_suppliers": model.purchasing.item_suppliers.height,
        "work_centers": summary.work_centers,
        "routing_operations": model.plant.routings.height,
        "sold_skus": summary.sold_skus,
        "patterns": summary.patterns,
        "business_days": len(model.business_days),
        "emails": summary.emails,
        "erp_files": summary.erp_files,
        "sales_rows": summary.sales_rows,
        "defects": summary.defects,
    }


def _summary(model: FactoryModel, writer: _Writer, plan: DefectPlan, elapsed: float) -> FactorySummary:
    return FactorySummary(
        first_day=model.business_days[0],
        last_day=model.last_business_day,
        items_by_type=dict(sorted(Counter(model.items["item_type"].to_list()).items())),
        bom_edges=model.catalog.bom.height,
        bom_depth=max(model.levels.values()),
        suppliers=model.purchasing.suppliers.height,
        work_centers=model.plant.work_centers.height,
        sold_skus=len(model.demand.skus),
        patterns=dict(sorted(Counter(model.demand.truth["pattern"].to_list()).items())),
        emails=sum(1 for k in writer.files if k.startswith(EMAIL_DIR)),
        erp_files=sum(1 for k in writer.files if k.startswith(ERP_DIR)),
        sales_rows=model.demand.sales.height,
        defects=len(plan.records),
        elapsed_seconds=round(elapsed, 2),
    )
