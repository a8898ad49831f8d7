"""Model registry and champion/challenger (FC-7), drift tracking.

Every trained model is a *version* of its ``model_type`` (``tft``, ``lightgbm`` ...) in
``forecasting.model_versions``: parameters, data window, backtest metrics and the artifact, stored in the
model store (:class:`ModelStore`: a local directory by default, ``s3://bucket/prefix`` in production).

Promotion rule (:func:`promotion_decision`): a challenger becomes champion only if its backtest metric (lower is
better, in points: WAPE or MAPE in percent) beats the champion's by at least ``min_improvement`` points (1 by
default) **and** beats seasonal naive on the same backtest. The first version of a type has no champion to
beat and needs only to beat seasonal naive. Only the last ``keep`` versions (5) keep their artifacts; the
champion's is never pruned.

Drift (:func:`drift_status`): the recent error against the error at training time; up 10% warns, up 15% asks
for retraining.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import psycopg

from forecasting.store import SCHEMA, ensure_schema

#: Points a challenger must gain over the champion (FC-7).
MIN_IMPROVEMENT = 1.0
#: Versions per model type whose artifacts are kept.
KEEP_VERSIONS = 5
DRIFT_WARN = 0.10
DRIFT_RETRAIN = 0.15

DriftStatus = Literal["ok", "warn", "retrain"]


class RegistryError(RuntimeError):
    """The registry cannot do what was asked (unknown version, missing artifact ...)."""


@dataclass(frozen=True)
class Decision:
    """Whether a challenger is promoted, and why (the sentence is stored with the version)."""

    promote: bool
    reason: str


def promotion_decision(
    challenger: float,
    champion: float | None,
    seasonal_naive: float,
    *,
    min_improvement: float = MIN_IMPROVEMENT,
    metric: str = "wape",
) -> Decision:
    """FC-7's rule: better than the champion by ``min_improvement`` points and better than seasonal naive.

    Args:
        challenger: the challenger's backtest metric (lower is better).
        champion: the current champion's metric on the same backtest, None without a champion.
        seasonal_naive: seasonal naive's metric on the same backtest.
        min_improvement: points the challenger must gain.
        metric: the metric's name, for the reason.
    """
    if not challenger < seasonal_naive:
        return Decision(False, f"{metric} {challenger:.2f} does not beat seasonal naive ({seasonal_naive:.2f})")
    if champion is None:
        return Decision(True, f"first version: {metric} {challenger:.2f} beats seasonal naive ({seasonal_naive:.2f})")
    gain = champion - challenger
    if gain >= min_improvement - 1e-9:
        return Decision(True, f"{metric} {challenger:.2f} beats champion {champion:.2f} by {gain:.2f} points")
    return Decision(
        False, f"{metric} {challenger:.2f} vs champion {champion:.2f}: gain {gain:.2f} < {min_improvement:g} points"
    )


def drift_status(reference: float, recent: float) -> tuple[DriftStatus, float]:
    """Relative change of the error since training and what it calls for (ok, warn at +10%, retrain at +15%)."""
    if reference <= 0:
        return ("ok", 0.0) if recent <= 0 else ("retrain", float("inf"))
    change = recent / reference - 1.0
    if change >= DRIFT_RETRAIN - 1e-12:
        return "retrain", change
    if change >= DRIFT_WARN - 1e-12:
        return "warn", change
    return "ok", change


class ModelStore:
    """Where artifacts live: a local directory, or ``s3://bucket/prefix`` (boto3, as dagster-aws uses)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        parsed = urlparse(self.uri)
        self.is_s3 = parsed.scheme == "s3"
        self._bucket, self._prefix = (parsed.netloc, parsed.path.lstrip("/")) if self.is_s3 else ("", "")

    def put(self, local_dir: Path, key: str) -> str:
        """Copy a directory of artifact files under ``key``; returns the artifact's URI."""
        if self.is_s3:
            client = self._client()
            for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
                client.upload_file(str(path), self._bucket, f"{self._prefix}/{key}/{path.relative_to(local_dir)}")
            return f"{self.uri}/{key}"
        target = Path(self.uri) / key
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(local_dir, target)
        return str(target)

    def get(self, artifact_uri: str, local_dir: Path) -> Path:
        """Materialise an artifact locally (a no-op path for the local store)."""
        if not artifact_uri.startswith("s3://"):
            path = Path(artifact_uri)
            if not path.exists():
                raise RegistryError(f"artifact {artifact_uri} is missing from the model store")
            return path
        parsed = urlparse(artifact_uri)
        client = self._client()
        prefix = parsed.path.lstrip("/")
        listing = client.list_objects_v2(Bucket=parsed.netloc, Prefix=prefix)
        for item in listing.get("Contents", []):
            target = local_dir / item["Key"][len(prefix) :].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(parsed.netloc, item["Key"], str(target))
        return local_dir

    def delete(self, artifact_uri: str) -> None:
        """Remove an artifact (pruning old versions)."""
        if artifact_uri.startswith("s3://"):
            parsed = urlparse(artifact_uri)
            client = self._client()
            listing = client.list_objects_v2(Bucket=parsed.netloc, Prefix=parsed.path.lstrip("/"))
            for item in listing.get("Contents", []):
                client.delete_object(Bucket=parsed.netloc, Key=item["Key"])
        else:
            shutil.rmtree(artifact_uri, ignore_errors=True)

    def _client(self) -> Any:
        import boto3  # production only: local stores need no AWS libraries at import time

        return boto3.client("s3")


