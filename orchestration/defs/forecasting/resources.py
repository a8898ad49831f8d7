"""The model store (local directory or S3) as a Dagster resource."""

import dagster as dg

from fmrp.settings import get_settings
from forecasting.registry import ModelStore


class ModelStoreResource(dg.ConfigurableResource):
    """Where trained models live: ``uri`` if given, else ``FMRP_MODEL_STORE`` (default ``.data/models``)."""

    uri: str | None = None

    def store(self) -> ModelStore:
        return ModelStore(self.uri or get_settings().model_store_uri)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"model_store": ModelStoreResource()})
