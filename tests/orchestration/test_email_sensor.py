"""cash_closing_email_sensor and the IN-9 email schedules against a real dovecot and a real Dagster instance on
PostgreSQL: the requested runs are executed the way the daemon launches them (tagged with their run key)."""

from datetime import date, datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings
from ingestion.imap import QUARANTINED_KEYWORD, ImapCursor, run_key
from ingestion.mail import parse_email
from orchestration.defs.ingestion.checks import EMAIL_RECEIVED
from orchestration.defs.ingestion.resources import ImapResource
from orchestration.defs.warehouse.resources import WarehouseResource
from tests.factories import cash_closing
from tests.mrp.test_alerts import smtp_server  # noqa: F401  (the fixture)
from tests.peers.imap import running_dovecot

SENSOR = "cash_closing_email_sensor"
RESOURCES = {"imap": ImapResource(), "warehouse": WarehouseResource()}  # as registered by the code location
ZONE = ZoneInfo("America/Sao_Paulo")


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


@pytest.fixture
def mail(isolated_settings, monkeypatch):
    """A dovecot, the FMRP_IMAP_* settings pointing at it, and a Dagster instance on the isolated PostgreSQL."""
    with running_dovecot() as server:
        imap_env = {
            "FMRP_IMAP_HOST": "127.0.0.1",
            "FMRP_IMAP_PORT": str(server.port),
            "FMRP_IMAP_SECURITY": "none",
            "FMRP_IMAP_USER": server.user,
            "FMRP_IMAP_PASSWORD": server.password,
            "FMRP_TIMEZONE": "America/Sao_Paulo",
        }
        for key, value in imap_env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DAGSTER_HOME", "")
        monkeypatch.setenv(STORAGE_URL_ENV, "")
        get_settings.cache_clear()
        prepare_dagster_home()
        with dg.DagsterInstance.get() as instance:
            yield server, instance, isolated_settings["WAREHOUSE_URL"]


def email(day: date, *, message_id: str | None = None, quantity: int = 2) -> bytes:
    return cash_closing(
        day,
        f"{day:%d/%m/%Y};PA-1;Panela;{quantity};5;{5 * quantity}\n{day:%d/%m/%Y};PA-2;Tampa;1;3;3\n",
        message_id=message_id or f"<fechamento-{day:%Y%m%d}@financeiro>",
        sent=f"{day.day + 1:02d} {day:%b %Y} 07:00:00 -0300",
    )


def tick(definitions: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, sensor_name=SENSOR, resources=RESOURCES, definitions=definitions
    )
    return definitions.resolve_sensor_def(SENSOR).evaluate_tick(context)


def launch(definitions: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest, origin: str = SENSOR):
    """Execute a run request as the daemon does: the job, partition, config and selection, tagged with its run key."""
    job = definitions.resolve_job_def("ingestion_job")
    tags = {**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": origin}
    result = job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        run_config=request.run_config,
        asset_selection=request.asset_selection,
        tags=tags,
    )
    assert result.success
    return result


def batches(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select source, source_ref, business_date, status from raw.batches order by batch_id"
        ).fetchall()


def test_the_sensor_requests_each_days_partition_and_the_runs_land_and_file_the_emails(definitions, mail):
    server, instance, url = mail
    days = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    raws = [email(day) for day in days]
    other = bytes(cash_closing(days[0], "", message_id="<x@y>", sent="Wed, 03 Jan 2024 07:00:00 -0300"))
    server.append(*raws, other.replace(b"Fechamento de caixa", b"Convite: almoco"))

    first = tick(definitions, instance, None)
    assert [r.partition_key for r in first.run_requests] == [d.isoformat() for d in days]
    assert [r.run_key for r in first.run_requests] == [run_key(parse_email(raw)) for raw in raws]
    assert all(r.asset_selection == [dg.AssetKey(["raw", "sales"])] for r in first.run_requests)
    assert [r.run_key for r in tick(definitions, instance, None).run_requests] == [
        r.run_key for r in first.run_requests
    ], "run keys are stable"
    assert ImapCursor.from_json(first.cursor) == ImapCursor(ImapCursor.from_json(first.cursor).uidvalidity, 4)

    for request in first.run_requests:
        result = launch(definitions, instance, request)
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        assert checks == {"no_rejected_files": True, "no_rejected_rows": True}
    assert batches(url) == [("imap", f"<fechamento-{d:%Y%m%d}@financeiro>", d, "active") for d in days]
    assert len(server.message_ids("INBOX")) == 1, "only the other message stays"
    assert len(server.message_ids("Processed")) == 3

    again = tick(definitions, instance, first.cursor)
    assert again.run_requests == [] and again.skip_message

    server.append(raws[0])  # the same email delivered again
    redelivered = tick(definitions, instance, again.cursor)
    assert redelivered.run_requests == []
    assert len(server.message_ids("Processed")) == 4 and len(server.message_ids("INBOX")) == 1
    assert len(batches(url)) == 3

    corrected = email(days[1], message_id="<fechamento-20240103-2@financeiro>", quantity=9)
    server.append(corrected)
    resend = tick(definitions, instance, redelivered.cursor)
    [request] = resend.run_requests
    assert request.partition_key == "2024-01-03"
    launch(definitions, instance, request)
    assert [(b[1], b[3]) for b in batches(url) if b[2] == days[1]] == [
        ("<fechamento-20240103@financeiro>", "superseded"),
        ("<fechamento-20240103-2@financeiro>", "active"),
    ]
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "select quantity from raw.sales s join raw.batches b on b.batch_id = s._batch_id"
            " where b.status = 'active' and s.sku = 'PA-1' and b.business_date = '2024-01-03'"
        ).fetchall() == [(9,)]


