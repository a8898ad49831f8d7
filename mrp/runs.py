"""One plan origin end to end: what the weekly and monthly Dagster assets, the CLI and the dashboards call.

- :func:`load_plan_inputs` reads the marts and the origin's selected volume forecast into :class:`PlanInputs`.
- :func:`plan_origin` runs MPS -> inventory policy -> MRP -> pegging -> CRP -> action messages -> shortage
  reasons -> purchase proposals -> alerts on those frames (pure: no database) and returns an
  :class:`OriginPlan` whose :meth:`OriginPlan.tables` are shaped as the ``planning`` tables.
- :func:`store_plan` writes a plan, carrying the proposal decisions and alert acknowledgements of earlier runs
  over by their stable keys.
- Proposal decisions (:func:`approve_proposals`, :func:`reject_proposals`, :func:`export_origin_proposals`),
  alert acknowledgements (:func:`acknowledge_alerts`), scenarios (:func:`save_scenario`,
  :func:`run_stored_scenario`) and the daily summary (:func:`deliver_daily_summary`) work on the stored tables.

Buckets are weeks (``freq="W"``, the default) or months (``freq="M"``, PRODUCT §1). The origin is the first
day of the last bucket of history (the forecast's origin: a Monday, or the first of a month); the plan's bucket 0
is the bucket after it, whose first day is also the "today" of priorities and alerts. Weekly and monthly plans
of the same origin are stored apart (the plan tables are keyed by ``origin`` and ``freq``), and everything that
reads a stored plan (proposals, alerts, scenarios) takes the ``freq`` it reads (``"W"`` by default). A monthly
plan's alerts speak of months and carry their own keys (:func:`mrp.alerts.plan_alerts` with ``freq``), so
acknowledging a weekly alert never silences a monthly one of the same date.

A plan stands on its *as-of date*, the day before bucket 0 (:mod:`mrp.asof`): stock, open orders and firm
orders are the latest snapshot on or before it, items and supplier terms the dbt snapshot versions valid then,
so a backfilled week is planned as it would have been that Monday. Where no history covers the date the
current marts are read, a warning is logged and :attr:`PlanInputs.history_gaps` names them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import psycopg

from forecasting.data import Freq, shift_buckets
from mrp import store
from mrp.actions import action_messages
from mrp.alerts import SEVERITIES, SmtpConfig, acknowledge, daily_summary, plan_alerts, send_daily_summary
from mrp.asof import CUSTOMER_ORDERS, INVENTORY, ITEM_SUPPLIERS, ITEMS, SCHEDULED_RECEIPTS, AsOfReader, as_of_date
from mrp.crp import CapacityPlan, capacity_requirements
from mrp.engine import CostDefaults, MrpPlan, run_mrp
from mrp.horizon import Horizon
from mrp.mps import master_production_schedule
from mrp.pegging import peg
from mrp.policy import SERVICE_LEVELS, inventory_policy
from mrp.purchasing import approve, export_proposals, purchase_proposals, reject
from mrp.reasons import shortage_reasons
from mrp.scenarios import Scenario, ScenarioResult, compare, run_scenario

#: Buckets in a year: the demand history behind the classical safety stock (mean and standard deviation per
#: bucket), and what a year's holding cost is spread over.
BUCKETS_PER_YEAR: dict[str, int] = {"W": 52, "M": 12}
#: The demand mart and its bucket column per frequency.
DEMAND_MARTS: dict[str, tuple[str, str]] = {
    "W": ("marts.demand_weekly", "week_start"),
    "M": ("marts.demand_monthly", "month_start"),
}
QUANTILES: tuple[str, ...] = ("p10", "p25", "p50", "p75", "p90")


class PlanInputError(RuntimeError):
    """The warehouse lacks what a plan needs (no forecast for the origin, no items), said in planner's words."""


