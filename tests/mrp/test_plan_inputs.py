"""Reading a plan from a real PostgreSQL: monthly buckets and backfills as of their own date (mrp.asof).

The warehouse is the synthetic plant of tests/mrp/origins.py written as hand-made relations with the columns of
the marts, of the positions' history views and of the WH-3 dbt snapshots (tests/mrp/warehouse.py); dbt builds
the same relations in tests/dbt/test_dbt_project.py. Its history, by business date:

- inventory snapshots on Fri 2025-12-05 (FG1 7 on hand) and Fri 2026-01-02 (FG1 10, today's);
- purchase-order snapshots on both days (PO-OLD open on the first, PO-1 on the second), production orders and
  customer orders only on 2026-01-02;
- the item master exported on 2025-11-03 and 2026-01-02: RM1's lead time went from 10 to 20 working days.

A weekly plan of origin 2025-12-01 stands on Sun 2025-12-07 (the day before its first week): it sees the
December stock, PO-OLD and RM1's 10 days, and no production or customer orders that early (read as today's,
named in ``history_gaps``). The origin 2025-12-01 is also a month's: the monthly plan stands on 2025-12-31.
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import psycopg
import pytest

from fmrp import pgframes
from forecasting import store as forecasting_store
from mrp import store
from mrp.alerts import AlertInputError
from mrp.invariants import balance_violations
from mrp.runs import (
    acknowledge_alerts,
    load_plan_inputs,
    plan_origin,
    read_alerts,
    read_proposals,
    read_scenario_result,
    run_stored_scenario,
    save_scenario,
    store_plan,
)
from mrp.scenarios import Scenario
from tests.mrp.origins import BOM, ITEMS, plan_inputs
from tests.mrp.warehouse import write_relation

ORIGIN = dt.date(2025, 12, 1)  # a Monday and the first of a month: a weekly and a monthly origin
LATER = dt.date(2025, 12, 29)  # a weekly origin standing on 2026-01-04, after every snapshot
EARLY = dt.date(2025, 11, 24)  # a weekly origin standing on 2025-11-30, before any position snapshot
DEC5, JAN2 = dt.date(2025, 12, 5), dt.date(2026, 1, 2)
HOLIDAY = dt.date(2026, 1, 1)
WEEKS, MONTHS = 6, 4


def _calendar() -> pl.DataFrame:
    days = pl.date_range(dt.date(2025, 10, 1), dt.date(2026, 12, 31), eager=True)
    return pl.DataFrame({"calendar_date": days, "is_working_day": (days.dt.weekday() <= 5) & (days != HOLIDAY)})


def _items(lead_time_rm1: int, export_date: dt.date) -> pl.DataFrame:
    return ITEMS.drop("abc_class", "lead_time_std_days").with_columns(
        pl.when(pl.col("sku") == "RM1").then(lead_time_rm1).otherwise(pl.col("lead_time_days")).alias("lead_time_days"),
        pl.lit(True).alias("is_active"),
        pl.lit(export_date).alias("export_date"),
    )


def _item_suppliers(export_date: dt.date) -> pl.DataFrame:
    return plan_inputs().item_suppliers.with_columns(pl.lit(export_date).alias("export_date"))


def _versions(frame: pl.DataFrame, valid_from: dt.date, valid_to: dt.date | None) -> pl.DataFrame:
    """Rows of a dbt snapshot (timestamp strategy on the export date): the mart's columns and dbt_valid_*."""
    return frame.with_columns(
        pl.lit(dt.datetime.combine(valid_from, dt.time())).alias("dbt_valid_from"),
        pl.lit(None if valid_to is None else dt.datetime.combine(valid_to, dt.time()), pl.Datetime("us")).alias(
            "dbt_valid_to"
        ),
    )


