"""The daily alert summary: the latest plan's open alerts with the pipeline's, by severity, mailed once a day (PL-9).

Before the first plan the summary still goes out, with the pipeline's alerts (failed runs, rejected files, missing
cash-closing emails) and a line saying there is no plan yet: those are the alerts that matter most while setting up.
"""

import datetime as dt
import zoneinfo

import dagster as dg

from fmrp.settings import get_settings
from mrp import store
from mrp.alerts import AlertDeliveryError
from mrp.runs import deliver_daily_summary
from orchestration.defs.alerts.resources import AlertMailResource
from orchestration.defs.warehouse.resources import WarehouseResource

DAILY_SUMMARY_KEY = dg.AssetKey(["alerts", "daily_summary"])


@dg.asset(
    key=DAILY_SUMMARY_KEY,
    group_name="alerts",
    kinds={"python", "postgres", "email"},
    owners=["team:planning"],
    deps=[dg.AssetKey(["planning", "alerts"])],
)
def daily_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource, alert_mail: AlertMailResource):
    """One row per day in ``planning.alert_summaries``: the open (unacknowledged) alerts of the latest plan and of
    the pipeline by severity (before the first plan, the pipeline's alone), emailed through SMTP when
    ``FMRP_SMTP_*`` is configured, else recorded as not sent with the reason."""
    day = dt.datetime.now(zoneinfo.ZoneInfo(get_settings().timezone)).date()
    config, missing = alert_mail.config(), alert_mail.missing()
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        origin = store.latest_origin(conn)
        if origin is None:
            context.log.info("no plan yet: the summary lists the pipeline's alerts only")
        try:
            status, subject = deliver_daily_summary(conn, origin, day, config, not_sent_reason=missing)
        except AlertDeliveryError as error:
            raise dg.Failure(str(error)) from error
    context.log.info(f"{subject}: {status}")
    return dg.MaterializeResult(
        metadata={
            "day": str(day),
            "origin": str(origin) if origin else "no plan yet",
            "status": status,
            "subject": subject,
            "reason": missing,
        }
    )


daily_alert_summary_job = dg.define_asset_job(
    "daily_alert_summary_job",
    selection=dg.AssetSelection.assets(DAILY_SUMMARY_KEY),
    description="Email the open alerts of the latest plan and the pipeline (or record why not).",
)
