"""The product structure: items of every type and the multi-level bill of materials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from fmrp.demo.config import FactoryConfig
from fmrp.demo.vocab import (
    BOUGHT_COMPONENTS,
    KIT_NOUNS,
    MADE_COMPONENTS,
    PACKAGING,
    PRODUCT_LINES,
    RAW_MATERIALS,
    RESALE,
    SIZES_GENERIC,
    BoughtSpec,
)

FINISHED, SEMI, COMPONENT, RAW, PACKAGE, RESALE_TYPE = (
    "Acabado",
    "Semiacabado",
    "Componente",
    "Matéria-prima",
    "Embalagem",
    "Revenda",
)
SKU_PREFIX = {FINISHED: "PA", SEMI: "SA", COMPONENT: "CP", RAW: "MP", PACKAGE: "EM", RESALE_TYPE: "RV"}
SOLD_TYPES = (FINISHED, RESALE_TYPE)

ITEM_SCHEMA = {
    "sku": pl.String,
    "description": pl.String,
    "item_type": pl.String,
    "uom": pl.String,
    "category": pl.String,
    "replenishment": pl.String,
    "supplier_category": pl.String,
    "price_low": pl.Float64,
    "price_high": pl.Float64,
    "product_line": pl.Int64,
    "is_phantom": pl.Boolean,
    "created_on": pl.Date,
    "deactivated_on": pl.Date,
}
BOM_SCHEMA = {
    "parent_sku": pl.String,
    "component_sku": pl.String,
    "qty_per": pl.Float64,
    "scrap_pct": pl.Float64,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
}


@dataclass(frozen=True)
class EngineeringChange:
    """Component `old_sku` is valid until `valid_to`; `new_sku` replaces it from the next day."""

    old_sku: str
    new_sku: str
    valid_to: date


@dataclass(frozen=True)
class Catalog:
    """Items (one row per item) and BOM edges (one row per parent, component and validity period)."""

    items: pl.DataFrame
    bom: pl.DataFrame
    changes: tuple[EngineeringChange, ...]


@dataclass
class _Item:
    description: str
    item_type: str
    uom: str
    category: str
    replenishment: str
    supplier_category: str | None = None
    price_low: float | None = None
    price_high: float | None = None
    product_line: int | None = None
    is_phantom: bool = False
    sku: str = ""


class _Builder:
    """Accumulates items and edges; items get their SKU code when they are added."""

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.edges: list[tuple[str, str, float, float]] = []
        self._counters = dict.fromkeys(SKU_PREFIX.values(), 0)
        self._names: set[str] = set()

    def add(self, item: _Item) -> _Item:
        base, n = item.description, 1
        while item.description in self._names:
            n += 1
            item.description = f"{base} Mod. {n}"
        self._names.add(item.description)
        prefix = SKU_PREFIX[item.item_type]
        self._counters[prefix] += 1
        item.sku = f"{prefix}-{self._counters[prefix]:05d}"
        self.items.append(item)
        return item

    def edge(self, parent: _Item, child: _Item, qty: float, scrap: float = 0.0) -> None:
        self.edges.append((parent.sku, child.sku, qty, scrap))


def _counts(finished_goods: int) -> dict[str, int]:
    n = finished_goods
    counts = {
        "body": max(6, round(0.45 * n)),
        "sub": max(3, round(0.20 * n)),
        "phantom": max(1, round(0.02 * n)),
        "made": max(4, round(0.35 * n)),
        "bought": max(6, round(0.45 * n)),
        "raw": max(5, round(0.35 * n)),
        "package": max(5, round(0.30 * n)),
    }
    not_resale = n + sum(counts.values())
    counts["resale"] = max(2, round(not_resale * 0.05 / 0.95))
    return counts


def _round_robin(specs: tuple[BoughtSpec, ...], count: int, rng: np.random.Generator) -> list[tuple[BoughtSpec, str]]:
    """`count` distinct (spec, name) pairs, cycling over the specs so every stem shows up early.

    Only when every stem and size is used do names repeat, with a supplier reference (`ref. 2`).
    """
    order = rng.permutation(len(specs))
    sizes = [list(rng.permutation(specs[i][1])) for i in order]
    combos = [
        (specs[i], str(size_list[r]))
        for r in range(max(len(s) for s in sizes))
        for i, size_list in zip(order, sizes, strict=True)
        if r < len(size_list)
    ]
    return [
        (spec, f"{spec[0]} {size}" + ("" if k < len(combos) else f" ref. {k // len(combos) + 1}"))
        for k in range(count)
        for spec, size in [combos[k % len(combos)]]
    ]


def _popular(rng: np.random.Generator, pool: list[_Item], exponent: float = 1.0) -> np.ndarray:
    """Selection weights with a few very popular items (shared components) and a long tail."""
    ranks = rng.permutation(len(pool)) + 1
    weights = 1.0 / ranks.astype(float) ** exponent
    return weights / weights.sum()


def _pick(rng: np.random.Generator, pool: list[_Item], weights: np.ndarray, k: int) -> list[_Item]:
    k = min(k, len(pool))
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False, p=weights)]


def _qty_for(child: _Item, rng: np.random.Generator) -> float:
    """A plausible quantity per parent: grams to a kilo of material, many cheap parts, one expensive part."""
    if child.uom == "KG":
        return float(round(np.clip(rng.lognormal(np.log(0.25), 0.7), 0.02, 1.5), 3))
    if child.uom == "M":
        return float(round(rng.uniform(0.2, 1.8), 2))
    if child.uom == "L":
        return float(round(rng.uniform(0.01, 0.08), 3))
    if child.price_high is not None and child.price_high < 1.0:
        return float(rng.choice([2, 2, 3, 4, 4, 6, 8, 12]))
    return float(rng.choice([1, 1, 1, 1, 1, 2, 2, 4]))


def build_catalog(cfg: FactoryConfig, last_business_day: date, rng: np.random.Generator) -> Catalog:
    """Items of every type and a BOM at least four levels deep (FG -> SF -> SF -> component -> raw).

    Finished goods are colour/finish variants of product models; the variants of one model share the
    model's main assembly, the assemblies share sub-assemblies, made and bought components, so the popular
    components are used by many parents. Two engineering changes replace a bought component: one in the
    middle of the history, one inside the planning horizon.
    """
    counts = _counts(cfg.finished_goods)
    b = _Builder()
    raw = _bought(b, RAW_MATERIALS, RAW, counts["raw"], rng)
    bought = _bought(b, BOUGHT_COMPONENTS, COMPONENT, counts["bought"], rng)
    models = _models(counts["body"], rng)
    packages, printed = _packaging(b, counts["package"], models, rng)
    made = _made_components(b, counts["made"], raw, rng)
    w_bought, w_made = _popular(rng, bought, 1.1), _popular(rng, made, 0.9)
    phantoms = _phantom_kits(b, counts["phantom"], bought, rng)
    subs = _sub_assemblies(b, counts["sub"], models, made, w_made, bought, w_bought, raw, rng)
    bodies = [_body(b, model, subs, made, w_made, bought, w_bought, phantoms, rng) for model in models]
    _finished_goods(b, cfg.finished_goods, models, bodies, bought, w_bought, packages, printed, raw, rng)
    _bought(b, RESALE, RESALE_TYPE, counts["resale"], rng)
    _adopt_orphans(b, rng)
    items, bom = _frames(b, cfg, rng)
    items, bom, changes = _engineering_changes(items, bom, cfg, last_business_day, rng)
    return Catalog(items=items, bom=bom, changes=changes)


def _bought(
    b: _Builder, specs: tuple[BoughtSpec, ...], item_type: str, count: int, rng: np.random.Generator
) -> list[_Item]:
    return [
        b.add(_Item(name, item_type, spec[2], spec[4], "Comprar", spec[3], *spec[5]))
        for spec, name in _round_robin(specs, count, rng)
    ]


def _packaging(
    b: _Builder, count: int, models: list[tuple[int, str, str]], rng: np.random.Generator
) -> tuple[list[_Item], dict[int, _Item]]:
    """Generic packaging (boxes, labels, film) and, for the rest of the count, printed boxes of some models."""
    generic = _bought(b, PACKAGING, PACKAGE, min(count, sum(len(spec[1]) for spec in PACKAGING)), rng)
    printed: dict[int, _Item] = {}
    for m in rng.permutation(len(models))[: count - len(generic)]:
        _, noun, size = models[m]
        name = f"Caixa impressa {noun} {size}"
        printed[int(m)] = b.add(_Item(name, PACKAGE, "UN", "Embalagem primária", "Comprar", "Embalagens", 1.5, 7.5))
    return generic, printed


def _phantom_kits(b: _Builder, count: int, bought: list[_Item], rng: np.random.Generator) -> list[_Item]:
    """Fastener kits that are never stocked: their parts are pulled straight into the parent's order."""
    fasteners = [c for c in bought if c.category == "Fixação"] or bought
    kits = []
    for i in range(count):
        kit = b.add(_Item(f"Kit fixação {i + 1:02d} (fantasma)", SEMI, "UN", "Kit", "Fabricar", is_phantom=True))
        for child in _pick(rng, fasteners, _popular(rng, fasteners), int(rng.integers(2, 5))):
            b.edge(kit, child, float(rng.choice([2, 4, 4, 6, 8])))
        kits.append(kit)
    return kits


