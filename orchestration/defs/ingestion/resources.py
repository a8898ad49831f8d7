"""Where source files wait: the local inbox folders (email/, erp/, upload/), and the ERP connectors that fill them."""

from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import SecretStr

from fmrp.settings import get_settings
from ingestion.erp_api import ErpApiConfig
from ingestion.erp_db import ErpDbConfigError, ErpQuery, load_queries
from ingestion.imap import ImapConfig, ImapConfigError, ImapMailbox
from ingestion.landing import InboxFile, files_between, scan_inbox
from ingestion.sftp import SftpConfig


class InboxResource(dg.ConfigurableResource):
    """The inbox folder; ``path`` overrides ``FMRP_INBOX_DIR``."""

    path: str | None = None

    def root(self) -> Path:
        return Path(self.path) if self.path else get_settings().inbox

    def files_between(self, first: date, last: date, kind: str) -> list[InboxFile]:
        return [f for f in files_between(scan_inbox(self.root()), first, last) if f.kind == kind]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class SftpResource(dg.ConfigurableResource):
    """The ERP's SFTP server, from the ``FMRP_SFTP_*`` settings; ``None`` when ``FMRP_SFTP_HOST`` is unset."""

    def get_config(self) -> SftpConfig | None:
        settings = get_settings()
        if not settings.sftp_host:
            return None
        return SftpConfig(
            host=settings.sftp_host,
            port=settings.sftp_port,
            username=settings.sftp_user or "",
            password=_secret(settings.sftp_password),
            key_file=settings.sftp_key_file,
            key_passphrase=_secret(settings.sftp_key_passphrase),
            known_hosts=settings.sftp_known_hosts or Path("~/.ssh/known_hosts").expanduser(),
            remote_dir=settings.sftp_remote_dir,
            patterns=tuple(p.strip() for p in settings.sftp_patterns.split(",") if p.strip()),
            done_dir=settings.sftp_done_dir,
            stable_seconds=settings.sftp_stable_seconds,
        )


class ErpApiResource(dg.ConfigurableResource):
    """The ERP's REST API, from the ``FMRP_ERP_API_*`` settings; ``None`` when ``FMRP_ERP_API_URL`` is unset."""

    def get_config(self) -> ErpApiConfig | None:
        settings = get_settings()
        if not settings.erp_api_url:
            return None
        return ErpApiConfig(
            base_url=settings.erp_api_url,
            endpoints=settings.erp_api_endpoints,
            auth=settings.erp_api_auth,
            api_key=_secret(settings.erp_api_key),
            api_key_header=settings.erp_api_key_header,
            username=settings.erp_api_user,
            password=_secret(settings.erp_api_password),
            records_path=settings.erp_api_records_path,
            pagination=settings.erp_api_pagination,
            page_size=settings.erp_api_page_size,
            timeout=settings.erp_api_timeout_seconds,
            retries=settings.erp_api_retries,
        )


class ErpDbResource(dg.ConfigurableResource):
    """The ERP database and its queries (``FMRP_ERP_DB_URL``, ``FMRP_ERP_DB_QUERIES_DIR``); unset URL = none."""

    def get_url(self) -> str | None:
        return _secret(get_settings().erp_db_url)

    def get_queries(self) -> list[ErpQuery]:
        folder = get_settings().erp_db_queries_dir
        if folder is None:
            raise ErpDbConfigError("FMRP_ERP_DB_URL is set but FMRP_ERP_DB_QUERIES_DIR (the <entity>.sql files) is not")
        return load_queries(folder)


class ImapResource(dg.ConfigurableResource):
    """The cash-closing mailbox, from the ``FMRP_IMAP_*`` settings; ``None`` when ``FMRP_IMAP_HOST`` is unset."""

    def get_config(self) -> ImapConfig | None:
        return get_settings().imap_config()

    def open(self, deadline: float | None = None) -> ImapMailbox:
        """The mailbox with its processed and quarantine folders in place (connects on first use); ``deadline``
        (``time.monotonic()``) stops retries that could end after it (a sensor's tick)."""
        config = self.get_config()
        if config is None:
            raise ImapConfigError("FMRP_IMAP_HOST is not set: the cash-closing mailbox is not configured")
        mailbox = ImapMailbox(config, deadline=deadline)
        try:
            mailbox.ensure_folders()
        except BaseException:
            mailbox.close()
            raise
        return mailbox


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "inbox": InboxResource(),
            "sftp": SftpResource(),
            "erp_api": ErpApiResource(),
            "erp_db": ErpDbResource(),
            "imap": ImapResource(),
        }
    )