class DecisionError(ValueError):
    """A proposal decision or alert acknowledgement that names unknown proposals or alerts."""


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """Everything a plan reads, as frames with the marts' column names.

    Attributes:
        origin: The forecast origin (first day of the last bucket of history).
        horizon: The plan's buckets: the weeks (or months, ``horizon.freq``) after the origin, working days from the
            factory calendar.
        items: The items planned (active ones and every component they need), with ``abc_class`` and
            ``lead_time_std_days``.
        bom_edges: BOM lines between planned items.
        inventory: ``sku``, ``nettable_on_hand``.
        scheduled_receipts: Open purchase and production orders (mart ``scheduled_receipts``).
        customer_orders: Firm customer orders (``sku``, ``due_week``, ``quantity``; optional ``due_date``, which
            places an order in its bucket when present).
        forecasts: The origin's selected volume forecast: ``sku``, ``bucket_start``, ``p10`` .. ``p90``.
        demand_stats: ``sku``, ``demand_mean``, ``demand_std`` per bucket over the last year of history.
        item_suppliers: Supplier terms; ``suppliers``: supplier header; ``routings``; ``capacity`` (mart
            ``work_center_capacity``); ``calendar`` (mart ``factory_calendar``).
        forecast_accuracy: The previous origin's forecast of the origin bucket against its actual demand
            (``sku``, ``bucket_start``, ``actual``, ``forecast``), for the forecast-deviation alerts.
        as_of: The date the positions and master data were read as of (None: frames built by hand).
        history_gaps: The sources no history covered at ``as_of``, read as they are today (:mod:`mrp.asof`).
    """

    origin: dt.date
    horizon: Horizon
    items: pl.DataFrame
    bom_edges: pl.DataFrame
    inventory: pl.DataFrame
    scheduled_receipts: pl.DataFrame
    customer_orders: pl.DataFrame
    forecasts: pl.DataFrame
    demand_stats: pl.DataFrame
    item_suppliers: pl.DataFrame
    suppliers: pl.DataFrame
    routings: pl.DataFrame
    capacity: pl.DataFrame
    calendar: pl.DataFrame
    forecast_accuracy: pl.DataFrame
    as_of: dt.date | None = None
    history_gaps: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class OriginPlan:
    """The plan of one origin: every step's result.

    Attributes:
        origin: The forecast origin.
        horizon: The buckets planned.
        mps: :func:`mrp.mps.master_production_schedule`.
        policy: :func:`mrp.policy.inventory_policy`.
        plan: :func:`mrp.engine.run_mrp`.
        pegs: :func:`mrp.pegging.peg`.
        capacity: :func:`mrp.crp.capacity_requirements`.
        actions: :func:`mrp.actions.action_messages`.
        shortages: :func:`mrp.reasons.shortage_reasons`.
        proposals: :func:`mrp.purchasing.purchase_proposals` with their stable ``proposal_key``.
        alerts: :func:`mrp.alerts.plan_alerts`.
    """

    origin: dt.date
    horizon: Horizon
    mps: pl.DataFrame
    policy: pl.DataFrame
    plan: MrpPlan
    pegs: pl.DataFrame
    capacity: CapacityPlan
    actions: pl.DataFrame
    shortages: pl.DataFrame
    proposals: pl.DataFrame
    alerts: pl.DataFrame

    def records(self) -> pl.DataFrame:
        """The MRP record with each item's safety stock (the ``mrp_records`` table)."""
        safety = self.plan.items.select("sku", "safety_stock")
        return self.plan.records.join(safety, on="sku", how="left", maintain_order="left")

    def tables(self) -> dict[str, pl.DataFrame]:
        """The frames of every plan table (:data:`mrp.store.PLAN_TABLES`), without the ``origin`` column."""
        return {
            "mps": self.mps.drop("quantity"),
            "inventory_policy": self.policy,
            "mrp_records": self.records(),
            "planned_orders": self.plan.planned_orders,
            "pegs": self.pegs,
            "action_messages": self.actions,
            "shortage_reasons": self.shortages,
            "capacity_load": self.capacity.load,
            "capacity_operations": self.capacity.operations,
            "purchase_proposals": self.proposals,
            "alerts": self.alerts,
        }


def plan_horizon(calendar: pl.DataFrame, origin: dt.date, buckets: int, freq: Freq = "W") -> Horizon:
    """The buckets after the origin bucket (weeks or months) with the factory calendar's working days."""
    return Horizon.from_factory_calendar(calendar, shift_buckets(origin, 1, freq), buckets, freq)


def bucket_costs(horizon: Horizon) -> CostDefaults:
    """The cost defaults of the MRP run and the policy for the horizon's buckets (a year's holding cost per bucket)."""
    return CostDefaults(buckets_per_year=float(BUCKETS_PER_YEAR[horizon.freq]))


