"""Planning benchmark: CRP for 100,000 items x 20 work centers x 104 weekly buckets (target <= 2 s).

The plant is generated with a fixed seed: every item is made (the worst case for CRP), with a routing of 1 to 4
operations on the 20 work centers, and a planned order every 8 weeks on average (about 1.3 million orders,
3.2 million order operations) with lead times of 0 to 4 weeks; capacity is given per work center and day, as
the ``work_center_capacity`` mart delivers it. The time is that of :func:`mrp.crp.capacity_requirements`
alone; peak memory is traced (tracemalloc) over the same call in a second run.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
import tracemalloc

import numpy as np
import polars as pl

from mrp.crp import capacity_requirements
from mrp.horizon import Horizon

ITEMS = 100_000
WORK_CENTERS = 20
BUCKETS = 104
SEED = 20260105


def plant(items: int = ITEMS, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Horizon]:
    """Planned orders, routings and daily capacity of a generated plant."""
    rng = np.random.default_rng(seed)
    horizon = Horizon.weekly(dt.date(2026, 1, 5), BUCKETS)
    skus = np.array([f"SKU{k:06d}" for k in range(items)], dtype=object)
    operations = rng.integers(1, 5, items)
    item_of_operation = np.repeat(np.arange(items), operations)
    sequence = (np.arange(item_of_operation.size) - np.repeat(np.cumsum(operations) - operations, operations) + 1) * 10
    routings = pl.DataFrame(
        {
            "sku": skus[item_of_operation].tolist(),
            "sequence": sequence,
            "work_center_code": [f"WC{k:02d}" for k in rng.integers(0, WORK_CENTERS, item_of_operation.size)],
            "setup_minutes": rng.choice([0.0, 15.0, 30.0, 60.0, 120.0], item_of_operation.size),
            "run_minutes_per_unit": rng.gamma(2.0, 1.5, item_of_operation.size).round(2),
        }
    )
    per_item = rng.poisson(BUCKETS / 8, items)
    order_item = np.repeat(np.arange(items), per_item)
    receipt = rng.integers(0, BUCKETS, order_item.size)
    planned_orders = pl.DataFrame(
        {
            "order_id": np.arange(1, order_item.size + 1),
            "sku": skus[order_item].tolist(),
            "replenishment": "make",
            "release_bucket": (receipt - rng.integers(0, 5, order_item.size)).astype(np.int32),
            "receipt_bucket": receipt.astype(np.int32),
            "quantity": rng.integers(1, 50, order_item.size).astype(float),
        }
    )
    days = pl.date_range(horizon.bucket_starts[0], horizon.end - dt.timedelta(days=1), eager=True)
    # two 8-hour shifts on 28 to 52 machines: utilisations from about 75 % to 140 %, every suggestion occurs
    machines = pl.DataFrame(
        {
            "work_center_code": [f"WC{k:02d}" for k in range(WORK_CENTERS)],
            "machines": rng.integers(28, 53, WORK_CENTERS).astype(float),
        }
    )
    capacity = machines.join(pl.DataFrame({"calendar_date": days}), how="cross").select(
        "work_center_code",
        "calendar_date",
        pl.when(pl.col("calendar_date").dt.weekday() <= 5)
        .then(16.0 * pl.col("machines"))
        .otherwise(0.0)
        .alias("available_hours"),
    )
    return planned_orders, routings, capacity, horizon


def run() -> list[tuple[str, str]]:
    planned_orders, routings, capacity, horizon = plant()
    capacity_requirements(planned_orders.head(1000), routings, capacity, horizon)  # warm-up (imports, caches)
    started = time.perf_counter()
    result = capacity_requirements(planned_orders, routings, capacity, horizon)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    capacity_requirements(planned_orders, routings, capacity, horizon)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    suggestions = dict(result.load.group_by("suggestion").len().sort("suggestion").iter_rows())
    return [
        (f"CRP, {ITEMS:,} items x {WORK_CENTERS} work centers x {BUCKETS} buckets (target <= 2 s)", f"{seconds:.2f} s"),
        ("  planned orders / order operations loaded", f"{planned_orders.height:,} / {result.operations.height:,}"),
        (
            "  peak memory traced by Python (numpy buffers; polars' own allocations not traced)",
            f"{peak / 2**20:.0f} MB",
        ),
        (
            "  process peak RSS (generation included)",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        ),
        ("  work center buckets by suggestion", ", ".join(f"{k} {v}" for k, v in suggestions.items())),
    ]
