"""The plant: work centers, shifts, planned stops, routings and warehouses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl

from fmrp.demo.catalog import COMPONENT, FINISHED, SEMI
from fmrp.demo.factory_calendar import VACATION_START
from fmrp.demo.vocab import MADE_COMPONENTS, PRODUCT_LINES, WAREHOUSES, WORK_CENTERS

# Shift patterns by number of shifts: (code, start, end); the third shift ends past midnight.
SHIFT_PATTERNS: dict[int, tuple[tuple[str, str, str], ...]] = {
    1: (("T1", "07:00", "16:48"),),
    2: (("T1", "05:00", "13:48"), ("T2", "13:48", "22:36")),
    3: (("T1", "06:00", "14:00"), ("T2", "14:00", "22:00"), ("T3", "22:00", "06:00")),
}
SATURDAY_SHIFT = ("T1", "07:00", "11:00")
METAL_LINES = {"Organização", "Utilidades", "Ventilação"}


@dataclass(frozen=True)
class Plant:
    """Frames of the plant master data, with the field names of the raw tables."""

    work_centers: pl.DataFrame
    shifts: pl.DataFrame
    planned_stops: pl.DataFrame
    routings: pl.DataFrame
    warehouses: pl.DataFrame


def build_plant(items: pl.DataFrame, first: date, last: date, rng: np.random.Generator) -> Plant:
    """Work centers with shifts and maintenance stops, and a routing for every made, non-phantom item."""
    work_centers = _work_centers(rng)
    return Plant(
        work_centers=work_centers,
        shifts=_shifts(work_centers["work_center_code"].to_list(), rng),
        planned_stops=_planned_stops(work_centers["work_center_code"].to_list(), first, last, rng),
        routings=_routings(items, rng),
        warehouses=pl.DataFrame([{"warehouse_code": c, "name": n, "warehouse_type": t} for c, n, t in WAREHOUSES]),
    )


def _work_centers(rng: np.random.Generator) -> pl.DataFrame:
    n = len(WORK_CENTERS)
    return pl.DataFrame(
        {
            "work_center_code": [c for c, _ in WORK_CENTERS],
            "name": [name for _, name in WORK_CENTERS],
            "machines": rng.integers(1, 7, n),
            "efficiency_pct": np.round(rng.uniform(72, 96, n), 1),
            "cost_per_hour": np.round(rng.uniform(65, 260, n), 2),
        }
    )


def _shifts(codes: list[str], rng: np.random.Generator) -> pl.DataFrame:
    shift_counts = rng.choice([1, 2, 2, 3], size=len(codes))
    shift_counts[codes.index("CT02")] = 3  # injection moulding runs around the clock
    saturday = rng.random(len(codes)) < 0.3
    saturday[codes.index("CT05")] = True
    rows = []
    for code, count, works_saturday in zip(codes, shift_counts, saturday, strict=True):
        for shift, start, end in SHIFT_PATTERNS[int(count)]:
            rows += [
                {"work_center_code": code, "shift_code": shift, "weekday": d, "start_time": start, "end_time": end}
                for d in range(1, 6)
            ]
        if works_saturday:
            shift, start, end = SATURDAY_SHIFT
            rows.append(
                {"work_center_code": code, "shift_code": shift, "weekday": 6, "start_time": start, "end_time": end}
            )
    return pl.DataFrame(rows).sort("work_center_code", "shift_code", "weekday")


def _planned_stops(codes: list[str], first: date, last: date, rng: np.random.Generator) -> pl.DataFrame:
    """Preventive maintenance every 4 to 9 weeks per work center, and a yearly overhaul in the vacation."""
    rows = []
    for code in codes:
        day = first + timedelta(days=int(rng.integers(7, 42)))
        while day <= last:
            if rng.random() < 0.5:
                saturday = day + timedelta(days=5 - day.weekday())
                start, hours, reason = datetime.combine(saturday, time(7, 0)), 8, "Manutenção preventiva"
            else:
                start, hours = datetime.combine(day, time(6, 0)), int(rng.choice([2, 4]))
                reason = str(rng.choice(["Manutenção preventiva", "Calibração", "Lubrificação e inspeção"]))
            rows.append(
                {
                    "work_center_code": code,
                    "start_at": start,
                    "end_at": start + timedelta(hours=hours),
                    "reason": reason,
                }
            )
            day += timedelta(weeks=int(rng.integers(4, 10)))
        if rng.random() < 0.5:
            for year in range(first.year, last.year + 1):
                start = datetime(year, VACATION_START[0], VACATION_START[1] + 1, 8, 0)
                if first <= start.date() <= last:
                    rows.append(
                        {
                            "work_center_code": code,
                            "start_at": start,
                            "end_at": start + timedelta(days=3, hours=9),
                            "reason": "Manutenção anual",
                        }
                    )
    return pl.DataFrame(rows).sort("work_center_code", "start_at")


def _routings(items: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    made = items.filter((pl.col("replenishment") == "Fabricar") & ~pl.col("is_phantom"))
    line_category = {line.category for line in PRODUCT_LINES}
    rows = []
    for sku, item_type, description, category in made.select("sku", "item_type", "description", "category").iter_rows():
        if item_type == COMPONENT:
            centers = next((list(wc) for stem, _, wc in MADE_COMPONENTS if description.startswith(stem)), ["CT09"])
            if rng.random() < 0.25 and "CT10" not in centers:
                centers.append("CT10")
            run = (0.03, 0.6)
        elif item_type == SEMI:
            centers = ["CT04"] if category in METAL_LINES else []
            if category in line_category and rng.random() < 0.4:
                centers.append("CT05")
            centers.append(str(rng.choice(["CT06", "CT07", "CT12"] if category == "Ventilação" else ["CT06", "CT07"])))
            run = (0.4, 3.0)
        else:
            assert item_type == FINISHED
            centers = [str(rng.choice(["CT06", "CT07"])), "CT08"]
            if rng.random() < 0.2:
                centers.insert(1, "CT11")
            run = (0.8, 4.0)
        for seq, center in enumerate(centers[:3], start=1):
            rows.append(
                {
                    "sku": sku,
                    "sequence": seq * 10,
                    "work_center_code": center,
                    "setup_minutes": float(rng.choice([10, 15, 20, 30, 45, 60, 90])),
                    "run_minutes_per_unit": float(round(rng.uniform(*run), 2)),
                }
            )
    return pl.DataFrame(rows).sort("sku", "sequence")
