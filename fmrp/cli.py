"""``fmrp``: the command line of forecasting-mrp (database, demo factory, pipeline, dbt, UIs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from psycopg import sql
from rich.console import Console
from rich.table import Table

from fmrp.forecast_cli import bench_app, override_app, print_forecast_summary
from fmrp.imap_cli import imap_app
from fmrp.plan_cli import alerts_app, plan_app, proposals_app, scenario_app
from fmrp.settings import get_settings, project_root
from fmrp.templates_cli import templates_app
from fmrp.warehouse import (
    WarehouseError,
    connect,
    embedded_server,
    redact,
    run_dbt,
    warehouse_url,
)

app = typer.Typer(help="forecasting-mrp: ingestion, warehouse, forecasts and MRP on PostgreSQL.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded PostgreSQL (ignored when WAREHOUSE_URL is set).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan", no_args_is_help=True)
app.add_typer(proposals_app, name="proposals", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(override_app, name="override", no_args_is_help=True)
app.add_typer(imap_app, name="imap")
app.add_typer(templates_app, name="templates")
console = Console()
err_console = Console(stderr=True)


def default_demo_start() -> date:
    """The Monday three years (156 weeks) before the current week: the demo's history ends last week."""
    today = date.today()
    return today - timedelta(days=today.weekday()) - timedelta(weeks=156)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (or find it running) and print its URL."""
    settings = get_settings()
    if not settings.is_embedded:
        console.print(f"WAREHOUSE_URL is set ({redact(settings.warehouse_url or '')}): nothing to start.")
        return
    status = embedded_server(settings).start()
    console.print(f"PostgreSQL running (pid {status.pid}) in {status.pgdata}")
    console.print(warehouse_url(settings))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    stopped = embedded_server().stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the warehouse is up, and where."""
    settings = get_settings()
    if not settings.is_embedded:
        try:
            with connect(settings.warehouse_url, connect_timeout=5) as conn:
                version = conn.execute("show server_version").fetchone()
            shown = redact(settings.warehouse_url or "")
            console.print(f"external warehouse {shown}: up (PostgreSQL {version[0] if version else '?'})")
        except Exception as err:
            err_console.print(f"external warehouse {redact(settings.warehouse_url or '')}: DOWN ({err})")
            raise typer.Exit(1) from err
        return
    status = embedded_server(settings).status()
    if status is None:
        console.print(f"embedded PostgreSQL in {settings.postgres_dir}: not running")
        raise typer.Exit(1)
    console.print(f"embedded PostgreSQL in {status.pgdata}: running, pid {status.pid}, port {status.port}")


@db_app.command("url")
def db_url() -> None:
    """Print the warehouse URL (starting the embedded server if needed)."""
    print(warehouse_url())


