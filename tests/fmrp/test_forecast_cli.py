"""``fmrp bench forecast`` on a small wide CSV and ``fmrp override`` against a real warehouse."""

from pathlib import Path

import numpy as np
import psycopg
from typer.testing import CliRunner

from fmrp.cli import app

runner = CliRunner()


def _wide_csv(path: Path, series: int = 6, length: int = 70) -> Path:
    rng = np.random.default_rng(3)
    lines = ["id," + ",".join(f"v{k}" for k in range(length))]
    for i in range(series):
        values = rng.poisson(20 if i % 2 else 2, length).astype(str).tolist()
        if i == 0:
            values[:5] = [""] * 5  # a series that starts late
        lines.append(f"S{i}," + ",".join(values))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bench_prints_every_model_and_ends_with_auto(tmp_path: Path) -> None:
    train = _wide_csv(tmp_path / "train.csv")
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "bench",
            "forecast",
            "--train",
            str(train),
            "--holdout",
            "8",
            "--freq",
            "W",
            "--horizon",
            "8",
            "--models",
            "naive,croston_sba",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("model=auto series=6 smape=")
    assert out.read_text().splitlines()[0] == "model,series,smape,mase,wape,pinball_mean,coverage_p10_p90,seconds"
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == ["naive", "croston_sba", "auto"]


def test_bench_refuses_bad_arguments(tmp_path: Path) -> None:
    train = _wide_csv(tmp_path / "train.csv")
    both = runner.invoke(app, ["bench", "forecast", "--train", str(train), "--freq", "W", "--horizon", "4"])
    assert both.exit_code == 2 and "exactly one of --test and --holdout" in both.output
    unknown = runner.invoke(
        app,
        [
            "bench",
            "forecast",
            "--train",
            str(train),
            "--holdout",
            "4",
            "--freq",
            "W",
            "--horizon",
            "4",
            "--models",
            "prophet",
        ],
    )
    assert unknown.exit_code == 1 and "unknown models ['prophet']" in unknown.output


def test_override_add_list_revert(isolated_settings: dict[str, str]) -> None:
    added = runner.invoke(app, ["override", "add", "FG-1", "2026-11-23", "450", "--reason", "promotion", "--by", "ana"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["override", "list"])
    assert "FG-1" in listed.output and "promotion" in listed.output
    with psycopg.connect(isolated_settings["WAREHOUSE_URL"]) as conn:
        (override_id,) = conn.execute("select override_id from forecasting.overrides").fetchone()  # type: ignore[misc]
    reverted = runner.invoke(app, ["override", "revert", str(override_id), "--by", "bia"])
    assert reverted.exit_code == 0
    again = runner.invoke(app, ["override", "revert", str(override_id), "--by", "bia"])
    assert again.exit_code == 1 and "already reverted" in again.output
    bad = runner.invoke(app, ["override", "add", "FG-1", "2026-11-24", "10", "--reason", "promotion", "--by", "ana"])
    assert bad.exit_code == 1 and "start on Monday" in bad.output


def test_model_choice_wins_over_the_matrix(isolated_settings: dict[str, str]) -> None:
    from forecasting.runs import classify_skus
    from tests.forecasting.warehouse import demand_panel

    chosen = runner.invoke(app, ["override", "model", "smooth", "tsb", "--by", "ana"])
    assert chosen.exit_code == 0, chosen.output
    unknown = runner.invoke(app, ["override", "model", "smooth", "prophet", "--by", "ana"])
    assert unknown.exit_code == 1 and "unknown model 'prophet'" in unknown.output
    with psycopg.connect(isolated_settings["WAREHOUSE_URL"]) as conn:
        choices = dict(conn.execute("select sku, model from forecasting.model_choices").fetchall())
    panel = demand_panel()
    classes = classify_skus(panel, "W", panel["ds"].max(), model_choices=choices)  # type: ignore[arg-type]
    smooth = classes.filter(classes["sku"] == "smooth").row(0, named=True)
    assert (smooth["model"], smooth["reason"]) == ("tsb", "planner override")
    cleared = runner.invoke(app, ["override", "model", "smooth", "matrix", "--by", "ana"])
    assert cleared.exit_code == 0 and "back to the selection matrix" in cleared.output
