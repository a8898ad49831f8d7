"""Monthly training of the models that are trained once and used for many weekly forecasts (FC-7, FC-9).

Today that is the TFT (volume): :func:`train_challenger` trains it on the history up to the training origin,
backtests it on the last ``horizon`` buckets before that origin against seasonal naive (both fitted on the
same earlier data), and registers it; the registry promotes it or not (:mod:`forecasting.registry`).
Weekly inference loads the champion (:func:`trained_models`) and runs on CPU.

The statistical models and LightGBM are cheap enough to fit at every forecast and are not registered.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import psycopg

from forecasting.data import Freq, fill_gaps, shift_buckets
from forecasting.ensemble import DEFAULT_WEIGHTS
from forecasting.fleet import ENSEMBLE
from forecasting.metrics import evaluate
from forecasting.models import MODEL_FACTORIES, get_model
from forecasting.models.base import QUANTILES, Forecaster
from forecasting.registry import Decision, ModelStore, ModelVersion, Registry

#: Model types trained monthly and served from the registry.
TRAINED_TYPES: tuple[str, ...] = ("tft",)

#: The class-A ensemble when the TFT has no champion yet: LightGBM with ETS.
FALLBACK_WEIGHTS: dict[str, float] = {"lightgbm": 0.5, "auto_ets": 0.5}

#: Metric the promotion rule compares (WAPE in percent: "1 point better").
PROMOTION_METRIC = "wape"


class Trainable(Forecaster, Protocol):
    """A model with separate training and inference and a saved artifact."""

    def fit(self, train: pl.DataFrame, freq: Freq, horizon: int = 13) -> Any: ...

    def save(self, path: Path) -> Any: ...


@dataclass(frozen=True)
class Pretrained:
    """A trained model behind the forecast contract: ``fit_predict`` only predicts (no refit at inference)."""

    model: Any

    @property
    def name(self) -> str:
        return str(self.model.name)

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        forecast: pl.DataFrame = self.model.predict(train, horizon, freq, quantiles)
        return forecast


def _loader(model_type: str) -> Any:
    if model_type == "tft":
        from forecasting.models.tft import TFTModel  # torch is imported only where a TFT is used

        return TFTModel
    raise KeyError(f"no trained model type {model_type!r}; known: {', '.join(TRAINED_TYPES)}")


def trained_models(
    conn: psycopg.Connection,
    store: ModelStore,
    log: logging.Logger | Any | None = None,
    *,
    freq: Freq | None = None,
) -> dict[str, Forecaster]:
    """The champion of every trained type, loaded from the model store (types without a champion are absent).

    With ``freq``, only champions trained at that frequency: a TFT trained on weeks cannot forecast months.
    """
    registry = Registry(conn, store)
    loaded: dict[str, Forecaster] = {}
    for model_type in TRAINED_TYPES:
        champion = registry.champion(model_type, freq)
        if champion is None or not champion.artifact_uri:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = store.get(champion.artifact_uri, Path(tmp))
            loaded[model_type] = Pretrained(_loader(model_type).load(path))
        if log:
            log.info(f"{model_type}: champion v{champion.version} ({champion.metric_name} {champion.metric_value})")
    return loaded


def available_models(conn: psycopg.Connection, store: ModelStore, *, freq: Freq | None = None) -> frozenset[str]:
    """Models the selection matrix may choose now: everything fitted on the fly, trained types with a champion
    (trained at ``freq`` when given), and the ensemble (whose members :func:`ensemble_weights` picks)."""
    registry = Registry(conn, store)
    on_the_fly = set(MODEL_FACTORIES) - set(TRAINED_TYPES)
    champions = {t for t in TRAINED_TYPES if registry.champion(t, freq) is not None}
    return frozenset(on_the_fly | champions | {ENSEMBLE})


def ensemble_weights(models: Mapping[str, Forecaster]) -> dict[str, float]:
    """FC-2's TFT 0.6 + LightGBM 0.4 when a TFT champion is loaded, else LightGBM + ETS half and half."""
    return dict(DEFAULT_WEIGHTS) if "tft" in models else dict(FALLBACK_WEIGHTS)


