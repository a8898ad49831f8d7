"""The alert of IN-9: no cash-closing email landed for a business day by the last retry (07:30 factory time)."""

from datetime import date

import dagster as dg
from pydantic import Field

from ingestion.imap import sales_landed
from ingestion.landing import ensure_raw_schema
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
    "and its retries at 06:30, 07:00 and 07:30 (cash_closing_email_schedule runs it then).",
)
def cash_closing_email_received(
    context: dg.AssetCheckExecutionContext, config: EmailReceivedConfig, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    day = date.fromisoformat(config.business_date)
    with warehouse.connect() as conn:
        ensure_raw_schema(conn)
        landed = sales_landed(conn, day)
    tried = ", ".join(config.attempts) or "(no attempt recorded)"
    if not landed:
        context.log.error(
            f"ALERT: no cash-closing email for {day} has landed; looked in {config.mailbox or 'the mailbox'} at "
            f"{tried}. Ask the finance team to send it, or drop the .eml into the inbox folder and run the partition."
        )
    return dg.AssetCheckResult(
        passed=landed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if landed else f"no cash-closing email for {day} by the last retry",
        metadata={
            "business_date": dg.MetadataValue.text(day.isoformat()),
            "attempts": dg.MetadataValue.text(tried),
            "mailbox": dg.MetadataValue.text(config.mailbox),
        },
    )
