"""The dbt project as assets: every model and snapshot an asset, every dbt test an asset check."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.warehouse.resources import WarehouseResource, dbt_project


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys mirror the tables: ``raw/<table>`` for sources, ``<schema>/<model>`` for models."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":  # the landing assets of orchestration/defs/ingestion
            return spec.replace_attributes(key=dg.AssetKey(["raw", props["name"]]))
        return spec.replace_attributes(
            key=dg.AssetKey([props["schema"], props["name"]]),
            group_name="warehouse",
            owners=["team:data-engineering"],
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseTranslator(),
    name="warehouse_dbt_models",
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """``dbt build``: staging -> intermediate -> marts and snapshots, with their tests, on the warehouse."""
    context.log.info(f"dbt build on {warehouse.export_dbt_env()}")
    yield from dbt.cli(["build"], context=context).stream().fetch_row_counts()


warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.assets(warehouse_dbt_models),
    description="dbt build: staging, intermediate, marts and snapshots with their tests.",
)
