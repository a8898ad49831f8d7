"""The one settings module: every part of forecasting-mrp reads its configuration from here.

Values come from environment variables (prefix ``FMRP_``, plus ``WAREHOUSE_URL``) or a ``.env`` file in the
project root. ``.env.example`` documents each of them. Local use needs none: the warehouse is an embedded
PostgreSQL under ``.data/postgres``; production sets ``FMRP_ENVIRONMENT=production`` and ``WAREHOUSE_URL``.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def project_root() -> Path:
    """The checkout's root (where pyproject.toml is), else the current directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


class Settings(BaseSettings):
    """Configuration of one installation. See ``.env.example`` for every variable."""

    model_config = SettingsConfigDict(
        env_prefix="FMRP_",
        env_file=str(project_root() / ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Literal["local", "production"] = "local"
    warehouse_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WAREHOUSE_URL", "FMRP_WAREHOUSE_URL"),
        description="PostgreSQL URL of the warehouse; unset = embedded PostgreSQL under data_dir/postgres.",
    )
    dagster_storage_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DAGSTER_STORAGE_URL", "FMRP_DAGSTER_STORAGE_URL"),
        description="PostgreSQL URL for Dagster's run/event/schedule storage; unset = database 'dagster' "
        "on the warehouse server.",
    )
    data_dir: Path = Field(default=Path(".data"), description="Local state: database, inbox, models.")
    inbox_dir: Path | None = Field(default=None, description="Where source files arrive; default data_dir/inbox.")
    demo_truth_dir: Path | None = Field(default=None, description="Demo factory ground truth.")
    model_store: str | None = Field(default=None, description="Model artifacts: a directory or s3:// URL.")
    dagster_home: Path | None = Field(default=None, description="DAGSTER_HOME; default data_dir/dagster.")

    frequency: Literal["week", "month"] = "week"
    horizon: int = Field(default=13, ge=1, le=104, description="Planning/forecast horizon in buckets.")
    firm_horizon: int = Field(default=2, ge=0, description="Buckets in which firm orders replace forecast.")
    service_level_a: float = Field(default=0.97, gt=0, lt=1)
    service_level_b: float = Field(default=0.93, gt=0, lt=1)
    service_level_c: float = Field(default=0.85, gt=0, lt=1)
    currency: str = "BRL"
    timezone: str = "America/Sao_Paulo"
    partition_start: date = Field(default=date(2020, 1, 1), description="First day of the daily ingestion partitions.")
    embedded_pg_port: int = Field(default=54329, description="TCP port the embedded server also listens on.")

    @field_validator("data_dir", "inbox_dir", "demo_truth_dir", "dagster_home", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        return value if value.is_absolute() else (project_root() / value).resolve()

    @property
    def is_embedded(self) -> bool:
        return not self.warehouse_url

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def inbox(self) -> Path:
        return self.inbox_dir or self.data_dir / "inbox"

    @property
    def truth_dir(self) -> Path:
        return self.demo_truth_dir or self.data_dir / "demo_truth"

    @property
    def dagster_home_dir(self) -> Path:
        return self.dagster_home or self.data_dir / "dagster"

    @property
    def model_store_uri(self) -> str:
        return self.model_store or str(self.data_dir / "models")

    def service_levels(self) -> dict[str, float]:
        return {"A": self.service_level_a, "B": self.service_level_b, "C": self.service_level_c}


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
