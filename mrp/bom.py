"""Bills of materials (PL-3): low-level codes, cycle detection, validity dates and the explosion factor.

The input is a frame with the columns of the ``bom_edges`` mart: ``parent_sku``, ``component_sku``,
``qty_per``, ``scrap_rate`` (fraction, 0.02 = 2 %), ``valid_from``, ``valid_to`` (dates, null = open).

- **Low-level code** (PRODUCT §1): the deepest level at which an item appears; finished goods and any item
  that is nobody's component are level 0, a component is one deeper than its deepest parent. Every edge
  counts, whatever its validity dates, so a component switch never puts a child above its parent. A cycle
  raises :class:`BomCycleError` naming its items in order.
- **Validity**: an edge applies in a bucket when the bucket's first day is within ``[valid_from, valid_to]``,
  both ends inclusive, a null end open (docs/sources.md: "Válido Até 31/03/2025 still applies on that day").
- **Explosion factor** (PRODUCT §1): a component's gross requirement is the parent quantity x ``qty_per`` /
  (1 - ``scrap_rate``); 1000 parents x 0.15 with 2 % scrap need 153.06.
- **Phantoms** are planned by :mod:`mrp.engine` (their requirements pass through to their components in the
  same bucket); here they are ordinary items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

BOM_COLUMNS: tuple[str, ...] = ("parent_sku", "component_sku", "qty_per", "scrap_rate", "valid_from", "valid_to")


class BomError(ValueError):
    """A bill of materials the planning cannot use."""


class BomCycleError(BomError):
    """An item that is, through its components, a component of itself.

    Attributes:
        cycle: The items of the cycle in BOM order, the first repeated at the end (``("A", "B", "A")``).
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(
            f"the BOM has a cycle: {' -> '.join(self.cycle)} (each item is a component of the one before it); "
            "fix the structure of one of these items"
        )


class UnknownBomItemError(BomError):
    """A BOM line naming an item that is not in the item master."""


class InvalidBomLineError(BomError):
    """A BOM line with a quantity, scrap rate or validity out of range."""


@dataclass(frozen=True, eq=False)
class IndexedBom:
    """A BOM as integer arrays over an item list (what the engine explodes with).

    Attributes:
        parent: Index of each edge's parent in the item list.
        component: Index of each edge's component.
        factor: Component units per parent unit, ``qty_per / (1 - scrap_rate)``.
        valid: Per edge and bucket, whether the edge applies (``edges x buckets``).
    """

    parent: np.ndarray
    component: np.ndarray
    factor: np.ndarray
    valid: np.ndarray


def explosion_factor(qty_per: float | np.ndarray, scrap_rate: float | np.ndarray) -> float | np.ndarray:
    """Component quantity per parent unit including scrap: ``qty_per / (1 - scrap_rate)``.

    Example:
        >>> round(1000 * explosion_factor(0.15, 0.02), 2)
        153.06
    """
    return qty_per / (1.0 - scrap_rate)


def normalize_bom(bom_edges: pl.DataFrame) -> pl.DataFrame:
    """The BOM with the mart's column types, optional columns filled, and its lines checked.

    ``scrap_rate``, ``valid_from`` and ``valid_to`` may be missing (no scrap, always valid). Rows are sorted
    by parent, component and validity start, so everything downstream is independent of the input order.

    Raises:
        InvalidBomLineError: A required column is missing, or a line has ``qty_per <= 0``, a scrap rate
            outside ``[0, 1)`` or ``valid_to`` before ``valid_from``.
    """
    missing = [name for name in ("parent_sku", "component_sku", "qty_per") if name not in bom_edges.columns]
    if missing:
        raise InvalidBomLineError(f"bom_edges lacks the column(s) {', '.join(missing)}")
    defaults = {"scrap_rate": pl.lit(0.0), "valid_from": pl.lit(None, pl.Date), "valid_to": pl.lit(None, pl.Date)}
    frame = bom_edges.with_columns(
        [value.alias(name) for name, value in defaults.items() if name not in bom_edges.columns]
    ).select(
        pl.col("parent_sku").cast(pl.String),
        pl.col("component_sku").cast(pl.String),
        pl.col("qty_per").cast(pl.Float64),
        pl.col("scrap_rate").cast(pl.Float64).fill_null(0.0),
        pl.col("valid_from").cast(pl.Date),
        pl.col("valid_to").cast(pl.Date),
    )
    checks = {
        "qty_per must be > 0": ~(pl.col("qty_per") > 0),
        "scrap_rate must be in [0, 1)": ~((pl.col("scrap_rate") >= 0) & (pl.col("scrap_rate") < 1)),
        "valid_to is before valid_from": pl.col("valid_to") < pl.col("valid_from"),
        "parent_sku and component_sku must not be null": pl.col("parent_sku").is_null()
        | pl.col("component_sku").is_null(),
    }
    for problem, condition in checks.items():
        bad = frame.with_row_index("row").filter(condition.fill_null(False))
        if bad.height:
            line = bad.row(0, named=True)
            raise InvalidBomLineError(
                f"BOM line {line['row']} ({line['parent_sku']} -> {line['component_sku']}): {problem}"
                + (f" ({bad.height} such lines)" if bad.height > 1 else "")
            )
    return frame.sort(["parent_sku", "component_sku", "valid_from", "valid_to"], nulls_last=False)