def _inventory(business_date: dt.date, fg1: float, *, latest: bool) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "business_date": [business_date] * 4,
            "is_latest_snapshot": [latest] * 4,
            "sku": ["FG1", "FG1", "SA1", "RM1"],
            "warehouse_code": ["ALM", "QUA", "ALM", "ALM"],
            "snapshot_date": [business_date] * 4,
            "on_hand": [fg1, 3.0, 5.0, 50.0],
            "unit_cost": [40.0, 40.0, 10.0, 1.5],
            "inventory_value": [40.0 * fg1, 120.0, 50.0, 75.0],
            "is_nettable": [True, False, True, True],  # the quarantine's 3 are never netted
        }
    )


def _receipts(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "order_type": pl.String,
            "order_number": pl.String,
            "line_number": pl.Int32,
            "sku": pl.String,
            "supplier_code": pl.String,
            "order_status": pl.String,
            "release_date": pl.Date,
            "due_date": pl.Date,
            "due_week": pl.Date,
            "quantity_ordered": pl.Float64,
            "quantity_received": pl.Float64,
            "open_quantity": pl.Float64,
            "unit_price": pl.Float64,
            "snapshot_date": pl.Date,
            "is_latest_snapshot": pl.Boolean,
        },
        orient="row",
    )


def _forecasts(origin: dt.date, freq: str, starts: list[dt.date], fg1: float, fg2: float) -> pl.DataFrame:
    rows = [
        (origin, freq, sku, start, step + 1, "auto", "volume", True, 0.5 * p50, 0.8 * p50, p50, 1.2 * p50, 1.5 * p50)
        for sku, p50 in (("FG1", fg1), ("FG2", fg2))
        for step, start in enumerate(starts)
    ]
    columns = ["origin", "freq", "sku", "bucket_start", "step", "model", "target", "is_selected"]
    return pl.DataFrame(rows, schema=[*columns, "p10", "p25", "p50", "p75", "p90"], orient="row")


def _weeks(origin: dt.date) -> list[dt.date]:
    return [origin + dt.timedelta(weeks=k + 1) for k in range(WEEKS)]


MONTH_STARTS = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)]


