"""DAGSTER_HOME for local use: a dagster.yaml whose storage is the PostgreSQL of this installation."""

from __future__ import annotations

import os
from pathlib import Path

from fmrp.settings import Settings, get_settings
from fmrp.warehouse import dagster_storage_url

STORAGE_URL_ENV = "FMRP_DAGSTER_PG_URL"

DAGSTER_YAML = f"""\
# Written by forecasting-mrp (fmrp/dagster_home.py); production uses infra/dagster.yaml instead.
storage:
  postgres:
    postgres_url:
      env: {STORAGE_URL_ENV}
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
telemetry:
  enabled: false
"""


def prepare_dagster_home(settings: Settings | None = None, *, start: bool = True) -> Path:
    """Write dagster.yaml if missing and export DAGSTER_HOME and the storage URL to this process."""
    settings = settings or get_settings()
    home = settings.dagster_home_dir
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() != DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ[STORAGE_URL_ENV] = dagster_storage_url(settings, start=start)
    return home
