"""Faults of the landing: PostgreSQL restarted in the middle of a COPY (IN-8: never half-loaded, rerun lands once)."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest

from fmrp.warehouse import EmbeddedPostgres, ensure_database, with_database
from ingestion.landing import ensure_raw_schema, land_file
from ingestion.schema import ENTITIES
from tests.factories import HEADER

ROWS = 400_000  # enough for the COPY to take a good fraction of a second on 2 cores


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of its own (own data directory and port): this test stops and starts it."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("restartable") / "pg", port=54417)
    server.start()
    yield server
    server.stop()


def big_file() -> bytes:
    lines = [f"03/01/2024;PA-{i:06d};Produto {i};{i % 50},5;2,00;{2 * (i % 50) + 1},00" for i in range(ROWS)]
    return (HEADER + "\n".join(lines) + "\n").encode("cp1252")


def stop_during_copy(server: EmbeddedPostgres, url: str, stopped: threading.Event) -> None:
    """Watch pg_stat_progress_copy; once rows are flowing, stop the server (fast shutdown: sessions killed)."""
    with psycopg.connect(url, autocommit=True) as watcher:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = watcher.execute(
                "select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy where command = 'COPY FROM'"
            ).fetchone()
            if row and row[0] > 0:
                break
            time.sleep(0.005)
        else:
            return
    server.stop()
    stopped.set()


def test_postgres_restarted_during_a_landing_rolls_back_and_the_rerun_lands_once(restartable):
    url = with_database(restartable.start().url("postgres"), "landing_fault")
    ensure_database(url)
    content = big_file()
    land = dict(
        file_name="fechamento_2024-01-03.csv",
        entity=ENTITIES["sales"],
        source="email",
        source_ref="<big@x>",
        received_at=datetime(2024, 1, 4, 10, tzinfo=UTC),
        business_date=date(2024, 1, 3),
    )
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_raw_schema(conn)
    stopped = threading.Event()
    watcher = threading.Thread(target=stop_during_copy, args=(restartable, url, stopped))
    conn = psycopg.connect(url, autocommit=True)
    watcher.start()
    try:
        with pytest.raises(psycopg.OperationalError):
            land_file(conn, content, **land)
    finally:
        watcher.join(120)
        conn.close()
    assert stopped.is_set(), "the server was stopped while the rows were being copied"

    restartable.start()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(
            "select (select count(*) from raw.sales), (select count(*) from raw.batches)"
        ).fetchone() == (
            0,
            0,
        ), "the interrupted batch rolled back whole"
        first = land_file(conn, content, **land)
        again = land_file(conn, content, **land)
        assert (first.status, first.rows, again.status) == ("landed", ROWS, "duplicate")
        counts = conn.execute(
            "select (select count(*) from raw.sales), (select count(distinct _row_number) from raw.sales),"
            " (select count(*) from raw.batches)"
        ).fetchone()
        assert counts == (ROWS, ROWS, 1)
