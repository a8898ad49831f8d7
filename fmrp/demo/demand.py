"""Daily sales of every sold SKU, built so each SKU lands in its intended Syntetos-Boylan pattern.

Weekly quantities are drawn first (the pattern is defined on ISO weeks): a level with trend, yearly
seasonality, price steps with elasticity and promotions with uplift; demand occurs in a week with a
pattern-specific probability (ADI) and its size has a pattern-specific dispersion (CV²). Each SKU's realised
weekly series is then checked and, when it strayed across a cut, nudged back inside its quadrant with a
safety margin. Weeks are finally split over their business days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from fmrp.demo.config import FactoryConfig
from fmrp.demo.patterns import (
    ERRATIC,
    INTERMITTENT,
    LUMPY,
    PATTERN_SHARES,
    PATTERNS,
    SMOOTH,
    adi_cv2,
    classify,
    is_intermittent,
    is_variable,
)
from fmrp.demo.vocab import PRODUCT_LINES

FUTURE_WEEKS = 8  # demand drawn beyond the history; only firm customer orders reveal it
WEEKDAY_WEIGHTS = np.array([1.15, 1.05, 1.0, 0.95, 0.85, 0.0, 0.0])
# Safety margins around the cuts (ADI 1.32, CV² 0.49) so that a seeded defect cannot flip a pattern.
ADI_LOW, ADI_HIGH = 1.22, 1.45
CV2_LOW, CV2_LOW_SHORT, CV2_HIGH = 0.38, 0.25, 0.65
OCCURRENCE = {SMOOTH: (0.95, 1.0), ERRATIC: (0.88, 1.0), INTERMITTENT: (0.2, 0.6), LUMPY: (0.15, 0.55)}
LEVEL = {SMOOTH: (45.0, 0.9, 8.0), ERRATIC: (25.0, 0.9, 4.0), INTERMITTENT: (8.0, 0.7, 4.0), LUMPY: (15.0, 0.9, 3.0)}


@dataclass(frozen=True)
class DemandHistory:
    """The demand of the sold SKUs.

    Attributes:
        skus: SKU codes, in the row order of the arrays.
        weekly: true weekly quantities, shape (SKUs, history weeks + FUTURE_WEEKS).
        regular_price: list price in force each week, same shape.
        sales: one row per SKU and business day with sales: sale_date, sku, quantity, unit_price, revenue.
        truth: one row per SKU: pattern, parameters, realised ADI/CV², lifecycle and price summary.
    """

    skus: list[str]
    weekly: np.ndarray
    regular_price: np.ndarray
    sales: pl.DataFrame
    truth: pl.DataFrame


def simulate_demand(
    sold: pl.DataFrame, cfg: FactoryConfig, calendar: pl.DataFrame, rng: np.random.Generator
) -> DemandHistory:
    """Weekly and daily demand of the sold SKUs (`sold` has sku, item_type, product_line, list_price)."""
    n, weeks = sold.height, cfg.weeks
    horizon = weeks + FUTURE_WEEKS
    patterns = _assign_patterns(n, rng)
    launch, stop = _lifecycles(n, weeks, horizon, rng)
    active = (np.arange(horizon)[None, :] >= launch[:, None]) & (np.arange(horizon)[None, :] <= stop[:, None])

    level = np.array([max(LEVEL[p][2], LEVEL[p][0] * np.exp(rng.normal(0, LEVEL[p][1]))) for p in patterns])
    trend = np.clip(rng.normal(0.04, 0.08, n), -0.15, 0.25)
    amplitude = np.where(np.isin(patterns, [SMOOTH, ERRATIC]), rng.uniform(0.05, 0.45, n), rng.uniform(0, 0.3, n))
    line = sold["product_line"].fill_null(-1).to_numpy()
    line_peak = np.array([PRODUCT_LINES[x].seasonal_peak_week if x >= 0 else 26 for x in line], dtype=float)
    peak = np.where(line < 0, rng.integers(1, 53, n), line_peak + rng.normal(0, 3, n))
    peak = np.mod(np.round(peak) - 1, 52) + 1

    week_starts = [cfg.start + timedelta(weeks=i) for i in range(horizon)]
    week_of_year = np.array([d.isocalendar().week for d in week_starts], dtype=float)
    t = np.arange(horizon, dtype=float)
    season = 1 + amplitude[:, None] * np.cos(2 * np.pi * (week_of_year[None, :] - peak[:, None]) / 52.18)
    growth = (1 + trend[:, None]) ** (t[None, :] / 52)

    base_price = sold["list_price"].to_numpy()
    regular, step_week = _price_steps(base_price, horizon, rng)
    promo_cut = _promotions(patterns, launch, stop, horizon, rng)
    elasticity = rng.uniform(0.5, 1.8, n)
    promo_elasticity = rng.uniform(2.0, 4.5, n)
    lam = (
        level[:, None]
        * season
        * growth
        * (regular / regular[:, :1]) ** (-elasticity[:, None])
        * (1 - promo_cut) ** (-promo_elasticity[:, None])
    )

    occurrence = np.array([rng.uniform(*OCCURRENCE[p]) for p in patterns])
    noise_cv = np.where(np.isin(patterns, [SMOOTH, INTERMITTENT]), rng.uniform(0.12, 0.32, n), 0.0)
    sigma = np.where(np.isin(patterns, [ERRATIC, LUMPY]), rng.uniform(0.85, 1.25, n), 0.0)
    weekly = _draw_weekly(patterns, lam, occurrence, noise_cv, sigma, rng) * active
    weekly[np.arange(n), launch] = np.maximum(weekly[np.arange(n), launch], np.ceil(lam[np.arange(n), launch]))
    ended = stop < weeks - 1
    weekly[np.flatnonzero(ended), stop[ended]] = np.maximum(weekly[ended, stop[ended]], 1)

    for i, pattern in enumerate(patterns):
        window = slice(launch[i], min(stop[i], weeks - 1) + 1)
        keep = {0, stop[i] - launch[i]} if ended[i] else {0}
        weekly[i, window] = _fit_quadrant(weekly[i, window], pattern, lam[i, window], keep, rng)

    skus = sold["sku"].to_list()
    sales = _daily_sales(skus, weekly[:, :weeks], regular * (1 - promo_cut), patterns, cfg, calendar, rng)
    target_cv2 = np.where(sigma > 0, np.exp(sigma**2) - 1, noise_cv**2)
    truth = _truth(
        sold,
        patterns,
        weekly,
        regular,
        promo_cut,
        step_week,
        launch,
        stop,
        weeks,
        week_starts,
        level=level,
        trend=trend,
        amplitude=amplitude,
        peak=peak,
        target_adi=1 / occurrence,
        target_cv2=target_cv2,
        elasticity=elasticity,
    )
    return DemandHistory(skus=skus, weekly=weekly, regular_price=regular, sales=sales, truth=truth)


def _assign_patterns(n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly the pattern shares (largest remainder), in a random order."""
    raw = np.array(PATTERN_SHARES) * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.array(PATTERNS), counts))


