"""Lot sizing (PL-4): turn per-period net requirements into planned receipts, then apply order modifiers.

Cost convention (PRODUCT §1, Wagner & Whitin 1958): a setup cost ``K_t`` for every order received in period
``t``; a holding cost ``h_t`` per unit on the inventory left at the *end* of period ``t`` (units consumed in
the period they arrive cost nothing to hold); start inventory zero unless ``initial_inventory`` is given.
``total_cost = setup_cost_total + holding_cost_total``.

How every rule runs. Start inventory is netted first (the earliest requirements are served from it). Then
the periods are walked in order; whenever the stock carried into a period does not cover its requirement,
the rule sizes an order *received in that period*, the order modifiers adjust it (:mod:`mrp.modifiers`),
and whatever the modifiers add beyond the rule's quantity is carried forward, so later orders shrink or
vanish. A rule that covers periods ``t..j`` orders the uncovered part of ``t`` plus the requirements of
``t+1..j``. Periods are 0-based indices into ``demand``.

The rules:

- ``lot_for_lot``: order exactly the uncovered requirement of the period.
- ``fixed_order_quantity`` (``quantity=``): order ``quantity``, or the uncovered requirement if larger.
- ``eoq``: as fixed order quantity with ``Q = sqrt(2 D K / h)``; ``D`` is the mean per-period demand of the
  horizon unless ``demand_rate=`` (per period) or ``annual_demand=`` (with ``periods_per_year=``, default 52)
  is given; ``K`` and ``h`` are the horizon means when given per period. With free holding (``h = 0``) the
  lot covers the rest of the horizon.
- ``periodic_order_quantity``: cover ``P`` periods (calendar periods, counting ones without demand), where
  ``P = periods=`` or ``max(1, round_half_up(EOQ / D))``.
- ``silver_meal``: extend the order period by period while the average setup-plus-holding cost per period
  covered does not increase; stop at the first strict increase (Silver & Meal 1973).
- ``least_unit_cost``: the same with the cost per unit ordered instead of per period.
- ``part_period_balancing``: cover the periods whose accumulated holding cost is closest to the setup cost
  ``K_t`` (the economic part-period ``K/h`` for constant ``h``): extend until the holding cost reaches ``K_t``
  and keep the last period only if that overshoot is strictly closer to ``K_t`` than the shortfall before it
  (DeMatteis 1968).
- ``wagner_whitin``: the exact optimum by the O(n²) dynamic programme of Wagner & Whitin (1958), per-period
  costs included; it may order in a period without requirement when that period's setup is cheaper. With
  modifiers the optimum is recomputed from each period the carried stock no longer covers, so it is exact
  without modifiers and the rule-then-modifiers heuristic with them.

A ``max_lot`` split creates several orders in one period; each order pays its own setup (the usual ERP view:
several purchase or production orders, several setups).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mrp.modifiers import InvalidModifierError, OrderModifiers

METHODS: tuple[str, ...] = (
    "lot_for_lot",
    "fixed_order_quantity",
    "eoq",
    "periodic_order_quantity",
    "silver_meal",
    "least_unit_cost",
    "part_period_balancing",
    "wagner_whitin",
)
_ALIASES = {
    "lfl": "lot_for_lot",
    "l4l": "lot_for_lot",
    "foq": "fixed_order_quantity",
    "poq": "periodic_order_quantity",
    "sm": "silver_meal",
    "luc": "least_unit_cost",
    "ppb": "part_period_balancing",
    "ww": "wagner_whitin",
}
_METHOD_PARAMETERS = {
    "fixed_order_quantity": frozenset({"quantity"}),
    "eoq": frozenset({"demand_rate", "annual_demand", "periods_per_year"}),
    "periodic_order_quantity": frozenset({"periods", "demand_rate", "annual_demand", "periods_per_year"}),
}
_RELATIVE_TOLERANCE = 1e-9

Costs = float | Sequence[float] | np.ndarray
# lot(t, uncovered) -> quantity for an order received in t; optional(t) -> quantity when t starts without stock
_Lot = Callable[[int, float], float]
_Optional = Callable[[int], float]


class LotSizingError(ValueError):
    """Base class of every lot-sizing input error."""


class InvalidDemandError(LotSizingError):
    """Demand that is not a 1-D sequence of finite numbers >= 0."""


class UnknownMethodError(LotSizingError):
    """A lot-sizing method name that is not one of :data:`METHODS`."""


class LengthMismatchError(LotSizingError):
    """A per-period cost whose length differs from the demand's."""


