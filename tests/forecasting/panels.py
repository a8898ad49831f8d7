"""Generated demand panels for the forecasting tests (fixed seeds)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from forecasting.data import Freq, interval

START = {"W": dt.date(2021, 1, 4), "M": dt.date(2015, 1, 1)}


def series_frame(uid: str, values: np.ndarray | list[float], freq: Freq, start: dt.date | None = None) -> pl.DataFrame:
    """One series as a long frame, buckets from ``start``."""
    first = start or START[freq]
    ds = pl.date_range(first, first + dt.timedelta(days=31 * len(values)), interval(freq), eager=True)[: len(values)]
    return pl.DataFrame({"unique_id": uid, "ds": ds, "y": np.asarray(values, dtype=float)})


def mixed_panel(freq: Freq, length: int, seed: int = 7) -> pl.DataFrame:
    """Smooth seasonal, trending, intermittent, lumpy, all-zero-tail and short series, same last bucket."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    period = 52 if freq == "W" else 12
    series = {
        "smooth": 100 + 20 * np.sin(2 * np.pi * t / period) + rng.normal(0, 5, length),
        "trend": 20 + 0.5 * t + rng.normal(0, 3, length),
        "intermittent": rng.poisson(3, length) * (rng.random(length) < 0.3),
        "lumpy": rng.gamma(0.5, 40, length) * (rng.random(length) < 0.25),
        "dying": np.r_[rng.poisson(5, length - length // 3), np.zeros(length // 3)],
    }
    frames = [series_frame(uid, v, freq) for uid, v in series.items()]
    last = frames[0]["ds"][-1]
    short = rng.poisson(4, 6).astype(float)
    short_start = pl.date_range(START[freq], last, interval(freq), eager=True)[-6]
    frames.append(series_frame("short", short, freq, start=short_start))
    return pl.concat(frames)