def build_warehouse(conn: psycopg.Connection) -> None:
    base = plan_inputs()
    receipt_dec = ("purchase", "PO-OLD", 1, "RM1", "S1", "open", None, DEC5 + dt.timedelta(days=10), None)
    receipt_jan = ("purchase", "PO-1", 1, "RM1", "S1", "open", None, dt.date(2026, 1, 14), None)
    production = ("production", "OP-1", 1, "SA1", None, "released", LATER, dt.date(2026, 1, 7), None)
    receipts = [
        (*receipt_dec, 25.0, 0.0, 25.0, 1.5, DEC5, False),
        (*receipt_jan, 40.0, 0.0, 40.0, 1.5, JAN2, True),
        (*production, 10.0, 0.0, 10.0, None, JAN2, True),
    ]
    history = _receipts(receipts).with_columns(pl.col("due_date").dt.truncate("1w").alias("due_week"))
    customer_history = pl.DataFrame(
        {
            "order_number": ["PV-1"],
            "line_number": [1],
            "customer": ["Loja A"],
            "sku": ["FG1"],
            "quantity": [30.0],
            "order_date": [JAN2],
            "due_date": [dt.date(2026, 1, 6)],
            "due_week": [dt.date(2026, 1, 5)],
            "snapshot_date": [JAN2],
            "is_latest_snapshot": [True],
        },
        schema_overrides={"line_number": pl.Int32},
    )
    inventory_history = pl.concat([_inventory(DEC5, 7.0, latest=False), _inventory(JAN2, 10.0, latest=True)])
    items_old, items_new = _items(10, dt.date(2025, 11, 3)), _items(20, JAN2)
    suppliers_terms = _item_suppliers(dt.date(2025, 11, 3))
    calendar = _calendar()
    weekly_demand = pl.DataFrame(
        {"sku": ["FG1", "FG1", "FG2"], "week_start": [ORIGIN, EARLY, ORIGIN], "volume": [18.0, 22.0, 12.0]}
    )
    monthly_demand = pl.DataFrame(
        {
            "sku": ["FG1", "FG1", "FG2"],
            "month_start": [ORIGIN, dt.date(2025, 11, 1), ORIGIN],
            "volume": [80.0, 90.0, 50.0],
        }
    )
    relations = {
        "factory_calendar": calendar,
        "items": items_new,
        "bom_edges": BOM,
        "item_suppliers": suppliers_terms,
        "suppliers": base.suppliers,
        "routings": base.routings,
        "work_center_capacity": calendar.select(
            pl.lit("WC1").alias("work_center_code"),
            "calendar_date",
            pl.when(pl.col("is_working_day")).then(8.0).otherwise(0.0).alias("available_hours"),
        ),
        "inventory_position_history": inventory_history,
        "inventory_position": inventory_history.filter("is_latest_snapshot").drop(
            "business_date", "is_latest_snapshot"
        ),
        "scheduled_receipts_history": history,
        "scheduled_receipts": history.filter("is_latest_snapshot").drop("is_latest_snapshot"),
        "customer_orders_history": customer_history,
        "customer_orders": customer_history.drop("is_latest_snapshot"),
        "demand_weekly": weekly_demand,
        "demand_monthly": monthly_demand,
    }
    for name, frame in relations.items():
        write_relation(conn, "marts", name, frame)
    write_relation(
        conn,
        "snapshots",
        "items_snapshot",
        pl.concat([_versions(items_old, items_old["export_date"][0], JAN2), _versions(items_new, JAN2, None)]),
    )
    write_relation(
        conn, "snapshots", "item_supplier_terms_snapshot", _versions(suppliers_terms, dt.date(2025, 11, 3), None)
    )
    forecasting_store.ensure_schema(conn)
    forecasts = pl.concat(
        [
            _forecasts(ORIGIN, "W", _weeks(ORIGIN), 20.0, 12.0),
            _forecasts(LATER, "W", _weeks(LATER), 20.0, 12.0),
            _forecasts(EARLY, "W", _weeks(EARLY), 20.0, 12.0),
            _forecasts(ORIGIN, "M", MONTH_STARTS, 85.0, 52.0),
        ]
    )
    pgframes.copy_frame(conn, "forecasting", "forecasts", forecasts)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        build_warehouse(connection)
        yield connection


