"""Planning parameters of the items: dependent usage, lead times, lot-size rules and modifiers."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from fmrp.demo.catalog import SKU_PREFIX

LOT_RULES = ("LFL", "FOQ", "EOQ", "POQ", "SM", "LUC", "PPB", "WW")
LOT_RULE_SHARES = (0.22, 0.10, 0.12, 0.10, 0.09, 0.08, 0.08, 0.21)
MULTIPLES = {"UN": (5, 10, 12, 20, 24, 50, 100), "CX": (1, 6, 12), "KG": (1, 5, 25), "M": (1, 10, 50), "L": (1, 5, 20)}


def weekly_usage(
    bom: pl.DataFrame, levels: dict[str, int], demand: dict[str, np.ndarray], week_starts: list[date]
) -> dict[str, np.ndarray]:
    """Weekly gross usage of every item: the sold quantities exploded through the BOM edges valid that week."""
    usage = {sku: series.astype(float) for sku, series in demand.items()}
    weeks = np.array(week_starts, dtype="datetime64[D]")
    far_past, far_future = np.datetime64("1900-01-01"), np.datetime64("2999-12-31")
    edges = bom.with_columns(level=pl.col("parent_sku").replace_strict(levels, default=0)).sort(
        "level", "parent_sku", "component_sku", "valid_from", nulls_last=False
    )
    for parent, child, qty, scrap, valid_from, valid_to in edges.select(
        "parent_sku", "component_sku", "qty_per", "scrap_pct", "valid_from", "valid_to"
    ).iter_rows():
        if parent not in usage:
            continue
        start = np.datetime64(valid_from) if valid_from else far_past
        end = np.datetime64(valid_to) if valid_to else far_future
        valid = (weeks >= start) & (weeks <= end)
        usage[child] = usage.get(child, 0.0) + usage[parent] * qty / (1 - scrap / 100) * valid
    return usage


def nice_quantity(value: np.ndarray, uom: np.ndarray) -> np.ndarray:
    """Round quantities the way planners write them: two significant digits, whole units."""
    value = np.maximum(value, 1.0)
    magnitude = 10 ** np.maximum(np.floor(np.log10(value)) - 1, 0)
    return np.where(np.isin(uom, ["UN", "CX"]) | (value >= 10), np.ceil(value / magnitude) * magnitude, np.ceil(value))


def lot_policies(
    items: pl.DataFrame, mean_usage: dict[str, float], lead_times: dict[str, int], rng: np.random.Generator
) -> pl.DataFrame:
    """Lot-size rule, modifiers, safety-stock overrides and lead time per item (one row per item).

    Rules follow exact shares (Wagner-Whitin on about a fifth of the items); phantoms are lot-for-lot
    with lead time zero. Fixed lots cover 2-6 weeks of usage; a few items have a maximum lot.
    """
    n = items.height
    uom = items["uom"].to_numpy()
    phantom = items["is_phantom"].to_numpy()
    usage = np.array([max(mean_usage.get(sku, 0.0), 1.0) for sku in items["sku"]])
    counts = np.floor(np.array(LOT_RULE_SHARES) * n).astype(int)
    counts[: n - counts.sum()] += 1
    rule = rng.permutation(np.repeat(np.array(LOT_RULES), counts))
    rule[phantom] = "LFL"

    multiple = np.array([float(rng.choice(MULTIPLES[u])) for u in uom])
    has_multiple = (rng.random(n) < 0.4) & ~phantom
    multiple = np.where(has_multiple, multiple, np.nan)
    fixed = np.where(rule == "FOQ", nice_quantity(usage * rng.uniform(2, 6, n), uom), np.nan)
    fixed = np.where(has_multiple & (rule == "FOQ"), np.ceil(fixed / multiple) * multiple, fixed)
    min_lot = np.where((rng.random(n) < 0.3) & ~phantom, nice_quantity(usage * rng.uniform(0.5, 2.0, n), uom), np.nan)
    max_lot = np.full(n, np.nan)
    capped = rng.choice(np.flatnonzero(~phantom), size=max(2, round(0.03 * n)), replace=False)
    floor = np.fmax(np.fmax(fixed[capped], min_lot[capped]), 0) * 1.5
    max_lot[capped] = np.fmax(nice_quantity(usage[capped] * rng.uniform(6, 12, capped.size), uom[capped]), floor)
    # a cap must hold whole multiples, or no order can respect both (the MRP refuses such an item)
    with_multiple = capped[~np.isnan(multiple[capped])]
    max_lot[with_multiple] = np.ceil(max_lot[with_multiple] / multiple[with_multiple]) * multiple[with_multiple]
    safety = np.full(n, np.nan)
    overridden = rng.choice(np.flatnonzero(~phantom), size=max(2, round(0.03 * n)), replace=False)
    safety[overridden] = nice_quantity(usage[overridden] * rng.uniform(0.5, 2.0, overridden.size), uom[overridden])
    lead = np.array([0 if p else lead_times[sku] for sku, p in zip(items["sku"], phantom, strict=True)])
    return pl.DataFrame(
        {
            "sku": items["sku"],
            "lead_time_days": lead,
            "lot_size_rule": rule,
            "fixed_lot_qty": fixed,
            "min_lot": min_lot,
            "max_lot": max_lot,
            "lot_multiple": multiple,
            "safety_stock_override": safety,
            "mean_weekly_usage": usage,
        },
        nan_to_null=True,
    )


def made_lead_times(items: pl.DataFrame, routings: pl.DataFrame, rng: np.random.Generator) -> dict[str, int]:
    """Working days to make a typical lot: one day per operation plus queue time."""
    operations = dict(routings.group_by("sku").len().iter_rows())
    made = items.filter(pl.col("replenishment") == "Fabricar")
    extra = {SKU_PREFIX["Acabado"]: 2, SKU_PREFIX["Semiacabado"]: 1, SKU_PREFIX["Componente"]: 0}
    return {
        sku: int(operations.get(sku, 0) + extra.get(sku[:2], 0) + rng.integers(1, 4)) for sku in made["sku"].to_list()
    }