def train_challenger(
    conn: psycopg.Connection,
    store: ModelStore,
    model: Trainable,
    demand: pl.DataFrame,
    freq: Freq,
    origin: dt.date,
    *,
    horizon: int,
    model_type: str = "tft",
    min_improvement: float = 1.0,
) -> tuple[ModelVersion, Decision]:
    """Train ``model`` up to ``origin``, score a holdout against seasonal naive, register the version.

    The holdout is the last ``horizon`` buckets up to the origin: the challenger and seasonal naive are both
    fitted on the buckets before it and scored on it; the registered artifact is then refitted on everything
    up to the origin.

    Returns:
        The stored version and the promotion decision.
    """
    history = fill_gaps(demand.filter(pl.col("ds") <= origin).select("unique_id", "ds", "y"), freq, end=origin)
    cut = shift_buckets(origin, -horizon, freq)
    before, holdout = history.filter(pl.col("ds") <= cut), history.filter(pl.col("ds") > cut)
    challenger = model.fit_predict(before, horizon, freq)
    baseline = get_model("seasonal_naive").fit_predict(before, horizon, freq)
    scores = evaluate(pl.concat([challenger, baseline], how="vertical_relaxed"), holdout, before, m=1, by=("model",))
    by_model = {row["model"]: row for row in scores.iter_rows(named=True)}
    challenger_metric = float(by_model[model.name][PROMOTION_METRIC])
    baseline_metric = float(by_model["seasonal_naive"][PROMOTION_METRIC])
    model.fit(history, freq, horizon=horizon)
    settings = getattr(model, "settings", None)
    params = settings.to_dict() if settings is not None and hasattr(settings, "to_dict") else {}
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp))
        return Registry(conn, store).register(
            model_type,
            Path(tmp),
            freq=freq,
            data_start=history["ds"].min(),  # type: ignore[arg-type]
            data_end=origin,
            params=params,
            metrics={k: v for k, v in by_model[model.name].items() if k != "model"},
            metric_name=PROMOTION_METRIC,
            metric_value=challenger_metric,
            baseline_value=baseline_metric,
            min_improvement=min_improvement,
        )


#: Earlier origins whose mean error is the reference of the ``auto`` forecast's drift.
DRIFT_REFERENCE_ORIGINS = 8


def track_drift(
    conn: psycopg.Connection, store: ModelStore, metrics: pl.DataFrame, origin: dt.date, freq: Freq
) -> dict[str, str]:
    """Record drift (FC-7) at an origin from its backtest metrics (``overall`` rows).

    - ``auto`` (the forecast planning uses): this origin's WAPE against the mean WAPE of up to
      :data:`DRIFT_REFERENCE_ORIGINS` earlier origins in ``forecasting.backtest_metrics``.
    - every trained type with a champion (the TFT) that the backtest scored: its WAPE against the champion's
      holdout WAPE at training.

    Returns:
        Status (``ok``, ``warn``, ``retrain``) per model; models without a reference are absent.
    """
    overall = metrics.filter(pl.col("grouping") == "overall")
    current = {m: w for m, w in overall.select("model", PROMOTION_METRIC).iter_rows() if w is not None}
    registry = Registry(conn, store)
    statuses: dict[str, str] = {}
    if "auto" in current:
        row = conn.execute(
            f"select avg({PROMOTION_METRIC}) from (select {PROMOTION_METRIC} from forecasting.backtest_metrics"
            " where grouping = 'overall' and model = 'auto' and freq = %s and origin < %s"
            " order by origin desc limit %s) earlier",
            (freq, origin, DRIFT_REFERENCE_ORIGINS),
        ).fetchone()
        if row and row[0] is not None:
            statuses["auto"] = registry.record_drift(
                "auto", origin, freq, PROMOTION_METRIC, float(row[0]), current["auto"]
            )
    for model_type in TRAINED_TYPES:
        champion = registry.champion(model_type, freq)
        if champion and champion.metric_value is not None and model_type in current:
            statuses[model_type] = registry.record_drift(
                model_type, origin, freq, PROMOTION_METRIC, float(champion.metric_value), current[model_type]
            )
    return statuses
