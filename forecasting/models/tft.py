"""Temporal Fusion Transformer (FC-3, FC-9) through pytorch-forecasting, for volume or for revenue.

One global network for all series, trained with pytorch-forecasting's ``QuantileLoss`` on the five levels of
FC-3. Training (:meth:`TFTModel.fit`) and inference (:meth:`TFTModel.predict`) are separate so the pipeline
can train monthly (on a GPU worker in production, on CPU with :meth:`TFTSettings.small` anywhere else) and
forecast weekly on CPU from a saved artifact (:meth:`TFTModel.save` / :meth:`TFTModel.load`).

**From the polars panel to the dataset.** The history becomes a pandas frame only at the pytorch-forecasting
edge, one row per series and bucket:

- group id ``unique_id``; ``time_idx`` the bucket number (weeks since Monday 1970-01-05, or months since
  year 0), so a series' buckets are consecutive integers;
- target ``y`` (volume) or ``revenue`` (the panel's ``revenue`` column, else ``y * price``);
- known reals: ``season_sin`` / ``season_cos`` of the week of year (weekly) or month (monthly), the position
  in the window (``relative_time_idx``) and the columns of an optional factory ``calendar`` frame (holiday
  flags, days to holiday) joined on ``ds`` and standardised with their training mean and deviation;
- unknown (observed) reals: the target, ``y`` too when the target is revenue, and ``price`` when present;
- static categoricals: ``category``, ``product_type``, ``abc`` when present (a series' last value); values
  not seen in training map to the encoder's reserved "missing" class.

The absolute ``time_idx`` is deliberately *not* an input: at every weekly inference after a monthly training
it would lie beyond anything the network saw. Missing buckets inside a series are zero demand (the warehouse
has no row when nothing was ordered); a missing price carries the last known one forward.

**Short series.** Every sample has a full encoder: at inference each series is padded with zero-demand
buckets at its start up to ``max_encoder_length`` buckets (a SKU sold nothing before it existed), in training
up to ``max_encoder_length + horizon`` so that every series, however new, yields at least one sample. This
keeps ``min_encoder_length == max_encoder_length`` and the batches dense.

**Scaling.** Each sample is divided by the mean absolute value of its own encoder window (:class:`MeanScaler`,
1 for an all-zero window), the target and the observed reals alike: the network reads only buckets up to the
forecast origin, and a SKU selling 2 a week and one selling 20,000 share one model without any statistics
fitted per series, so SKUs unseen in training are forecast too. pytorch-forecasting computes the loss on the
rescaled outputs; each training row carries the weight ``1 / mean |target|`` of its series so that large SKUs
do not drown the small ones. Quantiles are equivariant under this positive scaling, so the network's pinball
loss still estimates quantiles. Outputs pass :func:`~forecasting.models.base.finalize_quantiles` (clipped at
zero, sorted per row).

**Artifact.** :meth:`TFTModel.save` writes a directory of two plain files, no pickle:

- ``tft.json``: ``format`` (``"forecasting-mrp/tft"``), ``version`` (1), the model ``name``, ``freq``,
  ``horizon``, ``quantiles``, the ``settings`` (:class:`TFTSettings` as a mapping), the frame layout
  (``frame``: static/observed/calendar columns and the calendar's standardisation), the
  ``TimeSeriesDataSet.get_parameters()`` mapping with its encoders written as data (``dataset``: label encoders
  as ``{"add_nan", "warn", "classes"}``, scalers as ``"mean_scale"`` or ``null``), the keyword arguments
  the network was built with (``network``), and what it was trained on (``trained``);
- ``weights.pt``: the network's ``state_dict``, read back with ``torch.load(weights_only=True)``.

:meth:`TFTModel.load` rebuilds the dataset parameters, the network from them (``from_dataset``) and loads
the weights; a calendar frame, if the model was trained with one, is passed again at load.

Training is reproducible on CPU: a seeded, forked torch random state (weights, shuffling, dropout) and a fixed
thread count; the global random state of the caller is left untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as lightning
import numpy as np
import pandas as pd
import polars as pl
import torch
from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet
from pytorch_forecasting.data.encoders import EncoderNormalizer, NaNLabelEncoder
from pytorch_forecasting.metrics import QuantileLoss

from forecasting.data import DataError, Freq, future_frame, interval, validate_long
from forecasting.models.base import QUANTILES, finalize_quantiles, quantile_column

Target = Literal["volume", "revenue"]

#: Artifact format name and version written into ``tft.json``.
ARTIFACT_FORMAT = "forecasting-mrp/tft"
ARTIFACT_VERSION = 1
CONFIG_FILE = "tft.json"
WEIGHTS_FILE = "weights.pt"

#: Encoder length by frequency when the settings leave it open: a year weekly, two years monthly.
DEFAULT_ENCODER_LENGTH: dict[str, int] = {"W": 52, "M": 24}

#: Buckets per year, for the season angle.
_YEAR: dict[str, float] = {"W": 365.2425 / 7, "M": 12.0}
_EPOCH_MONDAY = dt.date(1970, 1, 5)
_KNOWN_SEASON = ("season_sin", "season_cos")
_MISSING_CATEGORY = "<missing>"
_WEIGHT = "_weight"

# Lightning and pytorch-forecasting warnings that say nothing about this model's use of them: no validation
# set by design, hyperparameters that are modules, a deprecation inside Lightning itself.
_QUIET = (
    r".*validation_step.*",
    r".*is an instance of `nn.Module`.*",
    r".*LeafSpec.*",
    r".*does not have many workers.*",
    r".*val_dataloader.*",
    r".*ReduceLROnPlateau.*",
)


class TFTNotTrainedError(RuntimeError):
    """``predict`` or ``save`` was called on a TFT that was neither fitted nor loaded."""


class TFTArtifactError(ValueError):
    """A saved TFT directory is missing, of another format, or does not fit the data it is asked to forecast."""


@dataclass(frozen=True)
class TFTSettings:
    """Hyperparameters and compute settings of the TFT.

    Attributes:
        target: ``"volume"`` forecasts ``y``; ``"revenue"`` forecasts revenue directly (FC-5), with price observed.
        max_encoder_length: buckets of history each forecast reads; ``None``: 52 weekly, 24 monthly.
        hidden_size: width of the network.
        attention_head_size: attention heads.
        hidden_continuous_size: width of the embedding of each real input.
        lstm_layers: LSTM layers of the encoder and decoder.
        dropout: dropout rate in training.
        learning_rate: Adam learning rate.
        gradient_clip_val: gradient norm clip.
        batch_size: training batch size.
        max_epochs: training epochs.
        limit_train_batches: batches per epoch (an int) or fraction of the samples (a float up to 1.0).
        inference_batch_size: series per forward pass at inference.
        seed: seed of the weights, the sample order and dropout.
        accelerator: ``"cpu"``, or ``"auto"`` to train on a GPU where one is present (production's GPU task).
        num_workers: data loader worker processes (0: load in the main process).
        num_threads: torch CPU threads while training and forecasting. Two suit a dedicated 2-core task; on a
            shared, busy machine one is faster (two OpenMP threads spinning against other load measured several
            times slower, docs/benchmarks.md).
        static_columns: per-series categorical columns used when the panel has them.
        observed_columns: numeric columns known only up to the origin (price), used when the panel has them.
    """

    target: Target = "volume"
    max_encoder_length: int | None = None
    hidden_size: int = 16
    attention_head_size: int = 2
    hidden_continuous_size: int = 8
    lstm_layers: int = 1
    dropout: float = 0.1
    learning_rate: float = 0.01
    gradient_clip_val: float = 1.0
    batch_size: int = 64
    max_epochs: int = 2
    limit_train_batches: int | float = 30
    inference_batch_size: int = 1024
    seed: int = 0
    accelerator: Literal["cpu", "auto"] = "cpu"
    num_workers: int = 0
    num_threads: int = 2
    static_columns: tuple[str, ...] = ("category", "product_type", "abc")
    observed_columns: tuple[str, ...] = ("price",)

    def __post_init__(self) -> None:
        if self.target not in ("volume", "revenue"):
            raise ValueError(f"TFT target must be 'volume' or 'revenue', got {self.target!r}")
        if self.accelerator not in ("cpu", "auto"):
            raise ValueError(f"TFT accelerator must be 'cpu' or 'auto', got {self.accelerator!r}")
        if self.max_encoder_length is not None and self.max_encoder_length < 2:
            raise ValueError(f"max_encoder_length must be at least 2 buckets, got {self.max_encoder_length}")
        if self.hidden_size % self.attention_head_size:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of attention_head_size "
                f"({self.attention_head_size})"
            )

    @classmethod
    def small(cls, **overrides: Any) -> TFTSettings:
        """A tiny network trained for a few batches: tests, laptops, the CPU fallback of FC-9."""
        base: dict[str, Any] = {
            "hidden_size": 8,
            "attention_head_size": 1,
            "hidden_continuous_size": 4,
            "dropout": 0.1,
            "learning_rate": 0.02,
            "batch_size": 64,
            "max_epochs": 2,
            "limit_train_batches": 10,
            "accelerator": "cpu",
            # one thread: a tiny network gains nothing from two, and on a shared, busy machine two threads
            # spinning against each other made training ten times slower
            "num_threads": 1,
        }
        return cls(**{**base, **overrides})

    @classmethod
    def production(cls, **overrides: Any) -> TFTSettings:
        """The monthly training on the GPU worker; its network still forecasts 2,000 SKUs in seconds on CPU.

        The width is capped at 32 for the CPU inference budget (2,000 SKUs x 13 weeks in 5 s on 2 cores):
        a 64-wide network costs about twice as much per forward pass (docs/benchmarks.md).
        """
        base: dict[str, Any] = {
            "hidden_size": 32,
            "attention_head_size": 4,
            "hidden_continuous_size": 16,
            "dropout": 0.1,
            "learning_rate": 0.003,
            "batch_size": 256,
            "max_epochs": 20,
            "limit_train_batches": 300,
            "accelerator": "auto",
        }
        return cls(**{**base, **overrides})

    def encoder_length(self, freq: Freq) -> int:
        """Buckets of history per forecast at ``freq``."""
        if self.max_encoder_length is not None:
            return self.max_encoder_length
        return DEFAULT_ENCODER_LENGTH[freq]

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data."""
        data = asdict(self)
        data["static_columns"] = list(self.static_columns)
        data["observed_columns"] = list(self.observed_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TFTSettings:
        """Settings read back from :meth:`to_dict` (unknown keys are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TFTArtifactError(f"unknown TFT settings {unknown}")
        values = dict(data)
        for key in ("static_columns", "observed_columns"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


class MeanScaler(EncoderNormalizer):
    """Divide by the mean absolute value of the encoder window; 1 when the window is all zero.

    pytorch-forecasting fits it on each sample's encoder alone, so no statistic reaches past the forecast
    origin. Unlike the standard deviation, the mean of a demand window is zero only when nothing sold at all,
    so an intermittent window is not blown up by a tiny scale. Nothing is centred: zero stays zero.
    """

    def __init__(self) -> None:
        super().__init__(method="standard", center=False)

    def _set_parameters(self, y_center: Any, y_scale: Any) -> None:
        # pytorch-forecasting fits on tensors per sample and on numpy arrays once over the whole frame
        scale: Any
        if isinstance(y_scale, torch.Tensor):
            mean = y_scale.abs().mean(dim=-1)
            scale = torch.where(mean > 0, mean, torch.ones_like(mean))
            center: Any = torch.zeros_like(scale)
        else:
            array_mean = np.abs(np.asarray(y_scale, dtype=np.float64)).mean(axis=-1)
            scale = np.where(array_mean > 0, array_mean, 1.0)
            center = np.zeros_like(scale)
        self.scale_, self.center_ = scale, center


@dataclass(frozen=True)
class FrameLayout:
    """Which columns of the panel feed the network, fixed at training and stored with the artifact.

    Attributes:
        freq: bucket frequency trained on.
        encoder_length: buckets of history per forecast.
        horizon: buckets forecast per series (the decoder length).
        target: ``"volume"`` or ``"revenue"``.
        static_columns: categorical columns per series.
        observed_columns: numeric columns known up to the origin.
        calendar_columns: known-in-advance columns of the calendar frame.
        calendar_scaling: mean and standard deviation of each calendar column over the training buckets.
    """

    freq: Freq
    encoder_length: int
    horizon: int
    target: Target
    static_columns: tuple[str, ...] = ()
    observed_columns: tuple[str, ...] = ()
    calendar_columns: tuple[str, ...] = ()
    calendar_scaling: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def target_column(self) -> str:
        """Column the network forecasts."""
        return "y" if self.target == "volume" else "revenue"

    @property
    def known_reals(self) -> list[str]:
        """Reals known for the forecast buckets too (``relative_time_idx`` is added by the dataset)."""
        return [*_KNOWN_SEASON, *self.calendar_columns]

    @property
    def unknown_reals(self) -> list[str]:
        """Reals observed only up to the origin, the target first."""
        extra = ["y"] if self.target == "revenue" else []
        return [self.target_column, *extra, *self.observed_columns]

    def to_dict(self) -> dict[str, Any]:
        """The layout as JSON-ready data."""
        data = asdict(self)
        for key in ("static_columns", "observed_columns", "calendar_columns"):
            data[key] = list(data[key])
        data["calendar_scaling"] = {k: list(v) for k, v in self.calendar_scaling.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameLayout:
        """A layout read back from :meth:`to_dict`."""
        return cls(
            freq=data["freq"],
            encoder_length=int(data["encoder_length"]),
            horizon=int(data["horizon"]),
            target=data["target"],
            static_columns=tuple(data["static_columns"]),
            observed_columns=tuple(data["observed_columns"]),
            calendar_columns=tuple(data["calendar_columns"]),
            calendar_scaling={k: (float(v[0]), float(v[1])) for k, v in data["calendar_scaling"].items()},
        )


@dataclass
class TrainedTFT:
    """A trained network with everything needed to forecast from it.

    Attributes:
        network: the pytorch-forecasting model, in eval mode.
        dataset_parameters: ``TimeSeriesDataSet.get_parameters()`` of the training dataset.
        layout: the columns and lengths the network reads.
        network_kwargs: keyword arguments of ``TemporalFusionTransformer.from_dataset`` (the loss aside).
        quantiles: levels of the output, increasing.
        trained: what it was trained on: series, rows, last bucket, seconds.
    """

    network: TemporalFusionTransformer
    dataset_parameters: dict[str, Any]
    layout: FrameLayout
    network_kwargs: dict[str, Any]
    quantiles: tuple[float, ...]
    trained: dict[str, Any]


class TFTModel:
    """The TFT behind the :class:`~forecasting.models.base.Forecaster` contract, with separate fit and predict.

    Args:
        settings: hyperparameters; :meth:`TFTSettings.small` when omitted.
        calendar: optional frame ``ds`` + numeric columns known in advance (holidays, days to holiday) covering
            the history and the forecast buckets; missing buckets count as the training mean.
    """

    def __init__(self, settings: TFTSettings | None = None, *, calendar: pl.DataFrame | None = None) -> None:
        self.settings = settings if settings is not None else TFTSettings.small()
        self.calendar = _check_calendar(calendar)
        self.trained: TrainedTFT | None = None

    @property
    def name(self) -> str:
        """``tft`` for volume, ``tft_revenue`` for the revenue target."""
        return "tft" if self.settings.target == "volume" else "tft_revenue"

    def fit(self, train: pl.DataFrame, freq: Freq, horizon: int = 13) -> TrainedTFT:
        """Train the network on every series of ``train`` for forecasts ``horizon`` buckets ahead.

        Args:
            train: ``unique_id, ds, y`` and optional columns (``price``, ``revenue``, static categoricals);
                bucket starts only (Mondays weekly, firsts of the month monthly).
            freq: ``"W"`` or ``"M"``.
            horizon: decoder length; :meth:`predict` can forecast up to this many buckets.

        Returns:
            The trained state, also kept on the model for :meth:`predict` and :meth:`save`.

        Raises:
            DataError: the panel is empty, lacks a column, or has duplicate or off-bucket dates.
        """
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {horizon}")
        started = time.perf_counter()
        _check_panel(train, freq, self.settings.target)
        layout = self._layout(train, freq, horizon)
        frame = _model_frame(train, layout, self.calendar, pad_to=layout.encoder_length + horizon, future=0)
        frame = frame.join(_series_weights(frame, layout.target_column), on="unique_id")
        with _torch_session(self.settings.num_threads, self.settings.seed), _quiet():
            dataset = TimeSeriesDataSet(
                frame.to_pandas(),
                time_idx="time_idx",
                target=layout.target_column,
                group_ids=["unique_id"],
                weight=_WEIGHT,
                max_encoder_length=layout.encoder_length,
                min_encoder_length=layout.encoder_length,
                max_prediction_length=horizon,
                static_categoricals=list(layout.static_columns),
                time_varying_known_reals=layout.known_reals,
                time_varying_unknown_reals=layout.unknown_reals,
                add_relative_time_idx=True,
                add_encoder_length=False,
                target_normalizer=MeanScaler(),
                categorical_encoders={c: NaNLabelEncoder(add_nan=True, warn=False) for c in layout.static_columns},
                scalers={
                    **{c: None for c in [*layout.known_reals, "relative_time_idx"]},
                    **{c: MeanScaler() for c in layout.unknown_reals if c != layout.target_column},
                },
            )
            kwargs = self._network_kwargs()
            network = TemporalFusionTransformer.from_dataset(dataset, loss=QuantileLoss(list(QUANTILES)), **kwargs)
            trainer = lightning.Trainer(
                accelerator=self.settings.accelerator,
                devices=1,
                max_epochs=self.settings.max_epochs,
                limit_train_batches=self.settings.limit_train_batches,
                gradient_clip_val=self.settings.gradient_clip_val,
                enable_progress_bar=False,
                enable_model_summary=False,
                enable_checkpointing=False,
                logger=False,
                num_sanity_val_steps=0,
            )
            loader = dataset.to_dataloader(
                train=True, batch_size=self.settings.batch_size, num_workers=self.settings.num_workers
            )
            trainer.fit(network, train_dataloaders=loader)
        network = network.cpu().eval()
        self.trained = TrainedTFT(
            network=network,
            dataset_parameters=dataset.get_parameters(),
            layout=layout,
            network_kwargs=kwargs,
            quantiles=QUANTILES,
            trained={
                "series": int(train["unique_id"].n_unique()),
                "rows": train.height,
                "first_ds": str(train["ds"].min()),
                "last_ds": str(train["ds"].max()),
                "samples": len(dataset),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return self.trained

    def predict(
        self, history: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Forecast ``horizon`` buckets after each series' last bucket in ``history`` with the trained network.

        Only the last ``max_encoder_length`` buckets of each series are read; series unseen in training are
        forecast as well.

        Args:
            history: same columns as the training panel (``price`` if it was trained with one).
            horizon: buckets to forecast, at most the trained horizon.
            freq: must be the trained frequency.
            quantiles: a subset of the trained levels (:data:`~forecasting.models.base.QUANTILES`).

        Returns:
            ``unique_id, ds, model, p10 .. p90``, one row per series and future bucket, sorted.

        Raises:
            TFTNotTrainedError: neither fitted nor loaded.
            TFTArtifactError: another frequency, a longer horizon or quantiles the network was not trained for.
            DataError: the history is empty or lacks a column the network reads.
        """
        state = self._state()
        layout = state.layout
        if freq != layout.freq:
            raise TFTArtifactError(f"this TFT was trained on freq {layout.freq!r}, not {freq!r}")
        if not 1 <= horizon <= layout.horizon:
            raise TFTArtifactError(f"this TFT forecasts 1 to {layout.horizon} buckets, asked for {horizon}")
        columns = _quantile_positions(state.quantiles, quantiles)
        _check_panel(history, freq, layout.target, required=(*layout.static_columns, *layout.observed_columns))
        frame = _model_frame(history, layout, self.calendar, pad_to=layout.encoder_length, future=layout.horizon)
        with _torch_session(self.settings.num_threads, self.settings.seed), _quiet():
            dataset = TimeSeriesDataSet.from_parameters(
                state.dataset_parameters,
                frame.to_pandas(),
                predict=True,
                stop_randomization=True,
                weight=None,
                min_prediction_idx=None,
            )
            ids, values = _forward(state.network, dataset, self.settings.inference_batch_size)
        expected = future_frame(history, layout.horizon, freq).sort("unique_id", "ds")
        order = np.argsort(ids, kind="stable")
        if [ids[i] for i in order] != expected["unique_id"].unique(maintain_order=True).to_list():
            raise TFTArtifactError("the network returned forecasts for other series than the history holds")
        flat = values[order].reshape(-1, values.shape[-1])
        forecast = expected.with_columns(
            model=pl.lit(self.name), **{quantile_column(q): pl.Series(flat[:, j]) for q, j in columns.items()}
        )
        forecast = forecast.filter(pl.int_range(pl.len()).over("unique_id") < horizon)
        return finalize_quantiles(forecast, quantiles)

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Train on ``train`` and forecast ``horizon`` buckets after each of its series (the contract's method)."""
        self.fit(train, freq, horizon=horizon)
        return self.predict(train, horizon, freq, quantiles)

    def save(self, path: str | Path) -> Path:
        """Write the trained network to the directory ``path`` (created): ``tft.json`` and ``weights.pt``.

        Raises:
            TFTNotTrainedError: neither fitted nor loaded.
        """
        state = self._state()
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "format": ARTIFACT_FORMAT,
            "version": ARTIFACT_VERSION,
            "name": self.name,
            "freq": state.layout.freq,
            "horizon": state.layout.horizon,
            "quantiles": list(state.quantiles),
            "settings": self.settings.to_dict(),
            "frame": state.layout.to_dict(),
            "dataset": _encode_parameters(state.dataset_parameters),
            "network": state.network_kwargs,
            "trained": state.trained,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1, sort_keys=True))
        torch.save(state.network.state_dict(), directory / WEIGHTS_FILE)
        return directory

    @classmethod
    def load(cls, path: str | Path, *, calendar: pl.DataFrame | None = None) -> TFTModel:
        """Read a directory written by :meth:`save` into a model ready to :meth:`predict`.

        Args:
            path: the artifact directory.
            calendar: the calendar frame, required when the network was trained with calendar columns.

        Raises:
            TFTArtifactError: files missing, another format or version, or a calendar missing.
        """
        directory = Path(path)
        config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
        if not config_path.is_file() or not weights_path.is_file():
            raise TFTArtifactError(f"{directory} holds no TFT artifact ({CONFIG_FILE} and {WEIGHTS_FILE})")
        config = json.loads(config_path.read_text())
        if config.get("format") != ARTIFACT_FORMAT or config.get("version") != ARTIFACT_VERSION:
            raise TFTArtifactError(
                f"{config_path}: format {config.get('format')!r} version {config.get('version')!r}, "
                f"expected {ARTIFACT_FORMAT!r} version {ARTIFACT_VERSION}"
            )
        layout = FrameLayout.from_dict(config["frame"])
        missing = [c for c in layout.calendar_columns if calendar is None or c not in calendar.columns]
        if missing:
            raise TFTArtifactError(f"{config_path}: trained with calendar columns {missing}; pass that calendar")
        model = cls(TFTSettings.from_dict(config["settings"]), calendar=calendar)
        parameters = _decode_parameters(config["dataset"])
        quantiles = tuple(float(q) for q in config["quantiles"])
        with _quiet():
            skeleton = _skeleton_dataset(parameters, layout)
            network = TemporalFusionTransformer.from_dataset(
                skeleton, loss=QuantileLoss(list(quantiles)), **config["network"]
            )
        network.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        model.trained = TrainedTFT(
            network=network.eval(),
            dataset_parameters=parameters,
            layout=layout,
            network_kwargs=config["network"],
            quantiles=quantiles,
            trained=config["trained"],
        )
        return model

    def _state(self) -> TrainedTFT:
        if self.trained is None:
            raise TFTNotTrainedError(f"model {self.name!r} is not trained: call fit() or TFTModel.load() first")
        return self.trained

    def _layout(self, train: pl.DataFrame, freq: Freq, horizon: int) -> FrameLayout:
        calendar_columns = tuple(c for c in self.calendar.columns if c != "ds") if self.calendar is not None else ()
        scaling: dict[str, tuple[float, float]] = {}
        if self.calendar is not None:
            seen = self.calendar.filter(pl.col("ds").is_in(train["ds"].unique().implode()))
            for c in calendar_columns:
                values = seen[c].cast(pl.Float64).drop_nulls()
                mean = float(values.mean()) if values.len() else 0.0  # type: ignore[arg-type]
                std = float(values.std() or 0.0) if values.len() > 1 else 0.0  # type: ignore[arg-type]
                scaling[c] = (mean, std if std > 0 else 1.0)
        return FrameLayout(
            freq=freq,
            encoder_length=self.settings.encoder_length(freq),
            horizon=horizon,
            target=self.settings.target,
            static_columns=tuple(c for c in self.settings.static_columns if c in train.columns),
            observed_columns=tuple(c for c in self.settings.observed_columns if c in train.columns),
            calendar_columns=calendar_columns,
            calendar_scaling=scaling,
        )

    def _network_kwargs(self) -> dict[str, Any]:
        s = self.settings
        return {
            "hidden_size": s.hidden_size,
            "attention_head_size": s.attention_head_size,
            "hidden_continuous_size": s.hidden_continuous_size,
            "lstm_layers": s.lstm_layers,
            "dropout": s.dropout,
            "learning_rate": s.learning_rate,
            "optimizer": "adam",
            "log_interval": -1,
        }


def tft(**settings: Any) -> TFTModel:
    """The volume TFT with the small CPU settings (runs anywhere); ``settings`` override them."""
    return TFTModel(TFTSettings.small(**settings))


def _check_calendar(calendar: pl.DataFrame | None) -> pl.DataFrame | None:
    if calendar is None:
        return None
    if "ds" not in calendar.columns:
        raise DataError(f"the TFT calendar needs a 'ds' column; it has {calendar.columns}")
    others = [c for c in calendar.columns if c != "ds"]
    not_numeric = [c for c in others if not calendar.schema[c].is_numeric() and calendar.schema[c] != pl.Boolean]
    if not_numeric:
        raise DataError(f"the TFT calendar columns must be numeric or boolean: {not_numeric}")
    if calendar["ds"].n_unique() != calendar.height:
        raise DataError("the TFT calendar has more than one row for a bucket")
    return calendar.select("ds", *[pl.col(c).cast(pl.Float64) for c in others])


def _check_panel(df: pl.DataFrame, freq: Freq, target: Target, required: Sequence[str] = ()) -> None:
    interval(freq)  # rejects an unknown frequency with a clear message
    validate_long(df)
    if df.height == 0:
        raise DataError("the TFT needs a non-empty history: the panel has no rows")
    if target == "revenue" and "revenue" not in df.columns and "price" not in df.columns:
        raise DataError("the revenue TFT needs a 'revenue' column or a 'price' column to compute it from")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"the TFT was trained with the columns {missing}; the history lacks them")
    if df["y"].null_count() or not df["y"].cast(pl.Float64).is_finite().all():
        bad = df.filter(~pl.col("y").cast(pl.Float64).is_finite().fill_null(False)).row(0, named=True)
        raise DataError(f"series {bad['unique_id']!r}, bucket {bad['ds']}: y is {bad['y']!r}, not a number")
    off = df.filter(pl.col("ds").dt.weekday() != 1) if freq == "W" else df.filter(pl.col("ds").dt.day() != 1)
    if off.height:
        row = off.row(0, named=True)
        kind = "a Monday (ISO week start)" if freq == "W" else "the first of a month"
        raise DataError(f"series {row['unique_id']!r}: bucket {row['ds']} is not {kind}")


