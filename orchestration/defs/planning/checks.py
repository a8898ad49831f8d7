"""The plan's blocking checks: a plan that breaks one of them must not reach buyers and dashboards.

The same checks guard the weekly and the monthly plan (on each cadence's asset keys, :class:`Origins`). The rows
that break an invariant come from :mod:`mrp.invariants`; these functions only turn them into check specs and
results (with the first offending rows as metadata, so the UI says which item and bucket).
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from mrp.invariants import balance_violations, negative_quantity_violations, past_release_violations
from mrp.runs import OriginPlan
from orchestration.defs.forecasting.partitions import Origins

BALANCE_EQUATION = "balance_equation"
PAST_RELEASES_FLAGGED = "past_releases_flagged"
NO_NEGATIVE_QUANTITIES = "no_negative_quantities"
NO_NEGATIVE_CAPACITY = "no_negative_capacity"


def plan_check_specs(origins: Origins) -> list[dg.AssetCheckSpec]:
    """The blocking checks of a cadence's plan."""
    records, orders, capacity = (origins.key("planning", t) for t in ("mrp_records", "planned_orders", "capacity_load"))
    return [
        dg.AssetCheckSpec(
            BALANCE_EQUATION,
            asset=records,
            blocking=True,
            description="For every item and bucket: projected = projected before + scheduled + planned receipts"
            " - gross.",
        ),
        dg.AssetCheckSpec(
            PAST_RELEASES_FLAGGED,
            asset=orders,
            blocking=True,
            description="Planned releases before bucket 0 only on orders flagged past due, counted in bucket 0.",
        ),
        dg.AssetCheckSpec(
            NO_NEGATIVE_QUANTITIES,
            asset=orders,
            blocking=True,
            description="MRP record quantities >= 0; planned orders and purchase proposals > 0.",
        ),
        dg.AssetCheckSpec(
            NO_NEGATIVE_CAPACITY,
            asset=capacity,
            blocking=True,
            description="Load and capacity hours per work center and bucket >= 0.",
        ),
    ]


def _sample(frame: pl.DataFrame, limit: int = 20) -> str:
    return "; ".join(", ".join(str(v) for v in row) for row in frame.head(limit).iter_rows()) or "none"


def plan_check_results(result: OriginPlan, origins: Origins) -> Iterator[dg.AssetCheckResult]:
    """The results of :func:`plan_check_specs` for a plan."""
    records, orders, capacity = (origins.key("planning", t) for t in ("mrp_records", "planned_orders", "capacity_load"))
    plan = result.plan
    unbalanced = balance_violations(plan.records, plan.items)
    yield dg.AssetCheckResult(
        asset_key=records,
        check_name=BALANCE_EQUATION,
        passed=unbalanced.is_empty(),
        metadata={
            "rows_checked": dg.MetadataValue.int(plan.records.height),
            "violations": dg.MetadataValue.int(unbalanced.height),
            "first_violations": _sample(unbalanced),
        },
    )
    past = past_release_violations(plan.planned_orders, plan.records, result.horizon.bucket_starts[0])
    yield dg.AssetCheckResult(
        asset_key=orders,
        check_name=PAST_RELEASES_FLAGGED,
        passed=past.is_empty(),
        metadata={
            "past_due_orders": dg.MetadataValue.int(int(plan.planned_orders["is_past_due"].sum())),
            "violations": dg.MetadataValue.int(past.height),
            "first_violations": _sample(past),
        },
    )
    negative = negative_quantity_violations(plan.records, plan.planned_orders, result.capacity.load, result.proposals)
    planning_rows = negative.filter(pl.col("table") != "capacity_load")
    yield dg.AssetCheckResult(
        asset_key=orders,
        check_name=NO_NEGATIVE_QUANTITIES,
        passed=planning_rows.is_empty(),
        metadata={"violations": dg.MetadataValue.int(planning_rows.height), "first_violations": _sample(planning_rows)},
    )
    capacity_rows = negative.filter(pl.col("table") == "capacity_load")
    yield dg.AssetCheckResult(
        asset_key=capacity,
        check_name=NO_NEGATIVE_CAPACITY,
        passed=capacity_rows.is_empty(),
        metadata={"violations": dg.MetadataValue.int(capacity_rows.height), "first_violations": _sample(capacity_rows)},
    )
