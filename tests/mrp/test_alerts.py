"""Exceptions and alerts (PL-9): each alert type, stable keys, acknowledgements, the daily summary over real SMTP."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket

import polars as pl
import pytest
from aiosmtpd.controller import Controller

from mrp.alerts import (
    ALERT_COLUMNS,
    AlertDeliveryError,
    AlertInputError,
    SmtpConfig,
    acknowledge,
    daily_summary,
    failure_alerts,
    merge_acknowledgements,
    missing_email_alerts,
    plan_alerts,
    rejected_file_alerts,
    send_alerts,
    send_daily_summary,
)
from mrp.crp import capacity_requirements
from mrp.horizon import Horizon
from tests.mrp.plants import START, item, plan

WEEK1 = START + dt.timedelta(weeks=1)


def kinds(alerts: pl.DataFrame) -> list[tuple]:
    return alerts.select("alert_type", "severity", "sku", "bucket_start").rows()


def test_past_due_order_gives_past_due_and_stockout_and_the_safety_stock_dip_a_warning():
    # A: lead time two weeks, 8 needed in b1, nothing on hand: the order is past due and A runs out in b1.
    # B: on hand 10, safety stock 5, 6 needed in b0: its 1-unit order is past due; stock would be 4 < 5.
    # C: lead time one week, needed in b1: release this week.
    result = plan(
        [item("A", 10), item("B", 10, safety_stock_override=5.0), item("C", 5)],
        on_hand={"B": 10},
        demand=[("A", 1, 8), ("B", 0, 6), ("C", 1, 3)],
    )
    alerts = plan_alerts(result)
    assert tuple(alerts.columns) == ALERT_COLUMNS
    assert kinds(alerts) == [
        ("past_due", "critical", "B", START),
        ("past_due", "critical", "A", WEEK1),
        ("projected_stockout", "critical", "A", WEEK1),
        ("below_safety_stock", "warning", "B", START),
        ("urgent_release", "warning", "C", WEEK1),
    ]
    assert alerts.filter(pl.col("alert_type") == "projected_stockout")["value"].item() == -8.0


def test_capacity_forecast_and_pipeline_alerts():
    result = plan([item("A", 0, replenishment="make")], demand=[("A", 0, 45), ("A", 1, 60)])
    capacity = capacity_requirements(
        result.planned_orders,
        pl.DataFrame(
            {
                "sku": ["A"],
                "sequence": [1],
                "work_center_code": ["W"],
                "setup_minutes": [0.0],
                "run_minutes_per_unit": [60.0],
            }
        ),
        pl.DataFrame({"work_center_code": ["W"] * 6, "bucket": list(range(6)), "available_hours": [40.0] * 6}),
        Horizon.weekly(START, 6),
    )
    accuracy = pl.DataFrame(
        {
            "sku": ["A", "A", "A"],
            "bucket_start": [START, WEEK1, START],
            "actual": [140.0, 100.0, 0.0],
            "forecast": [100.0, 160.0, 0.0],
        }
    ).with_columns(pl.Series("sku", ["A", "B", "C"]))
    failures = pl.DataFrame(
        {"name": ["ingestion_job"], "failed_at": [dt.datetime(2026, 1, 6, 6, 0)], "error": ["IMAP login refused"]}
    )
    alerts = plan_alerts(result, capacity=capacity, forecast_accuracy=accuracy, failures=failures)
    assert kinds(alerts.filter(pl.col("alert_type") != "urgent_release")) == [
        ("capacity_overload", "critical", None, WEEK1),  # 60 h on 40 h: 150 %, subcontract
        ("pipeline_failure", "critical", None, dt.date(2026, 1, 6)),
        ("capacity_overload", "warning", None, START),  # 45 h on 40 h: 112.5 %, pull forward
        ("forecast_deviation", "warning", "A", START),  # 40 % off
        ("forecast_deviation", "warning", "B", WEEK1),  # 37.5 % off
    ]
    message = alerts.filter(pl.col("alert_type") == "pipeline_failure")["message"].item()
    assert "ingestion_job" in message and "IMAP login refused" in message


def test_the_same_condition_has_the_same_key_next_run_and_keeps_its_acknowledgement():
    items = [item("A", 10)]
    first = plan_alerts(plan(items, demand=[("A", 1, 8)]))
    key = first.filter(pl.col("alert_type") == "past_due")["alert_key"].item()
    assert key == f"past_due|A|{WEEK1.isoformat()}"
    at = dt.datetime(2026, 1, 5, 8, 0)
    acknowledged = acknowledge(first, [key], "carla", at)
    assert acknowledged.filter(pl.col("alert_key") == key).select("acknowledged", "acknowledged_by").row(0) == (
        True,
        "carla",
    )
    again = acknowledge(acknowledged, [key], "davi", at + dt.timedelta(hours=1))
    assert again.filter(pl.col("alert_key") == key)["acknowledged_by"].item() == "carla"  # the first one stays
    second_run = plan_alerts(plan(items, demand=[("A", 1, 8), ("A", 3, 2)]))
    merged = merge_acknowledgements(second_run, acknowledged)
    assert merged.filter(pl.col("alert_key") == key)["acknowledged_by"].item() == "carla"
    assert merged.filter(pl.col("alert_key") != key)["acknowledged"].sum() == 0
    with pytest.raises(AlertInputError, match=r"unknown alert key\(s\): \['nope'\]"):
        acknowledge(first, ["nope"], "carla", at)


def test_daily_summary_groups_open_alerts_by_severity():
    alerts = plan_alerts(plan([item("A", 10), item("C", 5)], demand=[("A", 1, 8), ("C", 1, 3)]))
    stockout = alerts.filter(pl.col("alert_type") == "projected_stockout")["alert_key"].item()
    alerts = acknowledge(alerts, [stockout], "carla", dt.datetime(2026, 1, 5, 8))
    subject, text, markup = daily_summary(alerts, dt.date(2026, 1, 5))
    assert subject == "[forecasting-mrp] 2026-01-05: 1 critical, 1 warning, 0 info"
    assert text.index("CRITICAL (1)") < text.index("WARNING (1)")
    assert "projected stock" not in text  # acknowledged
    assert "<h3>CRITICAL (1)</h3>" in markup


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_summary_is_delivered_over_smtp_as_text_and_html(smtp_server):
    controller, inbox = smtp_server
    alerts = plan_alerts(plan([item("A", 10)], demand=[("A", 1, 8)]))
    config = SmtpConfig(
        host="127.0.0.1",
        port=controller.port,
        sender="mrp@fabrica.com.br",
        recipients=("compras@fabrica.com.br", "pcp@fabrica.com.br"),
    )
    send_daily_summary(alerts, config, dt.date(2026, 1, 5))
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "mrp@fabrica.com.br"
    assert recipients == ["compras@fabrica.com.br", "pcp@fabrica.com.br"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "[forecasting-mrp] 2026-01-05: 2 critical, 0 warning, 0 info"
    assert (
        "A: order of 8.0 needed 2026-01-12 should already have been released"
        in message.get_body(("plain",)).get_content()
    )
    assert "<h3>CRITICAL (2)</h3>" in message.get_body(("html",)).get_content()


def test_an_unreachable_server_is_a_clear_delivery_error():
    port = free_port()  # nobody listens there
    config = SmtpConfig(host="127.0.0.1", port=port, sender="mrp@x", recipients=("a@x",), timeout=2)
    with pytest.raises(AlertDeliveryError, match=f"127.0.0.1:{port} failed"):
        send_daily_summary(plan_alerts(plan([item("A")])), config, dt.date(2026, 1, 5))
    with pytest.raises(AlertInputError, match="recipient"):
        SmtpConfig(host="h", port=25, sender="s")


def test_a_rejected_file_is_one_critical_alert_keyed_by_its_content():
    rejected = pl.DataFrame(
        {
            "entity": ["inventory", "sales"],
            "business_date": [dt.date(2026, 1, 5), dt.date(2026, 1, 5)],
            "file_name": ["estoque_20260105.csv", "fechamento.xlsx"],
            "file_sha256": ["ab" * 32, "cd" * 32],
            "error": [
                "estoque_20260105.csv: 3 of 10 rows bad: " + "row 1, column 'Saldo': 'x' is not a number; " * 20,
                None,
            ],
            "rows_rejected": [3, 0],
        }
    )
    alerts = rejected_file_alerts(rejected)
    assert tuple(alerts.columns) == ALERT_COLUMNS
    assert kinds(alerts) == [
        ("rejected_file", "critical", None, dt.date(2026, 1, 5)),
        ("rejected_file", "critical", None, dt.date(2026, 1, 5)),
    ]
    assert alerts["alert_key"].to_list() == [
        f"rejected_file|inventory|2026-01-05|{'ab' * 32}",
        f"rejected_file|sales|2026-01-05|{'cd' * 32}",
    ]
    first, second = alerts["message"].to_list()
    assert first.startswith("inventory file estoque_20260105.csv for 2026-01-05 was rejected, nothing of it landed")
    assert first.endswith("...") and len(first) < 520, "a long error is cut for the summary"
    assert second.endswith(": rejected")
    assert rejected_file_alerts(rejected).equals(alerts), "the same file gives the same key"
    with pytest.raises(AlertInputError, match="file_sha256"):
        rejected_file_alerts(rejected.drop("file_sha256"))


def test_a_missing_email_is_one_critical_alert_per_business_day():
    alerts = missing_email_alerts(
        [dt.date(2026, 1, 6), dt.date(2026, 1, 5), dt.date(2026, 1, 6)],
        mailbox="imaps://caixa@mail:993/INBOX",
        attempts=("06:00", "07:30"),
    )
    assert tuple(alerts.columns) == ALERT_COLUMNS
    assert kinds(alerts) == [
        ("missing_email", "critical", None, dt.date(2026, 1, 5)),
        ("missing_email", "critical", None, dt.date(2026, 1, 6)),
    ]
    assert alerts["alert_key"].to_list() == ["missing_email|2026-01-05", "missing_email|2026-01-06"]
    assert alerts["message"][0] == (
        "no cash-closing email for 2026-01-05 has landed by the last retry in imaps://caixa@mail:993/INBOX (looked at "
        "06:00, 07:30): ask the finance team to send it, or drop the .eml into the inbox email folder and run the "
        "day's raw/sales partition"
    )
    assert missing_email_alerts([dt.date(2026, 1, 5)])["message"][0].startswith(
        "no cash-closing email for 2026-01-05 has landed by the last retry: ask"
    )
    assert missing_email_alerts([]).is_empty()


def test_a_summary_note_goes_under_the_title():
    alerts = missing_email_alerts([dt.date(2026, 1, 5)])
    _, text, markup = daily_summary(alerts, dt.date(2026, 1, 6), note="No plan yet.")
    assert text.splitlines()[:2] == ["Open alerts on 2026-01-06: 1", "No plan yet."]
    assert "<h2>Open alerts on 2026-01-06: 1</h2><p>No plan yet.</p>" in markup


def test_alerts_that_cannot_wait_are_mailed_at_once(smtp_server):
    controller, inbox = smtp_server
    failures = pl.DataFrame(
        {"name": ["ingestion_job"], "failed_at": [dt.datetime(2026, 1, 6, 6, 0, 12)], "error": ["IMAP login refused"]}
    )
    alerts = failure_alerts(failures)
    assert alerts["alert_key"].to_list() == ["pipeline_failure|ingestion_job|2026-01-06"]
    config = SmtpConfig(host="127.0.0.1", port=controller.port, sender="mrp@fabrica.com.br", recipients=("pcp@x",))
    send_alerts(alerts, config, "pipeline failure: ingestion_job")
    [(_, _, content)] = inbox.messages
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "[forecasting-mrp] pipeline failure: ingestion_job"
    assert "ingestion_job failed at 2026-01-06 06:00: IMAP login refused" in message.get_body(("plain",)).get_content()
