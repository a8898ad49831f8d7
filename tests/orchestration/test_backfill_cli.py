"""A date-range backfill of the landing assets through Dagster's own CLI (IN-9, OR-2), run twice: each day's files
land once and the rerun changes nothing (tests/ingestion/test_landing.py has a corrected resend superseding its day)."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from fmrp.dagster_home import STORAGE_URL_ENV, prepare_dagster_home
from fmrp.settings import get_settings, project_root
from tests.factories import cash_closing

pytestmark = pytest.mark.slow  # two loads of the code location by the CLI: about 40 s

DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
RANGE = f"{DAYS[0]}...{DAYS[-1]}"


def inventory(day: date, on_hand: int) -> bytes:
    return f"Data;Código;Depósito;Saldo\n{day:%d/%m/%Y};MP-1;D01;{on_hand}\n{day:%d/%m/%Y};MP-2;D01;7\n".encode()


@pytest.fixture
def inbox(isolated_settings, monkeypatch) -> Path:
    """Three days of cash-closing emails and ERP stock files in the inbox; DAGSTER_HOME on the test PostgreSQL."""
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv(STORAGE_URL_ENV, "")
    get_settings.cache_clear()
    prepare_dagster_home()  # exports DAGSTER_HOME and the storage URL: the CLI below inherits them
    root = Path(isolated_settings["FMRP_INBOX_DIR"])
    (root / "email").mkdir(parents=True)
    (root / "erp").mkdir(parents=True)
    for day in DAYS:
        rows = f"{day:%d/%m/%Y};PA-1;Panela;2;5;10\n{day:%d/%m/%Y};PA-2;Tampa;1;3;3\n"
        sent = f"{day + timedelta(days=1):%d %b %Y} 07:00:00 -0300"
        message = cash_closing(day, rows, message_id=f"<fechamento-{day:%Y%m%d}@financeiro>", sent=sent)
        (root / "email" / f"fechamento_{day:%Y%m%d}.eml").write_bytes(message)
        (root / "erp" / f"estoque_{day:%Y%m%d}.csv").write_bytes(inventory(day, 10))
    return root


def backfill() -> subprocess.CompletedProcess:
    """The README's backfill command: the ingestion group over the range, in one run (BackfillPolicy.single_run)."""
    dagster = str(Path(sys.executable).parent / "dagster")
    command = [dagster, "asset", "materialize", "-m", "orchestration.definitions"]
    command += ["--select", "group:ingestion", "--partition-range", RANGE]
    command += ["--config-json", '{"execution": {"config": {"in_process": {}}}}']
    return subprocess.run(
        command, cwd=project_root(), env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def ledger(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select entity, business_date, file_name, status from raw.batches order by entity, business_date, batch_id"
        ).fetchall()


def rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select count(*) from raw.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("sales", "inventory")
        }


def test_a_cli_backfill_lands_each_day_once_and_a_rerun_changes_nothing(inbox, isolated_settings):
    url = isolated_settings["WAREHOUSE_URL"]
    first = backfill()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    landed = ledger(url)
    assert landed == [
        *[("inventory", day, f"estoque_{day:%Y%m%d}.csv", "active") for day in DAYS],
        *[("sales", day, f"fechamento_{day}.csv", "active") for day in DAYS],
    ]
    assert rows(url) == {"sales": 6, "inventory": 6}

    again = backfill()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert ledger(url) == landed and rows(url) == {"sales": 6, "inventory": 6}, "the rerun is a no-op"

    with dg.DagsterInstance.get() as instance:  # the runs went to this installation's instance
        runs = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
    assert len(runs) == 2
    assert {
        (
            r.dagster_run.tags.get("dagster/asset_partition_range_start"),
            r.dagster_run.tags.get("dagster/asset_partition_range_end"),
        )
        for r in runs
    } == {(str(DAYS[0]), str(DAYS[-1]))}