def test_a_bad_email_is_landed_as_rejected_quarantined_and_fails_the_check(definitions, mail):
    server, instance, url = mail
    bad = dg_html_only(date(2024, 1, 3))
    server.append(bad)
    [request] = tick(definitions, instance, None).run_requests
    result = launch(definitions, instance, request)
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "no_rejected_files"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "no .xlsx or .csv attachment" in check.metadata["errors"].value
    assert batches(url) == [("imap", "<html@financeiro>", date(2024, 1, 3), "rejected")]
    [(message_id, flags), _note] = server.messages("Quarantine")
    assert message_id == "<html@financeiro>" and QUARANTINED_KEYWORD in flags
    assert server.message_ids("INBOX") == []


def dg_html_only(day: date) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = f"Fechamento de caixa {day:%d/%m/%Y}"
    msg["From"] = "Financeiro <financeiro@industria-exemplo.com.br>"
    msg["Date"] = "Thu, 04 Jan 2024 07:00:00 -0300"
    msg["Message-ID"] = "<html@financeiro>"
    msg.set_content("<p>Fechamento no link</p>", subtype="html")
    return bytes(msg)


def test_todays_email_waits_for_its_partition_and_an_impossible_date_is_quarantined(definitions, mail):
    server, instance, _ = mail
    today = datetime.now(ZONE).date()
    server.append(email(date(2024, 1, 2)), email(today), email(date(2019, 6, 3)), email(date(2024, 1, 5)))
    result = tick(definitions, instance, None)
    assert [r.partition_key for r in result.run_requests] == ["2024-01-02", "2024-01-05"]
    assert ImapCursor.from_json(result.cursor).last_uid == 1, "held before today's email (UID 2)"
    assert server.message_ids("Quarantine")[0] == "<fechamento-20190603@financeiro>"
    assert "<fechamento-20190603@financeiro>" not in server.message_ids("INBOX")


def test_a_server_down_fails_the_tick_and_the_next_one_takes_everything(definitions, mail):
    server, instance, _ = mail
    server.append(email(date(2024, 1, 2)))
    first = tick(definitions, instance, None)
    server.append(email(date(2024, 1, 3)))
    server.stop()
    with pytest.raises(Exception, match=r"failed after \d attempts"):
        tick(definitions, instance, first.cursor)
    server.start()
    [request] = tick(definitions, instance, first.cursor).run_requests
    assert request.partition_key == "2024-01-03"


def test_a_backlog_is_taken_a_few_emails_per_tick_in_uid_order_none_skipped_or_twice(definitions, mail, monkeypatch):
    server, instance, _ = mail
    monkeypatch.setenv("FMRP_IMAP_MAX_PER_TICK", "2")
    get_settings.cache_clear()
    days = [date(2024, 1, d) for d in (2, 3, 4, 5, 8)]
    other = email(days[0], message_id="<x@y>").replace(b"Fechamento de caixa", b"Convite: almoco")
    server.append(*(email(day) for day in days[:2]), other, *(email(day) for day in days[2:]))  # UIDs 1-6

    requested, cursor, ticks = [], None, 0
    while True:
        result = tick(definitions, instance, cursor)
        if not result.run_requests:
            break
        assert len(result.run_requests) <= 2
        requested += [r.partition_key for r in result.run_requests]
        cursor, ticks = result.cursor, ticks + 1
    assert ticks == 3
    assert requested == [day.isoformat() for day in days], "each email once, in UID order"
    assert ImapCursor.from_json(cursor).last_uid == 6


def test_without_a_host_the_sensor_skips_and_is_off_by_default(definitions, isolated_settings, monkeypatch):
    monkeypatch.delenv("FMRP_IMAP_HOST", raising=False)
    get_settings.cache_clear()
    sensor = definitions.resolve_sensor_def(SENSOR)
    with dg.DagsterInstance.ephemeral() as instance:
        result = tick(definitions, instance, None)
    assert result.run_requests == [] and result.skip_message == "FMRP_IMAP_HOST is not set"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert definitions.resolve_schedule_def("cash_closing_email_schedule").cron_schedule == "0,30 6-7 * * *"


def schedule_tick(definitions: dg.Definitions, name: str, instance: dg.DagsterInstance, at: datetime):
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        resources=RESOURCES,
        repository_def=definitions.get_repository_def(),
    )
    return definitions.resolve_schedule_def(name).evaluate_tick(context)