def _model_frame(
    history: pl.DataFrame, layout: FrameLayout, calendar: pl.DataFrame | None, *, pad_to: int, future: int
) -> pl.DataFrame:
    """Gap-free, zero-padded buckets per series plus ``future`` forecast buckets, with every network column.

    At inference (``future > 0``) each series is cut to its last ``pad_to`` buckets; in training it keeps
    its whole history and is only padded up to ``pad_to``.
    """
    step = interval(layout.freq)[1:]  # "w" or "mo"
    ends = history.group_by("unique_id").agg(first=pl.col("ds").min(), last=pl.col("ds").max())
    window_start = pl.col("last").dt.offset_by(f"-{pad_to - 1}{step}")
    start = window_start if future else pl.min_horizontal("first", window_start)
    grid = (
        ends.with_columns(ds=pl.date_ranges(start, pl.col("last"), interval=interval(layout.freq)))
        .explode("ds")
        .select("unique_id", "ds")
    )
    values = history.select("unique_id", "ds", *_value_columns(history, layout))
    frame = grid.join(values, on=["unique_id", "ds"], how="left").sort("unique_id", "ds")
    if future:
        frame = pl.concat([frame, future_frame(history, future, layout.freq)], how="diagonal").sort("unique_id", "ds")
        # forecast buckets carry no observed values; the decoder never reads them (price just carries forward)
    frame = frame.with_columns(
        pl.col("y", *_revenue(layout)).fill_null(0.0),
        *[pl.col(c).forward_fill().backward_fill().over("unique_id").fill_null(0.0) for c in layout.observed_columns],
    )
    frame = frame.join(_statics(history, layout), on="unique_id", how="left") if layout.static_columns else frame
    return _with_known_columns(frame, layout, calendar).with_columns(pl.col(layout.unknown_reals).cast(pl.Float32))


