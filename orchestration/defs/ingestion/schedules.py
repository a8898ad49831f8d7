"""The daily landing job and its schedule: at 06:00 (factory time) the previous day's partition; the email check of
IN-9 (06:00, retries at 06:30, 07:00 and 07:30, then the alert at 07:45)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from fmrp.settings import get_settings
from ingestion.imap import email_expected, pending_emails, sales_landed
from ingestion.landing import ensure_raw_schema
from orchestration.defs.ingestion.assets import imap_run_request
from orchestration.defs.ingestion.checks import cash_closing_email_received
from orchestration.defs.ingestion.partitions import daily_partitions
from orchestration.defs.ingestion.resources import ImapResource
from orchestration.defs.warehouse.resources import WarehouseResource

EMAIL_ATTEMPTS = ("06:00", "06:30", "07:00", "07:30")
IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}

ingestion_job = dg.define_asset_job(
    "ingestion_job",
    # the email alert check runs on its own (cash_closing_email_alert_job), never inside a landing run
    selection=dg.AssetSelection.groups("ingestion") - dg.AssetSelection.checks(cash_closing_email_received),
    partitions_def=daily_partitions,
    description="Land the day's source files (email and ERP exports) into the raw tables.",
)

daily_ingestion_schedule = dg.build_schedule_from_partitioned_job(
    ingestion_job,
    hour_of_day=6,
    minute_of_hour=0,
    name="daily_ingestion_schedule",
    description="Lands yesterday's files at 06:00; warehouse_after_landing_sensor then builds the warehouse.",
)

cash_closing_email_alert_job = dg.define_asset_job(
    "cash_closing_email_alert_job",
    selection=dg.AssetSelection.checks(cash_closing_email_received),
    description="Checks that the day's cash-closing email has landed; a failed check is the alert.",
)


def run_key_status(instance: dg.DagsterInstance, run_key: str) -> dg.DagsterRunStatus | None:
    """The status of the newest run launched for ``run_key`` (the daemon tags each sensor/schedule run with it)."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    return records[0].dagster_run.status if records else None


def _email_day(context: dg.ScheduleEvaluationContext) -> tuple[date, datetime]:
    """The business day an email check is about (yesterday, factory time) and the local time of the tick."""
    zone = ZoneInfo(get_settings().timezone)
    scheduled = (context.scheduled_execution_time or datetime.now(zone)).astimezone(zone)
    return scheduled.date() - timedelta(days=1), scheduled


def _imap_status() -> dg.DefaultScheduleStatus:
    configured = bool(get_settings().imap_host)
    return dg.DefaultScheduleStatus.RUNNING if configured else dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    name="cash_closing_email_schedule",
    cron_schedule="0,30 6-7 * * *",
    job=ingestion_job,
    execution_timezone=get_settings().timezone,
    default_status=_imap_status(),
    description="IN-9: at 06:00, 06:30, 07:00 and 07:30 (factory time), if yesterday's cash-closing email has not "
    "landed, looks for it in the whole mailbox and requests its landing; cash_closing_email_alert_schedule alerts "
    "at 07:45 if it still has not.",
)
def cash_closing_email_schedule(
    context: dg.ScheduleEvaluationContext, imap: ImapResource, warehouse: WarehouseResource
) -> list[dg.RunRequest] | dg.SkipReason:
    if imap.get_config() is None:
        return dg.SkipReason("FMRP_IMAP_HOST is not set")
    day, tick = _email_day(context)
    attempt = f"{tick:%H:%M}"
    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        if not email_expected(conn, day):
            return dg.SkipReason(f"{day} is not a working day: no cash-closing email is due")
        if sales_landed(conn, day):
            return dg.SkipReason(f"the cash-closing email for {day} has landed")
    with imap.open() as mailbox:
        _, pending = pending_emails(mailbox, None)  # the whole mailbox: the sensor's cursor may be past it
    waiting = [p for p in pending if p.business_date == day]
    if any(run_key_status(context.instance, p.run_key) in IN_FLIGHT for p in waiting):
        return dg.SkipReason(f"the landing of {day}'s email is running")
    if not waiting:
        return dg.SkipReason(f"no cash-closing email for {day} in the mailbox yet (attempt at {attempt})")
    context.log.info(f"attempt {attempt}: landing {len(waiting)} waiting email(s) for {day}")
    return [imap_run_request(p, f"{p.run_key}:retry-{tick:%Y%m%dT%H%M}") for p in waiting]


@dg.schedule(
    name="cash_closing_email_alert_schedule",
    cron_schedule="45 7 * * *",
    job=cash_closing_email_alert_job,
    execution_timezone=get_settings().timezone,
    default_status=_imap_status(),
    description="IN-9's alert: after the last retry (07:30), the check cash_closing_email_received fails (ERROR) "
    "when yesterday's cash-closing email has not landed, and raises a critical missing_email alert (mailed at once).",
)
def cash_closing_email_alert_schedule(
    context: dg.ScheduleEvaluationContext, imap: ImapResource, warehouse: WarehouseResource
) -> dg.RunRequest | dg.SkipReason:
    config = imap.get_config()
    if config is None:
        return dg.SkipReason("FMRP_IMAP_HOST is not set")
    day, _ = _email_day(context)
    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        if not email_expected(conn, day):
            return dg.SkipReason(f"{day} is not a working day: no cash-closing email is due")
    check_config = {"business_date": day.isoformat(), "attempts": list(EMAIL_ATTEMPTS), "mailbox": config.describe()}
    return dg.RunRequest(
        run_key=f"cash-closing-email-check-{day.isoformat()}",
        run_config={"ops": {cash_closing_email_received.node_def.name: {"config": check_config}}},
        tags={"fmrp/business_date": day.isoformat()},
    )
