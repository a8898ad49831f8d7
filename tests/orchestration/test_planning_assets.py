"""The weekly plan in process on a small demo factory: landing and dbt, then forecasting + planning through Dagster
(``weekly_plan_job`` for the latest origin week), the stored plan, its checks, the CLI on it, the alert summary.

One warehouse for the module: the factory's files are landed with the ingestion library and built with
``dbt build`` directly (landing through Dagster is tests/orchestration/test_pipeline.py's subject, and its event
log would double this test's time); then ``weekly_plan_job`` runs through Dagster, and the tests read the stored
plan and exercise what a buyer and a planner do on it.
"""

import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from fmrp.cli import app
from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.demo import FactoryConfig, generate_factory
from fmrp.settings import get_settings
from fmrp.warehouse import ensure_database, run_dbt, with_database
from ingestion.landing import ensure_raw_schema, land_inbox_files, scan_inbox
from mrp import store
from mrp.runs import read_proposals
from orchestration.pipeline import latest_origin_week, run_weekly_plan

pytestmark = pytest.mark.slow

PLAN_CHECKS = [
    dg.AssetCheckKey(dg.AssetKey(["planning", "mrp_records"]), "balance_equation"),
    dg.AssetCheckKey(dg.AssetKey(["planning", "planned_orders"]), "past_releases_flagged"),
    dg.AssetCheckKey(dg.AssetKey(["planning", "planned_orders"]), "no_negative_quantities"),
    dg.AssetCheckKey(dg.AssetKey(["planning", "capacity_load"]), "no_negative_capacity"),
]


