"""Gross-to-net (PL-3), vectorised over items: one row per item, one column per bucket.

The convention is PRODUCT §1. The projected available balance carries planned receipts forward::

    projected_t = projected_{t-1} + scheduled_receipts_t + planned_receipts_t - gross_t   (projected_{-1} = on hand)
    net_t       = max(0, gross_t + safety_stock - (projected_{t-1} + scheduled_receipts_t))

Lot sizing needs the requirements *before* any planned receipt exists. Without planned receipts the balance
would be ``available_t = on_hand + sum(scheduled_receipts_0..t) - sum(gross_0..t) - safety_stock``; the
receipts needed up to ``t`` are ``max(0, -min(available_0..t))``, and their per-bucket differences are the
net requirements lot sizing covers (:func:`uncovered_requirements`). Taking the running maximum of the
shortfall is what stops a shortage from being counted twice: on hand 100, gross 60, 60, 30 gives 0, 20, 30,
not 0, 20, 50. With lot-for-lot they equal the record's ``net_t``; with larger lots the record's ``net_t`` is
recomputed from the final projected balance (:func:`mrp_record`), so a bucket covered by an earlier lot
shows no net requirement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class MrpRecordArrays:
    """The computed rows of the MRP record, ``items x buckets``.

    Attributes:
        projected_on_hand: Projected available balance at the end of each bucket.
        net_requirements: Net requirement of each bucket (PRODUCT §1 formula).
    """

    projected_on_hand: np.ndarray
    net_requirements: np.ndarray


def uncovered_requirements(
    gross: np.ndarray, scheduled: np.ndarray, on_hand: np.ndarray, safety_stock: np.ndarray
) -> np.ndarray:
    """Per bucket, the receipts needed beyond on hand and scheduled receipts to keep stock at safety stock.

    Args:
        gross: Gross requirements, ``items x buckets``.
        scheduled: Scheduled receipts, ``items x buckets``.
        on_hand: Nettable on hand per item at the start of bucket 0.
        safety_stock: Safety stock per item.

    Returns:
        Net requirements before lot sizing (>= 0), ``items x buckets``; values within a relative 1e-9 of zero
        are zero.

    Example:
        >>> uncovered_requirements(np.array([[60.0, 60, 30]]), np.zeros((1, 3)), np.array([100.0]), np.zeros(1))
        array([[ 0., 20., 30.]])
    """
    net = np.empty_like(gross, dtype=float)
    _uncovered(_floats(gross), _floats(scheduled), _floats(on_hand), _floats(safety_stock), net)
    return net


@numba.njit(cache=True, nogil=True)
def _uncovered(
    gross: np.ndarray,
    scheduled: np.ndarray,
    on_hand: np.ndarray,
    safety_stock: np.ndarray,
    net: np.ndarray,
) -> None:
    """Item by item: the running shortfall of on hand + scheduled receipts - gross below safety stock, its
    running maximum, and the per-bucket growth of that maximum (zero within ``1e-9 x`` the item's scale)."""
    items, size = gross.shape
    for i in range(items):
        running, needed = 0.0, 0.0
        tolerance = _RELATIVE_TOLERANCE * _scale(gross[i], on_hand[i], safety_stock[i])
        start = on_hand[i] - safety_stock[i]
        for t in range(size):
            running += scheduled[i, t] - gross[i, t]
            shortfall = max(-(running + start), 0.0)
            grown = max(needed, shortfall) - needed
            needed = max(needed, shortfall)
            net[i, t] = 0.0 if grown <= tolerance else grown


def mrp_record(
    gross: np.ndarray,
    scheduled: np.ndarray,
    on_hand: np.ndarray,
    safety_stock: np.ndarray,
    planned_receipts: np.ndarray,
) -> MrpRecordArrays:
    """Projected on hand and net requirements once the planned receipts are known (PRODUCT §1).

    Args:
        gross: Gross requirements, ``items x buckets``.
        scheduled: Scheduled receipts, ``items x buckets``.
        on_hand: Nettable on hand per item at the start of bucket 0.
        safety_stock: Safety stock per item.
        planned_receipts: Planned-order receipts, ``items x buckets``.

    Example:
        >>> rec = mrp_record(np.array([[60.0, 60, 30]]), np.zeros((1, 3)), np.array([100.0]), np.zeros(1),
        ...                  np.array([[0.0, 20, 30]]))
        >>> rec.projected_on_hand.tolist(), rec.net_requirements.tolist()
        ([[40.0, 0.0, 0.0]], [[0.0, 20.0, 30.0]])
    """
    projected, net = np.empty_like(gross, dtype=float), np.empty_like(gross, dtype=float)
    _record(
        _floats(gross),
        _floats(scheduled),
        _floats(planned_receipts),
        _floats(on_hand),
        _floats(safety_stock),
        projected,
        net,
    )
    return MrpRecordArrays(projected, net)


def _floats(values: np.ndarray) -> np.ndarray:
    """A C-ordered float64 array, for the compiled loops (no copy when it already is one)."""
    return np.ascontiguousarray(values, dtype=float)


@numba.njit(cache=True, nogil=True)
def _record(
    gross: np.ndarray,
    scheduled: np.ndarray,
    receipts: np.ndarray,
    on_hand: np.ndarray,
    safety: np.ndarray,
    projected: np.ndarray,
    net: np.ndarray,
) -> None:
    """Item by item, bucket by bucket: projected on hand = the running sum of scheduled + planned receipts -
    gross, plus on hand; net = what the stock before the bucket and its scheduled receipts leave uncovered of
    gross + safety stock; both zero within ``1e-9 x`` the item's scale (:func:`_scale`)."""
    items, size = gross.shape
    for i in range(items):
        running, before = 0.0, on_hand[i]
        tolerance = _RELATIVE_TOLERANCE * _scale(gross[i], on_hand[i], safety[i])
        for t in range(size):
            running += scheduled[i, t] + receipts[i, t] - gross[i, t]
            balance = running + on_hand[i]
            needed = max(gross[i, t] + safety[i] - (before + scheduled[i, t]), 0.0)
            net[i, t] = 0.0 if needed <= tolerance else needed
            projected[i, t] = 0.0 if abs(balance) <= tolerance else balance
            before = balance


@numba.njit(cache=True, nogil=True)
def _scale(gross: np.ndarray, on_hand: float, safety_stock: float) -> float:
    """An item's quantity scale for the tolerance: ``max(1, sum |gross| + |on hand| + |safety stock|)``."""
    total = 0.0
    for value in gross:
        total += abs(value)
    return max(1.0, total + abs(on_hand) + abs(safety_stock))