class InvalidParameterError(LotSizingError):
    """A cost or parameter out of range, missing, not used by the method, or contradictory modifiers."""


@dataclass(frozen=True, eq=False)
class LotSizingPlan:
    """The planned receipts of one item and what they cost.

    Attributes:
        method: The lot-sizing method that produced the plan (canonical name).
        quantities: One number per period: the quantity received in that period (all orders summed).
        orders: Every order as ``(period, quantity)``, in time order; a ``max_lot`` split gives several
            entries for one period.
        inventory: Inventory at the end of each period (start inventory included), never negative.
        setup_cost_total: Sum of the setup cost of the period of every order.
        holding_cost_total: Sum over periods of the holding cost times end-of-period inventory.
    """

    method: str
    quantities: np.ndarray
    orders: list[tuple[int, float]]
    inventory: np.ndarray
    setup_cost_total: float
    holding_cost_total: float

    @property
    def total_cost(self) -> float:
        """Setup plus holding cost (PRODUCT §1)."""
        return self.setup_cost_total + self.holding_cost_total


def economic_order_quantity(demand_rate: float, setup_cost: float, holding_cost: float) -> float:
    """The classic EOQ, ``sqrt(2 D K / h)``, with D and h on the same time unit.

    Args:
        demand_rate: Demand per time unit (D).
        setup_cost: Cost per order (K).
        holding_cost: Cost of holding one unit for one time unit (h).

    Returns:
        The EOQ; 0 when there is no demand or no setup cost, ``inf`` when holding is free.

    Example:
        >>> round(economic_order_quantity(5200, 50, 2.5), 4)
        456.0702
    """
    if demand_rate < 0 or setup_cost < 0 or holding_cost < 0:
        raise InvalidParameterError(
            f"EOQ needs demand, setup and holding cost >= 0, got {demand_rate}, {setup_cost}, {holding_cost}"
        )
    if demand_rate == 0 or setup_cost == 0:
        return 0.0
    if holding_cost == 0:
        return math.inf
    return math.sqrt(2.0 * demand_rate * setup_cost / holding_cost)


def lot_size(
    demand: Sequence[float] | np.ndarray,
    method: str,
    *,
    setup_cost: Costs,
    holding_cost: Costs,
    initial_inventory: float = 0.0,
    min_lot: float | None = None,
    moq: float | None = None,
    multiple: float | None = None,
    max_lot: float | None = None,
    quantity: float | None = None,
    periods: int | None = None,
    demand_rate: float | None = None,
    annual_demand: float | None = None,
    periods_per_year: float | None = None,
) -> LotSizingPlan:
    """Size the orders of one item over the horizon with a lot-sizing rule, then the order modifiers.

    Args:
        demand: Net requirement per period (>= 0), e.g. a list, numpy array or polars Series.
        method: One of :data:`METHODS` (case-insensitive; the short forms lfl, l4l, foq, poq, sm, luc, ppb
            and ww are accepted).
        setup_cost: Cost per order, one number or one per period (K_t of the period the order is received).
        holding_cost: Cost per unit of end-of-period inventory, one number or one per period.
        initial_inventory: Stock on hand before the first period.
        min_lot: Smallest order allowed by the item's policy.
        moq: Supplier's minimum order quantity.
        multiple: Every order is a multiple of this.
        max_lot: Largest single order; larger quantities become several orders.
        quantity: The lot of ``fixed_order_quantity`` (required there, refused elsewhere).
        periods: Periods covered by each ``periodic_order_quantity`` order (default from EOQ).
        demand_rate: Per-period demand rate for ``eoq`` / ``periodic_order_quantity`` (default: the mean).
        annual_demand: Yearly demand for ``eoq`` / ``periodic_order_quantity``, divided by
            ``periods_per_year``.
        periods_per_year: Periods in a year for ``annual_demand`` (default 52, weekly buckets).

    Returns:
        The plan: receipts per period, orders, end-of-period inventory and costs.

    Raises:
        InvalidDemandError: The demand is not 1-D, or has a negative or non-finite value.
        UnknownMethodError: ``method`` is not a known lot-sizing method.
        LengthMismatchError: A per-period cost does not have one value per period.
        InvalidParameterError: A cost or parameter is out of range, missing, not used by the method, or
            the modifiers contradict each other.

    Example:
        >>> plan = lot_size([50, 60, 90, 70], "wagner_whitin", setup_cost=100, holding_cost=1)
        >>> plan.quantities.tolist(), plan.total_cost
        ([110.0, 0.0, 160.0, 0.0], 330.0)
    """
    name = _canonical_method(method)
    params = {
        key: value
        for key, value in (
            ("quantity", quantity),
            ("periods", periods),
            ("demand_rate", demand_rate),
            ("annual_demand", annual_demand),
            ("periods_per_year", periods_per_year),
        )
        if value is not None
    }
    unused = params.keys() - _METHOD_PARAMETERS.get(name, frozenset())
    if unused:
        raise InvalidParameterError(f"{', '.join(sorted(unused))} does not apply to method {name!r}")
    gross = _as_demand(demand)
    setup = _as_per_period(setup_cost, gross.size, "setup_cost")
    holding = _as_per_period(holding_cost, gross.size, "holding_cost")
    if not math.isfinite(initial_inventory) or initial_inventory < 0:
        raise InvalidParameterError(f"initial_inventory must be a finite number >= 0, got {initial_inventory!r}")
    modifiers = _modifiers(min_lot, moq, multiple, max_lot)

    cumulative = np.cumsum(gross)
    net = np.diff(np.maximum(cumulative - initial_inventory, 0.0), prepend=0.0)
    tolerance = _RELATIVE_TOLERANCE * max(1.0, float(cumulative[-1]) if gross.size else 0.0)
    horizon = _Horizon(net.tolist(), setup.tolist(), holding.tolist(), tolerance)
    lot, optional = _rule(name, params, horizon, gross, setup, holding)
    received, orders = _simulate(horizon, lot, optional, modifiers)

    quantities = np.asarray(received, dtype=float)
    inventory = initial_inventory + np.cumsum(quantities) - cumulative
    inventory[np.abs(inventory) <= tolerance] = 0.0
    quantities.flags.writeable = False
    inventory.flags.writeable = False
    setup_cost_total = float(sum([horizon.setup[period] for period, _ in orders]))
    return LotSizingPlan(name, quantities, orders, inventory, setup_cost_total, float(holding @ inventory))


