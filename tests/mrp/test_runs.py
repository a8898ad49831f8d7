"""One origin end to end on the synthetic plant of tests/mrp/origins.py: every table, the invariants, stable keys."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mrp.invariants import balance_violations, negative_quantity_violations, past_release_violations
from mrp.runs import _planned_items, plan_origin, run_scenario_origin, schedule_and_policy, with_proposal_keys
from mrp.scenarios import Scenario
from mrp.store import PLAN_TABLES
from tests.mrp.origins import FIRST_WEEK, ORIGIN, plan_inputs


@pytest.fixture(scope="module")
def result():
    return plan_origin(plan_inputs(), firm_horizon=2, service_levels={"A": 0.97, "B": 0.93, "C": 0.85})


def test_plan_origin_gives_every_table_starting_the_week_after_the_origin(result):
    tables = result.tables()
    assert set(tables) == set(PLAN_TABLES)
    assert result.horizon.bucket_starts[0] == FIRST_WEEK == ORIGIN + dt.timedelta(weeks=1)
    assert result.plan.items.height == 6
    for name in ("mps", "mrp_records", "planned_orders", "pegs", "action_messages", "capacity_load", "alerts"):
        assert tables[name].height > 0, name
    assert "origin" not in tables["mrp_records"].columns  # added by the store


def test_mps_takes_the_firm_order_above_the_forecast_in_the_firm_horizon(result):
    week0 = result.mps.filter((pl.col("sku") == "FG1") & (pl.col("bucket") == 0)).row(0, named=True)
    assert (week0["forecast"], week0["firm_orders"], week0["mps_demand"], week0["source"]) == (20.0, 30.0, 30.0, "firm")
    beyond = result.mps.filter(pl.col("bucket") >= 2)
    assert beyond["mps_demand"].to_list() == beyond["forecast"].to_list()


def test_safety_stock_comes_from_the_forecast_quantiles_or_the_override(result):
    policy = {row["sku"]: row for row in result.policy.iter_rows(named=True)}
    assert policy["FG2"]["safety_stock_method"] == "override" and policy["FG2"]["safety_stock"] == 5.0
    assert policy["FG1"]["safety_stock_method"] == "forecast_quantiles"
    assert policy["FG1"]["abc_class"] == "A" and policy["FG1"]["safety_stock"] > 0
    assert policy["SA1"]["abc_class"] == "C"  # components have no class: the default
    records = result.records().filter(pl.col("sku") == "FG1")
    assert records["safety_stock"].unique().to_list() == [policy["FG1"]["safety_stock"]]


def test_the_balance_equation_holds_for_every_item_and_bucket(result):
    records = result.records().sort("sku", "bucket")
    on_hand = dict(result.plan.items.select("sku", "on_hand").iter_rows())
    for sku, rows in records.group_by("sku"):
        before = on_hand[sku[0]]
        for row in rows.iter_rows(named=True):
            expected = before + row["scheduled_receipts"] + row["planned_receipts"] - row["gross_requirements"]
            assert row["projected_on_hand"] == pytest.approx(expected, abs=1e-9), (sku, row["bucket"])
            before = row["projected_on_hand"]
    assert balance_violations(records, result.plan.items).is_empty()


def test_the_invariants_find_a_broken_plan(result):
    records = result.records()
    tampered = records.with_columns(
        pl.when((pl.col("sku") == "FG1") & (pl.col("bucket") == 3))
        .then(pl.col("projected_on_hand") + 1.0)
        .otherwise(pl.col("projected_on_hand"))
        .alias("projected_on_hand")
    )
    broken = balance_violations(tampered, result.plan.items)
    assert broken.select("sku", "bucket").rows() == [("FG1", 3), ("FG1", 4)]  # the bucket and the one after

    orders = result.plan.planned_orders
    assert past_release_violations(orders, records, FIRST_WEEK).is_empty()
    unflagged = orders.with_columns(pl.lit(False).alias("is_past_due"))
    problems = past_release_violations(unflagged, records, FIRST_WEEK)
    assert set(problems.filter(pl.col("order_id").is_not_null())["sku"]) == {"FG1", "FG2", "RM1", "RM2", "SA1"}
    assert "not flagged past due" in problems["problem"][0]

    load = result.capacity.load
    assert negative_quantity_violations(records, orders, load, result.proposals).is_empty()
    negative = negative_quantity_violations(
        records, orders, load.with_columns(pl.lit(-2.0).alias("capacity_hours")), result.proposals
    )
    assert negative["table"].unique().to_list() == ["capacity_load"]
    assert negative.height == load.height


def test_past_due_releases_are_flagged_and_counted_in_bucket_0(result):
    orders = result.plan.planned_orders
    past = orders.filter(pl.col("is_past_due"))
    assert past.height > 0 and (past["release_bucket"] < 0).all()
    assert (orders.filter(~pl.col("is_past_due"))["release_bucket"] >= 0).all()
    assert (orders["release_date"] >= FIRST_WEEK).all()


def test_bought_orders_become_proposals_with_stable_distinct_keys(result):
    bought = result.plan.planned_orders.filter(pl.col("replenishment") == "buy")
    proposals = result.proposals
    assert proposals.height == bought.height
    assert proposals["proposal_key"].n_unique() == proposals.height
    rm1 = proposals.filter(pl.col("sku") == "RM1").row(0, named=True)
    assert rm1["supplier_code"] == "S1" and rm1["quantity"] == 1300.0  # MOQ 100, multiple 10, rounded up
    assert rm1["proposal_key"] == f"RM1|{FIRST_WEEK}|S1|1"
    split = proposals.filter((pl.col("sku") == "PK1") & (pl.col("need_date") == FIRST_WEEK)).sort("proposal_key")
    assert split["proposal_key"].to_list() == [f"PK1|{FIRST_WEEK}|S1|1", f"PK1|{FIRST_WEEK}|S1|2"]  # max lot 30


def test_proposal_keys_survive_renumbered_orders_and_shuffled_inputs(result):
    # more FG2 demand adds FG2 orders before the bought items' ids: every proposal_id shifts, the keys do not
    other = plan_origin(plan_inputs(fg2=30.0, shuffle_seed=7))
    assert other.proposals["proposal_id"].to_list() != result.proposals["proposal_id"].to_list()
    pk1 = result.proposals.filter(pl.col("sku") == "PK1").sort("proposal_key")
    pk1_other = other.proposals.filter(pl.col("sku") == "PK1").sort("proposal_key")
    assert pk1["proposal_key"].to_list() == pk1_other["proposal_key"].to_list()
    assert pk1["quantity"].to_list() == pk1_other["quantity"].to_list()
    same = plan_origin(plan_inputs(shuffle_seed=3))
    assert same.proposals.equals(result.proposals)
    assert same.plan.records.equals(result.plan.records)


def test_with_proposal_keys_numbers_orders_of_one_item_date_and_supplier():
    frame = pl.DataFrame(
        {
            "proposal_id": [7, 3, 5],
            "sku": ["A", "A", "A"],
            "need_date": [dt.date(2026, 1, 5)] * 3,
            "supplier_code": ["S", "S", None],
        }
    )
    assert with_proposal_keys(frame)["proposal_key"].to_list() == [
        "A|2026-01-05|S|2",
        "A|2026-01-05|S|1",
        "A|2026-01-05|-|1",
    ]


def test_alerts_cover_past_due_capacity_and_forecast_deviation(result):
    types = set(result.alerts["alert_type"])
    assert {"past_due", "capacity_overload", "forecast_deviation", "urgent_release"} <= types
    deviation = result.alerts.filter(pl.col("alert_type") == "forecast_deviation")
    assert deviation["sku"].to_list() == ["FG1"]  # actual 30 against 20: 50 % off; FG2 was exact
    assert result.alerts["alert_key"].n_unique() == result.alerts.height


def test_shortages_have_reason_codes_and_pegs_cover_every_planned_order(result):
    assert result.shortages.height > 0
    assert result.shortages["reason_code"].null_count() == 0
    pegged = result.pegs.filter(pl.col("supply_type") == "planned").group_by("supply_key").agg(pl.col("quantity").sum())
    orders = result.plan.planned_orders.select(pl.col("order_id").alias("supply_key"), "quantity")
    joined = orders.join(pegged, on="supply_key", how="left", suffix="_pegged")
    assert joined["quantity"].to_list() == pytest.approx(joined["quantity_pegged"].to_list())


def test_planned_items_include_an_inactive_component_an_active_item_needs():
    master = pl.DataFrame({"sku": ["FG", "OLD", "SUB", "GONE"], "is_active": [True, False, False, False]})
    edges = pl.DataFrame({"parent_sku": ["FG", "OLD", "GONE"], "component_sku": ["OLD", "SUB", "SUB"]})
    items, kept = _planned_items(master, edges)
    assert sorted(items["sku"]) == ["FG", "OLD", "SUB"]
    assert kept.rows() == [("FG", "OLD"), ("OLD", "SUB")]


def test_a_scenario_compares_against_the_base_plan():
    inputs = plan_inputs()
    mps, policy = schedule_and_policy(inputs)
    per_item, totals = run_scenario_origin(Scenario("more", demand_multiplier=1.5), inputs, policy, mps)
    values = dict(totals.select("measure", "delta").iter_rows())
    assert values["planned_quantity"] > 0
    fg1 = per_item.filter(pl.col("sku") == "FG1").row(0, named=True)
    assert fg1["scenario_quantity"] > fg1["base_quantity"]
    same_items, same_totals = run_scenario_origin(Scenario("same"), inputs, policy, mps)
    assert (same_totals["delta"] == 0).all()
    assert (same_items["delta_quantity"] == 0).all()
