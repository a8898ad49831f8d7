"""The demo factory in memory: every table the files are written from, built from one config."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

import numpy as np
import polars as pl

from fmrp.demo.catalog import FINISHED, SOLD_TYPES, Catalog, build_catalog
from fmrp.demo.config import FactoryConfig
from fmrp.demo.costing import cost_indexes, labour_cost, low_level_codes, standard_costs
from fmrp.demo.demand import DemandHistory, simulate_demand
from fmrp.demo.factory_calendar import build_calendar
from fmrp.demo.plant import Plant, build_plant
from fmrp.demo.policy import lot_policies, made_lead_times, weekly_usage
from fmrp.demo.positions import (
    Workdays,
    customer_order_pool,
    inventory,
    production_order_pool,
    purchase_order_pool,
)
from fmrp.demo.suppliers import Purchasing, build_purchasing

STREAMS = (
    "catalog",
    "plant",
    "purchasing",
    "costs",
    "prices",
    "demand",
    "policy",
    "inventory",
    "purchase_orders",
    "production_orders",
    "customer_orders",
    "mail",
    "defects",
)
POSITION_DAYS = 10
WAGE_INCREASE_PER_QUARTER = 0.015


@dataclass(frozen=True)
class FactoryModel:
    """Everything generated, before it is written to files."""

    cfg: FactoryConfig
    calendar: pl.DataFrame
    workdays: Workdays
    business_days: list[date]  # business days of the sales history
    regime_starts: list[date]  # first day of each cost/price regime (start, then each quarterly re-export)
    catalog: Catalog
    items: pl.DataFrame  # catalog items with planning parameters and lifecycle dates
    levels: dict[str, int]
    plant: Plant
    purchasing: Purchasing
    costs: list[dict[str, float]]  # standard cost per item, per regime
    price_index: dict[str, np.ndarray]  # purchase price index per supplier category, per regime
    demand: DemandHistory
    usage: dict[str, np.ndarray]
    inventory: pl.DataFrame
    purchase_orders: pl.DataFrame
    production_orders: pl.DataFrame
    customer_orders: pl.DataFrame
    rngs: dict[str, np.random.Generator]

    @property
    def last_business_day(self) -> date:
        return self.business_days[-1]

    @property
    def position_days(self) -> list[date]:
        """The last business days of the history, when the daily position files are exported."""
        return self.business_days[-POSITION_DAYS:]

    @property
    def inventory_days(self) -> list[date]:
        return inventory_days(self.business_days)

    def regime(self, day: date) -> int:
        return _regime(self.regime_starts, day)

    def cost_at(self, day: date) -> dict[str, float]:
        return self.costs[self.regime(day)]

    def week_index(self, day: date) -> int:
        return (day - self.cfg.start).days // 7


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams per concern, so a change in one part leaves the others' draws unchanged."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


def _quarter_starts(first: date, last: date, business: list[date]) -> list[date]:
    """The first business day of each calendar quarter after `first` up to `last`."""
    starts = []
    for year in range(first.year, last.year + 1):
        for month in (1, 4, 7, 10):
            day = next((d for d in business if d >= date(year, month, 1)), None)
            if day is not None and first < day < last:
                starts.append(day)
    return starts


def build_model(cfg: FactoryConfig) -> FactoryModel:
    """Generate the demo factory in memory."""
    rngs = _streams(cfg.seed)
    calendar = build_calendar(cfg.start, cfg.horizon_end)
    workdays = Workdays.from_calendar(calendar)
    history = calendar.filter(pl.col("is_business_day") & (pl.col("calendar_date") <= cfg.end))
    business_days: list[date] = history["calendar_date"].to_list()
    regime_starts = [business_days[0], *_quarter_starts(business_days[0], business_days[-1], business_days)]

    catalog = build_catalog(cfg, business_days[-1], rngs["catalog"])
    levels = low_level_codes(catalog.bom)
    plant = build_plant(catalog.items, cfg.start, cfg.horizon_end, rngs["plant"])
    purchasing = build_purchasing(catalog.items, cfg.finished_goods, rngs["purchasing"])
    price_index, costs = _costs(catalog, levels, plant, purchasing, regime_starts, rngs["costs"])

    sold = catalog.items.filter(pl.col("item_type").is_in(SOLD_TYPES))
    markup = np.where(
        sold["item_type"] == FINISHED,
        rngs["prices"].uniform(1.6, 2.4, sold.height),
        rngs["prices"].uniform(1.35, 1.8, sold.height),
    )
    sold = sold.with_columns(list_price=pl.Series(np.array([costs[0][s] for s in sold["sku"]]) * markup))
    demand = simulate_demand(sold, cfg, calendar, rngs["demand"])

    items = _lifecycle(catalog.items, demand.truth, cfg, rngs["demand"])
    week_starts = [cfg.start + timedelta(weeks=i) for i in range(demand.weekly.shape[1])]
    usage = weekly_usage(catalog.bom, levels, dict(zip(demand.skus, demand.weekly, strict=True)), week_starts)
    weeks = cfg.weeks
    mean_usage = {sku: float(u[max(0, weeks - 26) : weeks].mean()) for sku, u in usage.items()}
    recent_usage = {sku: float(u[weeks - 8 : weeks + 4].mean()) for sku, u in usage.items()}
    bought_lead = purchasing.item_suppliers.filter(pl.col("is_preferred")).select("sku", "lead_time_days")
    lead_times = {sku: max(1, round(days)) for sku, days in bought_lead.iter_rows()}
    lead_times |= made_lead_times(items, plant.routings, rngs["policy"])
    policies = lot_policies(items, mean_usage, lead_times, rngs["policy"])
    items = items.join(policies, on="sku")

    regime = partial(_regime, regime_starts)
    category_of = dict(items.select("sku", "supplier_category").drop_nulls().iter_rows())
    terms = {
        (s, f): p for s, f, p in purchasing.item_suppliers.select("sku", "supplier_code", "unit_price").iter_rows()
    }

    def supplier_price(day: date, sku: str, supplier: str) -> float:
        return round(terms[(sku, supplier)] * price_index[category_of[sku]][regime(day)], 4)

    window = (business_days[-POSITION_DAYS], business_days[-1])
    return FactoryModel(
        cfg=cfg,
        calendar=calendar,
        workdays=workdays,
        business_days=business_days,
        regime_starts=regime_starts,
        catalog=catalog,
        items=items,
        levels=levels,
        plant=plant,
        purchasing=purchasing,
        costs=costs,
        price_index=price_index,
        demand=demand,
        usage=usage,
        inventory=inventory(
            items, usage, cfg.start, inventory_days(business_days), lambda day: costs[regime(day)], rngs["inventory"]
        ),
        purchase_orders=purchase_order_pool(
            items,
            policies,
            purchasing.item_suppliers,
            recent_usage,
            workdays,
            window,
            supplier_price,
            rngs["purchase_orders"],
        ),
        production_orders=production_order_pool(
            items, policies, recent_usage, workdays, window, rngs["production_orders"]
        ),
        customer_orders=customer_order_pool(
            demand.skus, demand.weekly, weeks, cfg.start, workdays, rngs["customer_orders"]
        ),
        rngs=rngs,
    )


def _regime(regime_starts: list[date], day: date) -> int:
    """Index of the cost/price regime in force on `day`."""
    return max(bisect_right(regime_starts, day) - 1, 0)


def _costs(
    catalog: Catalog,
    levels: dict[str, int],
    plant: Plant,
    purchasing: Purchasing,
    regime_starts: list[date],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], list[dict[str, float]]]:
    """Purchase price indexes per supplier category and the standard cost of every item, per regime."""
    categories = sorted(set(catalog.items["supplier_category"].drop_nulls().to_list()))
    price_index = cost_indexes(categories, len(regime_starts), rng)
    category_of = dict(catalog.items.select("sku", "supplier_category").drop_nulls().iter_rows())
    preferred = dict(purchasing.item_suppliers.filter(pl.col("is_preferred")).select("sku", "unit_price").iter_rows())
    labour = dict(labour_cost(plant.routings, plant.work_centers).iter_rows())
    costs = [
        standard_costs(
            catalog.items,
            catalog.bom,
            {sku: price * price_index[category_of[sku]][k] for sku, price in preferred.items()},
            labour,
            levels,
            as_of,
            (1 + WAGE_INCREASE_PER_QUARTER) ** k,
        )
        for k, as_of in enumerate(regime_starts)
    ]
    return price_index, costs


def inventory_days(business_days: list[date]) -> list[date]:
    """The last business day of every week of the history, plus every position day."""
    weekly = {}
    for day in business_days:
        weekly[day.isocalendar()[:2]] = day
    return sorted(set(weekly.values()) | set(business_days[-POSITION_DAYS:]))


def _lifecycle(items: pl.DataFrame, truth: pl.DataFrame, cfg: FactoryConfig, rng: np.random.Generator) -> pl.DataFrame:
    """New SKUs enter the item master four weeks before launch; one inactive finished good is deactivated."""
    launches = (
        truth.filter(pl.col("launch_date") > cfg.start)
        .select("sku", created=pl.col("launch_date") - pl.duration(weeks=4))
        .with_columns(pl.max_horizontal("created", pl.lit(cfg.start)))
    )
    retired = truth.filter(pl.col("is_inactive") & (pl.col("item_type") == FINISHED)).sort("sku")
    items = (
        items.join(launches, on="sku", how="left")
        .with_columns(created_on=pl.coalesce("created", "created_on"))
        .drop("created")
    )
    if retired.height:
        chosen = retired.row(int(rng.integers(retired.height)), named=True)
        sku, last_week = chosen["sku"], chosen["pattern_to"]
        items = items.with_columns(
            deactivated_on=pl.when(pl.col("sku") == sku)
            .then(pl.lit(last_week + timedelta(weeks=8)))
            .otherwise(pl.col("deactivated_on"))
        )
    return items