def _modifiers(
    min_lot: float | None, moq: float | None, multiple: float | None, max_lot: float | None
) -> OrderModifiers:
    try:
        return OrderModifiers(
            min_lot=0.0 if min_lot is None else float(min_lot),
            moq=0.0 if moq is None else float(moq),
            multiple=None if multiple is None else float(multiple),
            max_lot=None if max_lot is None else float(max_lot),
        )
    except InvalidModifierError as error:
        raise InvalidParameterError(str(error)) from error


def _rule(
    name: str,
    params: dict[str, float],
    horizon: _Horizon,
    gross: np.ndarray,
    setup: np.ndarray,
    holding: np.ndarray,
) -> tuple[_Lot, _Optional | None]:
    """The sizing function of a method and, for Wagner-Whitin only, its optional-order function."""
    if name == "wagner_whitin":
        return _wagner_whitin(horizon, setup, holding)
    if name == "fixed_order_quantity":
        quantity = params.get("quantity")
        if quantity is None or not math.isfinite(quantity) or quantity <= 0:
            raise InvalidParameterError(f"fixed_order_quantity needs quantity= a number > 0, got {quantity!r}")
        return _fixed_quantity(horizon, float(quantity)), None
    if name in ("eoq", "periodic_order_quantity"):
        rate = _demand_rate(
            gross, params.get("demand_rate"), params.get("annual_demand"), params.get("periods_per_year")
        )
        eoq = economic_order_quantity(rate, _mean(setup), _mean(holding))
        if name == "eoq":
            return _fixed_quantity(horizon, eoq), None
        periods = _poq_periods(params.get("periods"), eoq, rate, gross.size)
        return _cover(horizon, lambda t, uncovered: min(t + periods - 1, gross.size - 1)), None
    return _RULES[name](horizon), None


class _Horizon:
    """The inputs the rules read, as Python lists (fast scalar access in the per-period loops)."""

    __slots__ = ("_after", "holding", "net", "setup", "tolerance")

    def __init__(self, net: list[float], setup: list[float], holding: list[float], tolerance: float) -> None:
        self.net, self.setup, self.holding, self.tolerance = net, setup, holding, tolerance
        self._after = [0.0] * (len(net) + 1)  # _after[t]: requirements of periods t..n-1
        for t in range(len(net) - 1, -1, -1):
            self._after[t] = self._after[t + 1] + net[t]

    def through(self, t: int, j: int) -> float:
        """Requirements of periods t+1..j (what an order in t covering t..j adds to t's own)."""
        return self._after[t + 1] - self._after[j + 1]


