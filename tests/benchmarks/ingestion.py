"""Ingestion benchmark: 1,000,000 sales rows from CSV files landed (target <= 30 s on 2 cores).

365 daily cash-closing CSVs of 2,740 rows each (cp1252, ``;`` delimiter, decimal comma and ``DD/MM/YYYY`` dates,
like the demo's CSV attachments; fixed seed), with one bad value in every tenth file, are landed with
``ingestion.landing.land_file`` into a fresh database on the embedded server: read, map, validate (types, ranges,
future dates, duplicates), grade, COPY the good rows and quarantine the bad ones, one transaction per file. Writing
the files is not timed.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql

from fmrp.warehouse import ensure_database, warehouse_url, with_database
from ingestion.landing import ensure_raw_schema, land_file
from ingestion.schema import ENTITIES

DAYS = 365
ROWS_PER_FILE = 2_740
SEED = 20240101
HEADER = "Data;Código;Descrição;Quantidade;Preço Unitário;Valor Total\r\n"


def _decimal(values: np.ndarray) -> list[str]:
    return [f"{v:.2f}".replace(".", ",") for v in values]


def daily_files(days: int = DAYS, rows: int = ROWS_PER_FILE, seed: int = SEED) -> list[tuple[date, bytes]]:
    """One CSV per day from 2024-01-01 of ``rows`` SKU lines; every tenth file has one unreadable quantity."""
    rng = np.random.default_rng(seed)
    prices = rng.uniform(5, 500, rows).round(2)
    skus = [f"PA-{k:05d};Produto {k} com descrição acentuada" for k in range(rows)]
    price_text = _decimal(prices)
    files = []
    for offset in range(days):
        day = date(2024, 1, 1) + timedelta(days=offset)
        quantities = rng.poisson(20, rows).astype(float)
        stamp = f"{day:%d/%m/%Y}"
        lines = [
            f"{stamp};{sku};{q};{p};{r}"
            for sku, q, p, r in zip(skus, _decimal(quantities), price_text, _decimal(quantities * prices), strict=True)
        ]
        if offset % 10 == 0:
            lines[rows // 2] = lines[rows // 2].replace(f"{stamp};", f"{stamp[:2]}x{stamp[2:]};", 1)
        files.append((day, (HEADER + "\r\n".join(lines) + "\r\n").encode("cp1252")))
    return files


def run() -> list[tuple[str, str]]:
    files = daily_files()
    size = sum(len(content) for _, content in files)
    server_url = warehouse_url()
    database = f"bench_ingestion_{uuid.uuid4().hex[:8]}"
    url = with_database(server_url, database)
    ensure_database(url)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_raw_schema(conn)
            started = time.perf_counter()
            results = [
                land_file(
                    conn,
                    content,
                    file_name=f"fechamento_{day}.csv",
                    entity=ENTITIES["sales"],
                    source="bench",
                    source_ref=f"fechamento_{day}.csv",
                    received_at=datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC),
                    business_date=day,
                )
                for day, content in files
            ]
            seconds = time.perf_counter() - started
            counts = conn.execute(
                "select (select count(*) from raw.sales), (select count(*) from raw.rejected_rows),"
                " (select count(*) from raw.batches where status = 'active')"
            ).fetchone()
            rows, rejected, active = counts or (0, 0, 0)
    finally:
        with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
    expected_bad = len(range(0, DAYS, 10))
    if not (active == DAYS and rejected == expected_bad and rows == DAYS * ROWS_PER_FILE - expected_bad):
        raise RuntimeError(
            f"expected {DAYS} active batches and {expected_bad} quarantined rows: {rows=} {rejected=} {active=}"
        )
    grades = sorted({r.quality_grade or "-" for r in results})
    return [
        (
            f"{DAYS} CSV files (cp1252, ';', decimal comma), {size / 1e6:.0f} MB, written untimed",
            f"{rows + rejected:,} rows",
        ),
        ("read + map + validate + grade + COPY, one transaction per file (target <= 30 s)", f"{seconds:.1f} s"),
        ("rows per second", f"{(rows + rejected) / seconds:,.0f}"),
        (
            f"rows landed / quarantined / active batches (grades {', '.join(grades)})",
            f"{rows:,} / {rejected} / {active}",
        ),
    ]
