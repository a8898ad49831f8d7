"""Champion/challenger rules (FC-7) and the registry on a real PostgreSQL and a local model store."""

from pathlib import Path

import psycopg
import pytest

from forecasting.registry import ModelStore, Registry, RegistryError, drift_status, promotion_decision


def test_better_by_one_point_promotes_equal_does_not() -> None:
    assert promotion_decision(19.0, 20.0, 30.0).promote
    assert not promotion_decision(20.0, 20.0, 30.0).promote
    assert not promotion_decision(19.5, 20.0, 30.0).promote
    assert "gain 0.50 < 1 points" in promotion_decision(19.5, 20.0, 30.0).reason
    assert promotion_decision(19.5, 20.0, 30.0, min_improvement=0.5).promote


def test_worse_than_seasonal_naive_never_promotes() -> None:
    assert not promotion_decision(10.0, 40.0, 9.0).promote
    assert not promotion_decision(10.0, None, 10.0).promote
    assert promotion_decision(10.0, None, 10.5).promote


def test_drift_thresholds() -> None:
    assert drift_status(20.0, 21.9)[0] == "ok"
    assert drift_status(20.0, 22.0)[0] == "warn"
    assert drift_status(20.0, 23.0)[0] == "retrain"
    assert drift_status(20.0, 23.0)[1] == pytest.approx(0.15)


def _artifact(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "weights.bin").write_bytes(name.encode())
    return folder


def _register(registry: Registry, tmp_path: Path, tag: str, metric: float, baseline: float = 50.0):  # type: ignore[no-untyped-def]
    return registry.register(
        "tft",
        _artifact(tmp_path, tag),
        freq="W",
        data_start=None,
        data_end=None,
        params={"hidden_size": 8},
        metrics={"wape": metric},
        metric_name="wape",
        metric_value=metric,
        baseline_value=baseline,
    )


def test_versions_champion_and_pruning(database_url: str, tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path / "models"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        registry = Registry(conn, store)
        first, decision = _register(registry, tmp_path, "v1", 30.0)
        assert decision.promote and first.status == "champion" and first.version == 1
        second, decision = _register(registry, tmp_path, "v2", 29.5)
        assert not decision.promote and second.status == "challenger"
        _, decision = _register(registry, tmp_path, "v3", 28.0)
        assert decision.promote and registry.champion("tft").version == 3  # type: ignore[union-attr]
        assert registry.version("tft", 1).status == "retired"
        for k in range(4, 9):
            _register(registry, tmp_path, f"v{k}", 60.0)  # worse than seasonal naive: never promoted
        assert registry.champion("tft").version == 3  # type: ignore[union-attr]
        # a weekly TFT is no champion for monthly forecasts (trained_models / available_models with freq="M")
        assert registry.champion("tft", "W").version == 3  # type: ignore[union-attr]
        assert registry.champion("tft", "M") is None
        kept = sorted(p.name for p in (tmp_path / "models" / "tft").iterdir())
        assert kept == ["v0003", "v0004", "v0005", "v0006", "v0007", "v0008"]  # last 5 + the champion
        assert (tmp_path / "models" / "tft" / "v0003" / "weights.bin").read_bytes() == b"v3"
        pruned = conn.execute("select count(*) from forecasting.model_versions where pruned_at is not null").fetchone()
        assert pruned == (2,)
        with pytest.raises(RegistryError, match="no version 99"):
            registry.version("tft", 99)
        assert registry.record_drift("tft", first_origin(), "W", "wape", 20.0, 23.5) == "retrain"


def first_origin():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.date(2024, 1, 1)
