"""A real IMAP server for tests: Debian's dovecot with a throwaway configuration on a free loopback port.

``running_dovecot()`` writes a configuration, a passwd file and, for STARTTLS or implicit TLS, a self-signed
certificate (``openssl req``) into a fresh folder under /tmp, starts ``dovecot -F`` and removes everything
afterwards. The folder is not pytest's ``tmp_path``: that one is private to root, and dovecot reads the mail as an
unprivileged user (it refuses uid 0 for mail), here ``dovecot``.

``CuttingProxy`` sits between the connector and the server and, once armed, cuts the server's answer after a
given number of bytes and stops the server — a crash in the middle of a FETCH, at a chosen byte rather than at a
lucky moment.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from ingestion.imap import ImapConfig, Security

DOVECOT = Path("/usr/sbin/dovecot")


class DovecotUnavailableError(RuntimeError):
    """dovecot is not installed, or did not start (the message carries the end of its log)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-20:]) if path.exists() else "(no log)"


@dataclass
class DovecotServer:
    """One dovecot instance with one mail user; ``config()`` is the connector's configuration for it."""

    root: Path
    security: Security = "none"
    user: str = "planejamento"
    password: str = "senha-de-teste"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def cert_file(self) -> Path:
        return self.root / "cert.pem"

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user / "Maildir"

    def config(self, **overrides: object) -> ImapConfig:
        """The connector's configuration for this server (trusting its self-signed certificate)."""
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "user": self.user,
            "password": self.password,
            "ca_file": str(self.cert_file) if self.security != "none" else None,
            "backoff": 0.2,
            "timeout": 10.0,
        }
        values.update(overrides)
        return ImapConfig(**values)  # type: ignore[arg-type]

    def _certificate(self) -> str:
        if self.security == "none":
            return ""
        if not self.cert_file.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-keyout", str(self.root / "key.pem"), "-out", str(self.cert_file)],
                check=True, capture_output=True,
            )  # fmt: skip
        return f"ssl_cert = <{self.cert_file}\nssl_key = <{self.root / 'key.pem'}\n"

    def _write_config(self) -> Path:
        if os.geteuid() == 0:
            mail_user, internal_user, login_user = pwd.getpwnam("dovecot"), "dovecot", "dovenull"
        else:  # rootless dovecot runs everything as the current user
            mail_user = pwd.getpwuid(os.getuid())
            internal_user = login_user = mail_user.pw_name
        (self.root / "mail").mkdir(exist_ok=True)
        os.chown(self.root / "mail", mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        plain_port, tls_port = (0, self.port) if self.security == "tls" else (self.port, 0)
        conf = self.root / "dovecot.conf"
        conf.write_text(
            f"""
instance_name = fmrp-test-{self.port}
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
ssl = {"no" if self.security == "none" else "required"}
{self._certificate()}disable_plaintext_auth = {"no" if self.security == "none" else "yes"}
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {mail_user.pw_uid}
mail_location = maildir:{self.root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={self.root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        return conf

    def start(self) -> DovecotServer:
        if not DOVECOT.exists():
            raise DovecotUnavailableError(
                f"{DOVECOT} is not installed: run `make peers` (apt-get install dovecot-imapd)"
            )
        conf = self._write_config()
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DovecotUnavailableError(f"dovecot exited with {self.process.returncode}:\n{_tail(self.log)}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        raise DovecotUnavailableError(f"dovecot did not listen on 127.0.0.1:{self.port}:\n{_tail(self.log)}")

    def stop(self) -> None:
        """Stop the master and every IMAP process: open connections drop, as in a crash or a restart.

        The whole process group goes: a session process left behind by the master would keep serving its client.
        """
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the master leads its own process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        self.process = None

    def client(self) -> IMAPClient:
        """A logged-in client for the test itself (appending, looking into folders)."""
        context = ssl.create_default_context(cafile=str(self.cert_file)) if self.security != "none" else None
        client = IMAPClient("127.0.0.1", port=self.port, ssl=self.security == "tls", ssl_context=context, timeout=10)
        if self.security == "starttls":
            client.starttls(context)
        client.login(self.user, self.password)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Deliver messages into a folder (created if missing)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw)

    def message_ids(self, folder: str = "INBOX") -> list[str]:
        """The Message-ID of every message in ``folder`` in UID order ([] when the folder does not exist)."""
        return [message_id for message_id, _ in self.messages(folder)]

    def messages(self, folder: str = "INBOX") -> list[tuple[str, set[str]]]:
        """(Message-ID, flags) of every message in ``folder`` in UID order."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            if not uids:
                return []
            data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "FLAGS"])
            key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
            return [
                (data[u][key].decode().partition(":")[2].strip(), {f.decode() for f in data[u][b"FLAGS"]}) for u in uids
            ]

    def fetch_all(self, folder: str) -> list[bytes]:
        """The whole of every message in ``folder`` (e.g. the quarantine notes)."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [bytes(data[u][b"BODY[]"]) for u in uids]

    def reset_uidvalidity(self) -> None:
        """Make INBOX's UIDVALIDITY change, as a server migration or a rebuilt index does: the same messages come
        back under new UIDs. Dovecot keeps the UID list and indexes beside the maildir; without them it renumbers."""
        self.stop()
        for path in self.maildir.iterdir():
            if path.name.startswith(("dovecot-uidlist", "dovecot.index", "dovecot.list.index")):
                path.unlink()
        time.sleep(1.1)  # dovecot derives a new UIDVALIDITY from the clock: make sure it differs
        self.start()


@contextlib.contextmanager
def running_dovecot(security: Security = "none") -> Iterator[DovecotServer]:
    """A started dovecot in a fresh folder; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="fmrp-dovecot-", dir="/tmp"))
    root.chmod(0o755)
    server = DovecotServer(root, security=security)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class CuttingProxy:
    """A loopback TCP proxy to ``target``. Once armed, the server's answer on a connection is cut after
    ``after_bytes`` bytes: ``on_cut`` runs (it stops the server) and the connection closes mid-response."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cuts = 0
        self._armed: tuple[int, Callable[[], None]] | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, after_bytes: int, on_cut: Callable[[], None]) -> None:
        with self._lock:
            self._armed = (after_bytes, on_cut)

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:  # the server is down: refuse like it would
                client.close()
                continue
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                upstream.sendall(data)
        self._close(client, upstream)

    def _down(self, upstream: socket.socket, client: socket.socket) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                with self._lock:
                    armed = self._armed
                    if armed and sent + len(data) >= armed[0]:
                        self._armed = None
                    else:
                        armed = None
                if armed:
                    client.sendall(data[: max(armed[0] - sent, 0)])
                    self.cuts += 1
                    armed[1]()
                    break
                sent += len(data)
                client.sendall(data)
        self._close(upstream, client)
