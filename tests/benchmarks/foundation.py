"""Foundation benchmark: `fmrp demo` from nothing (fresh data directory and database server), then again.

Measures the wall time a new user waits after the install: generating the demo factory, landing three years of
emails and ERP files, `dbt build`; and the second, idempotent run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fmrp.settings import project_root
from fmrp.warehouse import EmbeddedPostgres

STEP = re.compile(r"^(ingestion_job|warehouse_job|total): ([\d.]+) s$", re.MULTILINE)


def _run_demo(env: dict[str, str]) -> tuple[float, dict[str, float], str]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "fmrp"), "demo"],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"fmrp demo failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    steps = {name: float(value) for name, value in STEP.findall(result.stdout)}
    return elapsed, steps, result.stdout


def run() -> list[tuple[str, str]]:
    data_dir = Path(tempfile.mkdtemp(prefix="fmrp-bench-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FMRP_", "WAREHOUSE_URL", "DAGSTER_"))}
    env.update({"FMRP_DATA_DIR": str(data_dir), "FMRP_EMBEDDED_PG_PORT": "54377", "COLUMNS": "160"})
    try:
        first, first_steps, output = _run_demo(env)
        second, second_steps, _ = _run_demo(env)
    finally:
        EmbeddedPostgres(data_dir / "postgres").stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    rows = re.findall(r"(marts\.\w+|raw\.\w+)\s*│\s*([\d,]+)", output)
    generation = first - sum(first_steps.get(k, 0.0) for k in ("ingestion_job", "warehouse_job"))
    return [
        ("fmrp demo, fresh (server start + generation + landing + dbt build)", f"{first:.1f} s"),
        ("  of which: start, demo data generation, dbt parse, summary", f"{generation:.1f} s"),
        (
            "  of which: landing (ingestion_job, one run per range of days with files)",
            f"{first_steps.get('ingestion_job', 0):.1f} s",
        ),
        ("  of which: dbt build (warehouse_job)", f"{first_steps.get('warehouse_job', 0):.1f} s"),
        ("fmrp demo, second run (idempotent)", f"{second:.1f} s"),
        ("  of which: landing (nothing new)", f"{second_steps.get('ingestion_job', 0):.1f} s"),
        ("  of which: dbt build", f"{second_steps.get('warehouse_job', 0):.1f} s"),
        *[(f"rows {name}", count) for name, count in rows],
    ]
