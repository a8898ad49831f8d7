"""Lot-sizing rules for many items at once: the same plans as ``mrp.lotsizing.lot_size``, compiled item by item.

:func:`lot_size_batch` is ``lot_size`` row by row, to the bit, for every rule (lot-for-lot, fixed order quantity,
EOQ, POQ, Silver-Meal, least unit cost, part-period balancing, Wagner-Whitin) with every order modifier: a numba
kernel walks each item's periods repeating ``lot_size``'s floating-point operations in the same order (net
recomputed from its cumulative sum, the same tolerance, the same running sums), so the engine can size a whole
BOM level at once and still plan exactly what the per-item reference plans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from mrp.lotsizing import LotSizingError, _canonical_method, lot_size

_RELATIVE_TOLERANCE = 1e-9  # the value of mrp.lotsizing and mrp.modifiers


_QUANTITY, _COVER_POQ, _SILVER_MEAL, _LEAST_UNIT_COST, _PART_PERIOD, _WAGNER_WHITIN = 0, 1, 2, 3, 4, 5
_RULE_KINDS = {
    "silver_meal": _SILVER_MEAL,
    "least_unit_cost": _LEAST_UNIT_COST,
    "part_period_balancing": _PART_PERIOD,
    "wagner_whitin": _WAGNER_WHITIN,
}


class ItemLotSizingError(LotSizingError):
    """:func:`lot_size` refused one item of a batch.

    Attributes:
        row: The item's row in the batch.
        error: The error ``lot_size`` raised for it.
    """

    def __init__(self, row: int, error: LotSizingError) -> None:
        self.row = row
        self.error = error
        super().__init__(f"item row {row}: {error}")


@dataclass(frozen=True, eq=False)
class BatchLots:
    """The planned receipts and orders of many items.

    Attributes:
        quantities: Receipts, ``items x periods`` (all orders of a period summed), as ``lot_size``'s
            ``quantities`` row by row.
        order_item: Per order, the item's row.
        order_period: Per order, the period it is received in.
        order_quantity: Per order, its quantity; sorted by item, period and then as ``lot_size`` lists them.
    """

    quantities: np.ndarray
    order_item: np.ndarray
    order_period: np.ndarray
    order_quantity: np.ndarray


def lot_size_batch(
    demand: np.ndarray,
    methods: Sequence[str] | np.ndarray,
    *,
    setup_cost: float | np.ndarray,
    holding_cost: float | np.ndarray,
    quantity: np.ndarray | None = None,
    min_lot: np.ndarray | None = None,
    moq: np.ndarray | None = None,
    multiple: np.ndarray | None = None,
    max_lot: np.ndarray | None = None,
) -> BatchLots:
    """``lot_size`` for many items at once: the same receipts and orders, row by row, to the bit.

    Every rule runs in the compiled kernel, each followed by the order modifiers (``max_lot`` splits included).
    Items with invalid parameters call :func:`mrp.lotsizing.lot_size` one by one, so each gets exactly the error
    ``lot_size`` gives it.

    Args:
        demand: Net requirements, ``items x periods``.
        methods: Per item, a :data:`mrp.lotsizing.METHODS` name (or short form).
        setup_cost: Cost per order, one number or one per item.
        holding_cost: Cost per unit of end-of-period inventory, one number or one per item.
        quantity: Per item, the lot of ``fixed_order_quantity`` (read for those items only); NaN = none.
        min_lot: Per item, the minimum lot; NaN = none. ``moq``, ``multiple`` and ``max_lot`` likewise.

    Returns:
        Receipts per item and period and the orders.

    Raises:
        ItemLotSizingError: ``lot_size`` refuses an item (bad demand, cost, quantity or modifiers); the
            first such row.
    """
    net = np.asarray(demand, dtype=float)
    items, periods = net.shape
    setup = np.broadcast_to(np.asarray(setup_cost, dtype=float), (items,))
    holding = np.broadcast_to(np.asarray(holding_cost, dtype=float), (items,))
    canonical = {name: _canonical_method(name) for name in {str(method) for method in methods}}
    names = np.asarray([canonical[str(method)] for method in methods], dtype=object)
    unset = np.full(items, np.nan)
    fixed = unset if quantity is None else np.asarray(quantity, dtype=float)
    lowest, minimum = (unset if v is None else np.asarray(v, dtype=float) for v in (min_lot, moq))
    step, ceiling = (unset if v is None else np.asarray(v, dtype=float) for v in (multiple, max_lot))

    floor = np.maximum(np.nan_to_num(lowest), np.nan_to_num(minimum))
    largest = _largest_order(step, ceiling)
    kind, lot, cover = _rule_parameters(net, names, setup, holding, fixed)
    usable = (
        np.all(np.isfinite(net) & (net >= 0), axis=1)
        & np.isfinite(setup)
        & (setup >= 0)
        & np.isfinite(holding)
        & (holding >= 0)
        & _valid_modifiers(lowest, minimum, step, ceiling, largest)
        & ((names != "fixed_order_quantity") | (np.isfinite(fixed) & (fixed > 0)))
    )
    vectorised = usable
    if vectorised.all():  # the usual case: the kernel's orders come by item, period, then as made
        return _simulate(net, kind, lot, cover, setup, holding, floor, step, largest)
    receipts = np.zeros_like(net)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for row in np.flatnonzero(~vectorised):
        params: dict[str, Any] = {
            key: float(values[row])
            for key, values in (("min_lot", lowest), ("moq", minimum), ("multiple", step), ("max_lot", ceiling))
            if not np.isnan(values[row])
        }
        if names[row] == "fixed_order_quantity":
            params["quantity"] = float(fixed[row])
        try:
            plan = lot_size(
                net[row], names[row], setup_cost=float(setup[row]), holding_cost=float(holding[row]), **params
            )
        except LotSizingError as error:
            raise ItemLotSizingError(int(row), error) from error
        receipts[row] = plan.quantities
        if plan.orders:
            parts.append(
                (
                    np.full(len(plan.orders), row),
                    np.array([period for period, _ in plan.orders]),
                    np.array([amount for _, amount in plan.orders], dtype=float),
                )
            )
    if vectorised.any():
        members = np.flatnonzero(vectorised)
        batch = _simulate(
            net[members],
            kind[members],
            lot[members],
            cover[members],
            setup[members],
            holding[members],
            floor[members],
            step[members],
            largest[members],
        )
        receipts[members] = batch.quantities
        parts.append((members[batch.order_item], batch.order_period, batch.order_quantity))
    order_item = np.concatenate([p[0] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
    order_period = np.concatenate([p[1] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
    order_quantity = np.concatenate([p[2] for p in parts]).astype(float) if parts else np.zeros(0)
    order = np.argsort(order_item * max(periods, 1) + order_period, kind="stable")  # by item, period, then as made
    return BatchLots(receipts, order_item[order], order_period[order], order_quantity[order])


def _largest_order(multiple: np.ndarray, max_lot: np.ndarray) -> np.ndarray:
    """``OrderModifiers.largest_order`` per item (inf without ``max_lot``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rounded = np.floor(max_lot / multiple + _RELATIVE_TOLERANCE) * multiple
    return np.where(np.isnan(max_lot), np.inf, np.where(np.isnan(multiple), max_lot, rounded))


def _round_up(quantity: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(multiple), quantity, np.ceil(quantity / multiple - _RELATIVE_TOLERANCE) * multiple)


def _valid_modifiers(
    min_lot: np.ndarray, moq: np.ndarray, multiple: np.ndarray, max_lot: np.ndarray, largest: np.ndarray
) -> np.ndarray:
    """The checks of ``OrderModifiers.__post_init__`` per item (NaN = unset)."""
    with np.errstate(invalid="ignore"):
        valid = np.ones(min_lot.shape, dtype=bool)
        for values in (min_lot, moq):
            valid &= np.isnan(values) | (np.isfinite(values) & (values >= 0))
        for values in (multiple, max_lot):
            valid &= np.isnan(values) | (np.isfinite(values) & (values > 0))
        smallest = _round_up(np.maximum(np.nan_to_num(min_lot), np.nan_to_num(moq)), multiple)
        fits = (largest > 0) & ~(smallest > largest * (1 + _RELATIVE_TOLERANCE))
    return valid & (np.isnan(max_lot) | fits)


def _rule_parameters(
    net: np.ndarray, names: np.ndarray, setup: np.ndarray, holding: np.ndarray, fixed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the rule's kind, its lot (quantity rules) and POQ's periods, as ``lot_size`` computes them.

    The means are numpy means of rows, which are those of ``lot_size``'s 1-D arrays to the bit.
    """
    items, periods = net.shape
    kind = np.full(items, _QUANTITY)
    lot = np.zeros(items)
    cover = np.ones(items, dtype=np.int64)
    lot[names == "fixed_order_quantity"] = fixed[names == "fixed_order_quantity"]
    economic = (names == "eoq") | (names == "periodic_order_quantity")
    if economic.any():
        rate = net[economic].mean(axis=1)
        setup_mean = np.full((rate.size, periods), setup[economic, None]).mean(axis=1)
        holding_mean = np.full((rate.size, periods), holding[economic, None]).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            eoq = np.where(
                (rate == 0) | (setup_mean == 0),
                0.0,
                np.where(holding_mean == 0, np.inf, np.sqrt(2.0 * rate * setup_mean / holding_mean)),
            )
            poq = np.where(
                rate == 0, 1, np.where(np.isinf(eoq), max(periods, 1), np.maximum(1, np.floor(eoq / rate + 0.5)))
            )
        is_eoq = names[economic] == "eoq"
        members = np.flatnonzero(economic)
        lot[members[is_eoq]] = eoq[is_eoq]
        # an infinite EOQ (free holding) covers the rest of the horizon: a POQ as long as the horizon
        endless = is_eoq & np.isinf(eoq)
        lot[members[endless]] = 0.0
        poq = np.where(endless, max(periods, 1), poq)
        kind[members[~is_eoq | endless]] = _COVER_POQ
        cover[members] = poq.astype(np.int64)
    for name, code in _RULE_KINDS.items():
        kind[names == name] = code
    return kind, lot, cover


def _simulate(
    demand: np.ndarray,
    kind: np.ndarray,
    lot: np.ndarray,
    cover: np.ndarray,
    setup: np.ndarray,
    holding: np.ndarray,
    floor: np.ndarray,
    multiple: np.ndarray,
    largest: np.ndarray,
) -> BatchLots:
    """``mrp.lotsizing._simulate`` item by item in compiled code (:func:`_size_items`)."""
    items, periods = demand.shape
    demand = np.ascontiguousarray(demand, dtype=float)
    receipts = np.zeros((items, periods))
    capacity = int(np.count_nonzero(demand)) + items  # orders: about one per period with a requirement at most
    while True:
        order_item = np.empty(capacity, dtype=np.int64)
        order_period = np.empty(capacity, dtype=np.int64)
        order_quantity = np.empty(capacity)
        made = _size_items(
            demand,
            kind.astype(np.int64),
            lot.astype(float),
            cover.astype(np.int64),
            setup.astype(float),
            holding.astype(float),
            floor.astype(float),
            multiple.astype(float),
            largest.astype(float),
            receipts,
            order_item,
            order_period,
            order_quantity,
        )
        if made >= 0:
            return BatchLots(receipts, order_item[:made], order_period[:made], order_quantity[:made])
        capacity *= 2  # many max_lot splits: room for more orders, and again
        receipts[:] = 0.0


@numba.njit(cache=True, nogil=True)
def _increases(new: float, old: float) -> bool:
    return new - old > _RELATIVE_TOLERANCE * max(1.0, abs(old))


@numba.njit(cache=True, nogil=True)
def _round_up_one(quantity: float, multiple: float) -> float:
    if np.isnan(multiple):
        return quantity
    return math.ceil(quantity / multiple - _RELATIVE_TOLERANCE) * multiple


@numba.njit(cache=True, nogil=True)
def _last_period(kind: int, net: np.ndarray, t: int, uncovered: float, setup: float, holding: float) -> int:
    """The last period an order received in ``t`` covers: ``mrp.lotsizing``'s ``last_period`` loops."""
    n = net.size
    held, carry = 0.0, 0.0
    if kind == _SILVER_MEAL:
        best = setup
        for j in range(t + 1, n):
            carry += holding
            held += net[j] * carry
            per_period = (setup + held) / (j - t + 1)
            if _increases(per_period, best):
                return j - 1
            best = per_period
        return n - 1
    if kind == _LEAST_UNIT_COST:
        units = uncovered
        best = setup / units
        for j in range(t + 1, n):
            carry += holding
            held += net[j] * carry
            units += net[j]
            per_unit = (setup + held) / units
            if _increases(per_unit, best):
                return j - 1
            best = per_unit
        return n - 1
    for j in range(t + 1, n):  # part-period balancing
        carry += holding
        extended = held + net[j] * carry
        if extended >= setup:
            return j if extended - setup < setup - held else j - 1
        held = extended
    return n - 1


@numba.njit(cache=True, nogil=True)
def _wagner_whitin_plan(net: np.ndarray, setup: float, holding: float, tolerance: float, last: np.ndarray) -> None:
    """``mrp.lotsizing._wagner_whitin``'s backward programme: ``last[t]``, the last period an order in ``t``
    covers (-1 for no order), with its floating-point operations and its tie-breaking (the first minimum)."""
    n = net.size
    carry = np.zeros(n + 1)
    units = np.empty(n)
    weighted = np.empty(n)
    total_units, total_weighted = 0.0, 0.0
    for k in range(n):
        carry[k + 1] = carry[k] + holding
        total_units += net[k]
        total_weighted += net[k] * carry[k]
        units[k], weighted[k] = total_units, total_weighted
    to_go = np.zeros(n + 1)
    for t in range(n - 1, -1, -1):
        best, best_j = np.inf, t
        for j in range(t, n):
            option = weighted[j] - weighted[t]
            option -= carry[t] * (units[j] - units[t])
            option += setup
            option += to_go[j + 1]
            if option < best:
                best, best_j = option, j
        if net[t] <= tolerance and to_go[t + 1] <= best:
            to_go[t] = to_go[t + 1]
            last[t] = -1
        else:
            to_go[t] = best
            last[t] = best_j


@numba.njit(cache=True, nogil=True)
def _size_items(
    demand: np.ndarray,
    kind: np.ndarray,
    lot: np.ndarray,
    cover: np.ndarray,
    setup: np.ndarray,
    holding: np.ndarray,
    floor: np.ndarray,
    multiple: np.ndarray,
    largest: np.ndarray,
    receipts: np.ndarray,
    order_item: np.ndarray,
    order_period: np.ndarray,
    order_quantity: np.ndarray,
) -> int:
    """``lot_size`` for each row, its floating-point operations in its order: receipts and orders written in place.

    Returns the number of orders, or -1 when they do not fit in the order arrays.

    Per item: the net requirements recomputed from their running sum as ``lot_size`` does, the requirements
    after each period summed from the end, then one pass over the periods ordering whenever carried stock does
    not cover the requirement (Wagner-Whitin also where its programme orders ahead in an empty period), each
    order adjusted by the modifiers as ``OrderModifiers.apply`` does (pieces added left to right).
    """
    items, n = demand.shape
    net = np.empty(n)
    after = np.zeros(n + 1)
    last_ww = np.empty(n, dtype=np.int64)
    made, capacity = 0, order_item.size
    for i in range(items):
        cumulative, before = 0.0, 0.0
        for t in range(n):
            cumulative += demand[i, t]
            level = max(cumulative - 0.0, 0.0)
            net[t] = level - before
            before = level
        tolerance = _RELATIVE_TOLERANCE * max(1.0, cumulative)
        for t in range(n - 1, -1, -1):
            after[t] = after[t + 1] + net[t]
        rule = kind[i]
        if rule == _WAGNER_WHITIN:
            _wagner_whitin_plan(net, setup[i], holding[i], tolerance, last_ww)
        identity = not (floor[i] > 0 or not np.isnan(multiple[i]) or np.isfinite(largest[i]))
        stock = 0.0
        for t in range(n):
            requirement = net[t]
            wanted = 0.0
            if requirement - stock > tolerance:
                uncovered = requirement - stock
                if rule == _QUANTITY:
                    wanted = max(lot[i], uncovered)
                else:
                    if rule == _COVER_POQ:
                        end = min(t + cover[i] - 1, n - 1)
                    elif rule == _WAGNER_WHITIN:
                        end = last_ww[t]
                    else:
                        end = _last_period(rule, net, t, uncovered, setup[i], holding[i])
                    wanted = uncovered + (after[t + 1] - after[end + 1])
            elif rule == _WAGNER_WHITIN and stock <= tolerance and last_ww[t] >= 0:
                wanted = net[t] + (after[t + 1] - after[last_ww[t] + 1])
            if wanted > tolerance:
                pieces, size, last_piece = 1, wanted, 0.0
                if not identity:
                    total = _round_up_one(max(wanted, floor[i]), multiple[i])
                    size = largest[i]
                    if total <= size * (1 + _RELATIVE_TOLERANCE):
                        wanted, size = total, total
                    else:  # max_lot: the largest order repeated, then what remains
                        pieces = math.floor(total / size + _RELATIVE_TOLERANCE)
                        remainder = total - pieces * size
                        summed = 0.0
                        for _ in range(pieces):
                            summed += size
                        if remainder > size * _RELATIVE_TOLERANCE:
                            last_piece = _round_up_one(max(remainder, floor[i]), multiple[i])
                            summed += last_piece
                        wanted = summed
                if made + pieces + 1 > capacity:
                    return -1
                for _ in range(pieces):
                    order_item[made], order_period[made], order_quantity[made] = i, t, size
                    made += 1
                if last_piece > 0:
                    order_item[made], order_period[made], order_quantity[made] = i, t, last_piece
                    made += 1
                receipts[i, t] = wanted
                stock += wanted
            stock = max(stock - requirement, 0.0)
    return made
