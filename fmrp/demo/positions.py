"""The ERP's daily positions: inventory, open purchase orders, production orders and customer orders.

Orders are drawn as a pool with their whole life (created, due, received or shipped); a position file of a
date lists the orders open on that date, so consecutive files evolve the way an ERP's would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from fmrp.demo.catalog import FINISHED, PACKAGE, RAW, RESALE_TYPE, SEMI
from fmrp.demo.vocab import CUSTOMERS

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Workdays:
    """Business days (sales and ERP files) and working days (production and lead times) as day arrays."""

    business: np.ndarray
    working: np.ndarray

    @classmethod
    def from_calendar(cls, calendar: pl.DataFrame) -> Workdays:
        days = calendar["calendar_date"].to_numpy().astype("datetime64[D]")
        return cls(
            business=days[calendar["is_business_day"].to_numpy()],
            working=days[calendar["is_working_day"].to_numpy()],
        )

    def add_working(self, days: np.ndarray | np.datetime64, n: np.ndarray | int) -> np.ndarray:
        """The working day `n` working days after each day (a non-working day counts from the next one)."""
        idx = np.searchsorted(self.working, days, side="left") + n
        return self.working[np.clip(idx, 0, self.working.size - 1)]

    def business_on_or_before(self, days: np.ndarray | np.datetime64) -> np.ndarray:
        idx = np.searchsorted(self.business, days, side="right") - 1
        return self.business[np.clip(idx, 0, self.business.size - 1)]

    def business_on_or_after(self, days: np.ndarray | np.datetime64) -> np.ndarray:
        idx = np.searchsorted(self.business, days, side="left")
        return self.business[np.clip(idx, 0, self.business.size - 1)]


PRIMARY_WAREHOUSE = {RAW: "01", PACKAGE: "02", SEMI: "03", FINISHED: "04", RESALE_TYPE: "04"}
COVER_WEEKS = {RAW: (2.0, 7.0), PACKAGE: (2.0, 6.0), SEMI: (0.3, 1.5), FINISHED: (1.0, 4.0), RESALE_TYPE: (2.0, 6.0)}


def inventory(
    items: pl.DataFrame,
    usage: dict[str, np.ndarray],
    start: date,
    snapshots: list[date],
    unit_cost: Callable[[date], dict[str, float]],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """On hand per item and warehouse on each snapshot date: a few weeks of usage with persistent noise.

    Cover targets depend on the item type; stock-outs happen; phantoms hold no stock; items appear once
    created and run down after they are deactivated.
    """
    stocked = items.filter(~pl.col("is_phantom"))
    skus = stocked["sku"].to_list()
    item_type = stocked["item_type"].to_numpy()
    bought = (stocked["replenishment"] == "Comprar").to_numpy()
    n, k = len(skus), len(snapshots)
    weeks = np.array([(d - start).days // 7 for d in snapshots])
    horizon = len(next(iter(usage.values())))
    matrix = np.vstack([usage.get(sku, np.zeros(horizon)) for sku in skus])
    cumulative = np.hstack([np.zeros((n, 1)), np.cumsum(matrix, axis=1)])
    lo, hi = np.clip(weeks - 4, 0, horizon), np.clip(weeks + 4, 1, horizon)
    mean_usage = (cumulative[:, hi] - cumulative[:, lo]) / (hi - lo)

    cover_type = np.where(
        (item_type == "Componente") & bought, RAW, np.where(item_type == "Componente", SEMI, item_type)
    )
    cover = np.array([rng.uniform(*COVER_WEEKS[t]) for t in cover_type])
    noise = np.zeros((n, k))
    noise[:, 0] = rng.normal(0, 0.35, n)
    for j in range(1, k):
        noise[:, j] = 0.8 * noise[:, j - 1] + rng.normal(0, 0.35 * 0.6, n)
    on_hand = mean_usage * cover[:, None] * np.exp(noise - 0.06)
    on_hand[rng.random((n, k)) < 0.02] = 0.0

    snap = np.array(snapshots, dtype="datetime64[D]")
    created = stocked["created_on"].to_numpy().astype("datetime64[D]")
    deactivated = stocked["deactivated_on"].fill_null(date(2999, 12, 31)).to_numpy().astype("datetime64[D]")
    weeks_inactive = np.clip((snap[None, :] - deactivated[:, None]) / DAY / 7, 0, None)
    on_hand *= 0.5 ** (weeks_inactive / 3)
    whole = np.isin(stocked["uom"].to_numpy(), ["UN", "CX"])
    on_hand = np.where(whole[:, None], np.floor(on_hand), np.round(on_hand, 1))
    exists = created[:, None] <= snap[None, :]

    warehouse = np.array([PRIMARY_WAREHOUSE.get(t, "01") for t in cover_type])
    cost_factor = rng.uniform(0.97, 1.04, n)
    costs = np.array([[unit_cost(d).get(sku, 0.0) for d in snapshots] for sku in skus]) * cost_factor[:, None]

    regional = np.zeros((n, k), dtype=bool)
    regional[(item_type == FINISHED) & (rng.random(n) < 0.2)] = True
    share = rng.uniform(0.15, 0.4, (n, 1))
    moved = np.where(regional, np.where(whole[:, None], np.floor(on_hand * share), np.round(on_hand * share, 1)), 0.0)
    on_hand -= moved

    held = np.zeros((n, k), dtype=bool)
    held_items = rng.choice(np.flatnonzero(bought), size=max(1, round(0.02 * n)), replace=False)
    held[held_items] = rng.random((held_items.size, k)) < 0.3
    held_qty = np.where(whole[:, None], np.ceil(on_hand * 0.05), np.round(on_hand * 0.05, 1))

    frames = [
        _stock_frame(skus, warehouse, on_hand, costs, snapshots, exists),
        _stock_frame(skus, np.full(n, "05"), moved, costs, snapshots, exists & regional),
        _stock_frame(skus, np.full(n, "09"), held_qty, costs, snapshots, exists & held & (held_qty > 0)),
    ]
    return pl.concat(frames).sort("snapshot_date", "sku", "warehouse_code")


def _stock_frame(
    skus: list[str],
    warehouse: np.ndarray,
    on_hand: np.ndarray,
    costs: np.ndarray,
    snapshots: list[date],
    present: np.ndarray,
) -> pl.DataFrame:
    item_idx, snap_idx = np.nonzero(present)
    return pl.DataFrame(
        {
            "snapshot_date": np.array(snapshots, dtype="datetime64[D]")[snap_idx],
            "sku": np.array(skus)[item_idx],
            "warehouse_code": warehouse[item_idx],
            "on_hand": on_hand[item_idx, snap_idx],
            "unit_cost": np.round(costs[item_idx, snap_idx], 4),
        }
    ).with_columns(pl.col("snapshot_date").cast(pl.Date))


def _cycles(first: np.datetime64, last: np.datetime64, cycle_weeks: int, rng: np.random.Generator) -> np.ndarray:
    """Dates every `cycle_weeks` weeks (with a few days of jitter) from a random phase after `first`."""
    step = 7 * cycle_weeks
    offsets = np.arange(int(rng.integers(0, step)), int((last - first) / DAY) + 1, step)
    jitter = rng.integers(-2, 3, offsets.size)
    return first + (offsets + jitter).astype("timedelta64[D]")


def _delays(size: int, rng: np.random.Generator, late_share: float) -> np.ndarray:
    """Working days of delay: most on time, some a few days late, a third of the late ones a week or two."""
    r = rng.random(size)
    late = rng.integers(1, 5, size)
    very_late = rng.integers(5, 13, size)
    return np.where(r < 1 - late_share, 0, np.where(r < 1 - late_share / 3, late, very_late))


def _round_up(qty: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    multiple = np.where(np.isnan(multiple) | (multiple <= 0), 1.0, multiple)
    return np.ceil(qty / multiple) * multiple


def purchase_order_pool(
    items: pl.DataFrame,
    policies: pl.DataFrame,
    item_suppliers: pl.DataFrame,
    usage_recent: dict[str, float],
    workdays: Workdays,
    window: tuple[date, date],
    supplier_price: Callable[[date, str, str], float],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Purchase order lines around the position window, each with its order, due, receipt dates."""
    first, last = np.datetime64(window[0]), np.datetime64(window[1])
    bought = items.filter((pl.col("replenishment") == "Comprar") & pl.col("deactivated_on").is_null()).join(
        policies.select("sku", "lot_size_rule"), on="sku"
    )
    terms = {sku: grp for (sku,), grp in item_suppliers.group_by("sku", maintain_order=True)}
    rows = []
    for sku in bought["sku"].to_list():
        weekly = usage_recent.get(sku, 0.0)
        if weekly <= 0:
            continue
        options = terms[sku].sort("is_preferred", "supplier_code", descending=[True, False])
        pick = 0 if options.height == 1 or rng.random() < 0.85 else int(rng.integers(1, options.height))
        supplier = options.row(pick, named=True)
        cycle = int(rng.choice([1, 2, 2, 3, 4, 6]))
        qty = max(supplier["moq"], weekly * cycle)
        qty = float(_round_up(np.array([qty]), np.array([supplier["order_multiple"]]))[0])
        lead = supplier["lead_time_days"]
        orders = _cycles(first - np.timedelta64(int(lead * 1.6) + 7 * cycle + 30, "D"), last, cycle, rng)
        orders = workdays.business_on_or_before(orders)
        due = workdays.add_working(orders, np.round(lead * rng.uniform(0.85, 1.15, orders.size)).astype(int))
        receipt = workdays.add_working(due, _delays(orders.size, rng, 0.15))
        partial = rng.random(orders.size) < 0.2
        part_date = workdays.add_working(due, -rng.integers(0, 3, orders.size))
        receipt = np.where(
            partial, np.maximum(receipt, workdays.add_working(part_date, rng.integers(2, 9, orders.size))), receipt
        )
        part_qty = np.where(
            partial,
            _round_up(qty * rng.uniform(0.3, 0.7, orders.size), np.full(orders.size, supplier["order_multiple"])),
            0.0,
        )
        part_qty = np.minimum(part_qty, qty * 0.9)
        keep = (receipt > first) & (orders <= last)
        for o, d, r, pd_, pq in zip(
            orders[keep], due[keep], receipt[keep], part_date[keep], part_qty[keep], strict=True
        ):
            order_day = o.astype(date)
            rows.append(
                {
                    "sku": sku,
                    "supplier_code": supplier["supplier_code"],
                    "order_date": order_day,
                    "due_date": d.astype(date),
                    "receipt_date": r.astype(date),
                    "partial_date": pd_.astype(date) if pq > 0 else None,
                    "partial_qty": float(pq),
                    "quantity_ordered": qty,
                    "unit_price": supplier_price(order_day, sku, supplier["supplier_code"]),
                }
            )
    pool = pl.DataFrame(rows).sort("order_date", "supplier_code", "sku")
    headers = pool.select("order_date", "supplier_code").unique(maintain_order=True).with_row_index("n", offset=1)
    return (
        pool.join(headers, on=["order_date", "supplier_code"], maintain_order="left")
        .with_columns(po_number=pl.format("PC-{}", (pl.col("n") + 41_000).cast(pl.String)))
        .with_columns(line_number=pl.int_range(1, pl.len() + 1).over("po_number").cast(pl.Int64))
        .drop("n")
    )


