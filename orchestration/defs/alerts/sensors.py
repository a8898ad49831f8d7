"""Run-failure alerts (OR-3, PL-9): every failed run of this code location is a ``pipeline_failure`` alert, mailed."""

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from fmrp.settings import get_settings
from mrp import store
from mrp.alerts import failure_alerts, send_alerts
from orchestration.defs.alerts.resources import AlertMailResource
from orchestration.defs.warehouse.resources import WarehouseResource

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo  # the type of a step failure's error; not public

_ERROR_CHARS = 600  # of the failed steps' errors in the alert: the exception, not the whole traceback


@dg.run_failure_sensor(
    name="pipeline_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each failed run of this code location as a critical pipeline_failure alert (one per job and "
    "day) in planning.pipeline_alerts, and mails it at once through FMRP_SMTP_* when that is configured.",
)
def pipeline_failure_sensor(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, alert_mail: AlertMailResource
) -> None:
    run = context.dagster_run
    name = _job_label(run)
    failures = pl.DataFrame(
        {"name": [name], "failed_at": [_failed_at(context)], "error": [_error(context)]},
        schema={"name": pl.String, "failed_at": pl.Datetime("us"), "error": pl.String},
    )
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        raised = store.record_pipeline_alerts(conn, failure_alerts(failures))
    if raised.is_empty():
        context.log.info(f"run {run.run_id} of {name}: its failure today is already an alert")
        return
    config = alert_mail.config()
    if config is None:
        context.log.warning(f"pipeline_failure alert for {name} recorded, not mailed: {alert_mail.missing()}")
        return
    # A delivery error fails this evaluation (visible on the sensor's tick); the alert is stored either way and the
    # daily summary carries it.
    send_alerts(raised, config, f"pipeline failure: {name}")
    context.log.info(f"pipeline_failure alert for {name} mailed to {', '.join(config.recipients)}")


def _job_label(run: dg.DagsterRun) -> str:
    """The job's name; a run launched from the asset graph (no named job) is named by the assets it materialized."""
    if not run.job_name.startswith("__ASSET_JOB"):
        return run.job_name
    keys = sorted(key.to_user_string() for key in run.asset_selection or [])
    return "materialization of " + (", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else ""))


def _failed_at(context: dg.RunFailureSensorContext) -> dt.datetime:
    """When the run ended, in factory time (its date is the alert's day), naive."""
    record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    ended = record.end_time if record and record.end_time else dt.datetime.now(dt.UTC).timestamp()
    zone = zoneinfo.ZoneInfo(get_settings().timezone)
    return dt.datetime.fromtimestamp(ended, zone).replace(tzinfo=None, microsecond=0)


def _error(context: dg.RunFailureSensorContext) -> str:
    """The innermost error of each failed step (what raised), else the run's failure message; then which run."""
    errors = [
        f"{event.step_key}: {_innermost(event.step_failure_data.error)}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    text = "; ".join(errors) or (context.failure_event.message or "the run failed")
    text = text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."
    partition = context.dagster_run.tags.get("dagster/partition")
    return f"{text} (run {context.dagster_run.run_id}{f', partition {partition}' if partition else ''})"


def _innermost(error: "SerializableErrorInfo") -> str:
    """What raised, as ``ValueError: ...`` (a ``dg.Failure`` by its message alone), without the module path."""
    while error.cause is not None:
        error = error.cause
    qualified, _, message = error.message.strip().partition(": ")
    if not message or not qualified.endswith(error.cls_name or "\0"):
        return error.message.strip()
    return message if error.cls_name == "Failure" else f"{error.cls_name}: {message}"
