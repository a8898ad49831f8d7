"""``fmrp bench forecast`` (benchmark any wide CSV) and ``fmrp override ...`` (planner overrides of P50, FC-8)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fmrp.warehouse import connect, warehouse_url

bench_app = typer.Typer(help="Benchmarks anyone can point at their own data.", no_args_is_help=True)
override_app = typer.Typer(help="Planner overrides of the forecast's P50, with an audit trail (FC-8).")
console = Console()
err_console = Console(stderr=True)


@bench_app.command("forecast")
def bench_forecast(
    train: Annotated[Path, typer.Option(help="Wide CSV: first column the id, then one column per bucket.")],
    freq: Annotated[str, typer.Option(help="W (weekly) or M (monthly).")],
    horizon: Annotated[int, typer.Option(help="Buckets to forecast.")],
    test: Annotated[Path | None, typer.Option(help="Wide CSV of the values after TRAIN (same ids).")] = None,
    holdout: Annotated[int | None, typer.Option(help="Hold out the last H buckets of TRAIN instead of --test.")] = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models (default: baselines, ETS, SBA, TSB).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the table to this CSV as well.")] = None,
) -> None:
    """One row per model and, last, the product's own selection (``auto``): sMAPE, MASE, WAPE, pinball, coverage."""
    from forecasting.bench import DEFAULT_MODELS, BenchError, run_bench
    from forecasting.data import DataError, read_train_test, read_wide_csv, train_test_split

    if freq not in ("W", "M"):
        err_console.print(f"--freq must be W or M, got {freq!r}")
        raise typer.Exit(2)
    if (test is None) == (holdout is None):
        err_console.print("give exactly one of --test and --holdout")
        raise typer.Exit(2)
    try:
        if test is not None:
            train_frame, test_frame = read_train_test(train, test, freq)  # type: ignore[arg-type]
        else:
            assert holdout is not None
            train_frame, test_frame = train_test_split(read_wide_csv(train, freq), holdout)  # type: ignore[arg-type]
            both = set(train_frame["unique_id"].unique()) & set(test_frame["unique_id"].unique())
            dropped = test_frame["unique_id"].n_unique() - len(both)
            if dropped:
                err_console.print(f"{dropped} series have no more than {holdout} values: left out (no history)")
            train_frame = train_frame.filter(train_frame["unique_id"].is_in(list(both)))
            test_frame = test_frame.filter(test_frame["unique_id"].is_in(list(both)))
        names = [m.strip() for m in models.split(",")] if models else list(DEFAULT_MODELS)
        result = run_bench(
            train_frame,
            test_frame,
            freq,  # type: ignore[arg-type]
            horizon,
            models=names,
            on_model=lambda name, seconds: err_console.print(f"{name}: {seconds:.1f} s"),
        )
    except (DataError, BenchError, FileNotFoundError) as err:
        err_console.print(str(err))
        raise typer.Exit(1) from err
    table = Table(title=f"{train.name}: {train_frame['unique_id'].n_unique()} series, {freq}, h = {horizon}")
    for column in result.table.columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.table.iter_rows():
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if out:
        result.table.write_csv(out)
        err_console.print(f"written to {out}")
    auto = result.table.row(-1, named=True)
    # the last line of output is the auto row, in a form scripts can read
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in auto.items()))


@override_app.command("add")
def override_add(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    week: Annotated[str, typer.Argument(help="Bucket start (YYYY-MM-DD, a Monday for weekly).")],
    p50: Annotated[float, typer.Argument(help="The planner's P50.")],
    reason: Annotated[
        str, typer.Option(help="promotion, customer_information, supply, data_error, new_product or other")
    ],
    by: Annotated[str, typer.Option(help="Who overrides.")],
    note: Annotated[str, typer.Option(help="Free text.")] = "",
    freq: Annotated[str, typer.Option(help="W or M.")] = "W",
) -> None:
    """Override P50 for one SKU and bucket (an active override of that cell is reverted)."""
    from forecasting.overrides import OverrideError, add_override

    try:
        with connect(warehouse_url(), autocommit=True) as conn:
            override_id = add_override(
                conn,
                sku=sku,
                bucket_start=date.fromisoformat(week),
                p50=p50,
                reason_category=reason,
                created_by=by,
                note=note,
                freq=freq,
            )
    except (OverrideError, ValueError) as err:
        err_console.print(str(err))
        raise typer.Exit(1) from err
    console.print(f"override {override_id}: {sku} {week} P50 = {p50} ({reason}, by {by})")


