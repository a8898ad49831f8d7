"""The alert of IN-9: no cash-closing email landed for a business day by the last retry (07:30 factory time)."""

from datetime import date

import dagster as dg
from pydantic import Field

from ingestion.imap import sales_landed
from ingestion.landing import ensure_raw_schema
from mrp import store
from mrp.alerts import AlertDeliveryError, missing_email_alerts, send_alerts
from orchestration.defs.alerts.resources import AlertMailResource
from orchestration.defs.ingestion.assets import MAILBOX
from orchestration.defs.warehouse.resources import WarehouseResource

EMAIL_RECEIVED = "cash_closing_email_received"


class EmailReceivedConfig(dg.Config):
    """Which business day to check, and what the retries saw (for the alert's text)."""

    business_date: str
    attempts: list[str] = Field(default_factory=list)
    mailbox: str = ""


@dg.asset_check(
    asset=MAILBOX,
    name=EMAIL_RECEIVED,
    description="Fails (ERROR) when no cash-closing email has landed for the business day after the 06:00 check "
    "and its retries at 06:30, 07:00 and 07:30 (cash_closing_email_schedule runs it then), and raises a critical "
    "missing_email alert in planning.pipeline_alerts (once per day), mailed at once through FMRP_SMTP_*.",
)
def cash_closing_email_received(
    context: dg.AssetCheckExecutionContext,
    config: EmailReceivedConfig,
    warehouse: WarehouseResource,
    alert_mail: AlertMailResource,
) -> dg.AssetCheckResult:
    day = date.fromisoformat(config.business_date)
    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        landed = sales_landed(conn, day)
    tried = ", ".join(config.attempts) or "(no attempt recorded)"
    alert = "" if landed else _raise_alert(context, warehouse, alert_mail, config, day)
    return dg.AssetCheckResult(
        passed=landed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if landed else f"no cash-closing email for {day} by the last retry",
        metadata={
            "business_date": dg.MetadataValue.text(day.isoformat()),
            "attempts": dg.MetadataValue.text(tried),
            "mailbox": dg.MetadataValue.text(config.mailbox),
            "alert": dg.MetadataValue.text(alert),
        },
    )


def _raise_alert(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    alert_mail: AlertMailResource,
    config: EmailReceivedConfig,
    day: date,
) -> str:
    """Record the day's missing_email alert and mail it at once if it is new (an alert raised before was mailed
    then); return what became of it."""
    alerts = missing_email_alerts([day], mailbox=config.mailbox, attempts=config.attempts)
    context.log.error(f"ALERT missing_email: {alerts['message'][0]}")
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        raised = store.record_pipeline_alerts(conn, alerts)
    if raised.is_empty():
        return "raised before (checked again for the same day)"
    smtp = alert_mail.config()
    if smtp is None:
        context.log.warning(f"missing_email alert for {day} recorded, not mailed: {alert_mail.missing()}")
        return f"recorded, not mailed: {alert_mail.missing()}"
    try:
        send_alerts(raised, smtp, f"missing cash-closing email for {day}")
    except AlertDeliveryError as error:
        # the check's verdict stands either way; the stored alert goes out with the next daily summary
        context.log.error(f"missing_email alert for {day} recorded, mailing it failed: {error}")
        return f"recorded, mailing it failed: {error}"
    context.log.info(f"missing_email alert for {day} mailed to {', '.join(smtp.recipients)}")
    return f"recorded and mailed to {', '.join(smtp.recipients)}"
