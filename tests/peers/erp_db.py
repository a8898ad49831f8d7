"""An ERP database for tests: a second database on the test PostgreSQL, read through a role with SELECT grants only.

Tables imitate an ERP: ``estoque_diario`` (a daily position history) and ``produtos`` (master data with a change
time), plus ``auditoria`` and a SECURITY DEFINER function ``registrar_acesso()`` that writes to it - the kind of
trick a SELECT could hide, which only the read-only transaction stops (the function runs with its owner's rights).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

SCHEMA = """
create table estoque_diario (
    data date not null, codigo text not null, deposito text not null, saldo numeric not null, custo numeric
);
create table produtos (
    codigo text primary key, descricao text not null, tipo text not null, unidade text not null,
    politica text not null, alterado_em timestamptz not null
);
create table auditoria (quando timestamptz default now(), quem text);
create function registrar_acesso() returns integer language sql security definer as
    $$ insert into auditoria (quem) values (current_user) returning 1 $$;
insert into estoque_diario values
    ('2024-01-02', 'MP-1', 'D01', 10.5, 2.00), ('2024-01-02', 'MP-2', 'D01', 7, 1.25),
    ('2024-01-03', 'MP-1', 'D01', 9.5, 2.00), ('2024-01-03', 'MP-2', 'D01', 6, 1.25);
insert into produtos values
    ('MP-1', 'Aço 1020', 'Matéria-prima', 'KG', 'Comprar', '2024-01-01 08:00+00'),
    ('MP-2', 'Tinta', 'Matéria-prima', 'L', 'Comprar', '2024-01-01 09:00+00');
"""


@dataclass(frozen=True)
class ErpDatabasePeer:
    """The ERP database: ``admin_url`` (owner, to change data in tests) and ``reader_url`` (SELECT only)."""

    admin_url: str
    reader_url: str
    role: str

    def execute(self, statement: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def scalar(self, query: str) -> object:
        with psycopg.connect(self.admin_url) as conn:
            row = conn.execute(query).fetchone()
            return row[0] if row else None


def _as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))


@pytest.fixture
def erp_database(make_database) -> Iterator[ErpDatabasePeer]:
    """A fresh ERP database and a read-only role on it (role dropped afterwards; the database by make_database)."""
    admin_url = make_database("erp")
    role = f"erp_reader_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    database = urlsplit(admin_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(role), sql.Literal(password)))
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(role))
        )
        conn.execute(sql.SQL("grant usage on schema public to {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant select on all tables in schema public to {}").format(sql.Identifier(role)))
    yield ErpDatabasePeer(admin_url, _as_role(admin_url, role, password), role)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", (role,))
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