def _value_columns(history: pl.DataFrame, layout: FrameLayout) -> list[pl.Expr]:
    columns = [pl.col("y").cast(pl.Float64)]
    if layout.target == "revenue":
        revenue = pl.col("revenue") if "revenue" in history.columns else pl.col("y") * pl.col("price")
        columns.append(revenue.cast(pl.Float64).alias("revenue"))
    columns += [pl.col(c).cast(pl.Float64) for c in layout.observed_columns]
    return columns


def _revenue(layout: FrameLayout) -> list[str]:
    return ["revenue"] if layout.target == "revenue" else []


def _statics(history: pl.DataFrame, layout: FrameLayout) -> pl.DataFrame:
    """Each series' last known value of each static column, as text ("<missing>" if it never had one)."""
    return (
        history.sort("ds")
        .group_by("unique_id")
        .agg(pl.col(c).cast(pl.String).drop_nulls().last() for c in layout.static_columns)
        .with_columns(pl.col(c).fill_null(_MISSING_CATEGORY) for c in layout.static_columns)
    )


def _with_known_columns(frame: pl.DataFrame, layout: FrameLayout, calendar: pl.DataFrame | None) -> pl.DataFrame:
    if layout.freq == "W":
        time_idx = (pl.col("ds") - pl.lit(_EPOCH_MONDAY)).dt.total_days() // 7
        season = pl.col("ds").dt.week() - 1
    else:
        time_idx = pl.col("ds").dt.year().cast(pl.Int64) * 12 + pl.col("ds").dt.month() - 1
        season = pl.col("ds").dt.month() - 1
    angle = 2 * math.pi * season.cast(pl.Float64) / _YEAR[layout.freq]
    frame = frame.with_columns(
        time_idx=time_idx.cast(pl.Int64),
        season_sin=angle.sin().cast(pl.Float32),
        season_cos=angle.cos().cast(pl.Float32),
    )
    if layout.calendar_columns:
        if calendar is None:
            raise TFTArtifactError(f"this TFT reads the calendar columns {list(layout.calendar_columns)}")
        frame = frame.join(calendar.select("ds", *layout.calendar_columns), on="ds", how="left")
        frame = frame.with_columns(
            ((pl.col(c) - mean) / std).fill_null(0.0).cast(pl.Float32)
            for c, (mean, std) in layout.calendar_scaling.items()
        )
    return frame