@override_app.command("list")
def override_list(
    sku: Annotated[str | None, typer.Option(help="Only this SKU.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include reverted overrides.")] = False,
) -> None:
    """Overrides, newest first."""
    from forecasting.overrides import list_overrides

    with connect(warehouse_url(), autocommit=True) as conn:
        frame = list_overrides(conn, sku=sku, active_only=not all_)
    table = Table(title="forecast overrides" + (" (all)" if all_ else " (active)"))
    for column in ("override_id", "sku", "bucket_start", "p50", "reason_category", "created_by", "created_at"):
        table.add_column(column)
    if all_:
        table.add_column("reverted_by")
    for row in frame.iter_rows(named=True):
        cells = [str(row[c]) for c in ("override_id", "sku", "bucket_start", "p50", "reason_category", "created_by")]
        cells.append(str(row["created_at"])[:19])
        if all_:
            cells.append(str(row["reverted_by"] or ""))
        table.add_row(*cells)
    console.print(table)


@override_app.command("revert")
def override_revert(
    override_id: Annotated[int, typer.Argument(help="The override's id.")],
    by: Annotated[str, typer.Option(help="Who reverts.")],
) -> None:
    """Revert an override; the forecast's own P50 applies again from the next forecast run."""
    from forecasting.overrides import OverrideError, revert_override

    try:
        with connect(warehouse_url(), autocommit=True) as conn:
            revert_override(conn, override_id, reverted_by=by)
    except OverrideError as err:
        err_console.print(str(err))
        raise typer.Exit(1) from err
    console.print(f"override {override_id} reverted by {by}")


def print_forecast_summary(url: str) -> None:
    """The latest origin's forecasting tables: rows, SKUs forecast against active SKUs, backtest accuracy by class."""
    from forecasting.store import read_frame

    with connect(url) as conn:
        row = conn.execute("select max(origin) from forecasting.forecasts").fetchone()
        if row is None or row[0] is None:
            console.print("no forecasts yet")
            return
        origin = row[0]
        table = Table(title=f"Forecasts of origin {origin} (schema forecasting)")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name in ("sku_classes", "forecasts", "revenue_checks", "backtest_metrics"):
            count = conn.execute(f"select count(*) from forecasting.{name} where origin = %s", [origin]).fetchone()
            table.add_row(f"forecasting.{name}", f"{count[0] if count else 0:,}")
        coverage = conn.execute(
            "select count(distinct c.sku) filter (where c.status = 'active'),"
            " count(distinct f.sku) filter (where c.status = 'active')"
            " from forecasting.sku_classes c left join forecasting.forecasts f on f.origin = c.origin"
            " and f.freq = c.freq and f.sku = c.sku and f.is_selected and f.target = 'volume' where c.origin = %s",
            [origin],
        ).fetchone()
        accuracy = read_frame(
            conn,
            "select group_value as class, series, wape, mape, mase, coverage_p10_p90 from forecasting.backtest_metrics"
            " where origin = %s and model = 'auto' and grouping in ('overall', 'abc') order by grouping desc, 1",
            [origin],
        )
    console.print(table)
    if coverage:
        console.print(f"active SKUs forecast: {coverage[1]:,} of {coverage[0]:,}")
    scores = Table(title="Backtest of the selected forecasts (auto): 3 windows x 13 weeks before the origin")
    for column in ("class", "series", "WAPE %", "MAPE %", "MASE", "P10-P90 coverage"):
        scores.add_column(column, justify="left" if column == "class" else "right")
    for r in accuracy.iter_rows():
        scores.add_row(
            str(r[0]),
            str(r[1]),
            *[f"{v:.1f}" if v is not None else "-" for v in r[2:4]],
            *[f"{v:.3f}" if v is not None else "-" for v in r[4:]],
        )
    console.print(scores)


@override_app.command("model")
def override_model(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    model: Annotated[
        str, typer.Argument(help="A model name (auto_ets, croston_sba, lightgbm, ensemble ...), or 'matrix' to clear.")
    ],
    by: Annotated[str, typer.Option(help="Who chooses.")],
    note: Annotated[str, typer.Option(help="Free text.")] = "",
) -> None:
    """Choose a SKU's forecasting model (FC-2 override); 'matrix' gives it back to the selection matrix."""
    from forecasting.overrides import OverrideError, clear_model_choice, set_model_choice

    try:
        with connect(warehouse_url(), autocommit=True) as conn:
            if model == "matrix":
                cleared = clear_model_choice(conn, sku)
                console.print(f"{sku}: back to the selection matrix" if cleared else f"{sku} had no model choice")
                return
            set_model_choice(conn, sku=sku, model=model, chosen_by=by, note=note)
    except OverrideError as err:
        err_console.print(str(err))
        raise typer.Exit(1) from err
    console.print(f"{sku}: model {model} from the next forecast run (by {by})")