def open_purchase_orders(pool: pl.DataFrame, day: date) -> pl.DataFrame:
    """The purchase order lines open on `day` (ordered, not yet fully received)."""
    received = (
        pl.when(pl.col("partial_date").is_not_null() & (pl.col("partial_date") <= day))
        .then(pl.col("partial_qty"))
        .otherwise(0.0)
    )
    return (
        pool.filter((pl.col("order_date") <= day) & (pl.col("receipt_date") > day))
        .with_columns(quantity_received=received)
        .with_columns(
            status=pl.when(pl.col("quantity_received") > 0).then(pl.lit("Parcial")).otherwise(pl.lit("Aberto"))
        )
        .sort("po_number", "line_number")
    )


def production_order_pool(
    items: pl.DataFrame,
    policies: pl.DataFrame,
    usage_recent: dict[str, float],
    workdays: Workdays,
    window: tuple[date, date],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Production orders of made, non-phantom items due from a month before to five weeks after the window."""
    first, last = np.datetime64(window[0]), np.datetime64(window[1])
    made = (
        items.filter(
            (pl.col("replenishment") == "Fabricar") & ~pl.col("is_phantom") & pl.col("deactivated_on").is_null()
        )
        .join(policies.select("sku", "lead_time_days", "lot_multiple"), on="sku")
        .with_columns(uom_whole=pl.col("uom").is_in(["UN", "CX"]))
    )
    rows = []
    for sku, lead, multiple, whole in made.select("sku", "lead_time_days", "lot_multiple", "uom_whole").iter_rows():
        weekly = usage_recent.get(sku, 0.0)
        if weekly <= 0:
            continue
        cycle = int(rng.choice([1, 1, 2, 3, 4]))
        qty = weekly * cycle * rng.uniform(0.9, 1.2)
        qty = float(_round_up(np.array([qty if not whole else np.ceil(qty)]), np.array([multiple or 1.0]))[0])
        due = workdays.business_on_or_after(
            _cycles(first - np.timedelta64(30, "D"), last + np.timedelta64(35, "D"), cycle, rng)
        )
        start = workdays.add_working(due, -int(lead))
        created = workdays.add_working(start, -rng.integers(10, 26, due.size))
        done = workdays.add_working(due, _delays(due.size, rng, 0.12))
        keep = (done > first) & (created <= last)
        for c, s, d, f in zip(created[keep], start[keep], due[keep], done[keep], strict=True):
            rows.append(
                {
                    "sku": sku,
                    "created_date": c.astype(date),
                    "start_date": s.astype(date),
                    "due_date": d.astype(date),
                    "done_date": f.astype(date),
                    "quantity_planned": qty,
                    "lead_time_days": int(lead),
                    "whole": whole,
                    "pace": float(rng.uniform(0.8, 1.0)),
                }
            )
    pool = pl.DataFrame(rows).sort("start_date", "sku", "due_date")
    return pool.with_columns(order_number=pl.format("OP-{}", (pl.int_range(pl.len()) + 70_001).cast(pl.String)))


def open_production_orders(pool: pl.DataFrame, day: date, workdays: Workdays) -> pl.DataFrame:
    """Production orders open on `day`: `Firme` before release, `Liberada` two days before the start,
    `Em processo` once started (with the quantity completed so far)."""
    current = pool.filter((pl.col("created_date") <= day) & (pl.col("done_date") > day))
    start = current["start_date"].to_numpy().astype("datetime64[D]")
    release = workdays.add_working(start, -2)
    today = np.datetime64(day)
    elapsed = np.searchsorted(workdays.working, today, side="right") - np.searchsorted(workdays.working, start)
    progress = np.clip(elapsed / np.maximum(current["lead_time_days"].to_numpy() + 1, 1), 0, 0.95)
    completed = current["quantity_planned"].to_numpy() * progress * current["pace"].to_numpy()
    completed = np.where(current["whole"].to_numpy(), np.floor(completed), np.round(completed, 1))
    status = np.where(today < release, "Firme", np.where(today < start, "Liberada", "Em processo"))
    return current.with_columns(
        status=pl.Series(status, dtype=pl.String),
        quantity_completed=pl.Series(np.where(status == "Em processo", completed, 0.0)),
    ).sort("order_number")


def customer_order_pool(
    skus: list[str],
    weekly: np.ndarray,
    history_weeks: int,
    start: date,
    workdays: Workdays,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Firm customer orders for the last weeks of the history and the coming weeks.

    A share of each week's true demand (less the further ahead) is on order, split over 1-3 customers;
    about one order in ten ships late, which is what leaves past-due lines in the backlog.
    """
    customer_weights = 1 / np.arange(1, len(CUSTOMERS) + 1) ** 0.7
    customer_weights /= customer_weights.sum()
    customer_order = rng.permutation(len(CUSTOMERS))
    rows = []
    for w in range(history_weeks - 5, weekly.shape[1]):
        ahead = w - history_weeks
        share = 0.6 if ahead < 0 else 0.75 * 0.85**ahead
        monday = np.datetime64(start) + np.timedelta64(7 * w, "D")
        for i in np.flatnonzero(weekly[:, w] > 0):
            total = round(float(weekly[i, w]) * share * rng.uniform(0.7, 1.1))
            if total < 1:
                continue
            k = min(total, int(rng.integers(1, 4)))
            parts = rng.multinomial(total, np.full(k, 1 / k))
            for qty in parts[parts > 0]:
                due = workdays.business_on_or_after(monday + np.timedelta64(int(rng.integers(0, 5)), "D"))
                ordered = workdays.business_on_or_before(due - np.timedelta64(int(rng.integers(3, 36)), "D"))
                late = rng.random() < 0.1
                shipped = workdays.add_working(due, int(rng.integers(2, 11))) if late else due
                rows.append(
                    {
                        "sku": skus[i],
                        "customer": CUSTOMERS[customer_order[rng.choice(len(CUSTOMERS), p=customer_weights)]],
                        "quantity": float(qty),
                        "order_date": ordered.astype(date),
                        "due_date": due.astype(date),
                        "ship_date": shipped.astype(date),
                    }
                )
    pool = pl.DataFrame(rows).sort("order_date", "customer", "sku", "due_date")
    headers = pool.select("order_date", "customer").unique(maintain_order=True).with_row_index("n", offset=1)
    return (
        pool.join(headers, on=["order_date", "customer"], maintain_order="left")
        .with_columns(order_number=pl.format("PV-{}", (pl.col("n") + 230_000).cast(pl.String)))
        .with_columns(line_number=pl.int_range(1, pl.len() + 1).over("order_number").cast(pl.Int64))
        .drop("n")
    )


def open_customer_orders(pool: pl.DataFrame, day: date) -> pl.DataFrame:
    """Customer order lines open on `day` (ordered and not shipped)."""
    return pool.filter((pl.col("order_date") <= day) & (pl.col("ship_date") > day)).sort("order_number", "line_number")