def _series_weights(frame: pl.DataFrame, target: str) -> pl.DataFrame:
    """Training weight of each series: 1 / mean |target| (1 for an all-zero series), for a scale-free loss."""
    return (
        frame.group_by("unique_id")
        .agg(mean=pl.col(target).abs().mean())
        .select("unique_id", pl.when(pl.col("mean") > 0).then(1.0 / pl.col("mean")).otherwise(1.0).alias(_WEIGHT))
        .with_columns(pl.col(_WEIGHT).cast(pl.Float32))
    )


def _forward(
    network: TemporalFusionTransformer, dataset: TimeSeriesDataSet, batch_size: int
) -> tuple[list[str], np.ndarray]:
    """Series ids and quantile forecasts ``(series, horizon, quantile)`` in the dataset's order."""
    network.eval()
    ids: list[str] = []
    outputs = []
    with torch.inference_mode():
        for x, _ in dataset.to_dataloader(train=False, batch_size=batch_size, num_workers=0):
            outputs.append(network(x)["prediction"].float().cpu().numpy())
            ids += dataset.x_to_index(x)["unique_id"].astype(str).tolist()
    return ids, np.concatenate(outputs).astype(np.float64)


def _quantile_positions(trained: Sequence[float], requested: Sequence[float]) -> dict[float, int]:
    positions = {}
    for q in sorted(requested):
        matches = [j for j, t in enumerate(trained) if abs(t - q) < 1e-9]
        if not matches:
            raise TFTArtifactError(f"this TFT was trained for the quantiles {list(trained)}; {q} is not one of them")
        positions[q] = matches[0]
    return positions