def load_plan_inputs(conn: psycopg.Connection, origin: dt.date, horizon: int, *, freq: Freq = "W") -> PlanInputs:
    """Read the origin's forecast, and the positions and master data as of the plan's date (:mod:`mrp.asof`).

    Args:
        conn: A connection to the warehouse.
        origin: The forecast origin (a Monday; the first of a month for ``freq="M"``).
        horizon: Buckets to plan (``settings.horizon``).
        freq: ``"W"`` (weekly buckets and forecasts) or ``"M"`` (monthly).

    Raises:
        PlanInputError: No item, or no selected volume forecast of that frequency for the origin.
    """
    read = store.read_frame
    calendar = read(conn, "select calendar_date, is_working_day from marts.factory_calendar")
    calendar = calendar if calendar.height else pl.DataFrame(schema={"calendar_date": pl.Date, "is_working_day": bool})
    buckets = plan_horizon(calendar, origin, horizon, freq)
    forecasts = read(
        conn,
        "select sku, bucket_start, p10, p25, p50, p75, p90 from forecasting.forecasts"
        " where origin = %s and freq = %s and target = 'volume' and is_selected order by sku, bucket_start",
        [origin, freq],
    )
    if forecasts.is_empty():
        raise PlanInputError(
            f"no selected {'monthly' if freq == 'M' else 'weekly'} volume forecast for the origin {origin}:"
            " materialize forecasting/forecasts for that origin"
        )
    history = AsOfReader(conn, as_of_date(buckets.bucket_starts[0]))
    master = history.master_data(
        ITEMS,
        "sku, item_type, replenishment, lead_time_days, lot_size_rule, fixed_lot_qty::float8, min_lot::float8,"
        " max_lot::float8, lot_multiple::float8, safety_stock_override::float8, is_phantom, standard_cost::float8,"
        " is_active",
    )
    if master.is_empty():
        raise PlanInputError("marts.items is empty: land the item master and build the warehouse")
    edges = read(
        conn,
        "select parent_sku, component_sku, qty_per::float8, scrap_rate::float8, valid_from, valid_to"
        " from marts.bom_edges",
    )
    classes = read(
        conn,
        "select sku, abc as abc_class from forecasting.sku_classes where origin = %s and freq = %s",
        [origin, freq],
    ).cast({"sku": pl.String, "abc_class": pl.String})  # none classified at that frequency: the default class
    item_suppliers = history.master_data(
        ITEM_SUPPLIERS,
        "sku, supplier_code, lead_time_days::float8, lead_time_min_days, lead_time_max_days, unit_price::float8,"
        " moq::float8, order_multiple::float8, is_preferred",
    )
    items, edges = _planned_items(master, edges)
    items = _with_classes_and_lead_time_spread(items, classes, item_suppliers)
    planned = items.select("sku")
    demand, bucket = DEMAND_MARTS[freq]
    return PlanInputs(
        origin=origin,
        horizon=buckets,
        items=items,
        bom_edges=edges,
        inventory=history.positions(
            INVENTORY,
            "sku, coalesce(sum(on_hand) filter (where is_nettable), 0)::float8 as nettable_on_hand",
            group_by="sku",
        ).join(planned, on="sku", how="semi"),
        scheduled_receipts=history.positions(
            SCHEDULED_RECEIPTS,
            "order_type, order_number, line_number, sku, supplier_code, release_date, due_date, due_week,"
            " open_quantity::float8",
            where="open_quantity > 0",
        ).join(planned, on="sku", how="semi"),
        customer_orders=history.positions(
            CUSTOMER_ORDERS, "sku, due_week, due_date, quantity::float8", where="quantity > 0"
        ).join(planned, on="sku", how="semi"),
        forecasts=forecasts.join(planned, on="sku", how="semi"),
        demand_stats=_demand_stats(
            read(
                conn,
                f"select sku, volume::float8 from {demand} where {bucket} <= %s and {bucket} > %s",
                [origin, shift_buckets(origin, -BUCKETS_PER_YEAR[freq], freq)],
            )
        ),
        item_suppliers=item_suppliers.join(planned, on="sku", how="semi"),
        suppliers=read(conn, "select supplier_code, name, tax_id, payment_terms_days from marts.suppliers"),
        routings=read(
            conn,
            "select sku, sequence, work_center_code, setup_minutes::float8, run_minutes_per_unit::float8"
            " from marts.routings",
        ).join(planned, on="sku", how="semi"),
        capacity=read(
            conn,
            "select work_center_code, calendar_date, available_hours::float8 from marts.work_center_capacity"
            " where calendar_date >= %s",
            [origin],
        ),
        calendar=calendar,
        forecast_accuracy=read(
            conn,
            "select f.sku, f.bucket_start, coalesce(d.volume, 0)::float8 as actual, f.p50 as forecast"
            f" from forecasting.forecasts f left join {demand} d on d.sku = f.sku and d.{bucket} = f.bucket_start"
            " where f.origin = %s and f.freq = %s and f.bucket_start = %s and f.target = 'volume' and f.is_selected",
            [shift_buckets(origin, -1, freq), freq, origin],
        ),
        as_of=history.as_of,
        history_gaps=tuple(history.gaps),
    )


