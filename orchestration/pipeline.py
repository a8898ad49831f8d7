"""Run the whole asset graph in process (``fmrp demo``, tests): land a range of days, then build the warehouse."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.definitions import defs as load_defs


@dataclass
class PipelineReport:
    """What one pipeline run did."""

    run_ids: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    success: bool = True


def run_pipeline(
    first_day: date,
    last_day: date,
    *,
    instance: dg.DagsterInstance,
    raise_on_error: bool = True,
) -> PipelineReport:
    """Materialize the landing assets for ``first_day..last_day`` in one run, then the dbt models."""
    definitions = load_defs()
    report = PipelineReport()
    range_tags = {
        ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last_day.isoformat(),
    }
    for job_name, tags in (("ingestion_job", range_tags), ("warehouse_job", {})):
        started = time.perf_counter()
        result = definitions.resolve_job_def(job_name).execute_in_process(
            instance=instance, tags=tags, raise_on_error=raise_on_error
        )
        report.seconds[job_name] = time.perf_counter() - started
        report.run_ids.append(result.run_id)
        report.success = report.success and result.success
    return report
