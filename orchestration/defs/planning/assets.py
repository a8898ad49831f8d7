"""Planning assets: per origin week or month, the whole plan from that origin's forecast (tables in ``planning``).

One computation (:func:`mrp.runs.plan_origin`) gives every table, so one multi-asset writes them all in one
transaction (:func:`mrp.runs.store_plan`): the MPS, the inventory policy, the MRP record and planned orders,
pegging, action messages, shortage reasons, capacity load, purchase proposals and alerts. Each table is its own
asset so the lineage, row counts and checks show per table; the blocking checks are in ``checks.py``.

:func:`plan_asset` builds the multi-asset of one cadence of origins: ``weekly_plan`` (``planning/<table>``,
partitioned by origin week, from ``forecasting/forecasts``) and ``monthly_plan`` (``planning/<table>_monthly``, by
origin month, from ``forecasting/forecasts_monthly``). Both write the same tables, the monthly one with
``freq = 'M'``; the plan tables are keyed by origin and ``freq``, so neither ever replaces the other's rows.

A partition is planned as of its date (:mod:`mrp.asof`): a backfill of an old week reads the stock, open orders
and firm orders of that week's last snapshot and the master data valid then. Sources no history covers are read
as they are today; the run logs a warning and its metadata lists them (``history_gaps``).
"""

import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from fmrp.settings import get_settings
from mrp import store
from mrp.runs import OriginPlan, load_plan_inputs, plan_origin, store_plan
from orchestration.defs.forecasting.partitions import MONTHLY, WEEKLY, Origins, origin_of
from orchestration.defs.planning.checks import plan_check_results, plan_check_specs
from orchestration.defs.warehouse.resources import WarehouseResource


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def _snapshot(name: str) -> dg.AssetKey:
    return dg.AssetKey(["snapshots", name])


def plan_tables(origins: Origins) -> dict[str, tuple[str, list[dg.AssetKey]]]:
    """Plan table -> (description with the grain, upstream assets) for one cadence."""
    bucket = origins.bucket

    def plan(name: str) -> dg.AssetKey:
        return origins.key("planning", name)

    forecasts, sku_classes = origins.key("forecasting", "forecasts"), origins.key("forecasting", "sku_classes")
    return {
        "mps": (
            "Master production schedule (PL-1): one row per item with a forecast or firm order and"
            f" {bucket} of the horizon; max(P50, firm orders) inside the firm horizon, the forecast beyond.",
            [forecasts, _mart("customer_orders_history")],
        ),
        "inventory_policy": (
            "Inventory policy (PL-2): one row per planned item: service level of its ABC class, safety stock (from the"
            " forecast quantiles over the lead time, else the classical formula, or the override), ROP, min/max, EOQ.",
            [forecasts, sku_classes, _mart("items"), _mart("item_suppliers"), origins.demand_mart],
        ),
        "mrp_records": (
            f"MRP record (PL-3): one row per item and {bucket}: gross, scheduled receipts, projected on hand, net,"
            " planned receipts and releases, past-due releases, safety stock.",
            [
                plan("mps"),
                plan("inventory_policy"),
                _mart("items"),
                _snapshot("items_snapshot"),
                _mart("bom_edges"),
                _mart("inventory_position_history"),
                _mart("scheduled_receipts_history"),
                _mart("factory_calendar"),
            ],
        ),
        "planned_orders": (
            f"Planned orders (PL-3, PL-4): one row per order: item, make/buy, release and receipt {bucket}, quantity"
            " after lot sizing and modifiers, past-due flag.",
            [plan("mrp_records")],
        ),
        "pegs": (
            "Pegging (PL-5): one row per piece of supply (on hand, open or planned order) serving a piece of demand "
            "(independent, a parent's order, or stock).",
            [plan("planned_orders"), plan("mrp_records")],
        ),
        "action_messages": (
            "Action messages (PL-6): one row per message: new, increase, reduce, cancel, expedite or defer, against"
            " open orders and planned orders.",
            [plan("planned_orders"), _mart("scheduled_receipts")],
        ),
        "capacity_load": (
            f"Capacity load (PL-7): one row per work center and {bucket}: planned and released load, capacity,"
            " utilisation and the suggestion (ok, overtime, pull forward, subcontract).",
            [plan("planned_orders"), _mart("routings"), _mart("work_center_capacity"), _mart("scheduled_receipts")],
        ),
        "capacity_operations": (
            f"The order operations behind the capacity load: one row per planned or released order operation in a"
            f" {bucket}.",
            [plan("capacity_load")],
        ),
        "shortage_reasons": (
            "Shortages with reason codes (PL-5): one row per past-due release or late open order, with every reason "
            "that applies (late receipt, demand spike, capacity, safety stock, lead time).",
            [plan("action_messages"), plan("capacity_load")],
        ),
        "purchase_proposals": (
            "Purchase proposals (PL-8): one row per planned order of a bought item: supplier, quantity after MOQ and "
            "multiple, price, value, need and release date, priority, and the buyer's decision (kept across reruns).",
            [
                plan("planned_orders"),
                _mart("item_suppliers"),
                _snapshot("item_supplier_terms_snapshot"),
                _mart("suppliers"),
                _mart("factory_calendar"),
            ],
        ),
        "alerts": (
            "Exceptions (PL-9): one row per alert: past due, projected stockout, below safety stock, urgent release,"
            " capacity overload, forecast deviation; de-duplicated by key, acknowledgements kept across reruns.",
            [plan("mrp_records"), plan("capacity_load"), forecasts, origins.demand_mart],
        ),
    }


