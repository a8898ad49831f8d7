"""LightGBM global model (FC-3) with quantile objectives on the point-in-time features of FC-4.

One booster per quantile level (``objective="quantile"``, ``alpha=q``) is trained on every series at once,
direct strategy: a row stands at an origin and targets one of the next ``horizon`` buckets, with the step as
a feature and only lags at least as long as the step (:mod:`forecasting.features`). Series are scaled by
their own level, so small and large SKUs share one model. Boosters use few threads and a fixed seed with
LightGBM's deterministic mode: the same history gives the same forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from forecasting.data import Freq
from forecasting.features import (
    FeatureConfig,
    check_columns,
    feature_names,
    last_origins,
    origin_features,
    prepare_panel,
    training_rows,
)
from forecasting.models._statsforecast import short_history_forecast
from forecasting.models.base import QUANTILES, finalize_quantiles, quantile_column


@dataclass(frozen=True)
class LightGBMModel:
    """Quantile LightGBM over all series, behind the :class:`~forecasting.models.base.Forecaster` contract.

    Attributes:
        name: model name written in the ``model`` column.
        features: which features to build (lags, windows, optional calendar/price/category columns).
        n_estimators: boosting rounds per quantile.
        learning_rate: shrinkage.
        num_leaves: leaves per tree.
        min_data_in_leaf: fewest training rows per leaf.
        max_history: origins per series used for training, counted back from its last bucket.
        max_rows: cap on training rows (a seeded sample beyond it).
        num_threads: LightGBM threads. One by default: OpenMP threads spin, and on a shared 2-core machine (Dagster
            runs steps side by side) two threads measured 5x slower than one (75 s vs 15 s, docs/benchmarks.md).
        seed: seed of the row sample and of LightGBM.
    """

    name: str = "lightgbm"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    n_estimators: int = 150
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    max_history: int = 156
    max_rows: int = 200_000
    num_threads: int = 1
    seed: int = 0

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Train one booster per quantile on ``train`` and forecast ``horizon`` buckets after each series."""
        check_columns(train, self.features)
        panel = prepare_panel(train, self.features)
        origins, steps, target = training_rows(
            panel, horizon, max_history=self.max_history, max_rows=self.max_rows, seed=self.seed
        )
        if origins.size < self.min_data_in_leaf:
            fallback = short_history_forecast(train, horizon, freq, quantiles)
            return finalize_quantiles(fallback.with_columns(model=pl.lit(self.name)), quantiles)
        fit_frame = origin_features(panel, origins, steps, freq, self.features)
        names = feature_names(fit_frame)
        dataset = lgb.Dataset(
            fit_frame.select(names).to_numpy(),
            label=target,
            feature_name=names,
            categorical_feature=self.features.categorical() or "auto",
            params={"max_bin": 255, "verbose": -1, "seed": self.seed},
            free_raw_data=False,
        )
        future = origin_features(panel, *last_origins(panel, horizon), freq, self.features)
        inputs = future.select(names).to_numpy()
        level = future["level"].to_numpy()
        columns = {
            quantile_column(q): lgb.train(self._params(q), dataset, num_boost_round=self.n_estimators).predict(inputs)
            * level
            for q in quantiles
        }
        forecast = future.select("unique_id", "ds").with_columns(
            model=pl.lit(self.name), **{c: pl.Series(np.asarray(v, dtype=float)) for c, v in columns.items()}
        )
        return finalize_quantiles(forecast, quantiles)

    def _params(self, q: float) -> dict[str, Any]:
        return {
            "objective": "quantile",
            "alpha": q,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }


def lightgbm(**settings: Any) -> LightGBMModel:
    """The LightGBM global model with default settings (1 thread, seed 0); ``settings`` override them."""
    return LightGBMModel(**settings)
