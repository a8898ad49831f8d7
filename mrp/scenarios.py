"""What-if scenarios (PL-10): change demand, lead times or capacity, re-plan, and compare with the base plan.

A :class:`Scenario` is a named set of changes applied to the *inputs* of :func:`mrp.engine.run_mrp` and
:func:`mrp.crp.capacity_requirements`; the engines are not touched, so a scenario plan is exactly the plan the
changed data would give.

- **Demand**: every row's quantity is multiplied by the global multiplier, the item's ABC class multiplier
  and the item's own multiplier (all three apply: 1.1 globally and 1.2 for class A is 1.32 for an A item).
- **Lead times** (working days, added; the result is never below 0): a global change, per item, and per
  supplier (applied to the items whose chosen supplier, the preferred one else the cheapest, it is). The
  ``item_suppliers`` terms of that supplier change too, for :mod:`mrp.purchasing`.
- **Capacity**: ``available_hours`` of a work center multiplied (0.5 = half a shift lost; 1.25 = a Saturday).

:meth:`Scenario.to_dict` / :meth:`Scenario.from_dict` give a JSON-ready form for storage by name.
:func:`compare` gives per-item and total deltas of planned orders (count, quantity, value at standard cost),
past-due orders (stockouts) and overloaded work center buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import polars as pl

from mrp.crp import CapacityPlan, capacity_requirements
from mrp.engine import CostDefaults, MrpPlan, run_mrp
from mrp.horizon import Horizon

COMPARISON_COLUMNS: tuple[str, ...] = (
    "sku",
    "base_orders",
    "scenario_orders",
    "base_quantity",
    "scenario_quantity",
    "base_value",
    "scenario_value",
    "base_past_due",
    "scenario_past_due",
    "delta_orders",
    "delta_quantity",
    "delta_value",
    "delta_past_due",
)


class ScenarioError(ValueError):
    """A scenario with an invalid change, or inputs it cannot be applied to."""


def _frozen(mapping: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType({str(key): float(value) for key, value in (mapping or {}).items()})


@dataclass(frozen=True)
class Scenario:
    """A named what-if.

    Attributes:
        name: The name it is stored under.
        description: What it asks, in words.
        demand_multiplier: Applied to every item's demand.
        demand_multiplier_by_class: Per ABC class (``{"A": 1.2}``).
        demand_multiplier_by_sku: Per item.
        lead_time_change_days: Working days added to every item's lead time (negative shortens).
        lead_time_change_by_sku: Per item.
        lead_time_change_by_supplier: Per supplier, for the items bought from it.
        capacity_multiplier_by_work_center: Per work center.
    """

    name: str
    description: str = ""
    demand_multiplier: float = 1.0
    demand_multiplier_by_class: Mapping[str, float] = field(default_factory=dict)
    demand_multiplier_by_sku: Mapping[str, float] = field(default_factory=dict)
    lead_time_change_days: float = 0.0
    lead_time_change_by_sku: Mapping[str, float] = field(default_factory=dict)
    lead_time_change_by_supplier: Mapping[str, float] = field(default_factory=dict)
    capacity_multiplier_by_work_center: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ScenarioError("a scenario needs a name")
        for attribute in (
            "demand_multiplier_by_class",
            "demand_multiplier_by_sku",
            "capacity_multiplier_by_work_center",
        ):
            values = _frozen(getattr(self, attribute))
            object.__setattr__(self, attribute, values)
            for key, value in values.items():
                if not (math.isfinite(value) and value >= 0):
                    raise ScenarioError(f"scenario {self.name!r}: {attribute}[{key!r}] must be >= 0, got {value}")
        for attribute in ("lead_time_change_by_sku", "lead_time_change_by_supplier"):
            values = _frozen(getattr(self, attribute))
            object.__setattr__(self, attribute, values)
            for key, value in values.items():
                if not math.isfinite(value):
                    raise ScenarioError(f"scenario {self.name!r}: {attribute}[{key!r}] must be a number, got {value}")
        if not (math.isfinite(self.demand_multiplier) and self.demand_multiplier >= 0):
            raise ScenarioError(f"scenario {self.name!r}: demand_multiplier must be >= 0, got {self.demand_multiplier}")
        if not math.isfinite(self.lead_time_change_days):
            raise ScenarioError(f"scenario {self.name!r}: lead_time_change_days must be a number")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (plain dicts and numbers)."""
        return {
            f.name: dict(value) if isinstance(value := getattr(self, f.name), Mapping) else value for f in fields(self)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """The scenario :meth:`to_dict` gave; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioError(f"unknown scenario field(s): {', '.join(unknown)}")
        return cls(**dict(data))

    def apply_demand(self, demand: pl.DataFrame, classes: pl.DataFrame | None = None) -> pl.DataFrame:
        """``demand`` (``sku``, ``quantity``, ...) with the multipliers applied.

        Args:
            demand: Any frame with ``sku`` and ``quantity`` (the MPS, a forecast in ``quantity``).
            classes: ``sku``, ``abc_class``; needed when the scenario has class multipliers.
        """
        if self.demand_multiplier_by_class and classes is None:
            raise ScenarioError(f"scenario {self.name!r} changes demand per ABC class: pass the items' classes")
        frame = demand.with_columns(
            pl.col("sku")
            .cast(pl.String)
            .replace_strict(dict(self.demand_multiplier_by_sku), default=1.0, return_dtype=pl.Float64)
            .alias("_by_sku")
        )
        if classes is not None:
            lookup = classes.select(pl.col("sku").cast(pl.String), pl.col("abc_class").cast(pl.String))
            frame = (
                frame.join(lookup, on="sku", how="left", maintain_order="left")
                .with_columns(
                    pl.col("abc_class")
                    .replace_strict(dict(self.demand_multiplier_by_class), default=1.0, return_dtype=pl.Float64)
                    .alias("_by_class")
                )
                .drop("abc_class")
            )
        else:
            frame = frame.with_columns(pl.lit(1.0).alias("_by_class"))
        return frame.with_columns(
            (pl.col("quantity") * self.demand_multiplier * pl.col("_by_class") * pl.col("_by_sku")).alias("quantity")
        ).drop("_by_sku", "_by_class")

    def apply_lead_times(
        self, items: pl.DataFrame, item_suppliers: pl.DataFrame | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """Items (``lead_time_days``) and supplier terms with the lead-time changes applied."""
        if self.lead_time_change_by_supplier and item_suppliers is None:
            raise ScenarioError(f"scenario {self.name!r} changes supplier lead times: pass item_suppliers")
        by_sku = dict(self.lead_time_change_by_sku)
        by_supplier = dict(self.lead_time_change_by_supplier)
        changed_terms = None
        supplier_change = pl.DataFrame(schema={"sku": pl.String, "_supplier": pl.Float64})
        if item_suppliers is not None:
            change = pl.col("supplier_code").replace_strict(by_supplier, default=0.0, return_dtype=pl.Float64)
            changed_terms = item_suppliers.with_columns(
                (pl.col("lead_time_days") + self.lead_time_change_days + change)
                .clip(lower_bound=0.0)
                .alias("lead_time_days")
            )
            preferred = (
                pl.col("is_preferred").fill_null(False) if "is_preferred" in item_suppliers.columns else pl.lit(False)
            )
            supplier_change = (
                item_suppliers.with_columns(preferred.alias("_preferred"))
                .sort(
                    "sku",
                    pl.col("_preferred"),
                    "unit_price",
                    "supplier_code",
                    descending=[False, True, False, False],
                    nulls_last=True,
                )
                .group_by("sku", maintain_order=True)
                .first()
                .select(pl.col("sku").cast(pl.String), change.alias("_supplier"))
            )
        changed_items = (
            items.with_columns(pl.col("sku").cast(pl.String))
            .join(supplier_change, on="sku", how="left", maintain_order="left")
            .with_columns(
                (
                    pl.col("lead_time_days").cast(pl.Float64)
                    + self.lead_time_change_days
                    + pl.col("sku").replace_strict(by_sku, default=0.0, return_dtype=pl.Float64)
                    + pl.col("_supplier").fill_null(0.0)
                )
                .clip(lower_bound=0.0)
                .alias("lead_time_days")
            )
            .drop("_supplier")
        )
        return changed_items, changed_terms

    def apply_capacity(self, capacity: pl.DataFrame) -> pl.DataFrame:
        """Capacity (``work_center_code``, ``available_hours``) with the work-center multipliers applied."""
        factor = pl.col("work_center_code").replace_strict(
            dict(self.capacity_multiplier_by_work_center), default=1.0, return_dtype=pl.Float64
        )
        return capacity.with_columns((pl.col("available_hours").cast(pl.Float64) * factor).alias("available_hours"))


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """A plan run under a scenario: its name, the MRP plan, and the CRP when routings and capacity were given."""

    name: str
    plan: MrpPlan
    capacity: CapacityPlan | None
    items: pl.DataFrame


def run_scenario(
    scenario: Scenario,
    items: pl.DataFrame,
    bom_edges: pl.DataFrame,
    inventory: pl.DataFrame,
    scheduled_receipts: pl.DataFrame,
    demand: pl.DataFrame,
    horizon: Horizon,
    *,
    classes: pl.DataFrame | None = None,
    item_suppliers: pl.DataFrame | None = None,
    routings: pl.DataFrame | None = None,
    capacity: pl.DataFrame | None = None,
    safety_stock: pl.DataFrame | None = None,
    costs: CostDefaults | None = None,
) -> ScenarioResult:
    """Apply the scenario to the inputs and run MRP (and CRP when ``routings`` and ``capacity`` are given).

    The arguments are those of :func:`mrp.engine.run_mrp` and :func:`mrp.crp.capacity_requirements`;
    ``classes`` (``sku``, ``abc_class``) and ``item_suppliers`` are needed by class and supplier changes.
    A base plan is ``run_scenario(Scenario("base"), ...)``.
    """
    changed_items, _ = scenario.apply_lead_times(items, item_suppliers)
    plan = run_mrp(
        changed_items,
        bom_edges,
        inventory,
        scheduled_receipts,
        scenario.apply_demand(demand, classes),
        horizon,
        safety_stock=safety_stock,
        costs=costs,
    )
    crp = None
    if routings is not None and capacity is not None:
        crp = capacity_requirements(plan.planned_orders, routings, scenario.apply_capacity(capacity), horizon)
    return ScenarioResult(scenario.name, plan, crp, changed_items)


def compare(base: ScenarioResult, scenario: ScenarioResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-item and total deltas of a scenario against the base plan.

    Returns:
        ``(per_item, totals)``: ``per_item`` has :data:`COMPARISON_COLUMNS`, one row per item with planned
        orders in either plan (value = quantity x ``standard_cost`` of the items, 0 without one);
        ``totals`` has one row per measure (``planned_orders``, ``planned_quantity``, ``planned_value``,
        ``past_due_orders``, ``overloaded_buckets``) with ``base``, ``scenario`` and ``delta``.
    """
    left = _order_totals(base).rename(lambda c: c if c == "sku" else f"base_{c}")
    right = _order_totals(scenario).rename(lambda c: c if c == "sku" else f"scenario_{c}")
    per_item = (
        left.join(right, on="sku", how="full", coalesce=True)
        .with_columns(pl.exclude("sku").fill_null(0))
        .with_columns(
            (pl.col(f"scenario_{m}") - pl.col(f"base_{m}")).alias(f"delta_{m}")
            for m in ("orders", "quantity", "value", "past_due")
        )
        .select(COMPARISON_COLUMNS)
        .sort("sku")
    )
    measures = {
        "planned_orders": "orders",
        "planned_quantity": "quantity",
        "planned_value": "value",
        "past_due_orders": "past_due",
    }
    rows = [
        (name, float(per_item[f"base_{m}"].sum()), float(per_item[f"scenario_{m}"].sum()))
        for name, m in measures.items()
    ]
    rows.append(("overloaded_buckets", float(_overloads(base)), float(_overloads(scenario))))
    totals = pl.DataFrame(rows, schema={"measure": pl.String, "base": pl.Float64, "scenario": pl.Float64}, orient="row")
    return per_item, totals.with_columns((pl.col("scenario") - pl.col("base")).alias("delta"))


def _order_totals(result: ScenarioResult) -> pl.DataFrame:
    cost = (
        result.items.select(pl.col("sku").cast(pl.String), pl.col("standard_cost").cast(pl.Float64).fill_null(0.0))
        if "standard_cost" in result.items.columns
        else pl.DataFrame(schema={"sku": pl.String, "standard_cost": pl.Float64})
    )
    return (
        result.plan.planned_orders.join(cost, on="sku", how="left")
        .group_by("sku")
        .agg(
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col("quantity").sum().alias("quantity"),
            (pl.col("quantity") * pl.col("standard_cost").fill_null(0.0)).sum().alias("value"),
            pl.col("is_past_due").sum().cast(pl.Int64).alias("past_due"),
        )
    )


def _overloads(result: ScenarioResult) -> int:
    return 0 if result.capacity is None else result.capacity.load.filter(pl.col("suggestion") != "ok").height
