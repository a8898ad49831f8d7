"""Standard costs (a roll-up of the BOM plus labour) and their drift over the quarters."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl


def low_level_codes(bom: pl.DataFrame) -> dict[str, int]:
    """The deepest level at which each item of the BOM appears (0 = top level).

    Raises:
        ValueError: when the BOM has a cycle.
    """
    children: dict[str, list[str]] = {}
    for parent, child in bom.select("parent_sku", "component_sku").unique().iter_rows():
        children.setdefault(parent, []).append(child)
    nodes = set(children) | {c for cs in children.values() for c in cs}
    indegree = dict.fromkeys(nodes, 0)
    for cs in children.values():
        for c in cs:
            indegree[c] += 1
    level = dict.fromkeys(nodes, 0)
    ready = sorted(n for n, d in indegree.items() if d == 0)
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for child in children.get(node, []):
            level[child] = max(level[child], level[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if seen != len(nodes):
        raise ValueError("the BOM has a cycle")
    return level


def cost_indexes(categories: list[str], quarters: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A price index per supplier category per quarter (1.0 at the start): inflation with commodity swings."""
    return {
        cat: np.cumprod(np.concatenate([[1.0], 1 + rng.normal(0.012, 0.018, quarters)])) for cat in sorted(categories)
    }


def labour_cost(routings: pl.DataFrame, work_centers: pl.DataFrame, typical_lot: float = 200.0) -> pl.DataFrame:
    """Labour and machine cost per unit of every routed item: run time plus setup spread over a typical lot."""
    return (
        routings.join(work_centers, on="work_center_code")
        .group_by("sku")
        .agg(
            (
                (pl.col("run_minutes_per_unit") + pl.col("setup_minutes") / typical_lot)
                / 60
                * pl.col("cost_per_hour")
                / (pl.col("efficiency_pct") / 100)
            )
            .sum()
            .alias("labour_cost")
        )
    )


def standard_costs(
    items: pl.DataFrame,
    bom: pl.DataFrame,
    purchase_price: dict[str, float],
    labour: dict[str, float],
    levels: dict[str, int],
    as_of: date,
    wage_index: float,
) -> dict[str, float]:
    """Standard cost of every item as of a date.

    Bought items cost their purchase price; a made item costs its labour plus, for each BOM edge valid on
    `as_of`, the component's cost x qty_per / (1 - scrap%). Items are costed from the deepest level up.
    """
    valid = bom.filter(
        (pl.col("valid_from").is_null() | (pl.col("valid_from") <= as_of))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= as_of))
    )
    edges: dict[str, list[tuple[str, float]]] = {}
    for parent, child, qty, scrap in valid.select("parent_sku", "component_sku", "qty_per", "scrap_pct").iter_rows():
        edges.setdefault(parent, []).append((child, qty / (1 - scrap / 100)))
    cost = dict(purchase_price)
    made = items.filter(pl.col("replenishment") == "Fabricar")["sku"].to_list()
    for sku in sorted(made, key=lambda s: -levels.get(s, 0)):
        material = sum(cost.get(child, 0.0) * qty for child, qty in edges.get(sku, []))
        cost[sku] = material + labour.get(sku, 0.0) * wage_index
    return {sku: round(value, 4) for sku, value in cost.items()}
