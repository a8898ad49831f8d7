"""Purchase proposals (PL-8): planned orders of bought items become proposals a buyer approves or rejects.

**Supplier** per planned order, from the ``item_suppliers`` mart: the preferred supplier (the cheapest if
several are flagged); else the cheapest whose minimum order quantity fits the planned quantity (``moq <=
quantity``, no MOQ fits); else the cheapest (ties by supplier code). ``selection`` says which rule chose it;
an item without any supplier still gets a proposal, with ``selection == "no_supplier"``, so the buyer sees it.

**Quantity**: ``max(planned, moq)`` rounded up to the supplier's ``order_multiple`` (PRODUCT §1 order
modifiers); ``rounding = quantity - planned_quantity`` reports what the supplier's terms added.

**Dates**: the need date is the planned order's; the release date is the need date minus the *supplier's*
lead time (``lead_time_days``, else the item's, rounded up) in working days: Monday to Friday less the
calendar's non-working days (``numpy.busday_offset``). **Priority** against ``today``, in the plan's buckets:
``past_due`` (release before today), ``this_week`` (release before next Monday), ``next_weeks``; a monthly plan's
are ``past_due``, ``this_month`` (release before the first of next month) and ``next_months``.

**Money** (PRODUCT §1): ``unit_price`` is a ``Decimal(18, 4)``, ``value = quantity x unit_price`` rounded half
up to 2 decimals with :mod:`decimal`, a ``Decimal(18, 2)``; nothing is rounded before.

**Status**: proposals start ``proposed``; :func:`approve` and :func:`reject` return a new frame with who
decided and when (pure functions: the caller stores the frame). A decision is final: deciding a proposal
twice is an error. :func:`export_proposals` writes approved proposals as CSV or XLSX, one line per proposal
with the supplier's header columns first (what an ERP import of purchase requisitions expects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import polars as pl

from forecasting.data import bucket_start, shift_buckets
from mrp.horizon import Horizon

PROPOSAL_COLUMNS: tuple[str, ...] = (
    "proposal_id",
    "supplier_code",
    "supplier_name",
    "supplier_tax_id",
    "payment_terms_days",
    "sku",
    "planned_quantity",
    "quantity",
    "rounding",
    "moq",
    "order_multiple",
    "unit_price",
    "value",
    "need_date",
    "release_date",
    "lead_time_days",
    "priority",
    "selection",
    "status",
    "decided_by",
    "decided_at",
    "reject_reason",
)
EXPORT_COLUMNS: tuple[str, ...] = (
    "supplier_code",
    "supplier_name",
    "supplier_tax_id",
    "payment_terms_days",
    "proposal_id",
    "sku",
    "quantity",
    "unit_price",
    "value",
    "need_date",
    "release_date",
    "priority",
    "decided_by",
    "decided_at",
)
#: Priority codes, the most urgent first, by the plan's buckets (``Horizon.freq``).
PRIORITIES: dict[str, tuple[str, str, str]] = {
    "W": ("past_due", "this_week", "next_weeks"),
    "M": ("past_due", "this_month", "next_months"),
}
_CENT = Decimal("0.01")
_EPSILON = 1e-9


class PurchasingInputError(ValueError):
    """A frame the proposals cannot use: a missing column, a bad price or quantity."""


class ProposalDecisionError(ValueError):
    """An approval or rejection of an unknown proposal, or of one already decided."""


def purchase_proposals(
    planned_orders: pl.DataFrame,
    item_suppliers: pl.DataFrame,
    horizon: Horizon,
    *,
    suppliers: pl.DataFrame | None = None,
    items: pl.DataFrame | None = None,
    calendar: pl.DataFrame | None = None,
    today: dt.date | None = None,
) -> pl.DataFrame:
    """One proposal per planned order of a bought item.

    Args:
        planned_orders: :attr:`mrp.engine.MrpPlan.planned_orders` (``order_id``, ``sku``, ``replenishment``,
            ``need_date``, ``quantity``); only ``replenishment == "buy"`` rows are proposed.
        item_suppliers: The mart: ``sku``, ``supplier_code``, ``lead_time_days``, ``unit_price``, ``moq``,
            ``order_multiple``, ``is_preferred``.
        horizon: The plan's horizon (``today`` defaults to its first day).
        suppliers: Optional ``suppliers`` mart (``supplier_code``, ``name``, ``tax_id``,
            ``payment_terms_days``) for the header columns.
        items: Optional ``sku``, ``lead_time_days``: the lead time when the supplier has none.
        calendar: Optional ``calendar_date``, ``is_working_day``: its non-working days are skipped.
        today: The day priorities are computed for.

    Returns:
        :data:`PROPOSAL_COLUMNS`, sorted by supplier, priority and need date; ``proposal_id`` is the
        planned order's ``order_id``.

    Raises:
        PurchasingInputError: A column is missing or a price, MOQ or multiple is negative.
    """
    _require(planned_orders, ("order_id", "sku", "replenishment", "need_date", "quantity"), "planned_orders")
    _require(item_suppliers, ("sku", "supplier_code", "unit_price"), "item_suppliers")
    terms = _terms(item_suppliers)
    bought = planned_orders.filter(pl.col("replenishment").str.to_lowercase() == "buy").select(
        pl.col("order_id").cast(pl.Int64).alias("proposal_id"),
        pl.col("sku").cast(pl.String),
        pl.col("need_date").cast(pl.Date),
        pl.col("quantity").cast(pl.Float64).alias("planned_quantity"),
    )
    chosen = _choose_suppliers(bought, terms)
    if items is not None:
        _require(items, ("sku", "lead_time_days"), "items")
        item_lead = items.select(
            pl.col("sku").cast(pl.String), pl.col("lead_time_days").cast(pl.Float64).alias("_item_lt")
        )
        chosen = chosen.join(item_lead, on="sku", how="left")
    else:
        chosen = chosen.with_columns(pl.lit(None, pl.Float64).alias("_item_lt"))
    multiple = pl.col("order_multiple").fill_null(0.0)
    floor = pl.max_horizontal(pl.col("planned_quantity"), pl.col("moq").fill_null(0.0))
    proposals = chosen.with_columns(
        pl.when(multiple > 0)
        .then(((floor / multiple) - _EPSILON).ceil() * multiple)
        .otherwise(floor)
        .alias("quantity"),
        pl.coalesce("lead_time_days", "_item_lt", pl.lit(0.0)).ceil().cast(pl.Int64).alias("lead_time_days"),
    ).with_columns((pl.col("quantity") - pl.col("planned_quantity")).alias("rounding"))
    proposals = proposals.with_columns(
        pl.Series("release_date", _working_days_before(proposals, calendar), pl.Date),
        pl.Series("value", _money(proposals["quantity"], proposals["unit_price"]), pl.Decimal(18, 2)),
    )
    start = today or horizon.bucket_starts[0]
    next_bucket = shift_buckets(bucket_start(start, horizon.freq), 1, horizon.freq)
    past_due, this_bucket, later = PRIORITIES[horizon.freq]
    proposals = proposals.with_columns(
        pl.when(pl.col("release_date") < start)
        .then(pl.lit(past_due))
        .when(pl.col("release_date") < next_bucket)
        .then(pl.lit(this_bucket))
        .otherwise(pl.lit(later))
        .alias("priority"),
        pl.lit("proposed").alias("status"),
        pl.lit(None, pl.String).alias("decided_by"),
        pl.lit(None, pl.Datetime("us")).alias("decided_at"),
        pl.lit(None, pl.String).alias("reject_reason"),
    )
    proposals = _with_supplier_header(proposals, suppliers)
    rank = {priority: k for k, priority in enumerate(PRIORITIES[horizon.freq])}
    return (
        proposals.with_columns(pl.col("priority").replace_strict(rank, return_dtype=pl.Int8).alias("_rank"))
        .sort("supplier_code", "_rank", "need_date", "sku", "proposal_id", nulls_last=True)
        .select(PROPOSAL_COLUMNS)
    )


def supplier_summary(proposals: pl.DataFrame) -> pl.DataFrame:
    """Per supplier: ``proposals``, ``past_due``, ``value`` (Decimal) and the earliest ``release_date``."""
    return (
        proposals.group_by("supplier_code", "supplier_name")
        .agg(
            pl.len().alias("proposals"),
            (pl.col("priority") == "past_due").sum().alias("past_due"),
            pl.col("value").sum().alias("value"),
            pl.col("release_date").min().alias("first_release_date"),
        )
        .sort("past_due", "value", descending=True, nulls_last=True)
    )


def approve(statuses: pl.DataFrame, proposal_ids: Iterable[int], by: str, at: dt.datetime) -> pl.DataFrame:
    """Mark proposals approved by ``by`` at ``at``.

    Args:
        statuses: A frame with ``proposal_id``, ``status``, ``decided_by``, ``decided_at``, ``reject_reason``
            (the proposals themselves, or the table the caller keeps them in).
        proposal_ids: The proposals to approve.
        by: Who approves (a user name).
        at: When.

    Returns:
        A new frame; the other proposals are unchanged.

    Raises:
        ProposalDecisionError: An id is unknown or its proposal is already approved or rejected.
    """
    return _decide(statuses, proposal_ids, "approved", by, at, None)


def reject(statuses: pl.DataFrame, proposal_ids: Iterable[int], by: str, at: dt.datetime, reason: str) -> pl.DataFrame:
    """Mark proposals rejected by ``by`` at ``at`` for ``reason`` (required); see :func:`approve`."""
    if not reason or not reason.strip():
        raise ProposalDecisionError("a rejection needs a reason")
    return _decide(statuses, proposal_ids, "rejected", by, at, reason.strip())


def export_proposals(
    proposals: pl.DataFrame,
    path: str | Path,
    *,
    only_approved: bool = True,
    separator: str = ";",
    decimal_comma: bool = True,
) -> int:
    """Write proposals for the ERP: ``.csv`` or ``.xlsx`` by the path's suffix, :data:`EXPORT_COLUMNS`.

    Args:
        proposals: The proposals (with their statuses).
        path: The file to write; its suffix chooses the format.
        only_approved: Export only ``approved`` proposals (what the ERP should order).
        separator: CSV field separator (``;`` by default, as Brazilian ERPs read it).
        decimal_comma: CSV numbers with a decimal comma (``1234,50``).

    Returns:
        The number of proposals written.
    """
    target = Path(path)
    rows = proposals.filter(pl.col("status") == "approved") if only_approved else proposals
    frame = rows.select(EXPORT_COLUMNS)
    if target.suffix.lower() == ".csv":
        frame.write_csv(target, separator=separator, decimal_comma=decimal_comma, date_format="%Y-%m-%d")
    elif target.suffix.lower() == ".xlsx":
        frame.with_columns(pl.col("unit_price", "value").cast(pl.Float64)).write_excel(
            target,
            worksheet="proposals",
            column_formats={"unit_price": "#,##0.0000", "value": "#,##0.00"},
            dtype_formats={pl.Date: "yyyy-mm-dd", pl.Datetime: "yyyy-mm-dd hh:mm"},
            autofit=True,
        )
    else:
        raise PurchasingInputError(f"export to {target.name!r}: the file must end in .csv or .xlsx")
    return frame.height


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PurchasingInputError(f"{name} lacks the column(s) {', '.join(missing)}")


def _terms(item_suppliers: pl.DataFrame) -> pl.DataFrame:
    optional = {
        "lead_time_days": pl.Float64,
        "moq": pl.Float64,
        "order_multiple": pl.Float64,
        "is_preferred": pl.Boolean,
    }
    frame = item_suppliers.with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in optional.items() if name not in item_suppliers.columns]
    ).select(
        pl.col("sku").cast(pl.String),
        pl.col("supplier_code").cast(pl.String),
        pl.col("unit_price").cast(pl.Float64),
        *[pl.col(name).cast(dtype) for name, dtype in optional.items()],
    )
    for column in ("unit_price", "lead_time_days", "moq", "order_multiple"):
        bad = frame.with_row_index("row").filter(~((pl.col(column) >= 0) & pl.col(column).is_finite()).fill_null(True))
        if bad.height:
            first = bad.row(0, named=True)
            raise PurchasingInputError(
                f"item_suppliers row {first['row']} (item {first['sku']!r}, supplier {first['supplier_code']!r}): "
                f"{column} must be a finite number >= 0, got {first[column]}"
            )
    return frame.with_columns(pl.col("is_preferred").fill_null(False))


def _choose_suppliers(bought: pl.DataFrame, terms: pl.DataFrame) -> pl.DataFrame:
    candidates = bought.join(terms, on="sku", how="left").with_columns(
        pl.when(pl.col("supplier_code").is_null())
        .then(pl.lit(3))
        .when(pl.col("is_preferred"))
        .then(pl.lit(0))
        .when(pl.col("moq").fill_null(0.0) <= pl.col("planned_quantity") + _EPSILON)
        .then(pl.lit(1))
        .otherwise(pl.lit(2))
        .alias("_rule")
    )
    best = (
        candidates.sort("proposal_id", "_rule", "unit_price", "supplier_code", nulls_last=True)
        .group_by("proposal_id", maintain_order=True)
        .first()
    )
    names = {0: "preferred", 1: "moq_fits", 2: "cheapest", 3: "no_supplier"}
    return best.with_columns(pl.col("_rule").replace_strict(names, return_dtype=pl.String).alias("selection")).drop(
        "_rule", "is_preferred"
    )


def _working_days_before(proposals: pl.DataFrame, calendar: pl.DataFrame | None) -> np.ndarray:
    need = proposals["need_date"].to_numpy().astype("datetime64[D]")
    days = proposals["lead_time_days"].to_numpy().astype(np.int64)
    holidays: np.ndarray = np.array([], dtype="datetime64[D]")
    if calendar is not None:
        _require(calendar, ("calendar_date", "is_working_day"), "calendar")
        closed = calendar.filter(~pl.col("is_working_day").fill_null(True))["calendar_date"].cast(pl.Date)
        holidays = closed.to_numpy().astype("datetime64[D]")
    # a need date on a closed day counts from the working day before it
    return np.busday_offset(need, -days, roll="backward", holidays=holidays)


def _money(quantity: pl.Series, price: pl.Series) -> list[Decimal | None]:
    return [
        None if p is None else (Decimal(repr(q)) * Decimal(repr(p))).quantize(_CENT, rounding=ROUND_HALF_UP)
        for q, p in zip(quantity.to_list(), price.to_list(), strict=True)
    ]


def _with_supplier_header(proposals: pl.DataFrame, suppliers: pl.DataFrame | None) -> pl.DataFrame:
    header = pl.DataFrame(
        schema={
            "supplier_code": pl.String,
            "supplier_name": pl.String,
            "supplier_tax_id": pl.String,
            "payment_terms_days": pl.Int32,
        }
    )
    if suppliers is not None:
        _require(suppliers, ("supplier_code",), "suppliers")
        header = pl.concat(
            [
                header,
                suppliers.select(
                    pl.col("supplier_code").cast(pl.String),
                    (pl.col("name") if "name" in suppliers.columns else pl.lit(None))
                    .cast(pl.String)
                    .alias("supplier_name"),
                    (pl.col("tax_id") if "tax_id" in suppliers.columns else pl.lit(None))
                    .cast(pl.String)
                    .alias("supplier_tax_id"),
                    (pl.col("payment_terms_days") if "payment_terms_days" in suppliers.columns else pl.lit(None))
                    .cast(pl.Int32)
                    .alias("payment_terms_days"),
                ),
            ]
        )
    return proposals.with_columns(pl.col("unit_price").cast(pl.Decimal(18, 4))).join(
        header.unique("supplier_code", keep="first"), on="supplier_code", how="left"
    )


def _decide(
    statuses: pl.DataFrame, proposal_ids: Iterable[int], status: str, by: str, at: dt.datetime, reason: str | None
) -> pl.DataFrame:
    if not by or not by.strip():
        raise ProposalDecisionError("a decision needs the name of who takes it")
    wanted = sorted(set(int(i) for i in proposal_ids))
    known = statuses.filter(pl.col("proposal_id").is_in(wanted))
    unknown = sorted(set(wanted) - set(known["proposal_id"].to_list()))
    if unknown:
        raise ProposalDecisionError(f"unknown proposal(s): {unknown[:10]}")
    decided = known.filter(pl.col("status") != "proposed")
    if decided.height:
        first = decided.row(0, named=True)
        raise ProposalDecisionError(
            f"proposal {first['proposal_id']} is already {first['status']} by {first['decided_by']} at "
            f"{first['decided_at']}"
        )
    chosen = pl.col("proposal_id").is_in(wanted)
    return statuses.with_columns(
        pl.when(chosen).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
        pl.when(chosen).then(pl.lit(by.strip())).otherwise(pl.col("decided_by")).alias("decided_by"),
        pl.when(chosen).then(pl.lit(at, pl.Datetime("us"))).otherwise(pl.col("decided_at")).alias("decided_at"),
        pl.when(chosen).then(pl.lit(reason, pl.String)).otherwise(pl.col("reject_reason")).alias("reject_reason"),
    )
