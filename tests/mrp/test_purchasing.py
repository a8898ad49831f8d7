"""Purchase proposals (PL-8): supplier choice, MOQ / multiple rounding, dates, priority, money, decisions, export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from mrp.horizon import Horizon
from mrp.purchasing import (
    EXPORT_COLUMNS,
    PROPOSAL_COLUMNS,
    ProposalDecisionError,
    PurchasingInputError,
    approve,
    export_proposals,
    purchase_proposals,
    reject,
    supplier_summary,
)
from tests.mrp.plants import START

HORIZON = Horizon.weekly(START, 8)  # Monday 2026-01-05


def planned(*rows: tuple[int, str, str, dt.date, float]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.Int64,
            "sku": pl.String,
            "replenishment": pl.String,
            "need_date": pl.Date,
            "quantity": pl.Float64,
        },
        orient="row",
    )


def terms(*rows: tuple) -> pl.DataFrame:
    """Rows (sku, supplier_code, lead_time_days, unit_price, moq, order_multiple, is_preferred)."""
    return pl.DataFrame(
        rows,
        schema={
            "sku": pl.String,
            "supplier_code": pl.String,
            "lead_time_days": pl.Float64,
            "unit_price": pl.Float64,
            "moq": pl.Float64,
            "order_multiple": pl.Float64,
            "is_preferred": pl.Boolean,
        },
        orient="row",
    )


SUPPLIERS = pl.DataFrame(
    {
        "supplier_code": ["S1", "S2", "S3"],
        "name": ["Aços Paulista", "Plásticos Sul", "Embalagens Norte"],
        "tax_id": ["12.345.678/0001-90", "98.765.432/0001-10", "11.111.111/0001-11"],
        "payment_terms_days": [30, 28, 45],
    }
)


def chosen(proposals: pl.DataFrame, proposal_id: int, *columns: str) -> tuple:
    return proposals.filter(pl.col("proposal_id") == proposal_id).select(columns).row(0)


def test_supplier_choice_preferred_then_moq_fits_then_cheapest():
    orders = planned(
        (1, "RM1", "buy", START + dt.timedelta(weeks=3), 100.0),  # S2 preferred though dearer
        (2, "RM2", "buy", START + dt.timedelta(weeks=3), 100.0),  # S1 cheaper but MOQ 500: S3's MOQ fits
        (3, "RM3", "buy", START + dt.timedelta(weeks=3), 10.0),  # no MOQ fits: the cheapest, S1
        (4, "RM4", "buy", START + dt.timedelta(weeks=3), 10.0),  # no supplier at all
        (5, "FG", "make", START + dt.timedelta(weeks=3), 10.0),  # made, not proposed
    )
    table = terms(
        ("RM1", "S1", 5, 2.0, None, None, False),
        ("RM1", "S2", 5, 3.0, None, None, True),
        ("RM2", "S1", 5, 2.0, 500.0, None, False),
        ("RM2", "S3", 5, 2.5, 50.0, None, False),
        ("RM3", "S1", 5, 1.0, 50.0, None, False),
        ("RM3", "S2", 5, 1.5, 40.0, None, False),
    )
    proposals = purchase_proposals(orders, table, HORIZON, suppliers=SUPPLIERS)
    assert tuple(proposals.columns) == PROPOSAL_COLUMNS
    assert sorted(proposals["proposal_id"]) == [1, 2, 3, 4]
    assert chosen(proposals, 1, "supplier_code", "selection", "supplier_name") == ("S2", "preferred", "Plásticos Sul")
    assert chosen(proposals, 2, "supplier_code", "selection") == ("S3", "moq_fits")
    assert chosen(proposals, 3, "supplier_code", "selection", "quantity", "rounding") == ("S1", "cheapest", 50.0, 40.0)
    assert chosen(proposals, 4, "supplier_code", "selection", "value") == (None, "no_supplier", None)


def test_quantity_rounded_to_moq_then_multiple_and_value_in_decimal_cents():
    # 137 planned, MOQ 100, multiple 25 -> 150 (13 more); 150 x 0.3333 = 49.995 -> 50.00 (half up, in Decimal:
    # the float product 49.99499999... would round down).
    proposals = purchase_proposals(
        planned((1, "RM", "buy", START + dt.timedelta(weeks=4), 137.0)),
        terms(("RM", "S1", 10, 0.3333, 100.0, 25.0, True)),
        HORIZON,
    )
    quantity, rounding, price, value = chosen(proposals, 1, "quantity", "rounding", "unit_price", "value")
    assert (quantity, rounding) == (150.0, 13.0)
    assert price == Decimal("0.3333")
    assert value == Decimal("50.00")
    assert proposals.schema["value"] == pl.Decimal(18, 2)


def test_release_is_the_need_date_less_the_supplier_lead_time_in_working_days_and_priority():
    # Need Monday 2026-01-19. 5 working days before: Monday 01-12 (next week); 10: Monday 01-05 (this week:
    # today); 12: Thursday 2026-01-01 on a Monday-Friday week, but the calendar closes it: Wednesday 2025-12-31
    # (past due).
    calendar = pl.DataFrame({"calendar_date": [dt.date(2026, 1, 1)], "is_working_day": [False]})
    need = dt.date(2026, 1, 19)
    proposals = purchase_proposals(
        planned((1, "A", "buy", need, 1.0), (2, "B", "buy", need, 1.0), (3, "C", "buy", need, 1.0)),
        terms(
            ("A", "S1", 5, 1.0, None, None, True),
            ("B", "S1", 10, 1.0, None, None, True),
            ("C", "S1", 12, 1.0, None, None, True),
        ),
        HORIZON,
        calendar=calendar,
    )
    assert chosen(proposals, 1, "release_date", "priority") == (dt.date(2026, 1, 12), "next_weeks")
    assert chosen(proposals, 2, "release_date", "priority") == (dt.date(2026, 1, 5), "this_week")
    assert chosen(proposals, 3, "release_date", "priority") == (dt.date(2025, 12, 31), "past_due")
    assert proposals["proposal_id"].to_list() == [3, 2, 1]  # urgent first within the supplier


def test_a_monthly_plan_says_this_month_and_next_months():
    # Today is the first bucket's first day, Thursday 2026-01-01. Needed 02-02 with 5 working days: released
    # Monday 01-26, still this month (next week on a weekly plan); needed 03-02 with 5: released 02-23, next months;
    # needed 01-05 with 5: released 12-29, past due.
    horizon = Horizon.monthly(dt.date(2026, 1, 1), 4)
    proposals = purchase_proposals(
        planned(
            (1, "A", "buy", dt.date(2026, 2, 2), 1.0),
            (2, "A", "buy", dt.date(2026, 3, 2), 1.0),
            (3, "A", "buy", dt.date(2026, 1, 5), 1.0),
        ),
        terms(("A", "S1", 5, 1.0, None, None, True)),
        horizon,
    )
    assert chosen(proposals, 1, "release_date", "priority") == (dt.date(2026, 1, 26), "this_month")
    assert chosen(proposals, 2, "release_date", "priority") == (dt.date(2026, 2, 23), "next_months")
    assert chosen(proposals, 3, "release_date", "priority") == (dt.date(2025, 12, 29), "past_due")
    assert proposals["proposal_id"].to_list() == [3, 1, 2]  # urgent first within the supplier


def test_item_lead_time_when_the_supplier_has_none():
    proposals = purchase_proposals(
        planned((1, "A", "buy", dt.date(2026, 1, 19), 1.0)),
        terms(("A", "S1", None, 1.0, None, None, True)),
        HORIZON,
        items=pl.DataFrame({"sku": ["A"], "lead_time_days": [3]}),
    )
    assert chosen(proposals, 1, "lead_time_days", "release_date") == (3, dt.date(2026, 1, 14))


def test_approve_reject_and_a_decision_is_final():
    proposals = purchase_proposals(
        planned((1, "A", "buy", dt.date(2026, 2, 2), 5.0), (2, "A", "buy", dt.date(2026, 2, 9), 5.0)),
        terms(("A", "S1", 5, 1.0, None, None, True)),
        HORIZON,
    )
    at = dt.datetime(2026, 1, 6, 9, 30)
    approved = approve(proposals, [1], "ana", at)
    assert chosen(approved, 1, "status", "decided_by", "decided_at") == ("approved", "ana", at)
    assert chosen(approved, 2, "status", "decided_by") == ("proposed", None)
    rejected = reject(approved, [2], "bruno", at, "supplier on strike")
    assert chosen(rejected, 2, "status", "reject_reason") == ("rejected", "supplier on strike")
    with pytest.raises(ProposalDecisionError, match="proposal 1 is already approved by ana"):
        reject(rejected, [1], "bruno", at, "changed my mind")
    with pytest.raises(ProposalDecisionError, match=r"unknown proposal\(s\): \[9\]"):
        approve(rejected, [9], "ana", at)
    with pytest.raises(ProposalDecisionError, match="needs a reason"):
        reject(approved, [2], "bruno", at, " ")


def test_export_csv_and_xlsx_with_supplier_header_columns(tmp_path):
    proposals = purchase_proposals(
        planned((1, "A", "buy", dt.date(2026, 2, 2), 1234.5), (2, "A", "buy", dt.date(2026, 2, 9), 5.0)),
        terms(("A", "S1", 5, 2.0, None, None, True)),
        HORIZON,
        suppliers=SUPPLIERS,
    )
    decided = approve(proposals, [1], "ana", dt.datetime(2026, 1, 6, 9, 30))
    assert export_proposals(decided, tmp_path / "po.csv") == 1
    text = (tmp_path / "po.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == ";".join(EXPORT_COLUMNS)
    assert text[1].startswith("S1;Aços Paulista;12.345.678/0001-90;30;1;A;1234,5;2,0000;2469,00;2026-02-02;")
    assert export_proposals(decided, tmp_path / "po.xlsx", only_approved=False) == 2
    workbook = pl.read_excel(tmp_path / "po.xlsx")
    assert workbook.columns == list(EXPORT_COLUMNS)
    assert workbook["value"].to_list() == [2469.0, 10.0]
    with pytest.raises(PurchasingInputError, match=r"must end in \.csv or \.xlsx"):
        export_proposals(decided, tmp_path / "po.txt")


def test_supplier_summary_groups_value_and_urgency():
    proposals = purchase_proposals(
        planned((1, "A", "buy", dt.date(2026, 1, 6), 10.0), (2, "B", "buy", dt.date(2026, 3, 2), 4.0)),
        terms(("A", "S1", 10, 1.5, None, None, True), ("B", "S1", 5, 2.25, None, None, True)),
        HORIZON,
        suppliers=SUPPLIERS,
    )
    assert supplier_summary(proposals).rows() == [
        ("S1", "Aços Paulista", 2, 1, Decimal("24.00"), dt.date(2025, 12, 23))
    ]


def test_bad_terms_are_named():
    with pytest.raises(PurchasingInputError, match=r"row 1 \(item 'A', supplier 'S2'\): unit_price .* got -1.0"):
        purchase_proposals(
            planned((1, "A", "buy", dt.date(2026, 2, 2), 1.0)),
            terms(("A", "S1", 5, 1.0, None, None, True), ("A", "S2", 5, -1.0, None, None, False)),
            HORIZON,
        )
    with pytest.raises(PurchasingInputError, match="planned_orders lacks the column"):
        purchase_proposals(pl.DataFrame({"sku": ["A"]}), terms(), HORIZON)
