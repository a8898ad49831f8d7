"""``fmrp plan|proposals|scenario|alerts``: the planner's and buyer's commands on the stored plans.

They call the same :mod:`mrp.runs` functions the dashboards call, against the warehouse of the settings. Every
command takes ``--origin`` (the plan's origin, a Monday or the first of a month); without it the newest stored
plan is used. Every command on a plan takes ``--freq W|M`` (default ``FMRP_FREQUENCY``): weekly and monthly plans
of one origin are stored side by side, each with its proposals, alerts and scenario comparisons.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated, Literal

import polars as pl
import psycopg
import typer
from rich.console import Console
from rich.table import Table

from fmrp.settings import get_settings
from fmrp.warehouse import connect, warehouse_url

plan_app = typer.Typer(help="Plan an origin (weekly or monthly buckets) outside Dagster: load, plan, store.")
proposals_app = typer.Typer(help="Purchase proposals of a stored plan: list, approve, reject, export.")
scenario_app = typer.Typer(help="What-if scenarios stored by name: create, run against a plan, compare, list.")
alerts_app = typer.Typer(help="Exceptions of a stored plan: list, acknowledge.")
console = Console()
err_console = Console(stderr=True)

OriginOption = Annotated[
    str | None,
    typer.Option("--origin", help="Origin of the plan (YYYY-MM-DD: a Monday or a 1st); default the newest plan."),
]
ByOption = Annotated[str, typer.Option("--by", help="Who decides (default: the login name).")]
FreqOption = Annotated[
    str | None, typer.Option("--freq", help="W (weekly buckets) or M (monthly); default FMRP_FREQUENCY.")
]


def _who() -> str:
    return getpass.getuser()


def _freq(freq: str | None) -> Literal["W", "M"]:
    if freq is None:
        return get_settings().freq
    if freq not in ("W", "M"):
        raise typer.BadParameter(f"--freq must be W or M, got {freq!r}")
    return "M" if freq == "M" else "W"


def _origin(conn: psycopg.Connection, origin: str | None, freq: Literal["W", "M"] = "W") -> dt.date:
    from mrp import store

    if origin:
        try:
            return dt.date.fromisoformat(origin)
        except ValueError as error:
            raise typer.BadParameter(f"--origin {origin!r} is not a date (YYYY-MM-DD)") from error
    store.ensure_schema(conn)
    latest = store.latest_origin(conn, freq)
    if latest is None:
        err_console.print(
            f"no {'monthly' if freq == 'M' else 'weekly'} plan stored yet: run"
            f" {'the monthly_plan_job' if freq == 'M' else '`fmrp demo`, the weekly_plan_job'} or `fmrp plan run` first"
        )
        raise typer.Exit(1)
    return latest


def _show(frame: pl.DataFrame, title: str, limit: int = 50) -> None:
    table = Table(title=f"{title} ({frame.height:,} rows{', first ' + str(limit) if frame.height > limit else ''})")
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if v is None else f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def _fail(error: Exception) -> typer.Exit:
    err_console.print(f"error: {error}")
    return typer.Exit(2)


@plan_app.command("run")
def plan_run(
    origin: Annotated[
        str | None,
        typer.Option(help="Origin (YYYY-MM-DD: a Monday, or the first of a month); default the newest forecast."),
    ] = None,
    freq: FreqOption = None,
) -> None:
    """Plan an origin from its selected forecast and store it: MPS to alerts, as the weekly/monthly_plan_job does.

    A past origin is planned with the positions and master data of its date (the day before its first bucket);
    sources no history covers are read as they are today, and listed.
    """
    from mrp.bom import BomError
    from mrp.engine import MrpInputError
    from mrp.runs import PlanInputError, load_plan_inputs, plan_origin, store_plan

    settings = get_settings()
    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        if origin:
            day = _origin(conn, origin, buckets)
        else:
            row = conn.execute(
                "select max(origin) from forecasting.forecasts where freq = %s and is_selected", [buckets]
            ).fetchone()
            if row is None or row[0] is None:
                err_console.print(f"no selected {buckets} forecast stored yet: forecast an origin first")
                raise typer.Exit(1)
            day = row[0]
        try:
            inputs = load_plan_inputs(conn, day, settings.horizon, freq=buckets)
            result = plan_origin(inputs, firm_horizon=settings.firm_horizon, service_levels=settings.service_levels())
        except (PlanInputError, MrpInputError, BomError) as error:
            raise _fail(error) from error
        written = store_plan(conn, result)
    table = Table(title=f"Plan of origin {day} ({buckets}, as of {inputs.as_of}), schema planning")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in written.items():
        table.add_row(f"planning.{name}", f"{rows:,}")
    console.print(table)
    if inputs.history_gaps:
        err_console.print(f"read as they are today (no history on {inputs.as_of}): {', '.join(inputs.history_gaps)}")


@proposals_app.command("list")
def proposals_list(
    origin: OriginOption = None,
    status: Annotated[str | None, typer.Option(help="proposed, approved or rejected.")] = None,
    supplier: Annotated[str | None, typer.Option(help="Only this supplier code.")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown.")] = 50,
    freq: FreqOption = None,
) -> None:
    """The plan's purchase proposals by supplier, urgent ones first, with their status."""
    from mrp.purchasing import supplier_summary
    from mrp.runs import read_proposals

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        proposals = read_proposals(conn, week, status=status, freq=buckets)
    if supplier:
        proposals = proposals.filter(pl.col("supplier_code") == supplier)
    if proposals.height:
        _show(supplier_summary(proposals), f"Suppliers, plan of {week}", limit)
    _show(
        proposals.select(
            "proposal_id",
            "supplier_code",
            "sku",
            "quantity",
            "value",
            "need_date",
            "release_date",
            "priority",
            "status",
            "decided_by",
        ),
        f"Purchase proposals, plan of {week}",
        limit,
    )


