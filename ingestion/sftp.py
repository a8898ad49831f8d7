"""ERP exports over SFTP (paramiko): list, wait until a file stops growing, fetch once, optionally move it away.

The server is trusted only through a ``known_hosts`` file (paramiko's ``RejectPolicy``): an unknown host or a host
key that changed is an error, never a silent accept. Which remote files are exports, and for which business date,
is said by filename patterns such as ``estoque_{date:%Y%m%d}.csv`` or ``{export}_{date:%Y%m%d}.csv``.

A file is taken only when its size and modification time are the same in ``stable_checks`` looks taken
``stable_seconds`` apart (an ERP still writing the file changes at least one of them), and again right after the
download. Clocks of the ERP server and ours need not agree: only the remote values are compared with each other.
"""

from __future__ import annotations

import re
import stat
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType

import paramiko
import psycopg

from ingestion.fetched import (
    FetchedFile,
    already_fetched,
    fetched_file,
    fetched_signatures,
    record_fetch,
    sha256_hex,
    write_erp_export,
)
from ingestion.schema import ENTITIES, ENTITY_BY_EXPORT, Entity

SOURCE = "sftp"
DEFAULT_PATTERN = "{export}_{date:%Y%m%d}.csv"
TABLE_SUFFIXES = (".csv", ".xlsx", ".txt", ".pdf")
_DATE_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%y": r"\d{2}"}


class SftpError(Exception):
    """Anything that stops an SFTP fetch; the message says which server and what to check."""


class SftpConfigError(SftpError, ValueError):
    """The SFTP settings are incomplete or a filename pattern cannot be used."""


class SftpConnectionError(SftpError):
    """The server cannot be reached or the SSH session broke."""


class SftpAuthenticationError(SftpError):
    """The server refused the user's password or key."""


class HostKeyError(SftpError):
    """The server's host key is not the one ``known_hosts`` trusts."""


class UnknownHostKeyError(HostKeyError):
    """``known_hosts`` has no entry for the server."""


class HostKeyMismatchError(HostKeyError):
    """The server presented a different host key than ``known_hosts`` lists: possibly a man in the middle."""


class FileStillChangingError(SftpError):
    """The file changed while it was being downloaded."""


@dataclass(frozen=True)
class FilePattern:
    """A remote filename pattern: literal text, ``*``, ``{date:<strftime>}`` and either ``{export}`` or a fixed
    export (``estoque=ESTQ_{date:%d%m%Y}.CSV``). Matching ignores case."""

    template: str
    export: str | None
    regex: re.Pattern[str]
    date_format: str

    def match(self, name: str) -> tuple[Entity, date] | None:
        """The entity and business date of a remote file name, or None if the name is not this pattern's."""
        found = self.regex.fullmatch(name)
        if not found or PurePosixPath(name).suffix.lower() not in TABLE_SUFFIXES:
            return None
        export = self.export or found["export"].lower()
        try:
            day = datetime.strptime(found["date"], self.date_format).date()
        except ValueError:
            return None  # digits that are no date (20241399)
        return ENTITY_BY_EXPORT[export], day


def parse_pattern(text: str) -> FilePattern:
    """Parse ``[<export or entity>=]<template>``; see ``FilePattern``.

    Raises:
        SftpConfigError: no ``{date}``, neither ``{export}`` nor a fixed export, an unknown export or placeholder.
    """
    export, _, template = text.strip().partition("=") if "=" in text else ("", "", text.strip())
    export = export.strip().lower()
    if export:
        if export in ENTITIES and ENTITIES[export].export:
            export = str(ENTITIES[export].export)
        if export not in ENTITY_BY_EXPORT:
            raise SftpConfigError(f"pattern {text!r}: unknown export {export!r}; known: {sorted(ENTITY_BY_EXPORT)}")
    parts: list[str] = []
    date_format = ""
    has_export = False
    for literal, name, spec, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal).replace(r"\*", ".*?"))
        if name is None:
            continue
        if name == "date":
            date_format = spec or "%Y%m%d"
            parts.append(f"(?P<date>{_date_regex(date_format, text)})")
        elif name == "export" and not export:
            has_export = True
            exports = "|".join(sorted(ENTITY_BY_EXPORT, key=len, reverse=True))
            parts.append(f"(?P<export>{exports})")
        else:
            raise SftpConfigError(f"pattern {text!r}: unknown placeholder {{{name}}} (use {{date}} and {{export}})")
    if not date_format:
        raise SftpConfigError(f"pattern {text!r} has no {{date}}: the business date must be in the file name")
    if not export and not has_export:
        raise SftpConfigError(f"pattern {text!r}: say the export, as {{export}} or 'estoque={template}'")
    return FilePattern(template, export or None, re.compile("".join(parts), re.IGNORECASE), date_format)


