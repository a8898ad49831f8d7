"""The daily alert summary at 07:30 (factory time), once the day's landing and the Monday plan are done."""

import datetime as dt

import dagster as dg

from fmrp.settings import get_settings
from orchestration.defs.alerts.assets import daily_alert_summary_job
from orchestration.defs.alerts.resources import AlertMailResource


@dg.schedule(
    name="daily_alert_summary_schedule",
    cron_schedule="30 7 * * *",
    job=daily_alert_summary_job,
    execution_timezone=get_settings().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Emails the daily summary of open alerts; skips, saying why, while FMRP_SMTP_* is not configured.",
)
def daily_alert_summary_schedule(context: dg.ScheduleEvaluationContext, alert_mail: AlertMailResource):
    missing = alert_mail.missing()
    if missing:
        return dg.SkipReason(missing)
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return dg.RunRequest(run_key=f"alert-summary-{scheduled.date().isoformat()}")
