"""Suppliers and the purchase terms of every bought item."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fmrp.demo.vocab import CITIES, LEGAL_SUFFIXES, SUPPLIER_CATEGORIES, SUPPLIER_SURNAMES

# Share of the suppliers in each category (distributors of resale goods are few).
CATEGORY_WEIGHTS = {
    "Metais": 0.17,
    "Plásticos": 0.13,
    "Químicos": 0.10,
    "Fixadores": 0.10,
    "Elétricos": 0.16,
    "Componentes": 0.14,
    "Embalagens": 0.12,
    "Distribuidores": 0.08,
}


@dataclass(frozen=True)
class Purchasing:
    """Suppliers (one row per supplier) and item-supplier terms (one row per bought item and supplier)."""

    suppliers: pl.DataFrame
    item_suppliers: pl.DataFrame


def cnpj(base: int, branch: int = 1) -> str:
    """A CNPJ `NN.NNN.NNN/BBBB-DD` with valid check digits for an 8-digit `base` and a branch number."""
    digits = [int(c) for c in f"{base:08d}{branch:04d}"]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    s = "".join(map(str, digits))
    return f"{s[:2]}.{s[2:5]}.{s[5:8]}/{s[8:12]}-{s[12:]}"


def build_purchasing(items: pl.DataFrame, finished_goods: int, rng: np.random.Generator) -> Purchasing:
    """About 60 suppliers per 300 finished goods, and 1 to 3 suppliers (one preferred) per bought item.

    The preferred supplier's price is the item's purchase price at the start of the history; the others
    quote within -8% .. +12% of it with their own lead times and order modifiers.
    """
    suppliers = _suppliers(max(len(CATEGORY_WEIGHTS) * 2, round(60 * finished_goods / 300)), rng)
    bought = items.filter(pl.col("replenishment") == "Comprar")
    by_category = {
        cat: grp["supplier_code"].to_list() for (cat,), grp in suppliers.group_by("category", maintain_order=True)
    }
    rows = []
    for sku, uom, category, low, high in bought.select(
        "sku", "uom", "supplier_category", "price_low", "price_high"
    ).iter_rows():
        pool = by_category[category]
        k = min(len(pool), int(rng.choice([1, 1, 2, 2, 3])))
        chosen = [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]
        base_price = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        imported = category in ("Elétricos", "Distribuidores") and rng.random() < 0.2
        base_lead = rng.uniform(35, 60) if imported else rng.uniform(3, 25)
        for rank, supplier in enumerate(chosen):
            lead = base_lead * (1.0 if rank == 0 else rng.uniform(0.6, 1.5))
            mean = round(lead, 1)
            moq, multiple = _modifiers(uom, base_price, rng)
            rows.append(
                {
                    "sku": sku,
                    "supplier_code": supplier,
                    "lead_time_days": mean,
                    "lead_time_min_days": max(1, int(np.floor(mean * rng.uniform(0.55, 0.85)))),
                    "lead_time_max_days": int(np.ceil(mean * rng.uniform(1.25, 1.8))),
                    "unit_price": round(base_price * (1.0 if rank == 0 else rng.uniform(0.92, 1.12)), 4),
                    "moq": moq,
                    "order_multiple": multiple,
                    "is_preferred": rank == 0,
                }
            )
    item_suppliers = pl.DataFrame(rows).sort("sku", "supplier_code")
    return Purchasing(suppliers=suppliers.drop("category"), item_suppliers=item_suppliers)


def _suppliers(count: int, rng: np.random.Generator) -> pl.DataFrame:
    categories = list(CATEGORY_WEIGHTS)
    weights = np.array(list(CATEGORY_WEIGHTS.values()))
    per_category = np.maximum(1, np.round(weights / weights.sum() * count)).astype(int)
    bases = 10_000_000 + rng.choice(90_000_000, size=int(per_category.sum()), replace=False)
    rows: list[dict[str, object]] = []
    names: set[str] = set()
    for category, n in zip(categories, per_category, strict=True):
        for _ in range(n):
            while True:
                trade = SUPPLIER_CATEGORIES[category][int(rng.integers(len(SUPPLIER_CATEGORIES[category])))]
                surname = SUPPLIER_SURNAMES[int(rng.integers(len(SUPPLIER_SURNAMES)))]
                name = f"{trade} {surname} {LEGAL_SUFFIXES[int(rng.integers(len(LEGAL_SUFFIXES)))]}"
                if name not in names:
                    break
            names.add(name)
            city, state = CITIES[int(rng.integers(len(CITIES)))]
            rows.append(
                {
                    "supplier_code": f"F{len(rows) + 1:04d}",
                    "name": name,
                    "tax_id": cnpj(int(bases[len(rows)]), int(rng.choice([1, 1, 1, 2, 3]))),
                    "city": city,
                    "state": state,
                    "payment_terms_days": int(rng.choice([28, 30, 30, 45, 60, 90])),
                    "category": category,
                }
            )
    return pl.DataFrame(rows)


def _modifiers(uom: str, price: float, rng: np.random.Generator) -> tuple[float, float]:
    """Minimum order quantity and order multiple typical for the unit and the price of an item."""
    if uom == "KG":
        multiple = float(rng.choice([1, 25, 25, 50]))
        return float(multiple * rng.choice([4, 8, 20, 40])), multiple
    if uom in ("M", "L"):
        multiple = float(rng.choice([1, 5, 10, 50, 100]))
        return float(multiple * rng.choice([1, 2, 5, 10])), multiple
    if price < 1.0:
        multiple = float(rng.choice([100, 500, 1000]))
        return float(multiple * rng.choice([1, 5, 10])), multiple
    multiple = float(rng.choice([1, 1, 6, 10, 12, 24, 50]))
    return float(multiple * rng.choice([1, 2, 5, 10])), multiple
