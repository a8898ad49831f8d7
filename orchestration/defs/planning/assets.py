"""Planning assets: per origin week, the whole plan from that week's forecast (tables in schema ``planning``).

One computation (:func:`mrp.runs.plan_origin`) gives every table, so one multi-asset writes them all in one
transaction (:func:`mrp.runs.store_plan`): the MPS, the inventory policy, the MRP record and planned orders,
pegging, action messages, shortage reasons, capacity load, purchase proposals and alerts. Each table is its own
asset so the lineage, row counts and checks show per table; the blocking checks are in ``checks.py``.
"""

import time

import dagster as dg
import polars as pl

from fmrp.settings import get_settings
from mrp import store
from mrp.runs import OriginPlan, load_plan_inputs, plan_origin, store_plan
from orchestration.defs.forecasting.partitions import origin_of, weekly_origins
from orchestration.defs.planning.checks import PLAN_CHECK_SPECS, plan_check_results
from orchestration.defs.warehouse.resources import WarehouseResource

FORECASTS = dg.AssetKey(["forecasting", "forecasts"])
SKU_CLASSES = dg.AssetKey(["forecasting", "sku_classes"])


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def _plan(name: str) -> dg.AssetKey:
    return dg.AssetKey(["planning", name])


# table -> (description with the grain, upstream assets)
TABLES: dict[str, tuple[str, list[dg.AssetKey]]] = {
    "mps": (
        "Master production schedule (PL-1): one row per item with a forecast or firm order and week of the horizon; "
        "max(P50, firm orders) inside the firm horizon, the forecast beyond.",
        [FORECASTS, _mart("customer_orders")],
    ),
    "inventory_policy": (
        "Inventory policy (PL-2): one row per planned item: service level of its ABC class, safety stock (from the "
        "forecast quantiles over the lead time, else the classical formula, or the override), ROP, min/max, EOQ.",
        [FORECASTS, SKU_CLASSES, _mart("items"), _mart("item_suppliers"), _mart("demand_weekly")],
    ),
    "mrp_records": (
        "MRP record (PL-3): one row per item and week: gross, scheduled receipts, projected on hand, net, planned "
        "receipts and releases, past-due releases, safety stock.",
        [
            _plan("mps"),
            _plan("inventory_policy"),
            _mart("items"),
            _mart("bom_edges"),
            _mart("inventory_position_by_sku"),
            _mart("scheduled_receipts"),
            _mart("factory_calendar"),
        ],
    ),
    "planned_orders": (
        "Planned orders (PL-3, PL-4): one row per order: item, make/buy, release and receipt week, quantity after "
        "lot sizing and modifiers, past-due flag.",
        [_plan("mrp_records")],
    ),
    "pegs": (
        "Pegging (PL-5): one row per piece of supply (on hand, open or planned order) serving a piece of demand "
        "(independent, a parent's order, or stock).",
        [_plan("planned_orders"), _plan("mrp_records")],
    ),
    "action_messages": (
        "Action messages (PL-6): one row per message: new, increase, reduce, cancel, expedite or defer, against open "
        "orders and planned orders.",
        [_plan("planned_orders"), _mart("scheduled_receipts")],
    ),
    "capacity_load": (
        "Capacity load (PL-7): one row per work center and week: planned and released load, capacity, utilisation "
        "and the suggestion (ok, overtime, pull forward, subcontract).",
        [_plan("planned_orders"), _mart("routings"), _mart("work_center_capacity"), _mart("scheduled_receipts")],
    ),
    "capacity_operations": (
        "The order operations behind the capacity load: one row per planned or released order operation in a week.",
        [_plan("capacity_load")],
    ),
    "shortage_reasons": (
        "Shortages with reason codes (PL-5): one row per past-due release or late open order, with every reason "
        "that applies (late receipt, demand spike, capacity, safety stock, lead time).",
        [_plan("action_messages"), _plan("capacity_load")],
    ),
    "purchase_proposals": (
        "Purchase proposals (PL-8): one row per planned order of a bought item: supplier, quantity after MOQ and "
        "multiple, price, value, need and release date, priority, and the buyer's decision (kept across reruns).",
        [_plan("planned_orders"), _mart("item_suppliers"), _mart("suppliers"), _mart("factory_calendar")],
    ),
    "alerts": (
        "Exceptions (PL-9): one row per alert: past due, projected stockout, below safety stock, urgent release, "
        "capacity overload, forecast deviation; de-duplicated by key, acknowledgements kept across reruns.",
        [_plan("mrp_records"), _plan("capacity_load"), FORECASTS, _mart("demand_weekly")],
    ),
}


@dg.multi_asset(
    name="weekly_plan",
    specs=[
        dg.AssetSpec(
            _plan(table),
            description=description,
            deps=deps,
            group_name="planning",
            kinds={"python", "postgres"},
            owners=["team:planning"],
            partitions_def=weekly_origins,
        )
        for table, (description, deps) in TABLES.items()
    ],
    check_specs=PLAN_CHECK_SPECS,
)
def weekly_plan(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The plan of an origin week from its selected volume forecast, the marts' stock, open orders and master data."""
    origin = origin_of(context.partition_key)
    settings = get_settings()
    started = time.perf_counter()
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        inputs = load_plan_inputs(conn, origin, settings.horizon)
        result = plan_origin(inputs, firm_horizon=settings.firm_horizon, service_levels=settings.service_levels())
        planned = time.perf_counter() - started
        written = store_plan(conn, result)
    context.log.info(f"origin {origin}: planned in {planned:.1f} s, {sum(written.values()):,} rows written")
    for table in TABLES:
        yield dg.MaterializeResult(
            asset_key=_plan(table),
            metadata={
                "origin": str(origin),
                "first_bucket": str(result.horizon.bucket_starts[0]),
                "rows": dg.MetadataValue.int(written.get(table, 0)),
                **_table_metadata(table, result),
            },
        )
    yield from plan_check_results(result)


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
