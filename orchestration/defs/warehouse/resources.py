"""The warehouse (PostgreSQL) and the dbt project, as Dagster resources."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from dagster_dbt import DbtCliResource, DbtProject

from fmrp.settings import project_root
from fmrp.warehouse import dbt_env, dbt_executable, redact, run_dbt, warehouse_url

DBT_PROJECT_DIR = project_root() / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists() and run_dbt("parse", "--quiet") != 0:
    # a fresh checkout outside `dagster dev`: dagster-dbt needs the manifest to build the assets
    raise RuntimeError(f"`dbt parse` failed in {DBT_PROJECT_DIR}: the dbt assets cannot be built")


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse: ``url`` if given, else ``WAREHOUSE_URL``, else the embedded server."""

    url: str | None = None

    def get_url(self) -> str:
        return self.url or warehouse_url()

    @contextmanager
    def connect(self, *, autocommit: bool = True) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.get_url(), autocommit=autocommit) as conn:
            yield conn

    def export_dbt_env(self) -> str:
        """Point dbt's profile (env vars read by profiles.yml) at this warehouse; returns the redacted URL."""
        url = self.get_url()
        os.environ.update(dbt_env(url))
        return redact(url)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=dbt_executable(),
            ),
        }
    )