def words(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def nettable(inputs, sku: str) -> float:
    return inputs.inventory.filter(pl.col("sku") == sku)["nettable_on_hand"].item()


def lead_time(inputs, sku: str) -> int:
    return inputs.items.filter(pl.col("sku") == sku)["lead_time_days"].item()


def test_a_backfilled_week_plans_with_the_stock_orders_and_items_of_its_date(conn):
    early = load_plan_inputs(conn, ORIGIN, WEEKS)
    late = load_plan_inputs(conn, LATER, WEEKS)
    assert (early.as_of, late.as_of) == (dt.date(2025, 12, 7), dt.date(2026, 1, 4))
    assert (nettable(early, "FG1"), nettable(late, "FG1")) == (7.0, 10.0)  # quarantine never nets
    assert (lead_time(early, "RM1"), lead_time(late, "RM1")) == (10, 20)  # the item master of December
    early_receipts = dict(early.scheduled_receipts.select("order_number", "open_quantity").iter_rows())
    assert early_receipts == {"PO-OLD": 25.0, "OP-1": 10.0}  # purchase of 12-05; production only as of today
    assert set(late.scheduled_receipts["order_number"]) == {"PO-1", "OP-1"}
    assert early.history_gaps == ("scheduled_receipts (production)", "customer_orders")
    assert late.history_gaps == ()

    plan = plan_origin(early)
    assert plan.plan.items.filter(pl.col("sku") == "FG1")["on_hand"].item() == 7.0
    assert balance_violations(plan.records(), plan.plan.items).is_empty()


def test_a_date_no_history_covers_reads_todays_data_and_says_so(conn, caplog):
    with caplog.at_level(logging.WARNING, logger="mrp.asof"):
        inputs = load_plan_inputs(conn, EARLY, WEEKS)
    assert inputs.as_of == dt.date(2025, 11, 30)
    assert nettable(inputs, "FG1") == 10.0  # today's stock: no snapshot on or before 11-30
    assert inputs.history_gaps == (
        "inventory_position",
        "scheduled_receipts (production)",
        "scheduled_receipts (purchase)",
        "customer_orders",
    )
    assert lead_time(inputs, "RM1") == 10  # the snapshot does cover 11-30
    messages = [record.getMessage() for record in caplog.records]
    assert "plan as of 2025-11-30: inventory_position read as it is today: no snapshot on or before 2025-11-30" in (
        messages
    )


def test_master_data_without_a_snapshot_that_old_falls_back_to_today(conn):
    conn.execute("delete from snapshots.items_snapshot where dbt_valid_to is not null")
    inputs = load_plan_inputs(conn, ORIGIN, WEEKS)
    assert lead_time(inputs, "RM1") == 20
    assert inputs.history_gaps[0] == "items"
    conn.execute("drop table snapshots.item_supplier_terms_snapshot")
    conn.execute("update marts.item_suppliers set export_date = %s", [JAN2])
    assert "item_suppliers" in load_plan_inputs(conn, ORIGIN, WEEKS).history_gaps


def test_a_monthly_plan_has_calendar_months_from_the_monthly_forecast(conn):
    inputs = load_plan_inputs(conn, ORIGIN, MONTHS, freq="M")
    horizon = inputs.horizon
    assert horizon.freq == "M" and horizon.bucket_starts == tuple(MONTH_STARTS)
    assert horizon.end == dt.date(2026, 5, 1)
    assert horizon.working_days.tolist() == [21.0, 20.0, 22.0, 22.0]  # January less New Year's Day
    assert horizon.days_before == pytest.approx(21.25)
    assert inputs.as_of == dt.date(2025, 12, 31)
    assert inputs.forecasts.filter(pl.col("sku") == "FG1")["p50"].to_list() == [85.0] * MONTHS  # not the weekly 20
    stats = dict(inputs.demand_stats.select("sku", "demand_mean").iter_rows())
    assert stats == {"FG1": 85.0, "FG2": 50.0}  # from demand_monthly
    assert nettable(inputs, "FG1") == 7.0 and lead_time(inputs, "RM1") == 10  # 01-02 is after 12-31

    result = plan_origin(inputs)
    records = result.records()
    assert records["bucket_start"].unique().sort().to_list() == MONTH_STARTS
    fg1 = records.filter(pl.col("sku") == "FG1").sort("bucket")
    # January: the firm order of 30 (due 01-06) is inside the firm horizon but below the forecast of 85
    assert fg1["gross_requirements"].to_list() == [85.0] * MONTHS
    on_hand = dict(result.plan.items.select("sku", "on_hand").iter_rows())
    for (sku,), rows in records.sort("bucket").group_by("sku"):
        before = on_hand[sku]
        for row in rows.iter_rows(named=True):
            expected = before + row["scheduled_receipts"] + row["planned_receipts"] - row["gross_requirements"]
            assert row["projected_on_hand"] == pytest.approx(expected, abs=1e-9), (sku, row["bucket"])
            before = row["projected_on_hand"]
    # PO-OLD (due 12-15: overdue) counts in January, OP-1 (due 01-07, today's production orders) too
    receipts = records.filter(pl.col("scheduled_receipts") > 0).select("sku", "bucket_start").rows()
    assert sorted(receipts) == [("RM1", MONTH_STARTS[0]), ("SA1", MONTH_STARTS[0])]
    # RM1's 10 working days offset its orders by one month at most: a month has 20 to 22
    rm1 = result.plan.planned_orders.filter(pl.col("sku") == "RM1")
    assert ((rm1["receipt_bucket"] - rm1["release_bucket"]) <= 1).all()


def test_weekly_and_monthly_plans_of_one_origin_are_stored_side_by_side(conn):
    weekly = plan_origin(load_plan_inputs(conn, ORIGIN, WEEKS))
    monthly = plan_origin(load_plan_inputs(conn, ORIGIN, MONTHS, freq="M"))
    written_weekly = store_plan(conn, weekly)
    written_monthly = store_plan(conn, monthly)
    store_plan(conn, weekly)  # a rerun of the weekly plan leaves the monthly one alone

    def count(freq: str) -> int:
        return conn.execute(
            "select count(*) from planning.mrp_records where origin = %s and freq = %s", [ORIGIN, freq]
        ).fetchone()[0]

    assert (count("W"), count("M")) == (written_weekly["mrp_records"], written_monthly["mrp_records"])
    assert store.latest_origin(conn, "M") == ORIGIN and store.latest_origin(conn, "W") == ORIGIN
    proposals = read_proposals(conn, ORIGIN, freq="M")
    assert proposals["need_date"].dt.day().unique().to_list() == [1]  # needed on a month's first day
    assert "freq" not in proposals.columns


def test_a_monthly_plans_alerts_proposals_and_scenarios_are_its_own(conn):
    weekly = plan_origin(load_plan_inputs(conn, ORIGIN, WEEKS))
    monthly = plan_origin(load_plan_inputs(conn, ORIGIN, MONTHS, freq="M"))
    store_plan(conn, weekly)
    store_plan(conn, monthly)

    weekly_alerts, monthly_alerts = read_alerts(conn, ORIGIN), read_alerts(conn, ORIGIN, freq="M")
    assert set(weekly_alerts["alert_key"]) == set(weekly.alerts["alert_key"])
    assert set(monthly_alerts["alert_key"]) == set(monthly.alerts["alert_key"])
    # a month's alerts speak of months and have keys of their own: a month starting on a Monday would otherwise
    # share the keys (and the acknowledgements) of that week's alerts
    messages = dict(monthly_alerts.select("alert_key", "message").iter_rows())
    assert messages["projected_stockout|FG1|2026-01-01|M"] == "FG1: projected stock -78.0 in the month of 2026-01-01"
    assert messages["urgent_release|FG1|2026-02-01|M"] == "FG1: release the order of 85.0 needed 2026-02-01 this month"
    assert all(key.endswith("|M") for key in messages) and not any("week" in text for text in messages.values())
    assert weekly_alerts.filter(pl.col("message").str.contains("in the week of ")).height > 0
    key = "projected_stockout|FG1|2026-01-01|M"
    with pytest.raises(AlertInputError, match="unknown alert key"):
        acknowledge_alerts(conn, ORIGIN, [key], "ana")  # not an alert of the weekly plan
    assert acknowledge_alerts(conn, ORIGIN, [key], "ana", freq="M") == 1
    assert read_alerts(conn, ORIGIN, open_only=True).height == weekly_alerts.height
    assert read_alerts(conn, ORIGIN, open_only=True, freq="M").height == monthly_alerts.height - 1

    # purchase priorities in the plan's buckets; the weekly codes stay what they were
    assert set(read_proposals(conn, ORIGIN, freq="M")["priority"]) == {"past_due", "this_month", "next_months"}
    assert set(read_proposals(conn, ORIGIN)["priority"]) <= {"past_due", "this_week", "next_weeks"}

    save_scenario(conn, Scenario("lull", demand_multiplier=0.5), "ana")
    run_stored_scenario(conn, "lull", ORIGIN, horizon=MONTHS, freq="M")
    assert read_scenario_result(conn, "lull", ORIGIN)[1].is_empty()  # not run against the weekly plan yet
    run_stored_scenario(conn, "lull", ORIGIN, horizon=WEEKS)
    per_item, totals = read_scenario_result(conn, "lull", ORIGIN, freq="M")
    base = dict(totals.select("measure", "base").iter_rows())
    # the comparison's base is the stored monthly plan (its buckets' holding costs size the lots alike)
    assert base["planned_quantity"] == pytest.approx(monthly.plan.planned_orders["quantity"].sum())
    assert base["planned_orders"] == monthly.plan.planned_orders.height
    assert "freq" not in per_item.columns
    weekly_base = dict(read_scenario_result(conn, "lull", ORIGIN)[1].select("measure", "base").iter_rows())
    assert weekly_base["planned_quantity"] == pytest.approx(weekly.plan.planned_orders["quantity"].sum())


def test_plan_tables_created_before_monthly_plans_get_the_frequency_in_their_key(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema planning")
        conn.execute(
            "create table planning.mps (origin date not null, sku text not null, bucket integer not null,"
            " bucket_start date not null, forecast double precision not null, firm_orders double precision not null,"
            " mps_demand double precision not null, source text not null,"
            " computed_at timestamptz not null default now(), primary key (origin, sku, bucket))"
        )
        conn.execute("insert into planning.mps values ('2025-12-01', 'A', 0, '2025-12-08', 1, 0, 1, 'forecast')")
        store.ensure_schema(conn)
        store.ensure_schema(conn)  # idempotent
        key = conn.execute(
            "select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'planning.mps'::regclass"
            " and contype = 'p'"
        ).fetchone()[0]
        assert key == "PRIMARY KEY (origin, freq, sku, bucket)"
        assert conn.execute("select freq from planning.mps").fetchall() == [("W",)]
        conn.execute(
            "insert into planning.mps values ('2025-12-01', 'A', 0, '2026-01-01', 1, 0, 1, 'forecast', now(), 'M')"
        )
        assert conn.execute("select count(*) from planning.mps").fetchone()[0] == 2


def test_the_cli_plans_a_monthly_origin_and_lists_its_proposals(conn, database_url, monkeypatch):
    from typer.testing import CliRunner

    from fmrp.cli import app
    from fmrp.settings import get_settings

    monkeypatch.setenv("WAREHOUSE_URL", database_url)
    monkeypatch.setenv("FMRP_HORIZON", str(MONTHS))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ran = runner.invoke(app, ["plan", "run", "--freq", "M"])  # the newest monthly forecast: ORIGIN
        assert ran.exit_code == 0, ran.output
        assert "Plan of origin 2025-12-01 (M, as of 2025-12-31)" in words(ran.output)
        assert "(no history on 2025-12-31): scheduled_receipts (production), customer_orders" in words(ran.output)
        listed = runner.invoke(app, ["proposals", "list", "--freq", "M"])
        assert listed.exit_code == 0 and "plan of 2025-12-01" in words(listed.output), listed.output
        alerts = runner.invoke(app, ["alerts", "list", "--freq", "M", "--severity", "critical", "--limit", "100"])
        assert alerts.exit_code == 0 and "|2026-01-01|M" in alerts.output, alerts.output  # rich wraps the keys
        assert "in the month of" in words(alerts.output) and "week" not in alerts.output
        acked = runner.invoke(app, ["alerts", "ack", "projected_stockout|FG1|2026-01-01|M", "--freq", "M"])
        assert acked.exit_code == 0 and "acknowledged 1 alert" in acked.output, acked.output
        weekly = runner.invoke(app, ["proposals", "list"])
        assert weekly.exit_code == 1 and "no weekly plan stored yet" in words(weekly.output)
        bad = runner.invoke(app, ["plan", "run", "--freq", "Q"])
        assert bad.exit_code != 0 and "--freq must be W or M" in words(bad.output)
    finally:
        get_settings.cache_clear()
