"""pipeline_failure_sensor on a real Dagster instance (PostgreSQL): a failed run becomes one critical alert, mailed
once over a real SMTP server (aiosmtpd), however often the sensor sees the failure; and the daily summary mails the
pipeline's alerts before any plan exists."""

import datetime as dt
import email
import email.policy

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings
from mrp import store
from mrp.alerts import missing_email_alerts
from mrp.runs import NO_PLAN_NOTE, deliver_daily_summary
from orchestration.defs.alerts.resources import AlertMailResource
from orchestration.defs.ingestion.checks import cash_closing_email_received
from orchestration.defs.warehouse.resources import WarehouseResource
from tests.mrp.test_alerts import smtp_server  # noqa: F401  (the fixture)

SENSOR = "pipeline_failure_sensor"
RESOURCES = {"warehouse": WarehouseResource(), "alert_mail": AlertMailResource()}  # as the code location has them
BAD_CHECK_CONFIG = {"ops": {cash_closing_email_received.node_def.name: {"config": {"business_date": "yesterday"}}}}


@pytest.fixture
def instance(isolated_settings, monkeypatch, smtp_server):  # noqa: F811
    controller, inbox = smtp_server
    smtp = {
        "FMRP_SMTP_HOST": "127.0.0.1",
        "FMRP_SMTP_PORT": str(controller.port),
        "FMRP_SMTP_SECURITY": "none",
        "FMRP_SMTP_RECIPIENTS": "pcp@fabrica.com.br",
    }
    for key, value in smtp.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    get_settings.cache_clear()
    prepare_dagster_home()
    with dg.DagsterInstance.get() as dagster_instance:
        yield dagster_instance, inbox, isolated_settings["WAREHOUSE_URL"]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def tick(definitions: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, sensor_name=SENSOR, resources=RESOURCES, definitions=definitions
    )
    return definitions.resolve_sensor_def(SENSOR).evaluate_tick(context)


def alerts(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select alert_key, alert_type, severity, message from planning.pipeline_alerts").fetchall()


def test_a_failed_run_is_one_critical_alert_mailed_once(definitions, instance):
    dagster_instance, inbox, url = instance
    sensor = definitions.resolve_sensor_def(SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    start = tick(definitions, dagster_instance, None)  # the first tick only places the cursor, as the daemon's does
    assert start.skip_message and start.skip_message.startswith(f"Initiating {SENSOR}")

    # a real job that fails: the email check given a business date that is no date
    failed = definitions.resolve_job_def("cash_closing_email_alert_job").execute_in_process(
        instance=dagster_instance, run_config=BAD_CHECK_CONFIG, raise_on_error=False
    )
    assert not failed.success

    seen = tick(definitions, dagster_instance, start.cursor)
    assert seen.cursor != start.cursor
    [(key, kind, severity, message)] = alerts(url)
    assert (kind, severity) == ("pipeline_failure", "critical")
    assert key.startswith("pipeline_failure|cash_closing_email_alert_job|")
    assert "ValueError: Invalid isoformat string: 'yesterday'" in message and failed.run_id in message
    assert len(inbox.messages) == 1
    mail = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    assert mail["Subject"] == "[forecasting-mrp] pipeline failure: cash_closing_email_alert_job"
    assert "Invalid isoformat string" in mail.get_body(("plain",)).get_content()

    again = tick(definitions, dagster_instance, start.cursor)  # the same failure seen twice (a tick retried)
    assert again.cursor == seen.cursor
    assert len(alerts(url)) == 1 and len(inbox.messages) == 1
    assert tick(definitions, dagster_instance, seen.cursor).cursor == seen.cursor  # nothing new


def test_before_any_plan_the_daily_summary_mails_the_pipeline_alerts(definitions, instance):
    dagster_instance, inbox, url = instance
    with psycopg.connect(url, autocommit=True) as conn:
        store.ensure_schema(conn)  # the planning tables, empty: no plan has run
        assert deliver_daily_summary(conn, None, dt.date(2024, 1, 9), None, not_sent_reason="no SMTP") == (
            "not_sent",
            "[forecasting-mrp] 2024-01-09: 0 critical, 0 warning, 0 info",
        )
        conn.execute("delete from planning.alert_summaries")
        store.record_pipeline_alerts(conn, missing_email_alerts([dt.date(2024, 1, 9)]))

    result = definitions.resolve_job_def("daily_alert_summary_job").execute_in_process(instance=dagster_instance)

    assert result.success
    [materialization] = result.asset_materializations_for_node("alerts__daily_summary")
    assert materialization.metadata["origin"].value == "no plan yet"
    [(_, recipients, content)] = inbox.messages
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert recipients == ["pcp@fabrica.com.br"]
    assert mail["Subject"].endswith(": 1 critical, 0 warning, 0 info")
    text = mail.get_body(("plain",)).get_content()
    assert NO_PLAN_NOTE in text and "[missing_email] no cash-closing email for 2024-01-09" in text
    assert "<p>No plan yet: " in mail.get_body(("html",)).get_content()
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "select origin, status, open_alerts, critical from planning.alert_summaries"
        ).fetchall() == [(None, "sent", 1, 1)]
