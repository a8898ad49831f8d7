"""The ERP database connector against a second PostgreSQL database behind a read-only role (tests/peers/erp_db.py)."""

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from ingestion.erp_db import (
    ErpDbConfigError,
    ErpQuery,
    ErpQueryError,
    NotASelectError,
    check_select,
    ensure_watermarks,
    load_queries,
    pull_query,
    read_watermark,
)
from ingestion.fetched import ensure_ledger
from ingestion.landing import ensure_raw_schema, land_erp_file
from ingestion.schema import ENTITIES
from tests.peers.erp_db import ErpDatabasePeer, erp_database  # noqa: F401  (the fixture)

INVENTORY_SQL = """
-- watermark: data
-- business date: data
select data, codigo as "Código", deposito as "Depósito", saldo, custo as "Custo Médio"
from estoque_diario
where data > %(watermark)s  -- only the days not pulled yet
order by data, codigo;
"""
ITEMS_SQL = """
-- watermark: alterado_em
-- initial watermark: 2000-01-01
select codigo, descricao, tipo, unidade, politica, alterado_em
from produtos
where (select max(alterado_em) from produtos) > %(watermark)s  -- the whole table whenever anything changed
"""


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        ensure_ledger(connection)
        ensure_watermarks(connection)
        yield connection


@pytest.fixture
def queries(tmp_path):
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "estoque.sql").write_text(INVENTORY_SQL, encoding="utf-8")
    (folder / "items.sql").write_text(ITEMS_SQL, encoding="utf-8")
    return {q.entity.name: q for q in load_queries(folder)}


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t where changed > %(watermark)s",
        "SELECT a FROM t WHERE b > %(watermark)s;  -- trailing semicolon and comment\n",
        "with recent as (select * from t where c > %(watermark)s) select * from recent",
        "select 'delete; drop table t' as note, \"update\" from t where c > %(watermark)s",
        "select $$insert into x$$ as s, e'it\\'s; into' from t /* update */ where c > %(watermark)s",
        "select updated_at, deleted, inserted_by from t where updated_at > %(watermark)s",
        "select substring(x for 3) from t where c > %(watermark)s",
    ],
)
def test_plain_selects_pass(sql):
    assert check_select(sql).lower().startswith(("select", "with"))


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("select 1 where %(watermark)s is null; delete from t", "more than one statement"),
        ("select 1 where %(watermark)s is null;; ", "more than one statement"),
        ("delete from t where c > %(watermark)s", "must start with SELECT or WITH, starts with 'delete'"),
        ("drop table t", "starts with 'drop'"),
        ("insert into t select 1 where %(watermark)s is null", "starts with 'insert'"),
        ("select * into copy_of_t from t where c > %(watermark)s", "'INTO' is not allowed"),
        ("select * from t where c > %(watermark)s for update", "'FOR UPDATE' locks rows"),
        ("select * from t where c > %(watermark)s for share", "'FOR SHARE' locks rows"),
        ("select * from t where c > %(watermark)s for no key update", "'FOR NO KEY UPDATE' locks rows"),
        ("with gone as (delete from t returning *) select * from gone where %(watermark)s is null", "'DELETE'"),
        ("with x as (update t set a = 1 returning *) select * from x where %(watermark)s is null", "'UPDATE'"),
        ("select * from t", "must use %(watermark)s"),
        ("select 'unterminated from t where c > %(watermark)s", "unterminated"),
    ],
)
def test_anything_but_one_select_is_refused(sql, reason):
    with pytest.raises(NotASelectError) as caught:
        check_select(sql, "inventory.sql")
    assert reason in str(caught.value) and str(caught.value).startswith("inventory.sql: ")