def plan_origin(
    inputs: PlanInputs,
    *,
    firm_horizon: int = 2,
    service_levels: Mapping[str, float] = SERVICE_LEVELS,
    quantile: str = "p50",
    deviation_threshold: float = 0.3,
) -> OriginPlan:
    """Plan one origin: MPS, policy, MRP, pegging, CRP, actions, reasons, proposals and alerts.

    Args:
        inputs: :func:`load_plan_inputs` (or frames built by hand with the same columns).
        firm_horizon: Buckets in which firm orders raise the forecast (``settings.firm_horizon``).
        service_levels: Service level per ABC class (``settings.service_levels()``).
        quantile: The forecast quantile the MPS plans on.
        deviation_threshold: Relative forecast error that raises a forecast-deviation alert.

    Returns:
        The plan of every step.
    """
    horizon = inputs.horizon
    mps, policy = schedule_and_policy(
        inputs, firm_horizon=firm_horizon, service_levels=service_levels, quantile=quantile
    )
    plan = run_mrp(
        inputs.items,
        inputs.bom_edges,
        inputs.inventory,
        _by_due_date(inputs.scheduled_receipts).select("sku", "due_week", "open_quantity"),
        mps,
        horizon,
        safety_stock=policy.select("sku", "safety_stock"),
        costs=bucket_costs(horizon),
    )
    capacity = capacity_requirements(
        plan.planned_orders, inputs.routings, inputs.capacity, horizon, released_orders=inputs.scheduled_receipts
    )
    actions = action_messages(plan, inputs.scheduled_receipts, horizon)
    proposals = purchase_proposals(
        plan.planned_orders,
        inputs.item_suppliers,
        horizon,
        suppliers=inputs.suppliers,
        items=inputs.items.select("sku", "lead_time_days"),
        calendar=inputs.calendar,
    )
    return OriginPlan(
        origin=inputs.origin,
        horizon=horizon,
        mps=mps,
        policy=policy,
        plan=plan,
        pegs=peg(plan, inputs.bom_edges, horizon),
        capacity=capacity,
        actions=actions,
        shortages=shortage_reasons(plan, actions=actions, capacity=capacity),
        proposals=with_proposal_keys(proposals),
        alerts=plan_alerts(
            plan,
            capacity=capacity,
            forecast_accuracy=inputs.forecast_accuracy,
            deviation_threshold=deviation_threshold,
            freq=horizon.freq,
        ),
    )


