"""The one settings module: every part of forecasting-mrp reads its configuration from here.

Values come from environment variables (prefix ``FMRP_``, plus ``WAREHOUSE_URL``) or a ``.env`` file in the
project root. ``.env.example`` documents each of them. Local use needs none: the warehouse is an embedded
PostgreSQL under ``.data/postgres``; production sets ``FMRP_ENVIRONMENT=production`` and ``WAREHOUSE_URL``.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from ingestion.imap import ImapConfig


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

    frequency: Literal["week", "month"] = Field(
        default="week",
        description="Default bucket of the `fmrp plan` commands; `month` also turns monthly_plan_schedule on.",
    )
    horizon: int = Field(default=13, ge=1, le=104, description="Planning/forecast horizon in buckets.")
    firm_horizon: int = Field(default=2, ge=0, description="Buckets in which firm orders replace forecast.")
    service_level_a: float = Field(default=0.97, gt=0, lt=1)
    service_level_b: float = Field(default=0.93, gt=0, lt=1)
    service_level_c: float = Field(default=0.85, gt=0, lt=1)
    currency: str = "BRL"
    timezone: str = "America/Sao_Paulo"
    partition_start: date = Field(default=date(2020, 1, 1), description="First day of the daily ingestion partitions.")
    embedded_pg_port: int = Field(default=54329, description="TCP port the embedded server also listens on.")

    # the cash-closing mailbox (IN-1, IN-2); unset host = no IMAP: the sensor skips and stays off
    imap_host: str | None = Field(default=None, description="IMAP server of the cash-closing mailbox.")
    imap_port: int | None = Field(default=None, description="IMAP port; default 993 for tls, else 143.")
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_ca_file: Path | None = Field(default=None, description="CA bundle for a server with a private certificate.")
    imap_mailbox: str = "INBOX"
    imap_processed_folder: str = "Processed"
    imap_quarantine_folder: str = "Quarantine"
    imap_on_success: Literal["move", "flag"] = "move"
    imap_senders: str = Field(default="", description="Comma-separated From filters (address or @domain); empty = any.")
    imap_subjects: str = Field(
        default="Fechamento,Relatório diário", description="Comma-separated subject filters (any one, accents ignored)."
    )
    imap_max_attachment_mb: float = Field(default=25.0, gt=0, description="Attachments above this are rejected.")
    imap_timeout_seconds: float = Field(default=30.0, gt=0, description="Read timeout: wait for each IMAP response.")
    imap_connect_timeout_seconds: float = Field(default=10.0, gt=0, description="Wait for the IMAP connection.")
    imap_poll_seconds: int = Field(default=60, ge=5, description="Minimum interval of the email sensor.")
    imap_max_per_tick: int = Field(
        default=50, ge=1, description="Emails the sensor fetches per tick; a bigger backlog takes several ticks."
    )

    # ERP exports over SFTP (IN-3); unset host = no SFTP: erp_sftp_sensor stays off
    sftp_host: str | None = Field(default=None, description="SFTP server the ERP drops its exports on.")
    sftp_port: int = 22
    sftp_user: str | None = None
    sftp_password: SecretStr | None = None
    sftp_key_file: Path | None = Field(default=None, description="Private key for key login (instead of a password).")
    sftp_key_passphrase: SecretStr | None = None
    sftp_known_hosts: Path | None = Field(default=None, description="known_hosts listing the server; default ~/.ssh.")
    sftp_remote_dir: str = "."
    sftp_patterns: str = Field(
        default="{export}_{date:%Y%m%d}.csv",
        description="Comma-separated filename patterns: [<export>=]<name with {date:%Y%m%d}, {export}, *>.",
    )
    sftp_done_dir: str | None = Field(default=None, description="Remote folder fetched files move to; unset = stay.")
    sftp_stable_seconds: float = Field(default=5.0, ge=0, description="Seconds between the looks of the size check.")
    sftp_poll_seconds: int = Field(default=300, ge=10, description="Minimum interval of erp_sftp_sensor.")

    # ERP REST API (IN-4); unset URL = no API pulls
    erp_api_url: str | None = Field(default=None, description="Base URL of the ERP's REST API.")
    erp_api_auth: Literal["none", "api_key", "bearer", "basic"] = "api_key"
    erp_api_key: SecretStr | None = Field(default=None, description="API key (auth api_key) or token (bearer).")
    erp_api_key_header: str = "X-API-Key"
    erp_api_user: str | None = None
    erp_api_password: SecretStr | None = None
    erp_api_endpoints: dict[str, str] = Field(
        default_factory=dict, description='JSON: entity or export -> path with {date}, e.g. {"estoque": "stock/{date}"}'
    )
    erp_api_records_path: str = Field(default="", description="Dotted path to the records in the body; empty = list.")
    erp_api_pagination: Literal["none", "page", "offset", "next"] = "none"
    erp_api_page_size: int = Field(default=500, ge=1)
    erp_api_timeout_seconds: float = Field(default=30.0, gt=0)
    erp_api_retries: int = Field(default=3, ge=0)

    # ERP database (IN-4); unset URL = no database pulls
    erp_db_url: SecretStr | None = Field(default=None, description="psycopg URL of the ERP database (read-only role).")
    erp_db_queries_dir: Path | None = Field(default=None, description="Folder of <entity>.sql files with a watermark.")
    erp_pull_hour: int = Field(default=6, ge=0, le=23, description="Factory hour from which yesterday is pulled.")

    # bad input (IN-8): a file with more bad rows than this share is rejected whole, else its bad rows are quarantined
    reject_threshold_pct: float = Field(
        default=5.0, ge=0, le=100, description="Reject a file when more than this % of its rows are bad."
    )
    # password-protected workbooks: none of these opens it (or none is set) = the file is rejected with that reason
    xlsx_passwords: list[SecretStr] = Field(
        default_factory=list, description='JSON list of passwords tried in order on a protected .xlsx: ["s3nha"].'
    )

    # upload folder (IN-5)
    upload_max_mb: float = Field(default=25.0, gt=0, description="Size cap of an uploaded file.")
    upload_settle_seconds: float = Field(default=10.0, ge=0, description="A dropped file is taken once this old.")

    # the daily alert summary by email (PL-9); unset host = no email: the summary schedule skips and says why
    smtp_host: str | None = Field(default=None, description="SMTP server of the daily alert summary.")
    smtp_port: int | None = Field(default=None, description="SMTP port; default 465 ssl, 587 starttls, else 25.")
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = Field(default=None, description="SMTP login; unset = no login.")
    smtp_password: SecretStr | None = None
    smtp_sender: str = Field(default="forecasting-mrp@localhost", description="From address of the summary.")
    smtp_recipients: str = Field(default="", description="Comma-separated To addresses of the daily summary.")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("data_dir", "inbox_dir", "demo_truth_dir", "dagster_home", "erp_db_queries_dir", mode="after")
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

    @property
    def freq(self) -> Literal["W", "M"]:
        """The bucket frequency as the forecasting and planning tables spell it: ``"W"`` or ``"M"``."""
        return "M" if self.frequency == "month" else "W"

    def workbook_passwords(self) -> tuple[str, ...]:
        """``FMRP_XLSX_PASSWORDS`` in clear, for the readers to try on a password-protected workbook."""
        return tuple(password.get_secret_value() for password in self.xlsx_passwords)

    def service_levels(self) -> dict[str, float]:
        return {"A": self.service_level_a, "B": self.service_level_b, "C": self.service_level_c}

    def imap_config(self) -> ImapConfig | None:
        """The cash-closing mailbox's connector configuration; ``None`` when ``FMRP_IMAP_HOST`` is unset."""
        from ingestion.imap import MB, ImapConfig  # imported here: only what talks to the mailbox needs imapclient

        if not self.imap_host:
            return None
        return ImapConfig(
            host=self.imap_host,
            port=self.imap_port,
            security=self.imap_security,
            user=self.imap_user or "",
            password=self.imap_password.get_secret_value() if self.imap_password else "",
            ca_file=str(self.imap_ca_file) if self.imap_ca_file else None,
            mailbox=self.imap_mailbox,
            processed_folder=self.imap_processed_folder,
            quarantine_folder=self.imap_quarantine_folder,
            on_success=self.imap_on_success,
            senders=tuple(s.strip() for s in self.imap_senders.split(",") if s.strip()),
            subjects=tuple(s.strip() for s in self.imap_subjects.split(",") if s.strip()),
            max_attachment_bytes=int(self.imap_max_attachment_mb * MB),
            timeout=self.imap_timeout_seconds,
            connect_timeout=self.imap_connect_timeout_seconds,
        )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
