"""Lot-sizing rules for many items at once: the same plans as ``mrp.lotsizing.lot_size``, numpy over the items.

:func:`lot_size_batch` is ``lot_size`` row by row, to the bit, for lot-for-lot, fixed order quantity, EOQ,
POQ, Silver-Meal, least unit cost and part-period balancing with every order modifier: one pass over the
periods, each step a numpy operation over all items, repeating ``lot_size``'s floating-point operations in
the same order (net recomputed from its cumulative sum, the same tolerance, the same running sums), so the
engine can size a whole BOM level at once and still plan exactly what the per-item reference plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mrp.lotsizing import LotSizingError, _canonical_method, lot_size

_RELATIVE_TOLERANCE = 1e-9  # the value of mrp.lotsizing and mrp.modifiers


_QUANTITY, _COVER_POQ, _SILVER_MEAL, _LEAST_UNIT_COST, _PART_PERIOD = 0, 1, 2, 3, 4
_LOOKAHEAD_RULES = {
    "silver_meal": _SILVER_MEAL,
    "least_unit_cost": _LEAST_UNIT_COST,
    "part_period_balancing": _PART_PERIOD,
}
_MAX_SPLIT = 256  # more max_lot pieces than this in one period: the item is left to lot_size


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

    Every rule but Wagner-Whitin runs vectorised over the items with one loop over the periods: lot-for-lot,
    fixed order quantity, EOQ, POQ, Silver-Meal, least unit cost and part-period balancing, each followed by
    the order modifiers (``max_lot`` splits included). Wagner-Whitin items and items with invalid parameters
    (or more than a few hundred ``max_lot`` pieces in one order) call :func:`mrp.lotsizing.lot_size` one by
    one, so every item gets exactly what ``lot_size`` gives it, or its error. For many Wagner-Whitin items
    without modifiers, :func:`mrp.lotsizing.wagner_whitin_batch` is the fast path.

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
    names = np.asarray([_canonical_method(str(method)) for method in methods], dtype=object)
    unset = np.full(items, np.nan)
    fixed = unset if quantity is None else np.asarray(quantity, dtype=float)
    lowest, minimum = (unset if v is None else np.asarray(v, dtype=float) for v in (min_lot, moq))
    step, ceiling = (unset if v is None else np.asarray(v, dtype=float) for v in (multiple, max_lot))

    floor = np.maximum(np.nan_to_num(lowest), np.nan_to_num(minimum))
    largest = _largest_order(step, ceiling)
    kind, lot, cover = _rule_parameters(net, names, setup, holding, fixed)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = net.sum(axis=1) if periods else np.zeros(items)
        most_pieces = (np.fmax(np.fmax(lot, floor), total) + np.nan_to_num(step)) / largest
    usable = (
        np.all(np.isfinite(net) & (net >= 0), axis=1)
        & np.isfinite(setup)
        & (setup >= 0)
        & np.isfinite(holding)
        & (holding >= 0)
        & _valid_modifiers(lowest, minimum, step, ceiling, largest)
        & (most_pieces < _MAX_SPLIT)
        & ((names != "fixed_order_quantity") | (np.isfinite(fixed) & (fixed > 0)))
    )
    vectorised = usable & (names != "wagner_whitin")
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
    for name, code in _LOOKAHEAD_RULES.items():
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
    """``mrp.lotsizing._simulate`` for every item at once: one pass over the periods, numpy over the items.

    An order in ``t`` covers ``t..last[t]``; ``last`` is known before the pass (POQ; Silver-Meal, least unit
    cost and part-period balancing from :func:`_lookahead_last`, which does not depend on the stock carried
    in, except least unit cost's first unit count, recomputed when that stock is not zero).
    """
    items, periods = demand.shape
    cumulative = np.cumsum(demand, axis=1)
    net = np.diff(np.maximum(cumulative, 0.0), axis=1, prepend=0.0)
    tolerance = _RELATIVE_TOLERANCE * np.maximum(1.0, cumulative[:, -1])
    after = np.zeros((items, periods + 1))  # after[:, t]: requirements of t..n-1, summed from the end
    after[:, :periods] = np.cumsum(net[:, ::-1], axis=1)[:, ::-1]
    last = np.full((items, periods), periods - 1, dtype=np.int64)
    poq = kind == _COVER_POQ
    last[poq] = np.minimum(np.arange(periods)[None, :] + cover[poq, None] - 1, periods - 1)
    lookahead = np.flatnonzero(kind >= _SILVER_MEAL)
    table = _Lookahead(net[lookahead], kind[lookahead], setup[lookahead], holding[lookahead])
    rows, origins = np.nonzero(net[lookahead] > tolerance[lookahead, None])
    last[lookahead[rows], origins] = table.last(rows, origins, net[lookahead[rows], origins])
    position = np.full(items, -1)
    position[lookahead] = np.arange(lookahead.size)
    covers = kind != _QUANTITY
    luc = kind == _LEAST_UNIT_COST
    modified = (floor > 0) | ~np.isnan(multiple) | np.isfinite(largest)
    receipts = np.zeros_like(net)
    stock = np.zeros(items)
    events: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(periods):
        requirement = net[:, t]
        uncovered = requirement - stock
        ordering = np.flatnonzero(uncovered > tolerance)
        if ordering.size:
            wanted = np.maximum(lot[ordering], uncovered[ordering])
            covering = covers[ordering]
            if covering.any():
                rows = ordering[covering]
                ends = last[rows, t]
                recount = luc[rows] & (uncovered[rows] != requirement[rows])
                if recount.any():
                    again = rows[recount]
                    ends[recount] = table.last_least_unit_cost(position[again], t, uncovered[again])
                wanted[covering] = uncovered[rows] + (after[rows, t + 1] - after[rows, ends + 1])
            placed = wanted > tolerance[ordering]
            ordering, wanted = ordering[placed], wanted[placed]
            pieces = np.ones(ordering.size, dtype=np.int64)
            remainder = np.zeros(ordering.size)
            changed = modified[ordering]
            if changed.any():
                rows = ordering[changed]
                pieces[changed], remainder[changed], wanted[changed] = _apply_modifiers(
                    wanted[changed], floor[rows], multiple[rows], largest[rows]
                )
                split = pieces > 1
                events.append((ordering[split], t, pieces[split], remainder[split], largest[ordering[split]]))
            receipts[ordering, t] = wanted
            stock[ordering] += wanted
        stock = np.maximum(stock - requirement, 0.0)
    return BatchLots(receipts, *_orders(receipts, events))


def _apply_modifiers(
    wanted: np.ndarray, floor: np.ndarray, multiple: np.ndarray, largest: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``OrderModifiers.apply`` per order: the number of pieces, the last piece when it is a remainder (0 when
    every piece is ``largest``) and the sum of the pieces, added left to right as Python's ``sum`` does.
    """
    total = _round_up(np.maximum(wanted, floor), multiple)
    split = total > largest * (1 + _RELATIVE_TOLERANCE)
    pieces = np.ones(wanted.size, dtype=np.int64)
    remainder = np.zeros(wanted.size)
    received = total.copy()
    if split.any():
        size, whole = largest[split], total[split]
        full = np.floor(whole / size + _RELATIVE_TOLERANCE)
        rest = whole - full * size
        tail = rest > size * _RELATIVE_TOLERANCE
        rest = np.where(tail, _round_up(np.maximum(rest, floor[split]), multiple[split]), 0.0)
        summed = np.zeros(size.size)
        for piece in range(int(full.max())):
            summed = np.where(piece < full, summed + size, summed)
        received[split] = np.where(tail, summed + rest, summed)
        pieces[split] = full.astype(np.int64) + tail
        remainder[split] = rest
    return pieces, remainder, received


def _orders(
    receipts: np.ndarray, events: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every order: one per receipt, except a ``max_lot`` split, which is ``largest`` repeated and a remainder."""
    rows, periods = np.nonzero(receipts)
    quantities = receipts[rows, periods]
    count = np.ones(rows.size, dtype=np.int64)
    size = np.zeros(rows.size)
    rest = np.zeros(rows.size)
    if events:
        split_rows = np.concatenate([e[0] for e in events])
        split_periods = np.concatenate([np.full(e[0].size, e[1]) for e in events])
        at = np.searchsorted(rows * receipts.shape[1] + periods, split_rows * receipts.shape[1] + split_periods)
        count[at] = np.concatenate([e[2] for e in events])
        rest[at] = np.concatenate([e[3] for e in events])
        size[at] = np.concatenate([e[4] for e in events])
    first = np.repeat(np.cumsum(count) - count, count)
    piece = np.arange(int(count.sum())) - first
    order = np.repeat(np.arange(rows.size), count)
    split = count[order] > 1
    is_rest = split & (piece == count[order] - 1) & (rest[order] > 0)
    quantity = np.where(split, np.where(is_rest, rest[order], size[order]), quantities[order])
    return rows[order], periods[order], quantity


class _Lookahead:
    """The last period an order covers under Silver-Meal, least unit cost or part-period balancing.

    Replays ``mrp.lotsizing``'s ``last_period`` loops for many (item, origin) pairs at once. Periods without
    requirement never end a cover and leave the running sums as they are, so only the periods with a
    requirement are visited; the holding of one unit carried ``k`` periods is the running sum of ``k`` copies
    of the item's holding cost, as the loop adds it.
    """

    def __init__(self, net: np.ndarray, kind: np.ndarray, setup: np.ndarray, holding: np.ndarray) -> None:
        items, periods = net.shape
        self.net, self.kind, self.setup, self.periods = net, kind, setup, periods
        self.carry = np.cumsum(np.broadcast_to(holding[:, None], (items, max(periods, 1))), axis=1)
        position = np.where(net != 0, np.arange(periods)[None, :], periods)
        self.next = np.full((items, periods + 1), periods)  # next[:, j]: first period >= j with a requirement
        self.next[:, :periods] = np.minimum.accumulate(position[:, ::-1], axis=1)[:, ::-1]

    def last(self, rows: np.ndarray, origins: np.ndarray, units: np.ndarray) -> np.ndarray:
        """Per pair, the last period an order received in ``origins`` covers.

        Args:
            rows: Item rows.
            origins: The periods the orders are received in.
            units: The orders' uncovered requirement in their own period (least unit cost's first units).
        """
        periods = self.periods
        last = np.full(rows.size, periods - 1, dtype=np.int64)
        # part-period balancing without setup cost stops at once: any holding reaches it
        free = (self.kind[rows] == _PART_PERIOD) & (self.setup[rows] == 0)
        last[free] = origins[free]
        alive = np.flatnonzero(~free & (origins + 1 < periods))
        held = np.zeros(rows.size)
        units = units.astype(float, copy=True)
        visit = np.full(rows.size, periods)
        visit[alive] = self.next[rows[alive], origins[alive] + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            while alive.size:
                alive = alive[visit[alive] < periods]
                if not alive.size:
                    break
                item, j = rows[alive], visit[alive]
                span = j - origins[alive]
                setup, kind = self.setup[item], self.kind[item]
                before, count = held[alive], units[alive]
                now = before + self.net[item, j] * self.carry[item, span - 1]
                counted = count + self.net[item, j]
                per_period = np.where(kind == _SILVER_MEAL, span + 1, counted)
                best = np.where(kind == _SILVER_MEAL, (setup + before) / span, (setup + before) / count)
                increases = (setup + now) / per_period - best > _RELATIVE_TOLERANCE * np.maximum(1.0, np.abs(best))
                balanced = now >= setup
                stop = np.where(kind == _PART_PERIOD, balanced, increases)
                keep_j = (kind == _PART_PERIOD) & (now - setup < setup - before)
                last[alive[stop]] = np.where(keep_j[stop], j[stop], j[stop] - 1)
                held[alive], units[alive] = now, counted
                alive = alive[~stop]
                visit[alive] = self.next[rows[alive], visit[alive] + 1]
        return last

    def last_least_unit_cost(self, rows: np.ndarray, origin: int, units: np.ndarray) -> np.ndarray:
        """:meth:`last` for least-unit-cost orders all received in ``origin``, on dense ``rows x periods`` sums.

        The running sums are ``np.cumsum`` along the periods, which adds left to right as the loop does; a period
        without requirement adds exact zeros, so its unit cost equals the one before and never ends the cover.
        One pass instead of one per period visited: the engine asks this again each time carried stock changes
        an order's first unit count.
        """
        periods = self.periods
        if origin + 1 >= periods:
            return np.full(rows.size, periods - 1, dtype=np.int64)
        setup = self.setup[rows, None]
        net = self.net[rows, origin + 1 :]
        held = np.cumsum(net * self.carry[rows, : periods - origin - 1], axis=1)
        counted = np.cumsum(np.concatenate((units[:, None].astype(float), net), axis=1), axis=1)
        before = np.concatenate((np.zeros((rows.size, 1)), held[:, :-1]), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            best = (setup + before) / counted[:, :-1]
            increases = (setup + held) / counted[:, 1:] - best > _RELATIVE_TOLERANCE * np.maximum(1.0, np.abs(best))
        stops = increases.any(axis=1)
        return np.where(stops, origin + np.argmax(increases, axis=1), periods - 1).astype(np.int64)