@app.command("demo-data")
def demo_data(
    skus: Annotated[int, typer.Option(help="Number of finished goods.")] = 300,
    years: Annotated[int, typer.Option(help="Years of daily sales history.")] = 3,
    start: Annotated[str | None, typer.Option(help="First day of history (YYYY-MM-DD); default 3 years back.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 42,
    out: Annotated[Path | None, typer.Option(help="Inbox folder to write (default FMRP_INBOX_DIR).")] = None,
    truth: Annotated[Path | None, typer.Option(help="Ground-truth folder (default FMRP_DEMO_TRUTH_DIR).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace demo files already in the folders.")] = False,
) -> None:
    """Generate the demo factory's source files (emails, ERP exports) and its ground truth."""
    from fmrp.demo import FactoryConfig, generate_factory

    settings = get_settings()
    first = date.fromisoformat(start) if start else default_demo_start()
    summary = generate_factory(
        FactoryConfig(finished_goods=skus, years=years, start=first, seed=seed),
        inbox_dir=out or settings.inbox,
        truth_dir=truth or settings.truth_dir,
        progress=True,
        overwrite=overwrite,
    )
    table = Table(title=f"Demo factory written to {out or settings.inbox}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in summary.as_rows():
        table.add_row(str(label), str(value))
    console.print(table)


def _inbox_has_files(inbox: Path) -> bool:
    return any((inbox / "email").glob("*.eml")) or any((inbox / "erp").glob("*.csv"))


def _ensure_dbt_manifest(url: str) -> None:
    """dagster-dbt reads target/manifest.json when the definitions load: parse the project first."""
    if run_dbt("parse", "--quiet", url=url) != 0:
        raise typer.Exit(1)


@app.command("demo")
def demo(
    skus: Annotated[int, typer.Option(help="Finished goods when the demo data must be generated.")] = 300,
    years: Annotated[int, typer.Option(help="Years of history when generating.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed when generating.")] = 42,
) -> None:
    """Start PostgreSQL, generate the demo factory if the inbox is empty, run every asset, print a summary."""
    started = time.perf_counter()
    settings = get_settings()
    url = warehouse_url(settings)
    console.print(f"warehouse: {redact(url)}")
    if not _inbox_has_files(settings.inbox):
        demo_data(skus=skus, years=years, start=None, seed=seed, out=None, truth=None, overwrite=False)
    else:
        console.print(f"inbox {settings.inbox} has files: not generating demo data")
    from ingestion.landing import scan_inbox

    files = list(scan_inbox(settings.inbox))
    days = sorted({f.business_date for f in files if f.business_date})
    if not days:
        err_console.print(f"no source files in {settings.inbox}")
        raise typer.Exit(1)
    _ensure_dbt_manifest(url)
    from fmrp.dagster_home import prepare_dagster_home

    prepare_dagster_home(settings)
    import dagster as dg

    from orchestration.pipeline import run_pipeline

    console.print(f"running the pipeline for {days[0]}..{days[-1]} ({len(files)} files on {len(days)} days)")
    with dg.DagsterInstance.get() as instance:
        report = run_pipeline(files, instance=instance)
        _run_weekly_plan(url, instance, report)
    _print_summary(url, report.seconds, time.perf_counter() - started)
    print_forecast_summary(url)
    _print_plan_summary(url)


def _run_weekly_plan(url: str, instance: object, report: object) -> None:
    """Forecast the latest complete week and plan from it (weekly_plan_job), as the Monday schedule would."""
    from orchestration.pipeline import latest_origin_week, run_weekly_plan

    origin = latest_origin_week(url)
    console.print(f"forecasting and planning the origin week {origin} (weekly_plan_job)")
    run_weekly_plan(origin, instance=instance, report=report)  # type: ignore[arg-type]


def _print_plan_summary(url: str) -> None:
    from mrp import store

    with connect(url) as conn:
        origin = store.latest_origin(conn)
        table = Table(title=f"The weekly plan of origin {origin} (schema planning)")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name in store.PLAN_TABLES:
            query = sql.SQL("select count(*) from {} where origin = %s").format(sql.Identifier(store.SCHEMA, name))
            count = conn.execute(query, [origin]).fetchone()
            table.add_row(f"planning.{name}", f"{count[0] if count else 0:,}")
    console.print(table)
    print(
        "  fmrp proposals list      purchase proposals (approve | reject | export --format csv|xlsx)\n"
        "  fmrp alerts list --open  exceptions of the plan (ack)\n"
        "  fmrp scenario create     what-if scenarios (run | compare | list)"
    )


def _print_summary(url: str, seconds: dict[str, float], total: float) -> None:
    with connect(url) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts', 'snapshots') and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        table = Table(title="Warehouse tables")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for schema, name in tables:
            count = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))).fetchone()
            table.add_row(f"{schema}.{name}", f"{count[0] if count else 0:,}")
    console.print(table)
    for step, took in seconds.items():
        console.print(f"{step}: {took:.1f} s")
    console.print(f"total: {total:.1f} s")
    print(
        "\nNext:\n"
        "  make dev                 Dagster UI on http://127.0.0.1:3000 (asset graph, runs, checks)\n"
        f"  psql '{redact(url)}'   the warehouse (schemas raw, staging, intermediate, marts, snapshots)\n"
        "  make docs                dbt docs on http://127.0.0.1:8080"
    )


@app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt against the warehouse, e.g. ``fmrp dbt build`` or ``fmrp dbt docs generate``."""
    raise typer.Exit(run_dbt(*ctx.args, url=warehouse_url()))


@app.command("dev")
def dev(
    port: Annotated[int, typer.Option(help="Dagster webserver port.")] = 3000,
) -> None:
    """Start the Dagster UI and daemon (dagster dev) on PostgreSQL storage; Ctrl-C stops it."""
    from fmrp.dagster_home import prepare_dagster_home

    settings = get_settings()
    home = prepare_dagster_home(settings)
    _ensure_dbt_manifest(warehouse_url(settings))
    console.print(f"DAGSTER_HOME={home}; Dagster UI on http://127.0.0.1:{port}")
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(project_root() / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    # dagster dev's code server runs `dbt parse` through the dbt on PATH (DbtProject.prepare_if_dev)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(command, cwd=project_root(), env=env, start_new_session=True)

    def stop(signum: int, _frame: object) -> None:
        # dagster dev runs in its own process group: pass the stop on to all of it (webserver, daemon, code server)
        os.killpg(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise typer.Exit(process.wait())


@app.command("settings")
def show_settings() -> None:
    """Print the effective configuration (secrets redacted)."""
    settings = get_settings()
    for name, value in settings.model_dump().items():
        shown = redact(value) if isinstance(value, str) and "://" in value else value
        console.print(f"{name} = {shown}")


def main() -> None:
    from fmrp.demo import DemoDataExistsError

    try:
        app()
    except (WarehouseError, DemoDataExistsError) as err:
        err_console.print(f"error: {err}")
        sys.exit(2)


if __name__ == "__main__":
    main()