def _lifecycles(n: int, weeks: int, horizon: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Launch and last week index of each SKU: most live the whole history, a few are new or inactive."""
    launch = np.zeros(n, dtype=int)
    stop = np.full(n, horizon - 1)
    n_new = max(1, round(0.03 * n))
    n_inactive = max(1, round(0.03 * n)) if weeks >= 80 else 0
    n_late = round(0.05 * n) if weeks >= 60 else 0
    order = rng.permutation(n)
    new, inactive, late = np.split(order[: n_new + n_inactive + n_late], [n_new, n_new + n_inactive])
    launch[new] = weeks - rng.integers(4, 11, new.size)
    launch[late] = rng.integers(13, weeks - 40, late.size)
    stop[inactive] = weeks - rng.integers(56, min(weeks - 20, 100), inactive.size)
    return launch, stop


def _price_steps(base: np.ndarray, horizon: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regular price per week: a yearly increase of 2-9% in a SKU-specific week; prices end in ,90."""
    n = base.size
    offset = rng.integers(5, 30, n)
    years = horizon // 52 + 2
    factors = np.cumprod(np.hstack([np.ones((n, 1)), 1 + rng.uniform(0.02, 0.09, (n, years))]), axis=1)
    steps = np.clip((np.arange(horizon)[None, :] - offset[:, None]) // 52 + 1, 0, None)
    price = base[:, None] * np.take_along_axis(factors, steps, axis=1)
    price = np.where(price >= 10, np.ceil(price) - 0.10, np.round(price, 2))
    return np.round(price, 2), offset


def _promotions(
    patterns: np.ndarray, launch: np.ndarray, stop: np.ndarray, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    """Price cut per SKU and week: 1-2 week promotions of 10-30% on about a third of the SKUs."""
    n = patterns.size
    cut = np.zeros((n, horizon))
    chance = np.where(np.isin(patterns, [SMOOTH, ERRATIC]), 0.45, 0.12)
    for i in np.flatnonzero(rng.random(n) < chance):
        first, last = launch[i] + 4, min(stop[i], horizon - 1) - 2
        if last <= first:
            continue
        for start in rng.choice(
            np.arange(first, last), size=min(last - first, 1 + rng.poisson(0.5 * horizon / 52)), replace=False
        ):
            cut[i, start : start + int(rng.integers(1, 3))] = round(float(rng.uniform(0.10, 0.30)), 2)
    return cut


def _draw_weekly(
    patterns: np.ndarray,
    lam: np.ndarray,
    occurrence: np.ndarray,
    noise_cv: np.ndarray,
    sigma: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    occurs = rng.random(lam.shape) < occurrence[:, None]
    stable = ~np.isin(patterns, [ERRATIC, LUMPY])
    shape = 1 / np.maximum(noise_cv, 1e-3) ** 2
    gamma = rng.gamma(shape[:, None], 1 / shape[:, None], lam.shape)
    stable_size = rng.poisson(lam * gamma)
    lognormal = rng.lognormal(-(sigma[:, None] ** 2) / 2, np.maximum(sigma, 1e-3)[:, None], lam.shape)
    variable_size = np.ceil(lam * np.minimum(lognormal, 12.0))  # no order above 12 weeks of demand
    size = np.where(stable[:, None], stable_size, variable_size)
    return np.where(occurs, np.maximum(size, 1), 0).astype(float)


def _fit_quadrant(q: np.ndarray, pattern: str, lam: np.ndarray, keep: set[int], rng: np.random.Generator) -> np.ndarray:
    """Move a weekly series inside its quadrant (with margins) changing as few weeks as possible."""
    q = q.copy()
    n = q.size
    if is_intermittent(pattern):
        most = max(2, int(np.floor(n / ADI_HIGH))) if n >= 3 else 1
        nonzero = [i for i in np.flatnonzero(q) if i not in keep]
        excess = np.count_nonzero(q) - most
        if excess > 0:
            q[rng.choice(nonzero, size=excess, replace=False)] = 0
        missing = min(2, most) - np.count_nonzero(q)
        if missing > 0:
            zero = np.flatnonzero(q == 0)
            chosen = rng.choice(zero, size=missing, replace=False)
            q[chosen] = np.maximum(1, np.round(lam[chosen]))
    else:
        missing = int(np.ceil(n / ADI_LOW)) - np.count_nonzero(q)
        if missing > 0:
            chosen = rng.choice(np.flatnonzero(q == 0), size=missing, replace=False)
            q[chosen] = np.maximum(1, rng.poisson(lam[chosen]))
    mask = q > 0
    q[mask] = _fit_dispersion(q[mask], is_variable(pattern), CV2_LOW if n >= 26 else CV2_LOW_SHORT, rng)
    adi, cv2 = adi_cv2(q)
    if classify(adi, cv2) != pattern:
        raise RuntimeError(f"demand generator could not place a series in {pattern}: ADI {adi}, CV² {cv2}")
    return q


def _fit_dispersion(sizes: np.ndarray, variable: bool, low: float, rng: np.random.Generator) -> np.ndarray:
    """Scale the log-deviations of the sizes so CV² is below `low` (stable) or above CV2_HIGH (variable)."""

    def cv2(values: np.ndarray) -> float:
        return float(values.var() / values.mean() ** 2)

    current = cv2(sizes)
    if (not variable and current <= low) or (variable and current >= CV2_HIGH) or sizes.size < 2:
        return sizes
    mean = sizes.mean()
    if variable and current == 0:
        sizes = sizes * rng.lognormal(0, 1, sizes.size)
    logs = np.log(sizes)
    centre = logs.mean()

    def scaled(k: float) -> np.ndarray:
        values = np.exp(centre + k * (logs - centre))
        return np.maximum(1, np.round(values * mean / values.mean()))

    if not variable:
        lo, hi = 0.0, 1.0
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if cv2(scaled(mid)) <= low else (lo, mid)
        return scaled(lo)
    lo, hi = 1.0, 2.0
    while cv2(scaled(hi)) < CV2_HIGH and hi < 64:
        lo, hi = hi, hi * 2
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if cv2(scaled(mid)) >= CV2_HIGH else (mid, hi)
    result = scaled(hi)
    if cv2(result) < CV2_HIGH:  # too few weeks to spread: make one order a big one
        result[np.argmax(result)] *= 10
    return result


def _daily_sales(
    skus: list[str],
    weekly: np.ndarray,
    price: np.ndarray,
    patterns: np.ndarray,
    cfg: FactoryConfig,
    calendar: pl.DataFrame,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Split the weekly quantities over the business days of each week."""
    n, weeks = weekly.shape
    days = calendar.filter(pl.col("calendar_date").is_between(cfg.start, cfg.end))
    business = days["is_business_day"].to_numpy().reshape(weeks, 7)
    weights = WEEKDAY_WEIGHTS[None, :] * business
    weights = weights / weights.sum(axis=1, keepdims=True)
    counts = weekly.astype(np.int64)
    daily = np.zeros((n, weeks, 7), dtype=np.int64)
    spread = ~np.isin(patterns, [INTERMITTENT, LUMPY])
    daily[spread] = rng.multinomial(counts[spread], weights)
    one_day = rng.multinomial(1, weights, size=(int((~spread).sum()), weeks))
    daily[~spread] = one_day * counts[~spread][:, :, None]

    sku_idx, week_idx, day_idx = np.nonzero(daily)
    quantity = daily[sku_idx, week_idx, day_idx]
    discount = np.where(rng.random(quantity.size) < 0.15, rng.uniform(0.95, 0.99, quantity.size), 1.0)
    unit_price = np.round(price[sku_idx, week_idx] * discount, 2)
    offsets = (week_idx * 7 + day_idx).astype("timedelta64[D]")
    return (
        pl.DataFrame(
            {
                "sale_date": np.datetime64(cfg.start, "D") + offsets,
                "sku": np.array(skus)[sku_idx],
                "quantity": quantity.astype(float),
                "unit_price": unit_price,
                "revenue": np.round(quantity * unit_price, 2),
            }
        )
        .with_columns(pl.col("sale_date").cast(pl.Date))
        .sort("sale_date", "sku")
    )


def _truth(
    sold: pl.DataFrame,
    patterns: np.ndarray,
    weekly: np.ndarray,
    regular: np.ndarray,
    promo_cut: np.ndarray,
    step_week: np.ndarray,
    launch: np.ndarray,
    stop: np.ndarray,
    weeks: int,
    week_starts: list[date],
    **params: np.ndarray,
) -> pl.DataFrame:
    rows = []
    for i, sku in enumerate(sold["sku"].to_list()):
        last = min(stop[i], weeks - 1)
        series = weekly[i, launch[i] : last + 1]
        adi, cv2 = adi_cv2(series)
        in_window = slice(launch[i], last + 1)
        cuts = promo_cut[i, in_window]
        prices = regular[i, in_window]
        rows.append(
            {
                "sku": sku,
                "item_type": sold["item_type"][i],
                "pattern": str(patterns[i]),
                "base_level": round(float(params["level"][i]), 2),
                "trend_per_year": round(float(params["trend"][i]), 4),
                "seasonal_amplitude": round(float(params["amplitude"][i]), 4),
                "seasonal_peak_week": int(params["peak"][i]),
                "price_elasticity": round(float(params["elasticity"][i]), 3),
                "target_adi": round(float(params["target_adi"][i]), 4),
                "target_cv2": round(float(params["target_cv2"][i]), 4),
                "realised_adi": round(adi, 4),
                "realised_cv2": round(cv2, 4),
                "realised_pattern": classify(adi, cv2),
                "pattern_from": week_starts[launch[i]],
                "pattern_to": week_starts[last],
                "weeks_in_window": int(series.size),
                "weeks_with_demand": int(np.count_nonzero(series)),
                "launch_date": week_starts[launch[i]],
                "is_new": bool(weeks - launch[i] < 13),
                "is_inactive": bool(stop[i] < weeks - 52),
                "first_price": float(prices[0]),
                "last_price": float(prices[-1]),
                "price_changes": int(np.count_nonzero(np.diff(prices))),
                "yearly_increase_week": int(step_week[i]),
                "promotions": int(np.count_nonzero(np.diff(np.concatenate([[0.0], cuts])) > 0)),
                "promotion_weeks": int(np.count_nonzero(cuts)),
                "total_quantity": float(series.sum()),
            }
        )
    return pl.DataFrame(rows)