@dataclass(frozen=True)
class ModelVersion:
    """One row of ``forecasting.model_versions``."""

    model_type: str
    version: int
    status: str
    metric_name: str
    metric_value: float | None
    baseline_value: float | None
    artifact_uri: str | None
    params: dict[str, Any]
    decision: str | None


class Registry:
    """The registry on a warehouse connection (autocommit) and a model store."""

    def __init__(self, conn: psycopg.Connection, store: ModelStore) -> None:
        self.conn = conn
        self.store = store
        ensure_schema(conn)

    def register(
        self,
        model_type: str,
        artifact_dir: Path | None,
        *,
        freq: str,
        data_start: dt.date | None,
        data_end: dt.date | None,
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        metric_name: str,
        metric_value: float,
        baseline_value: float,
        min_improvement: float = MIN_IMPROVEMENT,
        keep: int = KEEP_VERSIONS,
    ) -> tuple[ModelVersion, Decision]:
        """Store a new version, decide promotion against the champion, prune old artifacts.

        Returns:
            The stored version (its final status) and the promotion decision.
        """
        champion = self.champion(model_type)
        decision = promotion_decision(
            metric_value,
            champion.metric_value if champion else None,
            baseline_value,
            min_improvement=min_improvement,
            metric=metric_name,
        )
        with self.conn.transaction():
            self.conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"fmrp.registry.{model_type}",))
            row = self.conn.execute(
                f"select coalesce(max(version), 0) + 1 from {SCHEMA}.model_versions where model_type = %s",
                (model_type,),
            ).fetchone()
            version = int(row[0]) if row else 1
            uri = self.store.put(artifact_dir, f"{model_type}/v{version:04d}") if artifact_dir else None
            if decision.promote:
                self.conn.execute(
                    f"update {SCHEMA}.model_versions set status = 'retired'"
                    " where model_type = %s and status = 'champion'",
                    (model_type,),
                )
            self.conn.execute(
                f"insert into {SCHEMA}.model_versions (model_type, version, freq, data_start, data_end, params,"
                " metrics, metric_name, metric_value, baseline_value, artifact_uri, status, decision, promoted_at)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, case when %s then now() end)",
                (
                    model_type,
                    version,
                    freq,
                    data_start,
                    data_end,
                    json.dumps(params, default=str),
                    json.dumps(metrics, default=str),
                    metric_name,
                    metric_value,
                    baseline_value,
                    uri,
                    "champion" if decision.promote else "challenger",
                    decision.reason,
                    decision.promote,
                ),
            )
        self.prune(model_type, keep=keep)
        stored = self.version(model_type, version)
        return stored, decision

    def champion(self, model_type: str, freq: str | None = None) -> ModelVersion | None:
        """The current champion of a type, if any (with ``freq``: only if it was trained at that frequency)."""
        if freq is None:
            return self._one("model_type = %s and status = 'champion'", (model_type,))
        return self._one("model_type = %s and status = 'champion' and freq = %s", (model_type, freq))

    def version(self, model_type: str, version: int) -> ModelVersion:
        """One version.

        Raises:
            RegistryError: no such version.
        """
        found = self._one("model_type = %s and version = %s", (model_type, version))
        if found is None:
            raise RegistryError(f"no version {version} of model {model_type!r} in the registry")
        return found

    def prune(self, model_type: str, *, keep: int = KEEP_VERSIONS) -> list[int]:
        """Delete the artifacts of all but the last ``keep`` versions (never the champion's)."""
        rows = self.conn.execute(
            f"select version, artifact_uri from {SCHEMA}.model_versions where model_type = %s"
            " and status <> 'champion' and pruned_at is null and artifact_uri is not null"
            " and version <= (select max(version) from forecasting.model_versions where model_type = %s) - %s",
            (model_type, model_type, keep),
        ).fetchall()
        for version, uri in rows:
            self.store.delete(uri)
            self.conn.execute(
                f"update {SCHEMA}.model_versions set pruned_at = now() where model_type = %s and version = %s",
                (model_type, version),
            )
        return [int(v) for v, _ in rows]

    def record_drift(
        self, model_type: str, origin: dt.date, freq: str, metric_name: str, reference: float, recent: float
    ) -> DriftStatus:
        """Store the drift of a model at an origin and return its status."""
        status, change = drift_status(reference, recent)
        stored_change = None if change == float("inf") else change
        self.conn.execute(
            f"insert into {SCHEMA}.drift (model_type, origin, freq, metric_name, reference_value, recent_value,"
            " change, status) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (model_type, origin, freq) do update set reference_value = excluded.reference_value,"
            " recent_value = excluded.recent_value, change = excluded.change, status = excluded.status,"
            " metric_name = excluded.metric_name, computed_at = now()",
            (model_type, origin, freq, metric_name, reference, recent, stored_change, status),
        )
        return status

    def _one(self, where: str, params: tuple[Any, ...]) -> ModelVersion | None:
        row = self.conn.execute(
            f"select model_type, version, status, metric_name, metric_value, baseline_value, artifact_uri, params,"
            f" decision from {SCHEMA}.model_versions where {where} order by version desc limit 1",
            params,
        ).fetchone()
        return ModelVersion(*row) if row else None
