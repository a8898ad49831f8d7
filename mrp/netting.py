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
    available = np.cumsum(scheduled - gross, axis=1) + (on_hand - safety_stock)[:, None]
    needed = np.maximum.accumulate(np.maximum(-available, 0.0), axis=1)
    net = np.diff(needed, axis=1, prepend=0.0)
    scale = np.maximum(1.0, np.abs(gross).sum(axis=1) + np.abs(on_hand) + np.abs(safety_stock))
    net[net <= _RELATIVE_TOLERANCE * scale[:, None]] = 0.0
    return net


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
    projected = np.cumsum(scheduled + planned_receipts - gross, axis=1) + on_hand[:, None]
    before = np.concatenate((on_hand[:, None], projected[:, :-1]), axis=1)
    net = np.maximum(gross + safety_stock[:, None] - (before + scheduled), 0.0)
    scale = np.maximum(1.0, np.abs(gross).sum(axis=1) + np.abs(on_hand) + np.abs(safety_stock))
    net[net <= _RELATIVE_TOLERANCE * scale[:, None]] = 0.0
    projected[np.abs(projected) <= _RELATIVE_TOLERANCE * scale[:, None]] = 0.0
    return MrpRecordArrays(projected, net)
