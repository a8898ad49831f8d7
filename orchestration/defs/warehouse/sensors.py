"""The warehouse follows the landing: every successful ingestion run is followed by a dbt build."""

import dagster as dg

from orchestration.defs.ingestion.schedules import ingestion_job
from orchestration.defs.warehouse.assets import warehouse_job


@dg.run_status_sensor(
    name="warehouse_after_landing_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingestion_job],
    request_job=warehouse_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs warehouse_job (dbt build) after each successful ingestion_job run.",
)
def warehouse_after_landing_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}")
