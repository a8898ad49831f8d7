"""Planning benchmark: regenerative MRP with pegging on a generated BOM (issue 5).

The plant (fixed seed): ``items`` items on 10 levels (a tenth each), every item above the last level with about
3 components drawn from the next level (so components are shared by about 3 parents), quantities per 1 to 3,
scrap on a fifth of the lines; independent demand on the top level for 104 weekly buckets; lead times of 0 to
20 working days; on hand and an open order for a third of the items; a mix of lot-sizing rules with Wagner-Whitin
on 15 % of the items, and order modifiers (minimum, multiple) on a fifth of those with quantity rules.

Measured for 1k / 10k / 100k items, each size in a fresh process (so its peak RSS is its own): the time of
:func:`mrp.engine.run_mrp` and of :func:`mrp.pegging.peg` on its plan, and the process's peak RSS.

The reference (:func:`reference_mrp`) is the plain textbook loop: one item at a time in low-level-code order, one
period at a time for netting and explosion, the item's lot sizing with :func:`mrp.lotsizing.lot_size`. It is
checked to give the engine's plan (orders and records) on 1,000 items, and timed against it at 10k items (the
best of three runs of each).

Run: ``.venv/bin/python -m tests.benchmarks mrp`` (or ``make bench``).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import polars as pl

from mrp.engine import LOT_SIZE_RULES, MrpPlan, run_mrp
from mrp.horizon import Horizon
from mrp.lotsizing import lot_size
from mrp.pegging import peg

SIZES = (1_000, 10_000, 100_000)
LEVELS = 10
BUCKETS = 104
SEED = 20260105
RULE_SHARES = {"LFL": 0.35, "WW": 0.15, "FOQ": 0.10, "EOQ": 0.10, "POQ": 0.10, "SM": 0.08, "LUC": 0.06, "PPB": 0.06}


def plant(items: int, seed: int = SEED) -> dict[str, pl.DataFrame | Horizon]:
    """The generated plant: frames with the marts' columns and the horizon."""
    rng = np.random.default_rng([seed, items])
    level = np.repeat(np.arange(LEVELS), -(-items // LEVELS))[:items]
    skus = np.array([f"L{lv}-{k:06d}" for k, lv in enumerate(level)], dtype=object)
    rules = rng.choice(list(RULE_SHARES), size=items, p=list(RULE_SHARES.values()))
    quantity_rule = np.isin(rules, ["LFL", "FOQ", "EOQ", "POQ", "SM", "LUC", "PPB"])
    modified = quantity_rule & (rng.random(items) < 0.2)
    items_frame = pl.DataFrame(
        {
            "sku": skus.tolist(),
            "lead_time_days": rng.integers(0, 21, items),
            "lot_size_rule": rules,
            "fixed_lot_qty": np.where(rules == "FOQ", rng.integers(20, 400, items).astype(float), np.nan),
            "min_lot": np.where(modified, rng.integers(5, 60, items).astype(float), np.nan),
            "lot_multiple": np.where(modified & (rng.random(items) < 0.5), 10.0, np.nan),
            "setup_cost": rng.uniform(20.0, 300.0, items),
            "holding_cost": rng.uniform(0.01, 1.0, items),
            "replenishment": np.where(level == LEVELS - 1, "buy", "make"),
        },
        nan_to_null=True,
    )
    parents = np.flatnonzero(level < LEVELS - 1)
    children_per_parent = rng.integers(2, 5, parents.size)  # 2..4: about 3
    parent_of_edge = np.repeat(parents, children_per_parent)
    next_level = level[parent_of_edge] + 1
    first = np.searchsorted(level, next_level)
    size = np.searchsorted(level, next_level, side="right") - first
    component = first + (rng.random(parent_of_edge.size) * size).astype(np.int64)
    edges = (
        pl.DataFrame(
            {
                "parent_sku": skus[parent_of_edge].tolist(),
                "component_sku": skus[component].tolist(),
                "qty_per": rng.choice([1.0, 1.0, 2.0, 3.0], parent_of_edge.size),
                "scrap_rate": np.where(rng.random(parent_of_edge.size) < 0.2, 0.02, 0.0),
            }
        )
        .unique(["parent_sku", "component_sku"], keep="first", maintain_order=True)
        .with_columns(pl.lit(None, pl.Date).alias("valid_from"), pl.lit(None, pl.Date).alias("valid_to"))
    )
    finished = np.flatnonzero(level == 0)
    demand = rng.poisson(rng.uniform(2.0, 40.0, finished.size)[:, None], (finished.size, BUCKETS)).astype(float)
    demand[rng.random(demand.shape) < 0.15] = 0.0  # some weeks without demand
    rows, buckets = np.nonzero(demand)
    stocked = np.flatnonzero(rng.random(items) < 1 / 3)
    return {
        "items": items_frame,
        "bom_edges": edges,
        "inventory": pl.DataFrame(
            {"sku": skus[stocked].tolist(), "nettable_on_hand": rng.integers(0, 200, stocked.size).astype(float)}
        ),
        "scheduled_receipts": pl.DataFrame(
            {
                "sku": skus[stocked].tolist(),
                "due_week": rng.integers(0, 6, stocked.size).astype(np.int32),
                "open_quantity": rng.integers(1, 150, stocked.size).astype(float),
            }
        ),
        "demand": pl.DataFrame(
            {
                "sku": skus[finished[rows]].tolist(),
                "bucket": buckets.astype(np.int32),
                "quantity": demand[rows, buckets],
            }
        ),
        "horizon": Horizon.weekly(dt.date(2026, 1, 5), BUCKETS),
    }


def engine(data: dict) -> MrpPlan:
    return run_mrp(
        data["items"], data["bom_edges"], data["inventory"], data["scheduled_receipts"], data["demand"], data["horizon"]
    )


def reference_mrp(data: dict) -> tuple[dict[str, list[tuple[int, int, float]]], dict[str, dict[str, list[float]]]]:
    """The textbook loop: per item in low-level-code order, per period; returns its orders and its records."""
    items = {row["sku"]: row for row in data["items"].iter_rows(named=True)}
    horizon: Horizon = data["horizon"]
    children: dict[str, list[tuple[str, float]]] = {sku: [] for sku in items}
    parents_of: dict[str, list[str]] = {sku: [] for sku in items}
    for edge in data["bom_edges"].iter_rows(named=True):
        children[edge["parent_sku"]].append((edge["component_sku"], edge["qty_per"] / (1.0 - edge["scrap_rate"])))
        parents_of[edge["component_sku"]].append(edge["parent_sku"])
    level: dict[str, int] = {}

    def low_level_code(sku: str) -> int:
        if sku not in level:
            level[sku] = max((low_level_code(p) + 1 for p in parents_of[sku]), default=0)
        return level[sku]

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for sku in items:
        low_level_code(sku)
    n = horizon.size
    independent = {sku: [0.0] * n for sku in items}
    dependent = {sku: [0.0] * n for sku in items}
    scheduled = {sku: [0.0] * n for sku in items}
    on_hand = dict.fromkeys(items, 0.0)
    for row in data["demand"].iter_rows(named=True):
        independent[row["sku"]][row["bucket"]] += row["quantity"]
    for row in data["scheduled_receipts"].iter_rows(named=True):
        scheduled[row["sku"]][max(row["due_week"], 0)] += row["open_quantity"]
    for row in data["inventory"].iter_rows(named=True):
        on_hand[row["sku"]] += row["nettable_on_hand"]
    days = horizon.working_days
    orders: dict[str, list[tuple[int, int, float]]] = {}
    records: dict[str, dict[str, list[float]]] = {}
    for sku in sorted(items, key=lambda s: (level[s], s)):
        row = items[sku]
        gross = [independent[sku][t] + dependent[sku][t] for t in range(n)]
        balance, net = on_hand[sku], []
        for t in range(n):
            balance += scheduled[sku][t] - gross[t]
            net.append(max(0.0, -balance))
            balance = max(balance, 0.0)
        method = LOT_SIZE_RULES[row["lot_size_rule"]]
        params = {"quantity": row["fixed_lot_qty"]} if method == "fixed_order_quantity" else {}
        modifiers = {"min_lot": row["min_lot"], "multiple": row["lot_multiple"]}
        plan = lot_size(
            net,
            method,
            setup_cost=row["setup_cost"],
            holding_cost=row["holding_cost"],
            **params,
            **{key: value for key, value in modifiers.items() if value is not None},
        )
        lead = float(row["lead_time_days"])
        receipts, releases, own = [0.0] * n, [0.0] * n, []
        for receipt, quantity in plan.orders:
            release, covered = receipt, 0.0
            while covered < lead - 1e-9:  # step back over working days, 5 per week before the horizon
                release -= 1
                covered += days[release] if release >= 0 else 5.0
            own.append((release, receipt, quantity))
            receipts[receipt] += quantity
            releases[max(release, 0)] += quantity
            for component, factor in children[sku]:
                dependent[component][max(release, 0)] += quantity * factor
        projected, before = [], on_hand[sku]
        for t in range(n):
            before += scheduled[sku][t] + receipts[t] - gross[t]
            projected.append(before)
        orders[sku] = own
        records[sku] = {"gross": gross, "projected": projected, "receipts": receipts, "releases": releases}
    return orders, records


def check_identical(data: dict, plan: MrpPlan) -> tuple[int, int]:
    """Compare the engine's plan with the reference's; returns (orders, record rows) compared.

    Raises:
        AssertionError: naming the first item whose orders or records differ.
    """
    orders, records = reference_mrp(data)
    engine_orders: dict[str, list[tuple[int, int, float]]] = {}
    for row in plan.planned_orders.iter_rows(named=True):
        engine_orders.setdefault(row["sku"], []).append((row["release_bucket"], row["receipt_bucket"], row["quantity"]))
    compared = 0
    for sku, expected in orders.items():
        got = engine_orders.get(sku, [])
        assert [(r, t) for r, t, _ in got] == [(r, t) for r, t, _ in expected], f"{sku}: order timing differs"
        assert np.allclose([q for *_, q in got], [q for *_, q in expected], rtol=1e-9, atol=1e-9), f"{sku}: quantities"
        compared += len(expected)
    by_sku = plan.records.sort("sku", "bucket").partition_by("sku", as_dict=True)
    for (sku,), frame in by_sku.items():
        reference = records[sku]
        # quantities grow by ~3.6x a level; compare to the floating-point precision of the item's own scale
        tolerance = 1e-9 * max(1.0, float(np.sum(reference["gross"])))
        for column, name in (
            ("gross_requirements", "gross"),
            ("projected_on_hand", "projected"),
            ("planned_receipts", "receipts"),
            ("planned_releases", "releases"),
        ):
            assert np.allclose(frame[column].to_numpy(), reference[name], rtol=1e-9, atol=tolerance), f"{sku}: {column}"
    return compared, plan.records.height


def measure(items: int) -> dict[str, float]:
    """Engine and pegging time and peak RSS for one size (run in its own process)."""
    data = plant(items)
    engine(plant(200))  # warm-up: imports and numpy paths
    started = time.perf_counter()
    plan = engine(data)
    run_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pegs = peg(plan, data["bom_edges"], data["horizon"])
    peg_seconds = time.perf_counter() - started
    methods = plan.items["lot_size_method"].value_counts()
    ww = int(methods.filter(pl.col("lot_size_method") == "wagner_whitin")["count"].sum())
    return {
        "items": items,
        "edges": data["bom_edges"].height,
        "levels": int(plan.items["low_level_code"].max()) + 1,
        "wagner_whitin_share": ww / items,
        "planned_orders": plan.planned_orders.height,
        "pegs": pegs.height,
        "run_mrp_s": run_seconds,
        "peg_s": peg_seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (the kernel's ``ru_maxrss`` keeps the peak of the process that
    started this one across exec, and the benchmark's parent has the other suites' libraries loaded)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings (as ``timeit`` reports): this machine's timings vary by up to 1.5x from
    run to run with the cost of fresh memory, which the minimum sees least."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def reference_comparison() -> dict[str, float]:
    """Identical plans on 1,000 items; engine vs reference time at 10,000 items, each the best of 3 runs."""
    small = plant(1_000)
    orders, rows = check_identical(small, engine(small))
    data = plant(10_000)
    engine(plant(200))
    engine_seconds = _best_of(3, lambda: engine(data))
    reference_seconds = _best_of(3, lambda: reference_mrp(data))
    return {
        "orders_compared": orders,
        "rows_compared": rows,
        "engine_10k_s": engine_seconds,
        "reference_10k_s": reference_seconds,
    }


def _in_process(argument: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.mrp", argument], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for items in SIZES:
        result = _in_process(str(items))
        total = result["run_mrp_s"] + result["peg_s"]
        rows.append(
            (
                f"run_mrp + peg, {items:,} items x {BUCKETS} buckets ({result['levels']} levels, "
                f"{result['edges']:,} BOM lines, WW {result['wagner_whitin_share']:.0%})",
                f"{total:.2f} s ({result['run_mrp_s']:.2f} + {result['peg_s']:.2f})",
            )
        )
        rows.append(
            (
                "  planned orders / pegs / process peak RSS",
                f"{result['planned_orders']:,} / {result['pegs']:,} / {result['peak_rss_mb']:,.0f} MB",
            )
        )
    comparison = _in_process("reference")
    rows.append(
        (
            "reference (per item, per period) = engine on 1,000 items",
            f"identical: {comparison['orders_compared']:,} orders, {comparison['rows_compared']:,} record rows",
        )
    )
    speedup = comparison["reference_10k_s"] / comparison["engine_10k_s"]
    rows.append(
        (
            "engine vs reference at 10,000 items, best of 3 runs each (target >= 20x)",
            f"{comparison['engine_10k_s']:.2f} s vs {comparison['reference_10k_s']:.2f} s: {speedup:.1f}x",
        )
    )
    return rows


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which == "reference":
        print(json.dumps(reference_comparison()))
    elif which.isdigit():
        print(json.dumps(measure(int(which))))
    else:
        for measure_name, value in run():
            print(f"{measure_name}: {value}")