def _plan(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, origins: Origins
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    origin = origin_of(context.partition_key)
    settings = get_settings()
    started = time.perf_counter()
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        inputs = load_plan_inputs(conn, origin, settings.horizon, freq=origins.freq)
        result = plan_origin(inputs, firm_horizon=settings.firm_horizon, service_levels=settings.service_levels())
        planned = time.perf_counter() - started
        written = store_plan(conn, result)
    context.log.info(f"origin {origin} ({origins.name}): planned in {planned:.1f} s, {sum(written.values()):,} rows")
    if inputs.history_gaps:
        context.log.warning(
            f"origin {origin}: no history on {inputs.as_of} for {', '.join(inputs.history_gaps)}: read as they are"
            f" today, so this plan mixes today's data with its own {origins.bucket}'s"
        )
    for table in plan_tables(origins):
        yield dg.MaterializeResult(
            asset_key=origins.key("planning", table),
            metadata={
                "origin": str(origin),
                "freq": origins.freq,
                "first_bucket": str(result.horizon.bucket_starts[0]),
                "as_of": str(inputs.as_of),
                "history_gaps": ", ".join(inputs.history_gaps) or "none",
                "rows": dg.MetadataValue.int(written.get(table, 0)),
                **_table_metadata(table, result),
            },
        )
    yield from plan_check_results(result, origins)


def plan_asset(origins: Origins) -> dg.AssetsDefinition:
    """The multi-asset ``<weekly|monthly>_plan`` writing every plan table for an origin of that cadence."""

    @dg.multi_asset(
        name=f"{origins.name}_plan",
        specs=[
            dg.AssetSpec(
                origins.key("planning", table),
                description=description,
                deps=deps,
                group_name="planning",
                kinds={"python", "postgres"},
                owners=["team:planning"],
                partitions_def=origins.partitions_def,
            )
            for table, (description, deps) in plan_tables(origins).items()
        ],
        check_specs=plan_check_specs(origins),
        description=f"The plan of an origin {origins.bucket} from its selected volume forecast, the marts' stock,"
        " open orders and master data.",
    )
    def plan(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        yield from _plan(context, warehouse, origins)

    return plan


weekly_plan = plan_asset(WEEKLY)
monthly_plan = plan_asset(MONTHLY)


def _table_metadata(table: str, result: OriginPlan) -> dict[str, dg.MetadataValue]:
    plan = result.plan
    if table == "mrp_records":
        return {"items": dg.MetadataValue.int(plan.items.height), "buckets": dg.MetadataValue.int(result.horizon.size)}
    if table == "planned_orders":
        orders = plan.planned_orders
        return {
            "past_due": dg.MetadataValue.int(int(orders["is_past_due"].sum())),
            "make": dg.MetadataValue.int(orders.filter(pl.col("replenishment") == "make").height),
            "buy": dg.MetadataValue.int(orders.filter(pl.col("replenishment") == "buy").height),
        }
    if table == "capacity_load":
        overloaded = result.capacity.load.filter(pl.col("suggestion") != "ok")
        return {
            "overloaded_buckets": dg.MetadataValue.int(overloaded.height),
            "unrouted_orders": dg.MetadataValue.int(result.capacity.unrouted.height),
        }
    if table == "purchase_proposals":
        value = result.proposals["value"].sum()
        return {
            "suppliers": dg.MetadataValue.int(result.proposals["supplier_code"].n_unique()),
            "value": dg.MetadataValue.float(float(value or 0)),
            "past_due": dg.MetadataValue.int(result.proposals.filter(pl.col("priority") == "past_due").height),
        }
    if table == "alerts":
        counts = result.alerts.group_by("severity").len()
        return {f"{row['severity']}": dg.MetadataValue.int(row["len"]) for row in counts.iter_rows(named=True)}
    return {}