def _simulate(
    horizon: _Horizon, lot: _Lot, optional: _Optional | None, modifiers: OrderModifiers
) -> tuple[list[float], list[tuple[int, float]]]:
    net, tolerance = horizon.net, horizon.tolerance
    identity = modifiers.is_identity
    received = [0.0] * len(net)
    orders: list[tuple[int, float]] = []
    stock = 0.0
    for t, requirement in enumerate(net):
        if requirement - stock > tolerance:
            wanted = lot(t, requirement - stock)
        elif optional is not None and stock <= tolerance:
            wanted = optional(t)
        else:
            wanted = 0.0
        if wanted > tolerance:
            if identity:
                orders.append((t, wanted))
            else:
                pieces = modifiers.apply(wanted)
                orders.extend((t, piece) for piece in pieces)
                wanted = sum(pieces)
            received[t] = wanted
            stock += wanted
        stock = max(stock - requirement, 0.0)
    return received, orders


def _fixed_quantity(horizon: _Horizon, quantity: float) -> _Lot:
    if math.isinf(quantity):
        return lambda t, uncovered: uncovered + horizon.through(t, len(horizon.net) - 1)
    return lambda t, uncovered: max(quantity, uncovered)


def _cover(horizon: _Horizon, last_period: Callable[[int, float], int]) -> _Lot:
    return lambda t, uncovered: uncovered + horizon.through(t, last_period(t, uncovered))


def _increases(new: float, old: float) -> bool:
    return new - old > _RELATIVE_TOLERANCE * max(1.0, abs(old))


def _lot_for_lot(horizon: _Horizon) -> _Lot:
    return lambda t, uncovered: uncovered


def _silver_meal(horizon: _Horizon) -> _Lot:
    net, holding, n = horizon.net, horizon.holding, len(horizon.net)

    def last_period(t: int, uncovered: float) -> int:
        setup, held, carry = horizon.setup[t], 0.0, 0.0
        best = setup
        for j in range(t + 1, n):
            carry += holding[j - 1]
            held += net[j] * carry
            per_period = (setup + held) / (j - t + 1)
            if _increases(per_period, best):
                return j - 1
            best = per_period
        return n - 1

    return _cover(horizon, last_period)


def _least_unit_cost(horizon: _Horizon) -> _Lot:
    net, holding, n = horizon.net, horizon.holding, len(horizon.net)

    def last_period(t: int, uncovered: float) -> int:
        setup, held, carry, units = horizon.setup[t], 0.0, 0.0, uncovered
        best = setup / units
        for j in range(t + 1, n):
            carry += holding[j - 1]
            held += net[j] * carry
            units += net[j]
            per_unit = (setup + held) / units
            if _increases(per_unit, best):
                return j - 1
            best = per_unit
        return n - 1

    return _cover(horizon, last_period)


def _part_period_balancing(horizon: _Horizon) -> _Lot:
    net, holding, n = horizon.net, horizon.holding, len(horizon.net)

    def last_period(t: int, uncovered: float) -> int:
        setup, held, carry = horizon.setup[t], 0.0, 0.0
        for j in range(t + 1, n):
            carry += holding[j - 1]
            extended = held + net[j] * carry
            if extended >= setup:
                return j if extended - setup < setup - held else j - 1
            held = extended
        return n - 1

    return _cover(horizon, last_period)


_RULES: dict[str, Callable[[_Horizon], _Lot]] = {
    "lot_for_lot": _lot_for_lot,
    "silver_meal": _silver_meal,
    "least_unit_cost": _least_unit_cost,
    "part_period_balancing": _part_period_balancing,
}


def _poq_periods(periods: float | None, eoq: float, rate: float, n: int) -> int:
    if periods is not None:
        if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 1:
            raise InvalidParameterError(f"periods must be a whole number >= 1, got {periods!r}")
        return int(periods)
    if rate == 0:
        return 1
    if math.isinf(eoq):
        return max(n, 1)
    return max(1, math.floor(eoq / rate + 0.5))


