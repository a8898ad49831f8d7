"""IMAP benchmark: 365 daily cash-closing emails with .xlsx attachments, fetched from dovecot, parsed, validated,
landed and filed (target <= 60 s on 2 cores).

A throwaway dovecot on loopback (tests/peers/imap.py) receives one email per day of 2024 (APPEND, not timed),
written by the demo generator's own email builder: an ``Vendas`` workbook of 200 SKU rows (fixed seed). Then the
two halves of the email path are timed as they run in production, without Dagster's per-run overhead:

- what ``cash_closing_email_sensor`` does in a tick: poll after the cursor, fetch every new email, compute its
  business date and run key (``ingestion.imap.pending_emails``);
- what each ``raw/sales`` run does for its email: find it again, fetch it, parse and validate the workbook, land
  it in one transaction into a fresh warehouse database, move it to the processed folder (``land_message``).
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql

from fmrp.demo.mail import BRASILIA, build_email, render_xlsx
from fmrp.warehouse import ensure_database, warehouse_url, with_database
from ingestion.imap import ImapMailbox, land_message, pending_emails
from ingestion.landing import ensure_raw_schema
from tests.peers.imap import running_dovecot

DAYS = 365
ROWS_PER_EMAIL = 200
SEED = 20240101
HEADERS = ["Data", "Código", "Descrição", "Quantidade", "Preço Unitário", "Valor Total"]


def daily_emails(days: int = DAYS, rows: int = ROWS_PER_EMAIL, seed: int = SEED) -> list[bytes]:
    """One cash-closing email per day from 2024-01-01, each with an .xlsx of ``rows`` SKU lines."""
    rng = np.random.default_rng(seed)
    prices = rng.uniform(5, 500, rows).round(2)
    emails = []
    for offset in range(days):
        day = date(2024, 1, 1) + timedelta(days=offset)
        quantities = rng.poisson(20, rows)
        lines = [
            (day, f"PA-{k:05d}", f"Produto {k}", float(q), float(p), round(float(q * p), 2))
            for k, (q, p) in enumerate(zip(quantities, prices, strict=True))
        ]
        sent = datetime.combine(day + timedelta(days=1), datetime.min.time(), BRASILIA) + timedelta(hours=7)
        workbook = render_xlsx(lines, HEADERS, sent)
        total = sum(line[5] for line in lines)
        emails.append(build_email(day, 1, f"fechamento_{day}.xlsx", workbook, sent, rows, total).data)
    return emails


def run() -> list[tuple[str, str]]:
    emails = daily_emails()
    size = sum(len(e) for e in emails)
    server_url = warehouse_url()
    database = f"bench_imap_{uuid.uuid4().hex[:8]}"
    url = with_database(server_url, database)
    ensure_database(url)
    try:
        with running_dovecot() as server:
            started = time.perf_counter()
            server.append(*emails)
            appended = time.perf_counter() - started
            config = server.config()
            with psycopg.connect(url, autocommit=True) as conn, ImapMailbox(config) as mailbox:
                ensure_raw_schema(conn)
                mailbox.ensure_folders()
                started = time.perf_counter()
                _, pending = pending_emails(mailbox, None)
                polled = time.perf_counter() - started
                outcomes = [land_message(mailbox, conn, email.ref) for email in pending]
                total = time.perf_counter() - started
                counts = "select (select count(*) from raw.sales), (select count(*) from raw.batches where status = %s)"
                rows, active = conn.execute(counts, ("active",)).fetchone() or (0, 0)
            processed, waiting = len(server.message_ids("Processed")), len(server.message_ids("INBOX"))
    finally:
        with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
    if not (len(pending) == active == processed == DAYS and waiting == 0):
        found = f"{len(pending)=} {active=} {processed=} {waiting=}"
        raise RuntimeError(f"expected all {DAYS} emails landed and filed, got {found}")
    actions = ", ".join(sorted({o.action for o in outcomes}))
    appended_what = f"{DAYS} emails APPENDed to dovecot (.xlsx, {ROWS_PER_EMAIL} rows, {size / 1e6:.1f} MB), untimed"
    return [
        (appended_what, f"{appended:.1f} s"),
        ("sensor work: poll + fetch + business date + run key, all emails", f"{polled:.1f} s"),
        ("run work: locate + fetch + parse + validate + land + move, all emails", f"{total - polled:.1f} s"),
        ("total fetch -> landed and filed (target <= 60 s)", f"{total:.1f} s"),
        ("emails per second", f"{DAYS / total:.1f}"),
        (f"rows landed / active batches / in Processed ({actions})", f"{rows:,} / {active} / {processed}"),
    ]
