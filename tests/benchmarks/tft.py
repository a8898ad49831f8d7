"""TFT benchmark (FC-3, FC-9): train on 2,000 synthetic SKUs x 156 weeks, forecast 13 weeks from the saved artifact.

Two networks are trained on CPU for a few batches: the small preset (what runs anywhere) and the production
preset's architecture (trained on the GPU worker in production; its size, not its training, sets the
inference cost). Each is saved, then loaded and run in a fresh process, as the weekly inference job does, at
1 and 2 torch threads: the table shows the load time, the first and a second forecast of all 2,000 series, and
that process's peak RSS. Training time and peak RSS are those of this process.

Run: ``.venv/bin/python -m tests.benchmarks.tft`` (prints the table; record it in docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from fmrp.settings import project_root
from forecasting.data import interval
from forecasting.models.tft import TFTModel, TFTSettings

N_SERIES = 2_000
WEEKS = 156
HORIZON = 13
FIRST_WEEK = dt.date(2021, 1, 4)


def synthetic_panel(n_series: int = N_SERIES, weeks: int = WEEKS, seed: int = 11) -> pl.DataFrame:
    """Seasonal SKUs from about 1 to about 3,000 a week (a third of them intermittent), each with a price."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    size = 10.0 ** rng.uniform(0.0, 3.5, n_series)
    phase = rng.integers(52, size=n_series)
    season = 1 + 0.3 * np.sin(2 * np.pi * (t[None, :] + phase[:, None]) / 52)
    demand = size[:, None] * season * rng.gamma(4, 0.25, (n_series, weeks))
    intermittent = rng.random(n_series) < 1 / 3
    demand[intermittent] *= rng.random((int(intermittent.sum()), weeks)) < 0.3
    price = np.round(10.0 ** rng.uniform(0.5, 2.5, n_series), 2)[:, None] * np.where(t >= weeks // 2, 1.05, 1.0)
    dates = pl.date_range(FIRST_WEEK, FIRST_WEEK + dt.timedelta(weeks=weeks - 1), interval("W"), eager=True)
    return pl.DataFrame(
        {
            "unique_id": np.repeat([f"sku{i:05d}" for i in range(n_series)], weeks),
            "ds": pl.concat([dates] * n_series),
            "y": np.round(demand).ravel(),
            "price": price.ravel(),
        }
    )


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux's ``getrusage`` carries the parent's peak over ``fork`` + ``exec``, so a child started from the
    training process would report the trainer's peak; the kernel's per-process high-water mark ``VmHWM`` does
    not. ``getrusage`` elsewhere.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def infer(artifact: Path, history_path: Path, threads: int) -> dict[str, float]:
    """In this process: load the artifact, forecast every series twice; seconds and peak RSS."""
    history = pl.read_parquet(history_path)
    started = time.perf_counter()
    model = TFTModel.load(artifact)
    model.settings = replace(model.settings, num_threads=threads)
    loaded = time.perf_counter()
    cpu = time.process_time()
    forecast = model.predict(history, HORIZON, "W")
    first_cpu = time.process_time() - cpu
    first = time.perf_counter()
    model.predict(history, HORIZON, "W")
    second = time.perf_counter()
    if forecast.height != history["unique_id"].n_unique() * HORIZON:
        raise RuntimeError(f"expected {history['unique_id'].n_unique() * HORIZON} forecast rows, got {forecast.height}")
    return {
        "load_s": loaded - started,
        "first_s": first - loaded,
        "first_cpu_s": first_cpu,
        "second_s": second - first,
        "rows": float(forecast.height),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _infer_in_child(artifact: Path, history_path: Path, threads: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.tft", "infer", str(artifact), str(history_path), str(threads)],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"TFT inference failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run() -> list[tuple[str, str]]:
    panel = synthetic_panel()
    presets = {
        "small": TFTSettings.small(),
        "production": TFTSettings.production(accelerator="cpu", max_epochs=1, limit_train_batches=20, num_threads=1),
    }
    rows: list[tuple[str, str]] = [
        ("panel", f"{N_SERIES:,} SKUs x {WEEKS} weeks, horizon {HORIZON}"),
        # the machine is shared: the load says how much of the wall time is waiting for a core
        ("load average at start (1 / 5 / 15 min)", " / ".join(f"{x:.1f}" for x in os.getloadavg())),
    ]
    with tempfile.TemporaryDirectory(prefix="fmrp-tft-bench-") as tmp:
        history_path = Path(tmp) / "history.parquet"
        panel.write_parquet(history_path)
        for label, settings in presets.items():
            model = TFTModel(settings)
            started = time.perf_counter()
            trained = model.fit(panel, "W", horizon=HORIZON)
            train_s = time.perf_counter() - started
            artifact = model.save(Path(tmp) / label.split()[0])
            size_kb = sum(p.stat().st_size for p in artifact.iterdir()) / 1024
            params = sum(p.numel() for p in trained.network.parameters())
            rows += [
                (
                    f"{label}: training ({settings.hidden_size} hidden, {settings.attention_head_size} heads, "
                    f"{params:,} weights, {settings.num_threads} threads)",
                    f"{train_s:.1f} s",
                ),
                (f"{label}: artifact size", f"{size_kb:,.0f} KB"),
            ]
            for threads in (1, 2):
                result = _infer_in_child(artifact, history_path, threads)
                rows += [
                    (
                        f"{label}: inference {N_SERIES:,} x {HORIZON}, {threads} thread(s): "
                        "first call (CPU time) / second call",
                        f"{result['first_s']:.2f} s ({result['first_cpu_s']:.2f} s) / {result['second_s']:.2f} s",
                    ),
                    (
                        f"{label}: load artifact / inference peak RSS, {threads} thread(s)",
                        f"{result['load_s']:.2f} s / {result['peak_rss_mb']:,.0f} MB",
                    ),
                ]
    rows.append(("training process peak RSS", f"{_peak_rss_mb():,.0f} MB"))
    rows.append(("load average at end (1 / 5 / 15 min)", " / ".join(f"{x:.1f}" for x in os.getloadavg())))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["infer"]:
        print(json.dumps(infer(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
    else:
        from tests.benchmarks.__main__ import SUITES, main

        os.environ.setdefault("COLUMNS", "160")  # rich otherwise cuts the table to 80 columns when piped
        SUITES["tft"] = run
        main(["tft"])