def test_the_email_check_retries_until_the_email_lands_then_the_alert_check_passes_or_fails(definitions, mail):
    server, instance, _ = mail
    friday = date(2024, 1, 5)  # checked on Saturday morning
    attempt = schedule_tick(
        definitions, "cash_closing_email_schedule", instance, datetime(2024, 1, 6, 6, 0, tzinfo=ZONE)
    )
    assert attempt.run_requests == [] and "no cash-closing email for 2024-01-05" in attempt.skip_message

    server.append(email(friday))  # arrives late; the sensor is off
    retry = schedule_tick(
        definitions, "cash_closing_email_schedule", instance, datetime(2024, 1, 6, 6, 30, tzinfo=ZONE)
    )
    [request] = retry.run_requests
    assert request.partition_key == "2024-01-05" and request.run_key.endswith(":retry-20240106T0630")
    launch(definitions, instance, request, origin="cash_closing_email_schedule")
    done = schedule_tick(definitions, "cash_closing_email_schedule", instance, datetime(2024, 1, 6, 7, 0, tzinfo=ZONE))
    assert done.run_requests == [] and "has landed" in done.skip_message

    weekend = schedule_tick(
        definitions, "cash_closing_email_schedule", instance, datetime(2024, 1, 8, 6, 0, tzinfo=ZONE)
    )
    assert "not a working day" in weekend.skip_message

    alert_job = definitions.resolve_job_def("cash_closing_email_alert_job")
    outcomes = {}
    for checked_on, day in ((datetime(2024, 1, 6, 7, 45, tzinfo=ZONE), "2024-01-05"),
                            (datetime(2024, 1, 10, 7, 45, tzinfo=ZONE), "2024-01-09")):  # fmt: skip
        [alert] = schedule_tick(definitions, "cash_closing_email_alert_schedule", instance, checked_on).run_requests
        result = alert_job.execute_in_process(instance=instance, run_config=alert.run_config)
        [evaluation] = result.get_asset_check_evaluations()
        assert evaluation.check_name == EMAIL_RECEIVED and evaluation.severity == dg.AssetCheckSeverity.ERROR
        outcomes[day] = evaluation.passed
    assert outcomes == {"2024-01-05": True, "2024-01-09": False}


def test_a_missing_email_is_one_critical_alert_mailed_at_once_and_a_landed_one_raises_none(
    definitions,
    mail,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    server, instance, url = mail
    controller, outbox = smtp_server
    smtp = {"HOST": "127.0.0.1", "PORT": str(controller.port), "SECURITY": "none", "RECIPIENTS": "pcp@fabrica.com.br"}
    for key, value in smtp.items():
        monkeypatch.setenv(f"FMRP_SMTP_{key}", value)
    get_settings.cache_clear()
    server.append(email(date(2024, 1, 4)))
    [request] = tick(definitions, instance, None).run_requests
    launch(definitions, instance, request)

    alert_job = definitions.resolve_job_def("cash_closing_email_alert_job")

    def check(checked_on: datetime) -> dg.AssetCheckEvaluation:
        [alert] = schedule_tick(definitions, "cash_closing_email_alert_schedule", instance, checked_on).run_requests
        [evaluation] = alert_job.execute_in_process(
            instance=instance, run_config=alert.run_config
        ).get_asset_check_evaluations()
        return evaluation

    landed = check(datetime(2024, 1, 5, 7, 45, tzinfo=ZONE))  # Thursday's email arrived
    assert landed.passed and missing_email_alerts(url) == [] and outbox.messages == []

    missing = check(datetime(2024, 1, 10, 7, 45, tzinfo=ZONE))  # Tuesday's never did
    assert not missing.passed
    [(key, kind, severity, day, message)] = missing_email_alerts(url)
    assert (key, kind, severity, day) == ("missing_email|2024-01-09", "missing_email", "critical", date(2024, 1, 9))
    assert f"in imap://{server.user}@127.0.0.1:{server.port}/INBOX" in message
    assert "(looked at 06:00, 06:30, 07:00, 07:30)" in message
    assert missing.metadata["alert"].value == "recorded and mailed to pcp@fabrica.com.br"
    [(_, recipients, content)] = outbox.messages
    sent = message_from_bytes(content, policy=policy.default)
    assert recipients == ["pcp@fabrica.com.br"]
    assert sent["Subject"] == "[forecasting-mrp] missing cash-closing email for 2024-01-09"
    assert (
        "no cash-closing email for 2024-01-09 has landed by the last retry" in sent.get_body(("plain",)).get_content()
    )

    again = check(datetime(2024, 1, 10, 7, 45, tzinfo=ZONE))  # the check evaluated again for the same day
    assert not again.passed and again.metadata["alert"].value.startswith("raised before")
    assert len(missing_email_alerts(url)) == 1 and len(outbox.messages) == 1


def missing_email_alerts(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('planning.pipeline_alerts')").fetchone() == (None,):
            return []
        return conn.execute(
            "select alert_key, alert_type, severity, bucket_start, message from planning.pipeline_alerts"
            " where alert_type = 'missing_email'"
        ).fetchall()