@proposals_app.command("approve")
def proposals_approve(
    proposal_ids: Annotated[list[int], typer.Argument(help="proposal_id values from `fmrp proposals list`.")],
    origin: OriginOption = None,
    by: ByOption = "",
    freq: FreqOption = None,
) -> None:
    """Approve proposals (who and when are recorded; the decision survives a rerun of the plan)."""
    from mrp.purchasing import ProposalDecisionError
    from mrp.runs import approve_proposals

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        try:
            decided = approve_proposals(conn, week, proposal_ids, by or _who(), freq=buckets)
        except ProposalDecisionError as error:
            raise _fail(error) from error
    console.print(f"approved {decided.height} proposal(s) of the plan of {week}")


@proposals_app.command("reject")
def proposals_reject(
    proposal_ids: Annotated[list[int], typer.Argument(help="proposal_id values from `fmrp proposals list`.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    origin: OriginOption = None,
    by: ByOption = "",
    freq: FreqOption = None,
) -> None:
    """Reject proposals with a reason."""
    from mrp.purchasing import ProposalDecisionError
    from mrp.runs import reject_proposals

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        try:
            decided = reject_proposals(conn, week, proposal_ids, by or _who(), reason, freq=buckets)
        except ProposalDecisionError as error:
            raise _fail(error) from error
    console.print(f"rejected {decided.height} proposal(s) of the plan of {week}")


@proposals_app.command("export")
def proposals_export(
    out: Annotated[Path, typer.Option(help="File to write; its suffix must match --format.")],
    file_format: Annotated[str, typer.Option("--format", help="csv (';' and decimal comma) or xlsx.")] = "csv",
    origin: OriginOption = None,
    all_proposals: Annotated[bool, typer.Option("--all", help="Export every proposal, not only approved.")] = False,
    freq: FreqOption = None,
) -> None:
    """Export approved proposals for the ERP (CSV or XLSX)."""
    from mrp.purchasing import PurchasingInputError
    from mrp.runs import export_origin_proposals

    if file_format not in ("csv", "xlsx"):
        raise typer.BadParameter(f"--format must be csv or xlsx, got {file_format!r}")
    target = out if out.suffix.lower() == f".{file_format}" else out.with_suffix(f".{file_format}")
    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        try:
            written = export_origin_proposals(conn, week, target, only_approved=not all_proposals, freq=buckets)
        except PurchasingInputError as error:
            raise _fail(error) from error
    console.print(f"{written} proposal(s) of the plan of {week} written to {target}")


def _pairs(values: list[str], option: str) -> dict[str, float]:
    pairs: dict[str, float] = {}
    for value in values:
        key, sep, number = value.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            pairs[key.strip()] = float(number.replace(",", "."))
        except ValueError as error:
            raise typer.BadParameter(f"{option} {value!r}: expected KEY=NUMBER, e.g. A=1.2") from error
    return pairs


@scenario_app.command("create")
def scenario_create(
    name: Annotated[str, typer.Argument(help="The scenario's name (replaces one of the same name).")],
    description: Annotated[str, typer.Option(help="What it asks, in words.")] = "",
    demand: Annotated[float, typer.Option(help="Multiplier of every item's demand.")] = 1.0,
    class_demand: Annotated[list[str], typer.Option(help="ABC class multiplier, e.g. A=1.2 (repeatable).")] = [],  # noqa: B006
    sku_demand: Annotated[list[str], typer.Option(help="Item multiplier, e.g. PA-00001=1.5 (repeatable).")] = [],  # noqa: B006
    lead_time_days: Annotated[float, typer.Option(help="Working days added to every lead time.")] = 0.0,
    sku_lead_time: Annotated[list[str], typer.Option(help="Days added for an item, e.g. MP-00001=5.")] = [],  # noqa: B006
    supplier_lead_time: Annotated[list[str], typer.Option(help="Days added for a supplier, e.g. F0001=10.")] = [],  # noqa: B006
    capacity: Annotated[list[str], typer.Option(help="Work center capacity multiplier, e.g. WC01=0.5.")] = [],  # noqa: B006
    by: ByOption = "",
) -> None:
    """Store a what-if scenario by name."""
    from mrp.runs import save_scenario
    from mrp.scenarios import Scenario, ScenarioError

    try:
        scenario = Scenario(
            name=name,
            description=description,
            demand_multiplier=demand,
            demand_multiplier_by_class=_pairs(class_demand, "--class-demand"),
            demand_multiplier_by_sku=_pairs(sku_demand, "--sku-demand"),
            lead_time_change_days=lead_time_days,
            lead_time_change_by_sku=_pairs(sku_lead_time, "--sku-lead-time"),
            lead_time_change_by_supplier=_pairs(supplier_lead_time, "--supplier-lead-time"),
            capacity_multiplier_by_work_center=_pairs(capacity, "--capacity"),
        )
    except ScenarioError as error:
        raise _fail(error) from error
    with connect(warehouse_url(), autocommit=True) as conn:
        save_scenario(conn, scenario, by or _who())
    console.print(f"scenario {name!r} stored; run it with `fmrp scenario run {name}`")


@scenario_app.command("list")
def scenario_list() -> None:
    """The stored scenarios."""
    from mrp.runs import list_scenarios

    with connect(warehouse_url(), autocommit=True) as conn:
        _show(list_scenarios(conn), "Scenarios")


@scenario_app.command("run")
def scenario_run(
    name: Annotated[str, typer.Argument(help="A stored scenario.")],
    origin: OriginOption = None,
    freq: FreqOption = None,
) -> None:
    """Re-plan an origin under the scenario, compare with the base plan and store the comparison."""
    from mrp.bom import BomError
    from mrp.engine import MrpInputError
    from mrp.runs import DecisionError, PlanInputError, run_stored_scenario

    settings = get_settings()
    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        try:
            _, totals = run_stored_scenario(
                conn,
                name,
                week,
                horizon=settings.horizon,
                firm_horizon=settings.firm_horizon,
                service_levels=settings.service_levels(),
                freq=buckets,
            )
        except (DecisionError, PlanInputError, MrpInputError, BomError) as error:
            raise _fail(error) from error
    _show(totals, f"Scenario {name!r} against the base plan of {week}")


@scenario_app.command("compare")
def scenario_compare(
    name: Annotated[str, typer.Argument(help="A stored scenario that was run.")],
    origin: OriginOption = None,
    limit: Annotated[int, typer.Option(help="Items shown (largest value change first).")] = 20,
    freq: FreqOption = None,
) -> None:
    """Show a stored comparison: totals, then the items that change most."""
    from mrp.runs import read_scenario_result

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        per_item, totals = read_scenario_result(conn, name, week, freq=buckets)
    if totals.is_empty():
        err_console.print(f"scenario {name!r} was not run for the plan of {week}: `fmrp scenario run {name}`")
        raise typer.Exit(1)
    _show(totals, f"Scenario {name!r} against the base plan of {week}")
    changed = per_item.filter(pl.col("delta_value") != 0).sort(pl.col("delta_value").abs(), descending=True)
    _show(
        changed.select("sku", "base_orders", "scenario_orders", "delta_quantity", "delta_value", "delta_past_due"),
        "Items that change",
        limit,
    )


@alerts_app.command("list")
def alerts_list(
    origin: OriginOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only alerts not acknowledged.")] = False,
    severity: Annotated[str | None, typer.Option(help="critical, warning or info.")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown.")] = 50,
    freq: FreqOption = None,
) -> None:
    """The plan's alerts, the most severe first."""
    from mrp.runs import read_alerts

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        alerts = read_alerts(conn, week, open_only=open_only, freq=buckets)
    if severity:
        alerts = alerts.filter(pl.col("severity") == severity)
    _show(alerts.select("alert_key", "severity", "message", "acknowledged_by"), f"Alerts, plan of {week}", limit)


@alerts_app.command("ack")
def alerts_ack(
    alert_keys: Annotated[list[str], typer.Argument(help="alert_key values from `fmrp alerts list`.")],
    origin: OriginOption = None,
    by: ByOption = "",
    freq: FreqOption = None,
) -> None:
    """Acknowledge alerts; the acknowledgement holds for the same alert in later plans."""
    from mrp.alerts import AlertInputError
    from mrp.runs import acknowledge_alerts

    buckets = _freq(freq)
    with connect(warehouse_url(), autocommit=True) as conn:
        week = _origin(conn, origin, buckets)
        try:
            count = acknowledge_alerts(conn, week, alert_keys, by or _who(), freq=buckets)
        except AlertInputError as error:
            raise _fail(error) from error
    console.print(f"acknowledged {count} alert(s)")