def _skeleton_dataset(parameters: dict[str, Any], layout: FrameLayout) -> TimeSeriesDataSet:
    """A one-series dataset with the stored parameters: enough for ``from_dataset`` to rebuild the network."""
    n = layout.encoder_length + layout.horizon
    data: dict[str, Any] = {
        "unique_id": ["skeleton"] * n,
        "time_idx": np.arange(n, dtype=np.int64),
        **{c: np.zeros(n, dtype=np.float32) for c in [*layout.known_reals, *layout.unknown_reals]},
        **{c: [_MISSING_CATEGORY] * n for c in layout.static_columns},
    }
    return TimeSeriesDataSet.from_parameters(
        parameters, pd.DataFrame(data), predict=True, stop_randomization=True, weight=None, min_prediction_idx=None
    )


def _encode_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """``TimeSeriesDataSet.get_parameters()`` as JSON data: encoders become their settings and classes."""
    encoded: dict[str, Any] = {}
    for key, value in parameters.items():
        if key == "target_normalizer":
            encoded[key] = _encode_transformer(value, key)
        elif key == "scalers":
            encoded[key] = {name: _encode_transformer(t, f"scaler {name}") for name, t in value.items()}
        elif key == "categorical_encoders":
            encoded[key] = {name: _encode_transformer(t, f"encoder {name}") for name, t in value.items()}
        else:
            encoded[key] = _plain(value, key)
    return encoded


