"""The whole graph, in process, on a small demo factory: landing every day, dbt build, mart invariants, twice."""

import uuid
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.demo import FactoryConfig, generate_factory
from fmrp.settings import get_settings
from fmrp.warehouse import ensure_database, with_database
from ingestion.landing import InboxFile, scan_inbox
from orchestration.pipeline import landing_runs, run_pipeline

pytestmark = pytest.mark.slow


def scalar(conn: psycopg.Connection, query: str) -> object:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = conn.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema in ('raw', 'marts', 'snapshots') and table_type = 'BASE TABLE'"
    ).fetchall()
    return {name: int(scalar(conn, f"select count(*) from {name}")) for (name,) in tables}  # type: ignore[call-overload]


@pytest.fixture
def pipeline_env(isolated_settings, monkeypatch, tmp_path: Path, second_server_url: str):
    """A small factory in the inbox; warehouse and Dagster storage on a *second* server, reached by URL only."""
    isolated_settings["UNUSED_DEFAULT_SERVER_URL"] = isolated_settings["WAREHOUSE_URL"]
    for variable, prefix in (("WAREHOUSE_URL", "wh"), ("DAGSTER_STORAGE_URL", "dg")):
        url = with_database(second_server_url, f"{prefix}_{uuid.uuid4().hex[:8]}")
        ensure_database(url)
        isolated_settings[variable] = url
        monkeypatch.setenv(variable, url)
    get_settings.cache_clear()
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    generate_factory(
        FactoryConfig(finished_goods=16, years=1, start=date(2024, 1, 1), seed=11),
        inbox_dir=Path(isolated_settings["FMRP_INBOX_DIR"]),
        truth_dir=Path(isolated_settings["FMRP_DEMO_TRUTH_DIR"]),
        progress=False,
    )
    prepare_dagster_home()
    return isolated_settings, list(scan_inbox(Path(isolated_settings["FMRP_INBOX_DIR"])))


def test_whole_graph_twice_gives_the_same_tables_with_sound_marts(pipeline_env):
    settings, files = pipeline_env
    with dg.DagsterInstance.get() as instance:
        report = run_pipeline(files, instance=instance)
        assert report.success
        with psycopg.connect(settings["WAREHOUSE_URL"]) as conn:
            before = table_counts(conn)
        again = run_pipeline(files, instance=instance)
        assert again.success
    with psycopg.connect(settings["WAREHOUSE_URL"]) as conn:
        assert table_counts(conn) == before
        for mart in (
            "items",
            "bom_edges",
            "demand_weekly",
            "demand_monthly",
            "item_suppliers",
            "factory_calendar",
            "work_center_capacity",
            "inventory_position",
            "scheduled_receipts",
            "customer_orders",
            "routings",
        ):
            assert before[f"marts.{mart}"] > 0, mart

        # the seeded defects: the misspelled header is rejected, the corrected resend supersedes
        assert scalar(conn, "select count(*) from raw.batches where status = 'rejected'") == 1
        assert scalar(conn, "select count(*) from raw.batches where status = 'superseded'") >= 1

        # weekly totals equal the daily totals of valid rows (active batches, known SKUs, no negatives)
        daily = scalar(
            conn,
            """
            with lines as (
                select distinct s._batch_id, s.sale_date, upper(trim(s.sku)) as sku, s.quantity, s.revenue,
                                s.description, s.unit_price
                from raw.sales s join raw.batches b on b.batch_id = s._batch_id
                where b.status = 'active' and s.quantity >= 0
            )
            select sum(quantity) from lines where sku in (select sku from marts.items)""",
        )
        weekly = scalar(conn, "select sum(volume) from marts.demand_weekly")
        assert weekly == pytest.approx(daily)
        assert scalar(conn, "select sum(volume) from marts.demand_monthly") == pytest.approx(daily)

        # every BOM edge references known items, and the BOM has no cycle
        assert (
            scalar(
                conn,
                """
            select count(*) from marts.bom_edges e
            where not exists (select 1 from marts.items i where i.sku = e.parent_sku)
               or not exists (select 1 from marts.items i where i.sku = e.component_sku)""",
            )
            == 0
        )
        edges = conn.execute("select parent_sku, component_sku from marts.bom_edges").fetchall()
        assert not find_cycle(edges)
        depth = scalar(
            conn,
            """
            with recursive walk as (
                select component_sku as sku, 1 as depth from marts.bom_edges
                where parent_sku in (select sku from marts.items where item_type = 'finished')
                union all
                select e.component_sku, w.depth + 1 from walk w join marts.bom_edges e on e.parent_sku = w.sku
            ) select max(depth) from walk""",
        )
        assert depth >= 4
        # the default server was never touched: everything followed the URLs
        with psycopg.connect(settings["UNUSED_DEFAULT_SERVER_URL"]) as untouched:
            assert scalar(untouched, "select count(*) from information_schema.schemata where schema_name = 'raw'") == 0
        # every sold SKU of the truth has weekly demand
        assert scalar(conn, "select count(distinct sku) from marts.demand_weekly") >= 16


def find_cycle(edges: list[tuple[str, str]]) -> list[str]:
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for child in children.get(node, []):
            if state.get(child) == 1:
                return [*path, child]
            if child not in state and (found := visit(child, [*path, child])):
                return found
        state[node] = 2
        return []

    for root in list(children):
        if root not in state and (cycle := visit(root, [root])):
            return cycle
    return []


def test_landing_runs_bridge_weekly_gaps_and_split_quarterly_exports():
    def inbox(entity: str, *days: date) -> list[InboxFile]:
        return [InboxFile(Path(f"{entity}{d}"), "erp", d, entity) for d in days]

    weekly = [date(2024, 1, 5) + timedelta(weeks=k) for k in range(10)]
    runs = landing_runs(
        inbox("inventory", *weekly)
        + inbox("items", date(2024, 1, 2), date(2024, 4, 1))
        + inbox("bom", date(2024, 1, 2))
    )
    assert runs == {
        (date(2024, 1, 2), date(2024, 1, 2)): [dg.AssetKey(["raw", "bom"]), dg.AssetKey(["raw", "items"])],
        (date(2024, 1, 5), weekly[-1]): [dg.AssetKey(["raw", "inventory"])],
        (date(2024, 4, 1), date(2024, 4, 1)): [dg.AssetKey(["raw", "items"])],
    }


def test_find_cycle_finds_one():
    assert find_cycle([("A", "B"), ("B", "C"), ("C", "A")]) == ["A", "B", "C", "A"]
    assert find_cycle([("A", "B"), ("A", "C"), ("B", "C")]) == []
