"""The planning tables on a real PostgreSQL: a plan round trip, reruns, decisions and acknowledgements that survive
them, exports, scenarios and the daily summary (over a real SMTP server on loopback)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest

from mrp import store
from mrp.alerts import AlertDeliveryError, AlertInputError, SmtpConfig
from mrp.purchasing import ProposalDecisionError
from mrp.runs import (
    DecisionError,
    acknowledge_alerts,
    approve_proposals,
    deliver_daily_summary,
    export_origin_proposals,
    list_scenarios,
    load_scenario,
    plan_origin,
    read_alerts,
    read_proposals,
    read_scenario_result,
    reject_proposals,
    run_scenario_origin,
    save_scenario,
    schedule_and_policy,
    store_plan,
    store_scenario_result,
)
from mrp.scenarios import Scenario
from tests.mrp.origins import ORIGIN, plan_inputs
from tests.mrp.test_alerts import smtp_server  # noqa: F401  (the fixture)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        store.ensure_schema(connection)
        yield connection


def counts(conn: psycopg.Connection, origin: dt.date) -> dict[str, int]:
    return {
        table: conn.execute(f"select count(*) from planning.{table} where origin = %s", [origin]).fetchone()[0]
        for table in store.PLAN_TABLES
    }


def test_a_plan_round_trips_and_a_rerun_replaces_only_its_origin(conn):
    result = plan_origin(plan_inputs())
    written = store_plan(conn, result)
    assert written == {name: frame.height for name, frame in result.tables().items()}
    assert counts(conn, ORIGIN) == written

    stored = store.read_frame(
        conn, "select * from planning.mrp_records where origin = %s order by sku, bucket", [ORIGIN]
    )
    expected = result.records().sort("sku", "bucket")
    for column in ("gross_requirements", "projected_on_hand", "planned_receipts", "safety_stock"):
        assert stored[column].to_list() == pytest.approx(expected[column].to_list(), abs=1e-12), column
    assert stored["bucket_start"].to_list() == expected["bucket_start"].to_list()
    reasons = store.read_frame(conn, "select reason_codes from planning.shortage_reasons where sku = 'RM1'")
    assert ["LATE_RECEIPT", "LEAD_TIME"] in reasons["reason_codes"].to_list()
    value = conn.execute(
        "select value from planning.purchase_proposals where origin = %s and proposal_key like 'RM1|%%'", [ORIGIN]
    ).fetchone()[0]
    assert str(value) == "1950.00"  # 1300 x 1.50, numeric(18, 2)

    # another origin, then a rerun of the first: each origin keeps exactly its own rows
    later = dt.date(2026, 1, 5)
    store.replace_plan(
        conn, later, {"planned_orders": result.plan.planned_orders.head(2), "mrp_records": result.records().head(3)}
    )
    again = store_plan(conn, plan_origin(plan_inputs(fg2=30.0)))
    assert counts(conn, ORIGIN) == again
    assert counts(conn, later)["planned_orders"] == 2
    assert store.latest_origin(conn) == later


def test_a_failed_write_leaves_the_previous_plan_in_place(conn):
    result = plan_origin(plan_inputs())
    before = store_plan(conn, result)
    broken = result.tables() | {
        "planned_orders": result.plan.planned_orders.with_columns(pl.lit(-1.0).alias("quantity"))
    }
    with pytest.raises(psycopg.errors.CheckViolation):
        store.replace_plan(conn, ORIGIN, broken)
    assert counts(conn, ORIGIN) == before  # the deletes of the other tables were rolled back too


def test_decisions_survive_a_rerun_that_renumbers_the_proposals(conn):
    store_plan(conn, plan_origin(plan_inputs()))
    proposals = read_proposals(conn, ORIGIN)
    rm1 = proposals.filter(pl.col("sku") == "RM1").row(0, named=True)
    pk1 = proposals.filter(pl.col("sku") == "PK1").sort("need_date").row(0, named=True)
    at = dt.datetime(2026, 1, 5, 9, 30)
    approve_proposals(conn, ORIGIN, [rm1["proposal_id"]], "carla", at)
    reject_proposals(conn, ORIGIN, [pk1["proposal_id"]], "carla", "stock at the customer", at)
    with pytest.raises(ProposalDecisionError, match="already approved by carla"):
        reject_proposals(conn, ORIGIN, [rm1["proposal_id"]], "joao", "no")
    with pytest.raises(ProposalDecisionError, match="unknown proposal"):
        approve_proposals(conn, ORIGIN, [999_999], "carla")
    with pytest.raises(ProposalDecisionError, match="needs a reason"):
        reject_proposals(conn, ORIGIN, [pk1["proposal_id"]], "carla", " ")

    store_plan(conn, plan_origin(plan_inputs(fg2=30.0)))  # more FG2 orders: every proposal_id shifts
    after = read_proposals(conn, ORIGIN)
    approved = after.filter(pl.col("status") == "approved").row(0, named=True)
    assert approved["proposal_key"] == rm1["proposal_key"] and approved["proposal_id"] != rm1["proposal_id"]
    assert (approved["decided_by"], approved["decided_at"]) == ("carla", at)
    rejected = after.filter(pl.col("status") == "rejected").row(0, named=True)
    assert (rejected["proposal_key"], rejected["reject_reason"]) == (pk1["proposal_key"], "stock at the customer")
    assert after.filter(pl.col("status") == "proposed").height == after.height - 2


def test_export_writes_the_approved_proposals(conn, tmp_path):
    store_plan(conn, plan_origin(plan_inputs()))
    first = read_proposals(conn, ORIGIN).row(0, named=True)
    approve_proposals(conn, ORIGIN, [first["proposal_id"]], "carla")
    assert export_origin_proposals(conn, ORIGIN, tmp_path / "erp.csv") == 1
    text = (tmp_path / "erp.csv").read_text()
    assert text.splitlines()[0].startswith("supplier_code;supplier_name")
    assert first["sku"] in text and "carla" in text
    assert (
        export_origin_proposals(conn, ORIGIN, tmp_path / "erp.xlsx", only_approved=False)
        == read_proposals(conn, ORIGIN).height
    )
    assert pl.read_excel(tmp_path / "erp.xlsx").height == read_proposals(conn, ORIGIN).height


def test_acknowledgements_carry_over_to_the_next_plan(conn):
    store_plan(conn, plan_origin(plan_inputs()))
    key = "forecast_deviation|FG1|2025-12-29"
    assert acknowledge_alerts(conn, ORIGIN, [key], "ana", dt.datetime(2026, 1, 5, 8)) == 1
    assert acknowledge_alerts(conn, ORIGIN, [key], "bruno") == 0  # the first acknowledgement stays
    with pytest.raises(AlertInputError, match="unknown alert key"):
        acknowledge_alerts(conn, ORIGIN, ["nope"], "ana")
    store_plan(conn, plan_origin(plan_inputs()))
    alerts = read_alerts(conn, ORIGIN)
    row = alerts.filter(pl.col("alert_key") == key).row(0, named=True)
    assert (row["acknowledged"], row["acknowledged_by"]) == (True, "ana")
    assert read_alerts(conn, ORIGIN, open_only=True).height == alerts.height - 1
    assert alerts["severity"][0] == "critical"


def test_the_daily_summary_is_sent_or_recorded_as_not_sent(conn, smtp_server):  # noqa: F811
    controller, inbox = smtp_server
    store_plan(conn, plan_origin(plan_inputs()))
    day = dt.date(2026, 1, 5)
    status, subject = deliver_daily_summary(conn, ORIGIN, day, None, not_sent_reason="FMRP_SMTP_HOST is not set")
    assert status == "not_sent" and subject.startswith("[forecasting-mrp] 2026-01-05:")
    config = SmtpConfig(host="127.0.0.1", port=controller.port, sender="mrp@fabrica.com.br", recipients=["a@b.c"])
    assert deliver_daily_summary(conn, ORIGIN, day, config)[0] == "sent"
    assert len(inbox.messages) == 1 and b"past_due" in inbox.messages[0][2]
    unreachable = SmtpConfig(host="127.0.0.1", port=1, sender="mrp@fabrica.com.br", recipients=["a@b.c"], timeout=2)
    with pytest.raises(AlertDeliveryError):
        deliver_daily_summary(conn, ORIGIN, day, unreachable)
    rows = conn.execute(
        "select status, reason, recipients from planning.alert_summaries order by created_at"
    ).fetchall()
    assert [r[0] for r in rows] == ["not_sent", "sent", "not_sent"]
    assert rows[0][1] == "FMRP_SMTP_HOST is not set" and rows[1][2] == ["a@b.c"]


def test_scenarios_are_stored_by_name_and_their_comparison_with_them(conn):
    scenario = Scenario("peak", description="Christmas", demand_multiplier_by_class={"A": 1.5}, lead_time_change_days=5)
    save_scenario(conn, scenario, "ana")
    assert load_scenario(conn, "peak") == scenario
    with pytest.raises(DecisionError, match=r"no scenario named 'nope' \(stored: peak\)"):
        load_scenario(conn, "nope")
    inputs = plan_inputs()
    mps, policy = schedule_and_policy(inputs)
    per_item, totals = run_scenario_origin(scenario, inputs, policy, mps)
    store_scenario_result(conn, "peak", ORIGIN, per_item, totals)
    store_scenario_result(conn, "peak", ORIGIN, per_item, totals)  # a rerun replaces
    stored_items, stored_totals = read_scenario_result(conn, "peak", ORIGIN)
    assert stored_items.height == per_item.height
    assert dict(stored_totals.select("measure", "delta").iter_rows()) == pytest.approx(
        dict(totals.select("measure", "delta").iter_rows())
    )
    listed = list_scenarios(conn)
    assert listed["name"].to_list() == ["peak"] and listed["created_by"].to_list() == ["ana"]
    save_scenario(conn, Scenario("peak", demand_multiplier=2.0), "ana")  # replacing drops the old results
    assert read_scenario_result(conn, "peak", ORIGIN)[1].is_empty()