def schedule_and_policy(
    inputs: PlanInputs,
    *,
    firm_horizon: int = 2,
    service_levels: Mapping[str, float] = SERVICE_LEVELS,
    quantile: str = "p50",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The MPS (PL-1) and the inventory policy (PL-2) of an origin: what the MRP run and scenarios plan with."""
    forecasts = inputs.forecasts.rename({"bucket_start": "bucket"})
    mps = master_production_schedule(
        forecasts, _by_due_date(inputs.customer_orders), inputs.horizon, firm_horizon=firm_horizon, quantile=quantile
    )
    policy = inventory_policy(
        inputs.items,
        inputs.demand_stats,
        forecasts=forecasts,
        horizon=inputs.horizon,
        service_levels=service_levels,
        days_per_bucket=inputs.horizon.days_before,
        costs=bucket_costs(inputs.horizon),
    )
    return mps, policy


def _by_due_date(orders: pl.DataFrame) -> pl.DataFrame:
    """Orders bucketed by their due date when they have one: ``due_week`` is a Monday, which for an order due
    on the first days of a month lies in the month before (a weekly plan puts both in the same week)."""
    return orders.with_columns(pl.col("due_date").alias("due_week")) if "due_date" in orders.columns else orders


def with_proposal_keys(proposals: pl.DataFrame) -> pl.DataFrame:
    """Proposals with ``proposal_key`` first: ``sku|need_date|supplier|n``, stable from one run to the next.

    ``n`` (1, 2, ...) numbers the proposals of one item, need date and supplier in quantity order, so the
    pieces of a max-lot split keep distinct keys.
    """
    keyed = proposals.with_columns(
        pl.format(
            "{}|{}|{}|{}",
            "sku",
            pl.col("need_date").dt.to_string("%Y-%m-%d"),
            pl.col("supplier_code").fill_null("-"),
            pl.col("proposal_id").rank("ordinal").over("sku", "need_date", "supplier_code"),
        ).alias("proposal_key")
    )
    return keyed.select("proposal_key", *proposals.columns)


def store_plan(conn: psycopg.Connection, result: OriginPlan) -> dict[str, int]:
    """Write a plan (replacing the rows of its origin and frequency) with earlier decisions and acknowledgements.

    Returns:
        Rows written per table.
    """
    store.ensure_schema(conn)
    freq = result.horizon.freq
    decisions = store.read_frame(
        conn,
        "select proposal_key, status as _status, decided_by as _by, decided_at as _at, reject_reason as _reason"
        " from planning.proposal_decisions where origin = %s and freq = %s",
        [result.origin, freq],
    )
    proposals = result.proposals
    if decisions.height:
        proposals = (
            proposals.join(decisions, on="proposal_key", how="left", maintain_order="left")
            .with_columns(
                pl.coalesce("_status", "status").alias("status"),
                pl.coalesce("_by", "decided_by").alias("decided_by"),
                pl.coalesce(_naive_utc("_at"), "decided_at").alias("decided_at"),
                pl.coalesce("_reason", "reject_reason").alias("reject_reason"),
            )
            .select(proposals.columns)
        )
    acknowledged = store.read_frame(
        conn,
        "select alert_key, acknowledged_by as _by, acknowledged_at as _at from planning.alert_acknowledgements",
    )
    alerts = result.alerts
    if acknowledged.height:
        alerts = (
            alerts.join(acknowledged, on="alert_key", how="left", maintain_order="left")
            .with_columns(
                (pl.col("acknowledged") | pl.col("_by").is_not_null()).alias("acknowledged"),
                pl.coalesce("acknowledged_by", "_by").alias("acknowledged_by"),
                pl.coalesce("acknowledged_at", _naive_utc("_at")).alias("acknowledged_at"),
            )
            .select(alerts.columns)
        )
    tables = result.tables() | {"purchase_proposals": proposals, "alerts": alerts}
    return store.replace_plan(conn, result.origin, tables, freq=freq)


def read_proposals(
    conn: psycopg.Connection, origin: dt.date, *, status: str | None = None, freq: Freq = "W"
) -> pl.DataFrame:
    """The stored proposals of an origin's plan (with their decisions), by supplier, priority and need date."""
    query = "select * from planning.purchase_proposals where origin = %s and freq = %s"
    params: list[object] = [origin, freq]
    if status is not None:
        query += " and status = %s"
        params.append(status)
    frame = store.read_frame(conn, query + " order by supplier_code, priority, need_date, sku, proposal_id", params)
    return frame.drop("computed_at", "freq", strict=False).with_columns(_naive_utc("decided_at"))


def approve_proposals(
    conn: psycopg.Connection,
    origin: dt.date,
    proposal_ids: Iterable[int],
    by: str,
    at: dt.datetime | None = None,
    *,
    freq: Freq = "W",
) -> pl.DataFrame:
    """Approve proposals of an origin (by their ``proposal_id`` in the stored plan); the decision survives reruns.

    Returns:
        The decided proposals.

    Raises:
        mrp.purchasing.ProposalDecisionError: An id is unknown, already decided, or ``by`` is empty.
    """
    proposals = read_proposals(conn, origin, freq=freq)
    decided = approve(proposals, proposal_ids, by, at or _now())
    return _store_decisions(conn, origin, freq, proposals, decided)


def reject_proposals(
    conn: psycopg.Connection,
    origin: dt.date,
    proposal_ids: Iterable[int],
    by: str,
    reason: str,
    at: dt.datetime | None = None,
    *,
    freq: Freq = "W",
) -> pl.DataFrame:
    """Reject proposals of an origin with a reason; see :func:`approve_proposals`."""
    proposals = read_proposals(conn, origin, freq=freq)
    decided = reject(proposals, proposal_ids, by, at or _now(), reason)
    return _store_decisions(conn, origin, freq, proposals, decided)


def _store_decisions(
    conn: psycopg.Connection, origin: dt.date, freq: Freq, before: pl.DataFrame, after: pl.DataFrame
) -> pl.DataFrame:
    changed = after.filter(pl.col("status") != before["status"])
    with conn.transaction():
        for row in changed.iter_rows(named=True):
            conn.execute(
                "insert into planning.proposal_decisions (origin, freq, proposal_key, sku, supplier_code, need_date,"
                " quantity, status, decided_by, decided_at, reject_reason) values (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s)",
                [
                    origin,
                    freq,
                    row["proposal_key"],
                    row["sku"],
                    row["supplier_code"],
                    row["need_date"],
                    row["quantity"],
                    row["status"],
                    row["decided_by"],
                    _utc(row["decided_at"]),
                    row["reject_reason"],
                ],
            )
            conn.execute(
                "update planning.purchase_proposals set status = %s, decided_by = %s, decided_at = %s,"
                " reject_reason = %s where origin = %s and freq = %s and proposal_key = %s",
                [
                    row["status"],
                    row["decided_by"],
                    _utc(row["decided_at"]),
                    row["reject_reason"],
                    origin,
                    freq,
                    row["proposal_key"],
                ],
            )
    return changed


def export_origin_proposals(
    conn: psycopg.Connection, origin: dt.date, path: str | Path, *, only_approved: bool = True, freq: Freq = "W"
) -> int:
    """Write an origin's proposals (approved ones by default) as CSV or XLSX for the ERP; returns the count."""
    return export_proposals(read_proposals(conn, origin, freq=freq), path, only_approved=only_approved)


def read_alerts(
    conn: psycopg.Connection, origin: dt.date, *, open_only: bool = False, freq: Freq = "W"
) -> pl.DataFrame:
    """The stored alerts of an origin's weekly (or monthly: ``freq="M"``) plan with the pipeline's (``origin``
    null), the most severe first.

    The pipeline alerts (failed runs, rejected files) shown are the open ones and those raised since the origin.
    """
    store.ensure_schema(conn)  # a warehouse planned before pipeline_alerts existed
    columns = "alert_key, alert_type, severity, sku, work_center_code, bucket_start, value, message, acknowledged, "
    columns += "acknowledged_by, acknowledged_at"
    query = (
        f"select * from (select origin, {columns} from planning.alerts where origin = %s and freq = %s"
        f" union all select null::date, {columns} from planning.pipeline_alerts"
        " where not acknowledged or raised_at >= %s) alerts"
    ) + (" where not acknowledged" if open_only else "")
    order = " order by array_position(array['critical', 'warning', 'info'], severity), alert_type, bucket_start, sku"
    frame = store.read_frame(conn, query + order, [origin, freq, origin])
    return frame.with_columns(_naive_utc("acknowledged_at"))


def acknowledge_alerts(
    conn: psycopg.Connection,
    origin: dt.date,
    keys: Iterable[str],
    by: str,
    at: dt.datetime | None = None,
    *,
    freq: Freq = "W",
) -> int:
    """Acknowledge alerts of an origin's plan (``freq``); the acknowledgement holds for the same alert key in later
    plans (of that frequency: a monthly plan's keys are its own).

    Returns:
        The number of alerts newly acknowledged.

    Raises:
        mrp.alerts.AlertInputError: A key is not among the origin's alerts, or ``by`` is empty.
    """
    alerts = read_alerts(conn, origin, freq=freq)
    wanted = list(dict.fromkeys(keys))
    updated = acknowledge(alerts, wanted, by, at or _now())
    fresh = updated.filter(pl.col("acknowledged") & ~alerts["acknowledged"])
    with conn.transaction():
        for row in fresh.iter_rows(named=True):
            conn.execute(
                "insert into planning.alert_acknowledgements (alert_key, acknowledged_by, acknowledged_at)"
                " values (%s, %s, %s) on conflict (alert_key) do nothing",
                [row["alert_key"], row["acknowledged_by"], _utc(row["acknowledged_at"])],
            )
            for table in ("alerts", "pipeline_alerts"):
                conn.execute(
                    f"update planning.{table} set acknowledged = true, acknowledged_by = %s, acknowledged_at = %s"
                    " where alert_key = %s and not acknowledged",
                    [row["acknowledged_by"], _utc(row["acknowledged_at"]), row["alert_key"]],
                )
    return fresh.height


def deliver_daily_summary(
    conn: psycopg.Connection,
    origin: dt.date | None,
    day: dt.date,
    config: SmtpConfig | None,
    *,
    not_sent_reason: str = "",
    freq: Freq = "W",
) -> tuple[str, str]:
    """Send the day's summary of the origin's open alerts (or record why not) in ``planning.alert_summaries``.

    Args:
        conn: The warehouse.
        origin: The plan whose alerts are summarised; None before the first plan: the pipeline's open alerts
            alone, with :data:`NO_PLAN_NOTE` under the title, recorded without an origin.
        day: The day of the summary.
        config: Where to send it; None records the summary as ``not_sent`` with ``not_sent_reason``.
        not_sent_reason: Why there is no SMTP configuration.
        freq: The plan's buckets (``"W"`` or ``"M"``).

    Returns:
        ``(status, subject)``.

    Raises:
        mrp.alerts.AlertDeliveryError: The SMTP server could not be reached or refused (also recorded).
    """
    if origin is None:
        alerts, note = _open_pipeline_alerts(conn), NO_PLAN_NOTE
    else:
        alerts, note = read_alerts(conn, origin, freq=freq), ""
    subject, _, _ = daily_summary(alerts, day, note=note)
    counts = {s: alerts.filter(~pl.col("acknowledged") & (pl.col("severity") == s)).height for s in SEVERITIES}
    open_alerts = sum(counts.values())

    def record(status: str, reason: str | None, recipients: list[str]) -> None:
        conn.execute(
            "insert into planning.alert_summaries (day, origin, status, reason, subject, recipients, open_alerts,"
            " critical, warning) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [day, origin, status, reason, subject, recipients, open_alerts, counts["critical"], counts["warning"]],
        )

    if config is None:
        record("not_sent", not_sent_reason or "no SMTP configuration", [])
        return "not_sent", subject
    try:
        send_daily_summary(alerts, config, day, note=note)
    except Exception as error:
        record("not_sent", str(error), list(config.recipients))
        raise
    record("sent", None, list(config.recipients))
    return "sent", subject


def save_scenario(conn: psycopg.Connection, scenario: Scenario, created_by: str) -> None:
    """Store a scenario by name (replacing one of the same name; its earlier results are dropped with it)."""
    if not created_by or not created_by.strip():
        raise DecisionError("a scenario needs the name of who creates it")
    store.ensure_schema(conn)
    with conn.transaction():
        conn.execute("delete from planning.scenarios where name = %s", [scenario.name])
        conn.execute(
            "insert into planning.scenarios (name, description, definition, created_by) values (%s, %s, %s, %s)",
            [scenario.name, scenario.description, json.dumps(scenario.to_dict()), created_by.strip()],
        )


def load_scenario(conn: psycopg.Connection, name: str) -> Scenario:
    """The stored scenario called ``name``.

    Raises:
        DecisionError: No scenario has that name.
    """
    row = conn.execute("select definition from planning.scenarios where name = %s", [name]).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("select name from planning.scenarios order by name").fetchall()]
        raise DecisionError(f"no scenario named {name!r} (stored: {', '.join(known) or 'none'})")
    definition = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return Scenario.from_dict(definition)


