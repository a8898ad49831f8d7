"""Where source files wait: the local inbox folders (email/, erp/, upload/)."""

from datetime import date
from pathlib import Path

import dagster as dg

from fmrp.settings import get_settings
from ingestion.landing import InboxFile, files_between, scan_inbox


class InboxResource(dg.ConfigurableResource):
    """The inbox folder; ``path`` overrides ``FMRP_INBOX_DIR``."""

    path: str | None = None

    def root(self) -> Path:
        return Path(self.path) if self.path else get_settings().inbox

    def files_between(self, first: date, last: date, kind: str) -> list[InboxFile]:
        return [f for f in files_between(scan_inbox(self.root()), first, last) if f.kind == kind]


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"inbox": InboxResource()})