def _decode_parameters(encoded: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_encode_parameters`."""
    parameters = dict(encoded)
    parameters["target_normalizer"] = _decode_transformer(encoded["target_normalizer"])
    parameters["scalers"] = {k: _decode_transformer(v) for k, v in encoded["scalers"].items()}
    parameters["categorical_encoders"] = {k: _decode_transformer(v) for k, v in encoded["categorical_encoders"].items()}
    return parameters


def _encode_transformer(value: Any, what: str) -> Any:
    if value is None:
        return None
    if isinstance(value, MeanScaler):
        return "mean_scale"
    if isinstance(value, NaNLabelEncoder):
        classes = getattr(value, "classes_", None)
        return {
            "add_nan": bool(value.add_nan),
            "warn": bool(value.warn),
            "classes": None if classes is None else {str(k): int(v) for k, v in classes.items()},
        }
    raise TFTArtifactError(f"cannot store the {what} of type {type(value).__name__} in a TFT artifact")


def _decode_transformer(value: Any) -> Any:
    if value is None:
        return None
    if value == "mean_scale":
        return MeanScaler()
    if isinstance(value, dict) and set(value) == {"add_nan", "warn", "classes"}:
        encoder = NaNLabelEncoder(add_nan=value["add_nan"], warn=value["warn"])
        if value["classes"] is not None:
            encoder.classes_ = dict(value["classes"])
            encoder.classes_vector_ = np.array(list(encoder.classes_))
        return encoder
    raise TFTArtifactError(f"unknown transformer {value!r} in a TFT artifact")


def _plain(value: Any, what: str) -> Any:
    """``value`` as JSON data (numpy scalars become Python numbers); anything else is an error."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, what) for k, v in value.items()}
    raise TFTArtifactError(f"cannot store the dataset parameter {what!r} of type {type(value).__name__}")


@contextmanager
def _torch_session(threads: int, seed: int) -> Iterator[None]:
    """Fixed threads and a seeded, forked random state; the caller's thread count and RNG are restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings of :data:`_QUIET` and Lightning's banner ("GPU available: ...") for a while."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in _QUIET:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        logger.setLevel(level)


__all__ = [
    "ARTIFACT_FORMAT",
    "ARTIFACT_VERSION",
    "FrameLayout",
    "MeanScaler",
    "TFTArtifactError",
    "TFTModel",
    "TFTNotTrainedError",
    "TFTSettings",
    "TrainedTFT",
    "tft",
]
