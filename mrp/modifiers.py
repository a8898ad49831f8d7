"""Order modifiers: minimum lot, MOQ, order multiple and maximum lot, applied after a lot-sizing rule.

The convention is PRODUCT §1: ``q = max(q, min_lot, moq)``, then round up to the multiple; a ``max_lot``
splits the quantity into several orders, and every order is a multiple when a multiple is set.

A split produces as many full ``max_lot`` orders as fit (``max_lot`` rounded *down* to the multiple) and one
remainder order; a remainder smaller than ``min_lot``/``moq`` is raised to that minimum (and rounded up to
the multiple), so every single order respects every modifier. The extra quantity this creates is stock that
the caller carries forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_RELATIVE_TOLERANCE = 1e-9


class InvalidModifierError(ValueError):
    """Order modifiers that are negative, zero where they must be positive, or contradict each other."""


def _round_up(quantity: float, multiple: float | None) -> float:
    if multiple is None:
        return quantity
    return math.ceil(quantity / multiple - _RELATIVE_TOLERANCE) * multiple


@dataclass(frozen=True)
class OrderModifiers:
    """Order-quantity constraints of an item or an item-supplier pair.

    Attributes:
        min_lot: Smallest order the item's own policy allows (0 = none).
        moq: Supplier's minimum order quantity (0 = none); acts exactly like ``min_lot``.
        multiple: Every order is a whole multiple of this (``None`` = any quantity).
        max_lot: Largest single order; a larger quantity becomes several orders (``None`` = no limit).
    """

    min_lot: float = 0.0
    moq: float = 0.0
    multiple: float | None = None
    max_lot: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_lot", "moq"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidModifierError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("multiple", "max_lot"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise InvalidModifierError(f"{name} must be a finite number > 0 (or None), got {value!r}")
        if self.max_lot is not None:
            largest = self.largest_order
            if largest <= 0:
                raise InvalidModifierError(
                    f"max_lot {self.max_lot:g} is smaller than the order multiple {self.multiple:g}: "
                    "no order can satisfy both"
                )
            smallest = _round_up(max(self.min_lot, self.moq), self.multiple)
            if smallest > largest * (1 + _RELATIVE_TOLERANCE):
                raise InvalidModifierError(
                    f"the smallest allowed order ({smallest:g}, from min_lot/moq and the multiple) exceeds "
                    f"the largest allowed order ({largest:g}, from max_lot and the multiple)"
                )

    @property
    def is_identity(self) -> bool:
        """True when the modifiers never change a quantity."""
        return self.min_lot == 0 and self.moq == 0 and self.multiple is None and self.max_lot is None

    @property
    def largest_order(self) -> float:
        """The largest single order allowed: ``max_lot`` rounded down to the multiple (inf if no max_lot)."""
        if self.max_lot is None:
            return math.inf
        if self.multiple is None:
            return self.max_lot
        return math.floor(self.max_lot / self.multiple + _RELATIVE_TOLERANCE) * self.multiple

    def apply(self, quantity: float) -> tuple[float, ...]:
        """The orders that replace a rule's quantity.

        Args:
            quantity: The quantity the lot-sizing rule asked for.

        Returns:
            The order quantities, in the order they should be created: empty when ``quantity <= 0``, else one
            or more orders whose sum is at least ``quantity`` and each of which satisfies every modifier.

        Example:
            >>> OrderModifiers(min_lot=80, multiple=10, max_lot=100).apply(250)
            (100.0, 100.0, 80.0)
        """
        if quantity <= 0:
            return ()
        floor = max(self.min_lot, self.moq)
        total = float(_round_up(max(quantity, floor), self.multiple))
        largest = self.largest_order
        if total <= largest * (1 + _RELATIVE_TOLERANCE):
            return (total,)
        full_orders = math.floor(total / largest + _RELATIVE_TOLERANCE)
        remainder = total - full_orders * largest
        orders = [float(largest)] * full_orders
        if remainder > largest * _RELATIVE_TOLERANCE:
            orders.append(float(_round_up(max(remainder, floor), self.multiple)))
        return tuple(orders)
