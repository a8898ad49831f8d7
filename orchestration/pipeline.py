"""Run the whole asset graph in process (``fmrp demo``, tests): land the inbox's days, then build the warehouse.

Landing is a backfill of the daily partitions that have files. Each raw asset is materialized over the ranges of
days on which its files arrive (gaps of up to a week are bridged, so weekly exports make one range): three years of
daily emails are one single-run backfill, a quarterly master-data export is a run of its own day. Partitions
without any file stay unmaterialized, which is what the UI should show.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from ingestion.landing import InboxFile
from orchestration.definitions import defs as load_defs

BRIDGED_GAP = timedelta(days=7)
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class PipelineReport:
    """What one pipeline run did."""

    run_ids: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    success: bool = True


def day_ranges(days: Iterable[date], gap: timedelta = BRIDGED_GAP) -> list[tuple[date, date]]:
    """Sorted days -> ranges, a new range wherever two consecutive days are more than ``gap`` apart."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] <= gap:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def landing_runs(files: Iterable[InboxFile]) -> dict[tuple[date, date], list[dg.AssetKey]]:
    """Which raw assets to materialize over which partition range."""
    days: dict[str, set[date]] = defaultdict(set)
    for item in files:
        if item.entity and item.business_date:
            days[item.entity].add(item.business_date)
    runs: dict[tuple[date, date], list[dg.AssetKey]] = defaultdict(list)
    for entity, entity_days in sorted(days.items()):
        for span in day_ranges(entity_days):
            runs[span].append(dg.AssetKey(["raw", entity]))
    return dict(sorted(runs.items()))


def _pooled(instance: dg.DagsterInstance) -> None:
    # dagster-postgres opens a new connection per event by default; a backfill of years writes tens of thousands of
    # events from this one process, so keep a small pool (as the webserver does).
    for storage in (instance.event_log_storage, instance.run_storage):
        optimize = getattr(storage, "optimize_for_webserver", None)
        if optimize is not None:
            optimize(statement_timeout=0, pool_recycle=3600, max_overflow=5)


def _execute(report: PipelineReport, job: dg.JobDefinition, **kwargs: object) -> None:
    """Run one job in process and add its run, time and outcome to the report."""
    started = time.perf_counter()
    result = job.execute_in_process(run_config=QUIET, **kwargs)  # type: ignore[arg-type]
    report.seconds[job.name] += time.perf_counter() - started
    report.run_ids.append(result.run_id)
    report.success = report.success and result.success


def run_pipeline(
    files: Iterable[InboxFile],
    *,
    instance: dg.DagsterInstance,
    raise_on_error: bool = True,
) -> PipelineReport:
    """Land the given inbox files through the ingestion assets, then ``dbt build`` through the warehouse assets."""
    definitions = load_defs()
    _pooled(instance)
    report = PipelineReport()
    ingestion_job = definitions.resolve_job_def("ingestion_job")
    for (first, last), keys in landing_runs(files).items():
        tags = {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}
        _execute(
            report, ingestion_job, instance=instance, asset_selection=keys, tags=tags, raise_on_error=raise_on_error
        )
    warehouse_job = definitions.resolve_job_def("warehouse_job")
    _execute(report, warehouse_job, instance=instance, raise_on_error=raise_on_error)
    return report


# --- the weekly forecast and plan (issue 5) ------------------------------------------------------------------------


def latest_origin_week(warehouse_url: str) -> date:
    """The origin a plan run "now" stands at: the last complete week of the demand mart that is a partition."""
    import psycopg

    from orchestration.defs.forecasting.partitions import weekly_origins

    with psycopg.connect(warehouse_url) as conn:
        row = conn.execute("select max(week_start) from marts.demand_weekly where is_complete_week").fetchone()
    if row is None or row[0] is None:
        raise RuntimeError("marts.demand_weekly has no complete week: land sales and build the warehouse first")
    last_partition = weekly_origins.get_last_partition_key()
    latest: date = row[0]
    if last_partition is not None:
        latest = min(latest, date.fromisoformat(last_partition))
    return latest - timedelta(days=latest.weekday())


def run_weekly_plan(
    origin: date, *, instance: dg.DagsterInstance, raise_on_error: bool = True, report: PipelineReport | None = None
) -> PipelineReport:
    """Forecast the origin week and plan from it: ``weekly_plan_job`` (forecasting + planning) for its partition."""
    definitions = load_defs()
    _pooled(instance)
    report = report or PipelineReport()
    job = definitions.resolve_job_def("weekly_plan_job")
    _execute(report, job, instance=instance, partition_key=origin.isoformat(), raise_on_error=raise_on_error)
    return report