def _date_regex(date_format: str, text: str) -> str:
    pieces = re.split(r"(%.)", date_format)
    out = []
    for piece in pieces:
        if piece.startswith("%"):
            if piece not in _DATE_DIRECTIVES:
                raise SftpConfigError(f"pattern {text!r}: date directive {piece} not supported (use %Y %m %d %y)")
            out.append(_DATE_DIRECTIVES[piece])
        else:
            out.append(re.escape(piece))
    return "".join(out)


@dataclass(frozen=True)
class SftpConfig:
    """Where and how to fetch ERP exports over SFTP.

    Attributes:
        host, port, username: the server and login.
        password: password login; or ``key_file`` (+ ``key_passphrase``) for key login.
        known_hosts: the OpenSSH ``known_hosts`` file that must list the server's host key
            (``ssh-keyscan -p PORT HOST >> known_hosts``, after checking the fingerprint with the ERP's admin).
        remote_dir: the folder the ERP drops its exports into.
        patterns: filename patterns (see ``FilePattern``).
        done_dir: if set, fetched files are moved there (a folder on the server); else they stay.
        stable_seconds, stable_checks: a file is taken when its size and mtime agree in ``stable_checks`` looks
            taken ``stable_seconds`` apart.
        timeout: seconds for connecting and for each SFTP operation.
        max_files: at most this many files per fetch (a first fetch of years of exports goes in several rounds).
    """

    host: str
    username: str
    port: int = 22
    password: str | None = None
    key_file: Path | None = None
    key_passphrase: str | None = None
    known_hosts: Path = field(default_factory=lambda: Path("~/.ssh/known_hosts").expanduser())
    remote_dir: str = "."
    patterns: tuple[str, ...] = (DEFAULT_PATTERN,)
    done_dir: str | None = None
    stable_seconds: float = 5.0
    stable_checks: int = 2
    timeout: float = 30.0
    max_files: int = 200

    def __post_init__(self) -> None:
        if not self.host or not self.username:
            raise SftpConfigError("SFTP needs a host and a user (FMRP_SFTP_HOST, FMRP_SFTP_USER)")
        if self.password is None and self.key_file is None:
            raise SftpConfigError(f"SFTP {self.address}: set a password or a key file (FMRP_SFTP_KEY_FILE)")
        if self.stable_checks < 2 or self.stable_seconds < 0:
            raise SftpConfigError("stable_checks must be at least 2 and stable_seconds not negative")
        for text in self.patterns:
            parse_pattern(text)

    @property
    def address(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    def compiled_patterns(self) -> list[FilePattern]:
        return [parse_pattern(text) for text in self.patterns]


@dataclass(frozen=True)
class RemoteFile:
    """An export on the server: path, size and mtime as the server reports them, and what it is."""

    path: str
    size: int
    mtime: datetime
    entity: Entity
    business_date: date
    address: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def remote_ref(self) -> str:
        return f"sftp://{self.address}{self.path}"

    @property
    def signature(self) -> tuple[int, datetime]:
        return self.size, self.mtime


class SftpSource:
    """A connection to one SFTP server; use as a context manager.

    Args:
        config: the server and what to take.
        sleep: how to wait between the looks of the stability check (tests pass a fake that grows a file).
    """

    def __init__(self, config: SftpConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._patterns = config.compiled_patterns()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._remote_dir = config.remote_dir

    def __enter__(self) -> SftpSource:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        """Open the SSH session and the SFTP channel, checking the host key against ``known_hosts``."""
        config = self.config
        if not config.known_hosts.is_file():
            raise UnknownHostKeyError(
                f"SFTP {config.address}: known_hosts file {config.known_hosts} does not exist; add the server's key "
                f"(ssh-keyscan -p {config.port} {config.host}) after checking its fingerprint"
            )
        client = paramiko.SSHClient()
        client.load_host_keys(str(config.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                key_filename=str(config.key_file) if config.key_file else None,
                passphrase=config.key_passphrase,
                timeout=config.timeout,
                banner_timeout=config.timeout,
                auth_timeout=config.timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as err:
            client.close()
            raise HostKeyMismatchError(
                f"SFTP {config.address}: the server's {err.key.get_name()} host key "
                f"(SHA256 fingerprint {err.key.fingerprint}) is not the one {config.known_hosts} lists "
                f"({err.expected_key.fingerprint}). Someone may be intercepting the connection, or the server was "
                "reinstalled: confirm the new key with the ERP's administrator before updating known_hosts."
            ) from err
        except paramiko.AuthenticationException as err:
            client.close()
            how = f"key {config.key_file}" if config.key_file else "password"
            raise SftpAuthenticationError(f"SFTP {config.address}: login refused with the {how}: {err}") from err
        except paramiko.SSHException as err:
            client.close()
            if "not found in known_hosts" in str(err):
                raise UnknownHostKeyError(
                    f"SFTP {config.address}: the server is not in {config.known_hosts}; add its key "
                    f"(ssh-keyscan -p {config.port} {config.host}) after checking its fingerprint"
                ) from err
            raise SftpConnectionError(f"SFTP {config.address}: SSH failed: {err}") from err
        except OSError as err:  # includes timeouts
            client.close()
            raise SftpConnectionError(f"SFTP {config.address}: cannot connect: {err}") from err
        self._client = client
        self._sftp = client.open_sftp()
        self._sftp.get_channel().settimeout(config.timeout)  # type: ignore[union-attr]
        try:
            self._remote_dir = self._sftp.normalize(config.remote_dir)
        except OSError as err:
            self.close()
            raise SftpConnectionError(f"SFTP {config.address}: remote folder {config.remote_dir!r}: {err}") from err

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise SftpConnectionError(f"SFTP {self.config.address}: not connected (use `with SftpSource(...)`)")
        return self._sftp

    def _identify(self, name: str) -> tuple[Entity, date] | None:
        for pattern in self._patterns:
            found = pattern.match(name)
            if found:
                return found
        return None

    def list_candidates(self) -> list[RemoteFile]:
        """Every regular file in the remote folder whose name matches a pattern, sorted by business date and name."""
        try:
            entries = self.sftp.listdir_attr(self._remote_dir)
        except OSError as err:
            raise SftpConnectionError(f"SFTP {self.config.address}: cannot list {self._remote_dir}: {err}") from err
        found = []
        for entry in entries:
            if entry.st_mode is None or not stat.S_ISREG(entry.st_mode):
                continue
            identified = self._identify(entry.filename)
            if identified is None:
                continue
            found.append(self._remote_file(f"{self._remote_dir.rstrip('/')}/{entry.filename}", entry, identified))
        return sorted(found, key=lambda f: (f.business_date, f.name))

    def _remote_file(self, path: str, attrs: paramiko.SFTPAttributes, identified: tuple[Entity, date]) -> RemoteFile:
        return RemoteFile(
            path=path,
            size=int(attrs.st_size or 0),
            mtime=datetime.fromtimestamp(attrs.st_mtime or 0, tz=UTC),
            entity=identified[0],
            business_date=identified[1],
            address=self.config.address,
        )

    def _look(self, files: Iterable[RemoteFile]) -> dict[str, tuple[int, datetime]]:
        signatures = {}
        for remote in files:
            try:
                attrs = self.sftp.stat(remote.path)
            except FileNotFoundError:
                continue  # renamed or removed by the ERP between looks: not ready
            signatures[remote.path] = (int(attrs.st_size or 0), datetime.fromtimestamp(attrs.st_mtime or 0, tz=UTC))
        return signatures

    def list_ready(self, skip: Callable[[RemoteFile], bool] | None = None) -> list[RemoteFile]:
        """The candidates (minus those ``skip`` says are done) whose size and mtime held still over every look.

        Empty files are never ready: ERPs create the file first and write it afterwards.
        """
        pending = [f for f in self.list_candidates() if not (skip and skip(f))]
        for _ in range(self.config.stable_checks - 1):
            if not pending:
                break
            self._sleep(self.config.stable_seconds)
            now = self._look(pending)
            pending = [f for f in pending if now.get(f.path) == f.signature]
        return [f for f in pending if f.size > 0]

    def fetch(self, remote: RemoteFile) -> bytes:
        """Download a file; raises ``FileStillChangingError`` if it changed while being read."""
        try:
            with self.sftp.open(remote.path, "rb") as handle:
                handle.prefetch(remote.size)
                content = handle.read()
            after = self.sftp.stat(remote.path)
        except OSError as err:
            raise SftpConnectionError(f"SFTP {self.config.address}: cannot read {remote.path}: {err}") from err
        now = (int(after.st_size or 0), datetime.fromtimestamp(after.st_mtime or 0, tz=UTC))
        if len(content) != remote.size or now != remote.signature:
            raise FileStillChangingError(
                f"SFTP {self.config.address}: {remote.path} changed while being downloaded "
                f"({remote.size} -> {len(content)} bytes read, now {now[0]} bytes); it will be taken once stable"
            )
        return content

    def move_done(self, remote: RemoteFile) -> str:
        """Move a fetched file into ``done_dir`` (created if missing); returns its new path."""
        done_dir = self.config.done_dir
        if not done_dir:
            raise SftpConfigError("move_done needs done_dir (FMRP_SFTP_DONE_DIR)")
        target_dir = done_dir if done_dir.startswith("/") else f"{self._remote_dir.rstrip('/')}/{done_dir}"
        try:
            self.sftp.stat(target_dir)
        except FileNotFoundError:
            self.sftp.mkdir(target_dir)
        target = f"{target_dir.rstrip('/')}/{remote.name}"
        try:
            self.sftp.posix_rename(remote.path, target)  # replaces an older file of the same name
        except OSError as err:
            message = f"SFTP {self.config.address}: cannot move {remote.path} to {target}: {err}"
            raise SftpConnectionError(message) from err
        return target


@dataclass(frozen=True)
class SftpFetch:
    """What one fetch round did: the new files, and the ones skipped because they were still changing."""

    fetched: list[FetchedFile]
    unchanged: int
    still_changing: list[str]


def fetch_new_files(
    config: SftpConfig,
    conn: psycopg.Connection,
    inbox: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SftpFetch:
    """Fetch every ready export not fetched before into ``<inbox>/erp`` and record it in ``raw.fetched_files``.

    A remote file is recognised as already fetched by its path, size and mtime (no download), or, if it was touched,
    by its sha256 after the download. The local copy keeps the remote mtime: the landing records it as the time the
    ERP delivered the file. With ``done_dir`` set, fetched files (and ones fetched earlier whose move failed) are moved.

    Args:
        config: the server.
        conn: an autocommit connection to the warehouse (``ensure_ledger`` must have run).
        inbox: the local inbox folder.
        sleep: the wait between stability looks.
    """
    fetched: list[FetchedFile] = []
    changing: list[str] = []
    seen: list[RemoteFile] = []

    known = fetched_signatures(conn, SOURCE)

    def done_before(remote: RemoteFile) -> bool:
        if (remote.remote_ref, remote.size, remote.mtime) in known:
            seen.append(remote)
            return True
        return False

    with SftpSource(config, sleep=sleep) as source:
        ready = source.list_ready(skip=done_before)
        for remote in ready[: config.max_files]:
            try:
                content = source.fetch(remote)
            except FileStillChangingError:
                changing.append(remote.path)
                continue
            if already_fetched(conn, SOURCE, remote.remote_ref, sha256=sha256_hex(content)):
                record_fetch(conn, _ledger_row(remote, content, Path()))  # the same content touched: remember it
                seen.append(remote)
                continue
            suffix = PurePosixPath(remote.name).suffix
            local = write_erp_export(
                inbox, remote.entity, remote.business_date, content, suffix=suffix, mtime=remote.mtime
            )
            row = _ledger_row(remote, content, local)
            record_fetch(conn, row)
            fetched.append(row)
            if config.done_dir:
                source.move_done(remote)
        if config.done_dir:
            for remote in seen:
                source.move_done(remote)
    return SftpFetch(fetched, len(seen), changing)


def _ledger_row(remote: RemoteFile, content: bytes, local: Path) -> FetchedFile:
    return fetched_file(SOURCE, remote.remote_ref, remote.entity, remote.business_date, content, local, remote.mtime)
