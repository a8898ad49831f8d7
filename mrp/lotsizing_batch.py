"""Quantity lot-sizing rules for many items at once: lot-for-lot, fixed order quantity and EOQ with modifiers.

:func:`quantity_rule_batch` walks the periods once with numpy over all items and gives, bit for bit, the
receipts of ``mrp.lotsizing.lot_size(row, method, ..., min_lot=, moq=, multiple=)`` row by row for
``lot_for_lot``, ``fixed_order_quantity`` and a finite ``eoq`` (the caller computes each item's lot). It
repeats the floating-point operations of ``lot_size`` (net recomputed from its cumulative sum, the same
tolerance, ``max(q, min_lot, moq)`` then rounding up to the multiple), so the engine can batch these items
and still plan exactly what ``lot_size`` would. A ``max_lot`` split (several orders in one period) is not
batched: call ``lot_size`` for those items.
"""

from __future__ import annotations

import numpy as np

_RELATIVE_TOLERANCE = 1e-9  # the value of mrp.lotsizing and mrp.modifiers


def quantity_rule_batch(net: np.ndarray, lot: np.ndarray, floor: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    """Receipts of a quantity rule followed by the minimum and multiple modifiers, per item and period.

    Args:
        net: Net requirements, ``items x periods``, >= 0.
        lot: Per item, the rule's quantity: 0 for lot-for-lot, the fixed quantity or the EOQ (finite).
            An order is ``max(lot, uncovered requirement)``.
        floor: Per item, ``max(min_lot, moq)`` (0 = none).
        multiple: Per item, the order multiple (NaN = none).

    Returns:
        Receipts with the shape of ``net``; each non-zero value is one order.
    """
    cumulative = np.cumsum(net, axis=1)
    net = np.diff(np.maximum(cumulative, 0.0), axis=1, prepend=0.0)
    tolerance = _RELATIVE_TOLERANCE * np.maximum(1.0, cumulative[:, -1])
    has_multiple = ~np.isnan(multiple)
    step = np.where(has_multiple, multiple, 1.0)
    receipts = np.zeros_like(net)
    stock = np.zeros(net.shape[0])
    for t in range(net.shape[1]):
        requirement = net[:, t]
        uncovered = requirement - stock
        wanted = np.where(uncovered > tolerance, np.maximum(lot, uncovered), 0.0)
        ordering = wanted > tolerance
        quantity = np.maximum(wanted, floor)
        quantity = np.where(has_multiple, np.ceil(quantity / step - _RELATIVE_TOLERANCE) * step, quantity)
        receipts[:, t] = np.where(ordering, quantity, 0.0)
        stock = np.maximum(stock + receipts[:, t] - requirement, 0.0)
    return receipts