def test_incremental_pull_by_day_lands_each_day_once(erp_database, conn, queries, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    first = pull_query(erp_database.reader_url, conn, inbox, queries["inventory"], date(2024, 1, 3))
    assert first.rows == 4 and first.watermark_after == date(2024, 1, 3)
    assert [f.local_path.name for f in first.fetched] == ["estoque_20240102.csv", "estoque_20240103.csv"]
    assert [f.business_date for f in first.fetched] == [date(2024, 1, 2), date(2024, 1, 3)]
    assert read_watermark(conn, queries["inventory"]) == date(2024, 1, 3)
    results = [land_erp_file(conn, f.local_path) for f in first.fetched]
    assert [(r.status, r.rows) for r in results] == [("landed", 2), ("landed", 2)]

    again = pull_query(erp_database.reader_url, conn, inbox, queries["inventory"], date(2024, 1, 3))
    assert (again.rows, again.fetched) == (0, [])

    erp_database.execute("insert into estoque_diario values ('2024-01-04', 'MP-1', 'D01', 8, 2.10)")
    third = pull_query(erp_database.reader_url, conn, inbox, queries["inventory"], date(2024, 1, 4))
    [fetched] = third.fetched
    assert fetched.local_path.name == "estoque_20240104.csv"
    assert fetched.remote_ref == "erp_db://erp/estoque?watermark=2024-01-03"
    assert land_erp_file(conn, fetched.local_path).rows == 1
    landed = conn.execute("select snapshot_date, sku, on_hand, unit_cost from raw.inventory order by 1, 2").fetchall()
    assert landed[-1] == (date(2024, 1, 4), "MP-1", Decimal("8"), Decimal("2.10"))
    assert conn.execute("select count(*) from raw.fetched_files where source = 'erp_db'").fetchone()[0] == 3


def test_master_data_is_pulled_whole_when_anything_changed(erp_database, conn, queries, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    items = queries["items"]
    first = pull_query(erp_database.reader_url, conn, inbox, items, date(2024, 1, 3))
    [fetched] = first.fetched
    assert fetched.local_path.name == "itens_20240103.csv" and first.rows == 2
    assert land_erp_file(conn, fetched.local_path).rows == 2
    assert pull_query(erp_database.reader_url, conn, inbox, items, date(2024, 1, 4)).fetched == []

    erp_database.execute(
        "update produtos set descricao = 'Tinta azul', alterado_em = '2024-01-04 10:00+00' where codigo = 'MP-2'"
    )
    [changed] = pull_query(erp_database.reader_url, conn, inbox, items, date(2024, 1, 4)).fetched
    assert changed.local_path.name == "itens_20240104.csv"
    assert "Tinta azul" in changed.local_path.read_text(encoding="utf-8")
    assert land_erp_file(conn, changed.local_path).rows == 2  # a full export, not just the changed row


@pytest.mark.parametrize("who", ["reader", "owner"])
def test_even_a_writing_function_cannot_write_through_the_connector(erp_database, conn, tmp_path, who):  # noqa: F811
    sneaky = ErpQuery(
        name="inventory",
        entity=ENTITIES["inventory"],
        sql="select registrar_acesso() as n, current_date as data where %(watermark)s::date is not null",
        watermark_column="data",
    )
    url = erp_database.reader_url if who == "reader" else erp_database.admin_url
    with pytest.raises(ErpQueryError, match="read-only transaction"):
        pull_query(url, conn, tmp_path / "inbox", sneaky, date(2024, 1, 3))
    assert erp_database.scalar("select count(*) from auditoria") == 0
    with psycopg.connect(erp_database.reader_url) as reader, pytest.raises(psycopg.errors.InsufficientPrivilege):
        reader.execute("delete from estoque_diario")  # and the role itself has SELECT grants only


def test_query_problems_name_the_query(erp_database, conn, tmp_path):  # noqa: F811
    no_watermark = ErpQuery(
        "inventory", ENTITIES["inventory"], "select 1 as x where %(watermark)s::text is not null", "data"
    )
    with pytest.raises(ErpQueryError, match=r"ERP query inventory: the result has no column 'data' .*\['x'\]"):
        pull_query(erp_database.reader_url, conn, tmp_path, no_watermark, date(2024, 1, 3))
    missing = ErpQuery("inventory", ENTITIES["inventory"], "select * from nada where x > %(watermark)s", "x")
    with pytest.raises(ErpQueryError, match=r"ERP query inventory: UndefinedTable: relation \"nada\" does not exist"):
        pull_query(erp_database.reader_url, conn, tmp_path, missing, date(2024, 1, 3))
    assert read_watermark(conn, missing) == "1900-01-01"  # nothing stored after a failure


def test_query_files_need_a_watermark_and_an_erp_entity(tmp_path):
    (tmp_path / "estoque.sql").write_text("select * from t where c > %(watermark)s")
    with pytest.raises(ErpDbConfigError, match="-- watermark: <column>"):
        load_queries(tmp_path)
    (tmp_path / "estoque.sql").unlink()
    (tmp_path / "sales.sql").write_text("-- watermark: c\nselect * from t where c > %(watermark)s")
    with pytest.raises(ErpDbConfigError, match="must be an ERP entity or export"):
        load_queries(tmp_path)
    with pytest.raises(ErpDbConfigError, match="does not exist"):
        load_queries(tmp_path / "absent")