@pytest.fixture(scope="module")
def weekly_plan(server_url: str, tmp_path_factory: pytest.TempPathFactory):
    """A 16-SKU factory landed and built, then weekly_plan_job for its latest origin week."""
    tmp = tmp_path_factory.mktemp("weekly-plan")
    names = [f"{prefix}_{uuid.uuid4().hex[:10]}" for prefix in ("wh", "dg")]
    urls = [with_database(server_url, name) for name in names]
    for url in urls:
        ensure_database(url)
    env = {
        "WAREHOUSE_URL": urls[0],
        "DAGSTER_STORAGE_URL": urls[1],
        "FMRP_INBOX_DIR": str(tmp / "inbox"),
        "FMRP_DEMO_TRUTH_DIR": str(tmp / "truth"),
        "FMRP_DAGSTER_HOME": str(tmp / "dagster"),
        "FMRP_MODEL_STORE": str(tmp / "models"),
        "DAGSTER_HOME": "",
        STORAGE_URL_ENV: "",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        generate_factory(
            FactoryConfig(finished_goods=16, years=1, start=date(2024, 1, 1), seed=11),
            inbox_dir=tmp / "inbox",
            truth_dir=tmp / "truth",
            progress=False,
        )
        with psycopg.connect(urls[0], autocommit=True) as conn:
            ensure_raw_schema(conn)
            land_inbox_files(conn, scan_inbox(tmp / "inbox"))
        assert run_dbt("build", "--quiet", url=urls[0]) == 0
        prepare_dagster_home()
        with dg.DagsterInstance.get() as instance:
            origin = latest_origin_week(urls[0])
            report = run_weekly_plan(origin, instance=instance)
            checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(PLAN_CHECKS)
            yield {"url": urls[0], "origin": origin, "report": report, "checks": checks, "instance": instance}
        get_settings.cache_clear()
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_the_job_forecasts_then_plans_the_latest_complete_week(weekly_plan):
    assert weekly_plan["report"].success
    assert weekly_plan["origin"].weekday() == 0 and weekly_plan["origin"] < date(2025, 1, 1)
    with psycopg.connect(weekly_plan["url"]) as conn:
        counts = {
            table: conn.execute(
                sql.SQL("select count(*) from {} where origin = %s").format(sql.Identifier("planning", table)),
                [weekly_plan["origin"]],
            ).fetchone()[0]
            for table in store.PLAN_TABLES
        }
        for table in ("mps", "inventory_policy", "mrp_records", "planned_orders", "pegs", "capacity_load"):
            assert counts[table] > 0, table
        assert counts["purchase_proposals"] > 0 and counts["alerts"] > 0
        # every planned item has a record for every bucket of the horizon, starting the week after the origin
        starts = conn.execute(
            "select min(bucket_start), count(distinct bucket), count(distinct sku) from planning.mrp_records"
            " where origin = %s",
            [weekly_plan["origin"]],
        ).fetchone()
        assert (starts[0] - weekly_plan["origin"]).days == 7 and starts[1] == get_settings().horizon
        assert counts["mrp_records"] == starts[1] * starts[2]


def test_the_plan_is_computed_from_that_weeks_selected_forecast(weekly_plan):
    with psycopg.connect(weekly_plan["url"]) as conn:
        mismatched = conn.execute(
            """
            select count(*), sum(case when m.forecast is distinct from f.p50 then 1 else 0 end)
            from forecasting.forecasts f
            join planning.mps m on m.origin = f.origin and m.sku = f.sku and m.bucket_start = f.bucket_start
            where f.origin = %s and f.target = 'volume' and f.is_selected""",
            [weekly_plan["origin"]],
        ).fetchone()
    assert mismatched[0] > 0 and mismatched[1] == 0


def test_the_stored_records_satisfy_the_balance_equation_and_the_blocking_checks_passed(weekly_plan):
    with psycopg.connect(weekly_plan["url"]) as conn:
        broken = conn.execute(
            """
            select count(*) from (
                select projected_on_hand - coalesce(lag(projected_on_hand) over w,
                       projected_on_hand - scheduled_receipts - planned_receipts + gross_requirements)
                       - scheduled_receipts - planned_receipts + gross_requirements as gap
                from planning.mrp_records where origin = %s window w as (partition by sku order by bucket)
            ) t where abs(gap) > 1e-6""",
            [weekly_plan["origin"]],
        ).fetchone()[0]
        past_due = conn.execute(
            "select count(*) from planning.planned_orders where origin = %s and (release_bucket < 0) <> is_past_due",
            [weekly_plan["origin"]],
        ).fetchone()[0]
    assert broken == 0 and past_due == 0
    assert set(weekly_plan["checks"]) == set(PLAN_CHECKS)
    for key, record in weekly_plan["checks"].items():
        assert record.status.value == "SUCCEEDED", key
        assert record.event.asset_check_evaluation.passed, key


def test_a_buyers_decision_and_export_survive_a_rerun_of_the_plan(weekly_plan, tmp_path: Path):
    origin = str(weekly_plan["origin"])
    runner = CliRunner()
    listed = runner.invoke(app, ["proposals", "list", "--origin", origin, "--limit", "5"])
    assert listed.exit_code == 0, listed.output
    with psycopg.connect(weekly_plan["url"]) as conn:
        first = read_proposals(conn, weekly_plan["origin"]).row(0, named=True)
    approved = runner.invoke(
        app, ["proposals", "approve", str(first["proposal_id"]), "--origin", origin, "--by", "carla"]
    )
    assert approved.exit_code == 0 and "approved 1 proposal" in approved.output, approved.output
    again = runner.invoke(app, ["proposals", "reject", str(first["proposal_id"]), "--reason", "x", "--origin", origin])
    assert again.exit_code == 2 and "already approved by carla" in again.output

    # rerun only the weekly_plan multi-asset for the partition: the decision is picked up by its key
    from orchestration.definitions import defs
    from orchestration.defs.planning.assets import weekly_plan as weekly_plan_asset

    job = defs().resolve_job_def("weekly_plan_job")
    result = job.execute_in_process(
        instance=weekly_plan["instance"], partition_key=origin, asset_selection=list(weekly_plan_asset.keys)
    )
    assert result.success
    with psycopg.connect(weekly_plan["url"]) as conn:
        after = read_proposals(conn, weekly_plan["origin"]).filter(pl.col("status") == "approved")
    assert after["proposal_key"].to_list() == [first["proposal_key"]]
    assert after["decided_by"].to_list() == ["carla"]

    out = tmp_path / "proposals.xlsx"
    exported = runner.invoke(app, ["proposals", "export", "--format", "xlsx", "--out", str(out), "--origin", origin])
    assert exported.exit_code == 0, exported.output
    assert pl.read_excel(out)["sku"].to_list() == [first["sku"]]


def test_a_scenario_is_created_run_and_compared_from_the_cli(weekly_plan):
    origin = str(weekly_plan["origin"])
    runner = CliRunner()
    created = runner.invoke(
        app, ["scenario", "create", "lull", "--demand", "0.5", "--class-demand", "A=0.8", "--by", "ana"]
    )
    assert created.exit_code == 0, created.output
    bad = runner.invoke(app, ["scenario", "create", "bad", "--class-demand", "A:1.2"])
    assert bad.exit_code != 0 and "KEY=NUMBER" in bad.output
    unknown = runner.invoke(app, ["scenario", "run", "nope", "--origin", origin])
    assert unknown.exit_code == 2 and "no scenario named 'nope' (stored: lull)" in unknown.output
    ran = runner.invoke(app, ["scenario", "run", "lull", "--origin", origin])
    assert ran.exit_code == 0, ran.output
    compared = runner.invoke(app, ["scenario", "compare", "lull", "--origin", origin])
    assert compared.exit_code == 0 and "planned_quantity" in compared.output, compared.output
    with psycopg.connect(weekly_plan["url"]) as conn:
        delta = conn.execute(
            "select delta from planning.scenario_totals where name = 'lull' and origin = %s"
            " and measure = 'planned_quantity'",
            [weekly_plan["origin"]],
        ).fetchone()[0]
    assert delta < 0  # half the demand plans less
    listed = runner.invoke(app, ["scenario", "list"])
    assert "lull" in listed.output


def test_alerts_are_listed_acknowledged_and_summarised_without_smtp(weekly_plan):
    origin = str(weekly_plan["origin"])
    runner = CliRunner()
    with psycopg.connect(weekly_plan["url"]) as conn:
        key = conn.execute(
            "select alert_key from planning.alerts where origin = %s order by alert_key limit 1",
            [weekly_plan["origin"]],
        ).fetchone()[0]
    listed = runner.invoke(app, ["alerts", "list", "--origin", origin, "--open"])
    assert listed.exit_code == 0, listed.output
    acked = runner.invoke(app, ["alerts", "ack", key, "--origin", origin, "--by", "ana"])
    assert acked.exit_code == 0 and "acknowledged 1 alert" in acked.output, acked.output

    from orchestration.definitions import defs
    from orchestration.defs.alerts.resources import AlertMailResource

    definitions = defs()
    schedule = definitions.resolve_schedule_def("daily_alert_summary_schedule")
    with dg.build_schedule_context(resources={"alert_mail": AlertMailResource()}) as context:
        tick = schedule.evaluate_tick(context)
    assert tick.skip_message and "FMRP_SMTP_HOST is not set" in tick.skip_message
    result = definitions.resolve_job_def("daily_alert_summary_job").execute_in_process(instance=weekly_plan["instance"])
    assert result.success
    with psycopg.connect(weekly_plan["url"]) as conn:
        row = conn.execute("select status, reason, open_alerts, origin from planning.alert_summaries").fetchone()
        total = conn.execute(
            "select count(*) from planning.alerts where origin = %s", [weekly_plan["origin"]]
        ).fetchone()
    assert row[0] == "not_sent" and "FMRP_SMTP_HOST" in row[1]
    assert row[2] == total[0] - 1 and row[3] == weekly_plan["origin"]