def list_scenarios(conn: psycopg.Connection) -> pl.DataFrame:
    """The stored scenarios: ``name``, ``description``, ``created_by``, ``created_at``, ``definition`` (JSON text)."""
    store.ensure_schema(conn)
    return store.read_frame(
        conn, "select name, description, created_by, created_at, definition::text from planning.scenarios order by 1"
    )


def run_scenario_origin(
    scenario: Scenario, inputs: PlanInputs, policy: pl.DataFrame, mps: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the base plan and the scenario on the same inputs and compare them (per item, totals).

    The base plan's MPS, safety stocks and bucket costs are kept for both runs: the scenario changes demand, lead
    times or capacity, not the inventory policy the base plan was computed with.
    """
    receipts = _by_due_date(inputs.scheduled_receipts).select("sku", "due_week", "open_quantity")
    results: list[ScenarioResult] = [
        run_scenario(
            which,
            inputs.items,
            inputs.bom_edges,
            inputs.inventory,
            receipts,
            mps,
            inputs.horizon,
            classes=inputs.items.select("sku", "abc_class"),
            item_suppliers=inputs.item_suppliers,
            routings=inputs.routings,
            capacity=inputs.capacity,
            safety_stock=policy.select("sku", "safety_stock"),
            costs=bucket_costs(inputs.horizon),
        )
        for which in (Scenario("base"), scenario)
    ]
    return compare(results[0], results[1])


def run_stored_scenario(
    conn: psycopg.Connection,
    name: str,
    origin: dt.date,
    *,
    horizon: int,
    firm_horizon: int = 2,
    service_levels: Mapping[str, float] = SERVICE_LEVELS,
    freq: Freq = "W",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the stored scenario ``name`` against the base plan of ``origin`` (weekly, or monthly with ``freq="M"``)
    and store the comparison.

    Returns:
        ``(per_item, totals)`` as :func:`mrp.scenarios.compare` gives them.

    Raises:
        DecisionError: No scenario has that name.
        PlanInputError: The origin has no forecast.
    """
    scenario = load_scenario(conn, name)
    inputs = load_plan_inputs(conn, origin, horizon, freq=freq)
    mps, policy = schedule_and_policy(inputs, firm_horizon=firm_horizon, service_levels=service_levels)
    per_item, totals = run_scenario_origin(scenario, inputs, policy, mps)
    store_scenario_result(conn, name, origin, per_item, totals, freq=freq)
    return per_item, totals


def store_scenario_result(
    conn: psycopg.Connection,
    name: str,
    origin: dt.date,
    per_item: pl.DataFrame,
    totals: pl.DataFrame,
    *,
    freq: Freq = "W",
) -> None:
    """Replace the stored comparison of scenario ``name`` against the plan of ``origin`` and ``freq``."""
    where = {"name": name, "origin": origin, "freq": freq}
    store.replace_rows(conn, "scenario_results", per_item, where=where)
    store.replace_rows(conn, "scenario_totals", totals, where=where)


def read_scenario_result(
    conn: psycopg.Connection, name: str, origin: dt.date, *, freq: Freq = "W"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored comparison of a scenario against a plan: ``(per_item, totals)`` (empty when not run)."""
    per_item = store.read_frame(
        conn,
        "select * from planning.scenario_results where name = %s and origin = %s and freq = %s order by sku",
        [name, origin, freq],
    )
    totals = store.read_frame(
        conn,
        "select measure, base, scenario, delta from planning.scenario_totals where name = %s and origin = %s"
        " and freq = %s order by measure",
        [name, origin, freq],
    )
    return per_item.drop("computed_at", "freq", strict=False), totals


def _planned_items(master: pl.DataFrame, edges: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Active items plus every component they need (even an inactive one), and the BOM lines among them."""
    wanted = set(master.filter(pl.col("is_active").fill_null(True))["sku"].to_list())
    while True:
        needed = set(edges.filter(pl.col("parent_sku").is_in(list(wanted)))["component_sku"].to_list())
        if needed <= wanted:
            break
        wanted |= needed
    unknown = sorted(wanted - set(master["sku"].to_list()))
    if unknown:
        raise PlanInputError(f"the BOM names components that are not in marts.items: {', '.join(unknown[:10])}")
    items = master.filter(pl.col("sku").is_in(list(wanted))).drop("is_active")
    return items, edges.filter(pl.col("parent_sku").is_in(list(wanted)))


def _with_classes_and_lead_time_spread(
    items: pl.DataFrame, classes: pl.DataFrame, item_suppliers: pl.DataFrame
) -> pl.DataFrame:
    """Items with their ABC class (null: the policy's default) and a lead-time standard deviation.

    The marts give a supplier's lead-time range, not its spread: (max - min) / 6 is the standard deviation of
    a normal lead time whose range covers +-3 sigma; the preferred supplier's range, else the cheapest one's.
    """
    spread = (
        item_suppliers.sort(
            "sku", pl.col("is_preferred").fill_null(False), "unit_price", descending=[False, True, False]
        )
        .group_by("sku", maintain_order=True)
        .first()
        .select(
            "sku",
            ((pl.col("lead_time_max_days") - pl.col("lead_time_min_days")).clip(lower_bound=0) / 6.0)
            .cast(pl.Float64)
            .alias("lead_time_std_days"),
        )
    )
    return items.join(classes.select("sku", "abc_class"), on="sku", how="left").join(spread, on="sku", how="left")


def _demand_stats(weekly: pl.DataFrame) -> pl.DataFrame:
    if weekly.is_empty():
        return pl.DataFrame(schema={"sku": pl.String, "demand_mean": pl.Float64, "demand_std": pl.Float64})
    return weekly.group_by("sku").agg(
        pl.col("volume").mean().alias("demand_mean"), pl.col("volume").std().fill_null(0.0).alias("demand_std")
    )


def _now() -> dt.datetime:
    """Now, in UTC without a time zone: the library's frames hold naive UTC datetimes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _utc(value: dt.datetime) -> dt.datetime:
    """A naive UTC datetime made explicit, so PostgreSQL does not read it in the session's time zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _naive_utc(column: str) -> pl.Expr:
    """A timestamptz column as read (aware, any zone, or all-null) as naive UTC, the dtype the frames use."""
    return pl.col(column).cast(pl.Datetime("us", "UTC")).dt.replace_time_zone(None).alias(column)


#: The line under the title of a summary sent before the first plan.
NO_PLAN_NOTE = "No plan yet: only the pipeline's alerts (failed runs, rejected files, missing emails) are listed."


def _open_pipeline_alerts(conn: psycopg.Connection) -> pl.DataFrame:
    """The pipeline's unacknowledged alerts (failed runs, rejected files, missing emails), the most severe first."""
    store.ensure_schema(conn)
    return store.read_frame(
        conn,
        "select alert_key, alert_type, severity, sku, work_center_code, bucket_start, value, message, acknowledged,"
        " acknowledged_by, acknowledged_at from planning.pipeline_alerts where not acknowledged"
        " order by array_position(array['critical', 'warning', 'info'], severity), alert_type, bucket_start",
    ).with_columns(
        pl.col("alert_type", "severity", "message").cast(pl.String),
        pl.col("acknowledged").cast(pl.Boolean),
        _naive_utc("acknowledged_at"),
    )