def low_level_codes(items: Sequence[str] | pl.Series, bom_edges: pl.DataFrame) -> pl.DataFrame:
    """The low-level code of every item.

    Args:
        items: The SKUs of the item master (every SKU of the BOM must be among them).
        bom_edges: The BOM lines (see the module docstring).

    Returns:
        One row per item, sorted by SKU: ``sku``, ``low_level_code`` (0 = top).

    Raises:
        BomCycleError: The BOM has a cycle; the message names its items.
        UnknownBomItemError: A BOM line names an item not in ``items``.
    """
    skus = sorted(set(items))
    parent, component = index_edges(skus, normalize_bom(bom_edges))
    return pl.DataFrame(
        {"sku": skus, "low_level_code": _low_level_codes(len(skus), parent, component, skus)},
        schema={"sku": pl.String, "low_level_code": pl.Int32},
    )


def index_edges(skus: Sequence[str], bom: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Parent and component positions of every BOM line in ``skus``.

    Raises:
        UnknownBomItemError: A line names an item not in ``skus``.
    """
    lookup = pl.DataFrame({"sku": list(skus), "index": np.arange(len(skus), dtype=np.int64)})
    positions = []
    for column in ("parent_sku", "component_sku"):
        joined = bom.select(pl.col(column).alias("sku")).join(lookup, on="sku", how="left", maintain_order="left")
        unknown = joined.filter(pl.col("index").is_null())["sku"].unique().sort()
        if unknown.len():
            raise UnknownBomItemError(
                f"BOM {column} not in the item master: {', '.join(unknown.head(10).to_list())}"
                + (f" and {unknown.len() - 10} more" if unknown.len() > 10 else "")
            )
        positions.append(joined["index"].to_numpy())
    return positions[0], positions[1]


def index_bom(skus: Sequence[str], bom_edges: pl.DataFrame, bucket_starts: Sequence[dt.date]) -> IndexedBom:
    """The BOM as arrays over ``skus``, with each edge's validity per bucket."""
    bom = normalize_bom(bom_edges)
    parent, component = index_edges(skus, bom)
    return IndexedBom(parent, component, bom_factor(bom), edge_validity(bom, bucket_starts))


def bom_factor(bom: pl.DataFrame) -> np.ndarray:
    """``qty_per / (1 - scrap_rate)`` of every line of a normalised BOM."""
    return bom["qty_per"].to_numpy() / (1.0 - bom["scrap_rate"].to_numpy())


def edge_validity(bom_edges: pl.DataFrame, bucket_starts: Sequence[dt.date]) -> np.ndarray:
    """Whether each BOM line applies in each bucket (``lines x buckets``, inclusive ends, null = open)."""
    starts = np.array(list(bucket_starts), dtype="datetime64[D]")[None, :]
    valid_from = bom_edges["valid_from"].cast(pl.Date).to_numpy().astype("datetime64[D]")
    valid_to = bom_edges["valid_to"].cast(pl.Date).to_numpy().astype("datetime64[D]")
    valid = np.ones((bom_edges.height, starts.size), dtype=bool)
    dated = ~(np.isnat(valid_from) & np.isnat(valid_to))  # most lines have no dates: valid throughout
    if dated.any():
        low, high = valid_from[dated, None], valid_to[dated, None]
        valid[dated] = (np.isnat(low) | (low <= starts)) & (np.isnat(high) | (starts <= high))
    return valid


def _low_level_codes(n: int, parent: np.ndarray, component: np.ndarray, skus: Sequence[str]) -> np.ndarray:
    """Level-synchronous Kahn: an item's code is the round in which its last parent is settled."""
    codes = np.zeros(n, dtype=np.int32)
    order = np.argsort(parent, kind="stable")
    parent_sorted, component_sorted = parent[order], component[order]
    bounds = np.searchsorted(parent_sorted, np.arange(n + 1))
    waiting = np.bincount(component, minlength=n)
    frontier = np.flatnonzero(waiting == 0)
    settled = frontier.size
    level = 0
    while frontier.size:
        counts = bounds[frontier + 1] - bounds[frontier]
        edges = np.repeat(bounds[frontier], counts) + _ranges(counts)
        children = component_sorted[edges]
        np.subtract.at(waiting, children, 1)
        level += 1
        frontier = np.unique(children[waiting[children] == 0])
        codes[frontier] = level
        settled += frontier.size
    if settled < n:
        raise BomCycleError(_find_cycle(waiting > 0, parent, component, skus))
    return codes


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _find_cycle(unsettled: np.ndarray, parent: np.ndarray, component: np.ndarray, skus: Sequence[str]) -> list[str]:
    """Walk up from an unsettled item through unsettled parents until an item repeats: that loop is a cycle."""
    parents_of: dict[int, int] = {}
    for p, c in zip(parent.tolist(), component.tolist(), strict=True):
        if unsettled[p] and unsettled[c] and (c not in parents_of or p < parents_of[c]):
            parents_of[c] = p
    node = int(np.flatnonzero(unsettled)[0])
    seen: dict[int, int] = {}
    path: list[int] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = parents_of[node]
    loop = path[seen[node] :]  # each is a component of the next: reverse for parent -> component order
    loop.reverse()
    start = loop.index(min(loop))
    loop = loop[start:] + loop[:start]
    return [skus[i] for i in [*loop, loop[0]]]