def _wagner_whitin(horizon: _Horizon, setup: np.ndarray, holding: np.ndarray) -> tuple[_Lot, _Optional]:
    """Backward Wagner-Whitin DP; the rule follows its choice from every period that starts without stock.

    ``cost[t, j]`` is the setup plus holding cost of one order in ``t`` covering ``t..j`` and ``to_go[t]``
    the least cost of periods ``t..n-1`` starting ``t`` without stock. Holding depends only on the periods
    after ``t``, so the same choice is optimal when carried stock covers part of ``t``. The floating-point
    operations are those of :func:`_wagner_whitin_last`, so single and batch runs break ties alike.
    """
    n = len(horizon.net)
    carry, units, weighted = _prefix_sums(np.asarray(horizon.net)[None, :], holding[None, :])
    carry, units, weighted = carry[0], units[0], weighted[0]
    cost = weighted[None, :] - weighted[:, None]
    cost -= carry[:n, None] * (units[None, :] - units[:, None])
    cost += setup[:, None]
    to_go = np.zeros(n + 1)
    last = [-1] * n  # last period covered by an order in t; -1: no order in t
    tolerance = horizon.tolerance
    for t in range(n - 1, -1, -1):
        options = cost[t, t:] + to_go[t + 1 :]
        j = int(options.argmin())
        if horizon.net[t] <= tolerance and to_go[t + 1] <= options[j]:
            to_go[t] = to_go[t + 1]
        else:
            to_go[t] = options[j]
            last[t] = t + j

    def lot(t: int, uncovered: float) -> float:
        return uncovered + horizon.through(t, last[t])

    def optional(t: int) -> float:
        return 0.0 if last[t] < 0 else horizon.net[t] + horizon.through(t, last[t])

    return lot, optional