def _body(
    b: _Builder,
    model: tuple[int, str, str],
    subs: list[_Item],
    made: list[_Item],
    w_made: np.ndarray,
    bought: list[_Item],
    w_bought: np.ndarray,
    phantoms: list[_Item],
    rng: np.random.Generator,
) -> _Item:
    """The main assembly of a product model: sub-assemblies of its line, made and bought components."""
    line_no, noun, size = model
    line = PRODUCT_LINES[line_no]
    body = b.add(_Item(f"{line.body} {noun} {size}", SEMI, "UN", line.category, "Fabricar", product_line=line_no))
    same_line = [s for s in subs if s.product_line == line_no] or subs
    for child in _pick(rng, same_line, _popular(rng, same_line, 0.7), 1 + int(rng.random() < 0.3)):
        b.edge(body, child, 1.0)
    for child in _pick(rng, made, w_made, int(rng.integers(1, 3))):
        b.edge(body, child, _qty_for(child, rng))
    for child in _pick(rng, bought, w_bought, int(rng.integers(1, 5))):
        b.edge(body, child, _qty_for(child, rng))
    if rng.random() < 0.25:
        b.edge(body, phantoms[int(rng.integers(len(phantoms)))], 1.0)
    return body


def _made_components(b: _Builder, count: int, raw: list[_Item], rng: np.random.Generator) -> list[_Item]:
    """Parts made in house (stamped, injected, machined...) from one main raw material, sometimes two."""
    made: list[_Item] = []
    order = rng.permutation(len(MADE_COMPONENTS))
    sizes = rng.permutation(SIZES_GENERIC)
    for k in range(count):
        stem, material, _ = MADE_COMPONENTS[order[k % len(order)]]
        size = sizes[(k // len(order)) % len(sizes)]
        item = b.add(_Item(f"{stem} {size}", COMPONENT, "UN", "Componente fabricado", "Fabricar"))
        materials = [r for r in raw if r.description.startswith(material)] or [r for r in raw if r.uom == "KG"]
        main = materials[int(rng.integers(len(materials)))]
        scrap = float(round(rng.uniform(0.5, 8.0), 1)) if rng.random() < 0.7 else 0.0
        b.edge(item, main, _qty_for(main, rng), scrap)
        if rng.random() < 0.3:
            extra = [r for r in raw if r is not main and r.uom in ("KG", "L")]
            if extra:
                second = extra[int(rng.integers(len(extra)))]
                b.edge(item, second, float(round(rng.uniform(0.003, 0.03), 3)), 0.0)
        made.append(item)
    return made


def _models(count: int, rng: np.random.Generator) -> list[tuple[int, str, str]]:
    """`count` distinct product models (line, noun, size) drawn from every line's nouns and sizes."""
    options = [
        (line_no, noun, size)
        for line_no, line in enumerate(PRODUCT_LINES)
        for noun, _, sizes in line.nouns
        for size in sizes
    ]
    order = rng.permutation(len(options))
    models = []
    for k in range(count):
        line_no, noun, size = options[order[k % len(options)]]
        if k >= len(options):
            size = f"{size} Mod. {k // len(options) + 1}"
        models.append((line_no, noun, size))
    return models


def _sub_assemblies(
    b: _Builder,
    count: int,
    models: list[tuple[int, str, str]],
    made: list[_Item],
    w_made: np.ndarray,
    bought: list[_Item],
    w_bought: np.ndarray,
    raw: list[_Item],
    rng: np.random.Generator,
) -> list[_Item]:
    lines = sorted({m[0] for m in models})
    subs = []
    for k in range(count):
        line_no = lines[k % len(lines)]
        line = PRODUCT_LINES[line_no]
        stem = line.sub_assemblies[(k // len(lines)) % len(line.sub_assemblies)]
        noun, _, sizes = line.nouns[int(rng.integers(len(line.nouns)))]
        size = sizes[int(rng.integers(len(sizes)))]
        sub = b.add(_Item(f"{stem} {noun} {size}", SEMI, "UN", line.category, "Fabricar", product_line=line_no))
        for child in _pick(rng, made, w_made, int(rng.integers(1, 4))):
            b.edge(sub, child, _qty_for(child, rng))
        for child in _pick(rng, bought, w_bought, int(rng.integers(0, 3))):
            b.edge(sub, child, _qty_for(child, rng))
        if rng.random() < 0.3:
            paint = raw[int(rng.integers(len(raw)))]
            b.edge(sub, paint, _qty_for(paint, rng), float(round(rng.uniform(0.5, 3.0), 1)))
        subs.append(sub)
    return subs


def _finished_goods(
    b: _Builder,
    count: int,
    models: list[tuple[int, str, str]],
    bodies: list[_Item],
    bought: list[_Item],
    w_bought: np.ndarray,
    packages: list[_Item],
    printed: dict[int, _Item],
    raw: list[_Item],
    rng: np.random.Generator,
) -> None:
    kits = max(1, round(0.08 * count))
    singles = count - kits
    per_model = np.ones(len(models), dtype=int)
    extra = singles - len(models)
    if extra > 0:
        per_model += rng.multinomial(extra, np.full(len(models), 1.0 / len(models)))
    else:
        per_model[singles:] = 0
    boxes = [p for p in packages if p.category != "Rotulagem" and p.uom == "UN"] or packages
    labels = [p for p in packages if p.category == "Rotulagem"] or packages
    bulk = [p for p in packages if p.uom == "M"]
    w_boxes, w_labels = _popular(rng, boxes, 0.6), _popular(rng, labels, 0.5)

    def pack(fg: _Item, model_no: int) -> None:
        b.edge(fg, printed[model_no] if model_no in printed else _pick(rng, boxes, w_boxes, 1)[0], 1.0)
        for label in _pick(rng, labels, w_labels, int(rng.integers(1, 3))):
            b.edge(fg, label, 1.0)
        if bulk and rng.random() < 0.4:
            film = bulk[int(rng.integers(len(bulk)))]
            b.edge(fg, film, _qty_for(film, rng))
        for child in _pick(rng, bought, w_bought, int(rng.integers(0, 3))):
            b.edge(fg, child, _qty_for(child, rng))

    paints = [r for r in raw if r.category == "Químico" and r.uom == "KG"]
    for model_no, ((line_no, noun, size), body, n) in enumerate(zip(models, bodies, per_model, strict=True)):
        line = PRODUCT_LINES[line_no]
        feminine = _gender(line_no, noun) == "f"
        finishes = [line.finishes[i][feminine] for i in rng.permutation(len(line.finishes))]
        for v in range(n):
            finish = finishes[v % len(finishes)]
            suffix = "" if v < len(finishes) else f" Mod. {v // len(finishes) + 1}"
            uom = "CX" if rng.random() < 0.08 else "UN"
            fg = b.add(
                _Item(f"{noun} {size} {finish}{suffix}", FINISHED, uom, line.category, "Fabricar", product_line=line_no)
            )
            b.edge(fg, body, 1.0)
            if paints and rng.random() < 0.2:
                b.edge(fg, paints[int(rng.integers(len(paints)))], float(round(rng.uniform(0.03, 0.2), 3)), 2.0)
            pack(fg, model_no)
    for k in range(kits):
        model_no = int(rng.integers(len(models)))
        line_no = models[model_no][0]
        same_line = [i for i, m in enumerate(models) if m[0] == line_no]
        members = rng.choice(same_line, size=min(len(same_line), int(rng.integers(2, 4))), replace=False)
        line = PRODUCT_LINES[line_no]
        kit_noun = KIT_NOUNS[k % len(KIT_NOUNS)]
        finish = line.finishes[int(rng.integers(len(line.finishes)))][0]
        fg = b.add(
            _Item(
                f"{kit_noun} {models[model_no][1]} {finish} {len(members)} peças",
                FINISHED,
                "CX",
                line.category,
                "Fabricar",
                product_line=line_no,
            )
        )
        for m in sorted(members):
            b.edge(fg, bodies[m], 1.0)
        pack(fg, -1)


def _gender(line_no: int, noun: str) -> str:
    return next(g for n, g, _ in PRODUCT_LINES[line_no].nouns if n == noun)


def _adopt_orphans(b: _Builder, rng: np.random.Generator) -> None:
    """Give every component without a parent one, so no purchased or made part is unused."""
    used = {child for _, child, _, _ in b.edges}
    by_sku = {i.sku: i for i in b.items}
    parents_of = {
        RAW: [i for i in b.items if i.item_type == COMPONENT and i.replenishment == "Fabricar"],
        PACKAGE: [i for i in b.items if i.item_type == FINISHED],
        COMPONENT: [i for i in b.items if i.item_type == SEMI and not i.is_phantom],
        SEMI: [i for i in b.items if i.item_type == FINISHED],
    }
    for item in b.items:
        if item.sku in used or item.item_type in (FINISHED, RESALE_TYPE):
            continue
        pool = parents_of[item.item_type]
        if item.item_type == SEMI and item.is_phantom:
            pool = [i for i in b.items if i.item_type == SEMI and not i.is_phantom and i.product_line is not None]
        if item.item_type == COMPONENT and item.replenishment == "Fabricar":
            pool = [i for i in b.items if i.item_type == SEMI and not i.is_phantom]
        parent = pool[int(rng.integers(len(pool)))]
        scrap = float(round(rng.uniform(0.5, 5.0), 1)) if item.item_type == RAW else 0.0
        b.edge(by_sku[parent.sku], item, _qty_for(item, rng), scrap)


def _frames(b: _Builder, cfg: FactoryConfig, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    items = pl.DataFrame(
        [
            {
                "sku": i.sku,
                "description": i.description,
                "item_type": i.item_type,
                "uom": i.uom,
                "category": i.category,
                "replenishment": i.replenishment,
                "supplier_category": i.supplier_category,
                "price_low": i.price_low,
                "price_high": i.price_high,
                "product_line": i.product_line,
                "is_phantom": i.is_phantom,
                "created_on": cfg.start,
                "deactivated_on": None,
            }
            for i in b.items
        ],
        schema=ITEM_SCHEMA,
    )
    edges: dict[tuple[str, str], tuple[float, float]] = {}
    for parent, child, qty, scrap in b.edges:
        key = (parent, child)
        if key in edges:  # the same child picked twice: one edge with the summed quantity
            edges[key] = (edges[key][0] + qty, max(edges[key][1], scrap))
        else:
            edges[key] = (qty, scrap)
    extra_scrap = rng.random(len(edges)) < 0.08
    rows = []
    for (key, (qty, scrap)), more in zip(sorted(edges.items()), extra_scrap, strict=True):
        if more and scrap == 0.0:
            scrap = float(round(rng.uniform(0.5, 2.0), 1))
        rows.append(
            {
                "parent_sku": key[0],
                "component_sku": key[1],
                "qty_per": qty,
                "scrap_pct": scrap,
                "valid_from": None,
                "valid_to": None,
            }
        )
    bom = pl.DataFrame(rows, schema=BOM_SCHEMA)
    return items.sort("sku"), bom


def _engineering_changes(
    items: pl.DataFrame, bom: pl.DataFrame, cfg: FactoryConfig, last_business_day: date, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[EngineeringChange, ...]]:
    """Replace two shared bought components: one mid-history, one inside the planning horizon."""
    bought = items.filter((pl.col("item_type") == COMPONENT) & (pl.col("replenishment") == "Comprar"))
    parents = (
        bom.join(bought.select("sku"), left_on="component_sku", right_on="sku")
        .group_by("component_sku")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= 2)
        .sort("n", "component_sku", descending=[True, False])
    )
    candidates = parents["component_sku"].to_list()[1:]  # leave the most popular part alone
    chosen = [candidates[i] for i in sorted(rng.choice(len(candidates), size=2, replace=False))]
    history_days = (cfg.end - cfg.start).days
    past = cfg.start + timedelta(days=int(history_days * rng.uniform(0.4, 0.55)))
    future = last_business_day + timedelta(days=int(rng.integers(25, 45)))
    next_number = max(items.filter(pl.col("item_type") == COMPONENT)["sku"].str.slice(3).cast(pl.Int64).to_list())
    changes = []
    new_items = []
    new_edges = []
    for k, (old_sku, valid_to) in enumerate(zip(chosen, (past, future), strict=True)):
        new_sku = f"CP-{next_number + k + 1:05d}"
        old = items.filter(pl.col("sku") == old_sku)
        created = cfg.start if valid_to == past else last_business_day - timedelta(days=40)
        new_items.append(
            old.with_columns(
                sku=pl.lit(new_sku),
                description=pl.col("description") + " rev. B",
                created_on=pl.lit(created, pl.Date),
            )
        )
        old_edges = bom.filter(pl.col("component_sku") == old_sku)
        new_edges.append(
            old_edges.with_columns(
                component_sku=pl.lit(new_sku), valid_from=pl.lit(valid_to + timedelta(days=1), pl.Date)
            )
        )
        bom = bom.with_columns(
            valid_to=pl.when(pl.col("component_sku") == old_sku)
            .then(pl.lit(valid_to, pl.Date))
            .otherwise(pl.col("valid_to"))
        )
        if valid_to == past:
            items = items.with_columns(
                deactivated_on=pl.when(pl.col("sku") == old_sku)
                .then(pl.lit(past + timedelta(days=60), pl.Date))
                .otherwise(pl.col("deactivated_on"))
            )
        changes.append(EngineeringChange(old_sku=old_sku, new_sku=new_sku, valid_to=valid_to))
    items = pl.concat([items, *new_items]).sort("sku")
    bom = pl.concat([bom, *new_edges]).sort("parent_sku", "component_sku", "valid_from", nulls_last=False)
    return items, bom, tuple(changes)