def _prefix_sums(net: np.ndarray, holding: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: ``carry[k]`` = holding of one unit from period 0 to k, cumulative units, ``sum net_k carry_k``."""
    carry = np.concatenate((np.zeros((net.shape[0], 1)), np.cumsum(holding, axis=1)), axis=1)
    units = np.cumsum(net, axis=1)
    weighted = np.cumsum(net * carry[:, :-1], axis=1)
    return carry, units, weighted


def _wagner_whitin_last(net: np.ndarray, setup: np.ndarray, holding: np.ndarray) -> np.ndarray:
    """The batch DP: per item and period, the last period an order there covers (-1: no order)."""
    items, n = net.shape
    tolerance = _RELATIVE_TOLERANCE * np.maximum(1.0, net.sum(axis=1))
    carry, units, weighted = _prefix_sums(net, holding)
    to_go = np.zeros((items, n + 1))
    last = np.full((items, n), -1)
    rows = np.arange(items)
    for t in range(n - 1, -1, -1):
        options = weighted[:, t:] - weighted[:, t, None]
        options -= carry[:, t, None] * (units[:, t:] - units[:, t, None])
        options += setup[:, t, None]
        options += to_go[:, t + 1 :]
        j = options.argmin(axis=1)
        best = options[rows, j]
        skip = (net[:, t] <= tolerance) & (to_go[:, t + 1] <= best)
        to_go[:, t] = np.where(skip, to_go[:, t + 1], best)
        last[:, t] = np.where(skip, -1, t + j)
    return last


def wagner_whitin_batch(
    demand: np.ndarray | Sequence[Sequence[float]], setup_cost: Costs, holding_cost: Costs
) -> np.ndarray:
    """Optimal (Wagner-Whitin) receipts for many items at once, vectorised across items.

    The same optimum, with the same tie-breaking, as ``lot_size(row, "wagner_whitin", ...)`` row by row,
    several times faster per item on large batches; no order modifiers and no start inventory (pass net
    requirements, and call :func:`lot_size` for items with modifiers).

    Args:
        demand: Net requirements, one row per item and one column per period, all >= 0.
        setup_cost: One number, one per item (shape ``(items,)``) or one per item and period.
        holding_cost: One number, one per item or one per item and period.

    Returns:
        Receipts with the shape of ``demand``: the quantity each item receives in each period.

    Raises:
        InvalidDemandError: ``demand`` is not 2-D or has a negative or non-finite value.
        LengthMismatchError: A cost's shape does not fit the demand's.
        InvalidParameterError: A cost is negative or not finite.
    """
    net = _as_demand_matrix(demand)
    setup = _as_item_period(setup_cost, net.shape, "setup_cost")
    holding = _as_item_period(holding_cost, net.shape, "holding_cost")
    items = net.shape[0]
    receipts = np.zeros_like(net)
    chunk = 1024  # rows per pass: keeps the working arrays in cache
    for start in range(0, items, chunk):
        rows = slice(start, start + chunk)
        receipts[rows] = _receipts_from_last(net[rows], _wagner_whitin_last(net[rows], setup[rows], holding[rows]))
    return receipts


def _receipts_from_last(net: np.ndarray, last: np.ndarray) -> np.ndarray:
    items, n = net.shape
    before = np.concatenate((np.zeros((items, 1)), np.cumsum(net, axis=1)), axis=1)
    receipts = np.zeros_like(net)
    first_uncovered = np.zeros(items, dtype=int)
    for t in range(n):
        starts_empty = first_uncovered == t
        ordering = np.flatnonzero(starts_empty & (last[:, t] >= 0))
        end = last[ordering, t]
        receipts[ordering, t] = before[ordering, end + 1] - before[ordering, t]
        first_uncovered[starts_empty] = t + 1
        first_uncovered[ordering] = end + 1
    return receipts


def _canonical_method(method: str) -> str:
    if not isinstance(method, str):
        raise UnknownMethodError(f"method must be a string, one of {', '.join(METHODS)}; got {method!r}")
    key = method.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise UnknownMethodError(f"unknown lot-sizing method {method!r}; expected one of {', '.join(METHODS)}")
    return key


def _as_demand(demand: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(demand, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidDemandError(f"demand must be a sequence of numbers: {error}") from error
    if values.ndim != 1:
        raise InvalidDemandError(f"demand must be one value per period (1-D), got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        t = int(bad[0])
        raise InvalidDemandError(
            f"demand of period {t} (0-based) is {values[t]!r}: net requirements must be finite and >= 0"
            + (f" ({bad.size} such periods)" if bad.size > 1 else "")
        )
    return values


def _as_demand_matrix(demand: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    try:
        values = np.asarray(demand, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidDemandError(f"demand must be a table of numbers (items x periods): {error}") from error
    if values.ndim != 2:
        raise InvalidDemandError(f"demand must be one row per item and one column per period, got {values.shape}")
    bad = np.argwhere(~np.isfinite(values) | (values < 0))
    if bad.size:
        item, t = (int(i) for i in bad[0])
        raise InvalidDemandError(
            f"demand of item row {item}, period {t} (0-based) is {values[item, t]!r}: "
            "net requirements must be finite and >= 0"
        )
    return values


def _as_item_period(costs: Costs, shape: tuple[int, int], name: str) -> np.ndarray:
    try:
        values = np.asarray(costs, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be numbers: {error}") from error
    if values.ndim == 1 and values.size == shape[0]:
        values = values[:, None]
    if (
        values.ndim > 2
        or (values.ndim == 1 and values.size != shape[0])
        or (values.ndim == 2 and values.shape != shape and values.shape != (shape[0], 1))
    ):
        raise LengthMismatchError(
            f"{name} has shape {values.shape}; demand is {shape}: give one number, one per item "
            "or one per item and period"
        )
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise InvalidParameterError(f"{name} must be finite and >= 0")
    return np.broadcast_to(values, shape)


def _as_per_period(costs: Costs, n: int, name: str) -> np.ndarray:
    try:
        values = np.asarray(costs, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be a number or one number per period: {error}") from error
    if values.ndim == 0:
        values = np.full(n, float(values))
    elif values.ndim != 1 or values.size != n:
        raise LengthMismatchError(
            f"{name} has {values.size} values (shape {values.shape}) but demand has {n} periods; "
            "give one number or one per period"
        )
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        t = int(bad[0])
        raise InvalidParameterError(f"{name} of period {t} (0-based) is {values[t]!r}: costs must be >= 0")
    return values


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def _demand_rate(
    gross: np.ndarray, demand_rate: float | None, annual_demand: float | None, periods_per_year: float | None
) -> float:
    if demand_rate is not None and annual_demand is not None:
        raise InvalidParameterError("give demand_rate (per period) or annual_demand, not both")
    if periods_per_year is not None and annual_demand is None:
        raise InvalidParameterError("periods_per_year only applies together with annual_demand")
    if annual_demand is not None:
        per_year = 52.0 if periods_per_year is None else float(periods_per_year)
        if not math.isfinite(per_year) or per_year <= 0:
            raise InvalidParameterError(f"periods_per_year must be > 0, got {periods_per_year!r}")
        demand_rate = annual_demand / per_year
    if demand_rate is None:
        return _mean(gross)
    if not math.isfinite(demand_rate) or demand_rate < 0:
        raise InvalidParameterError(f"the demand rate must be a finite number >= 0, got {demand_rate!r}")
    return float(demand_rate)
