"""A real SFTP server for tests: OpenSSH's sshd on 127.0.0.1 with a throwaway config, host key and client keys.

sshd runs as root (the tests run as root here) with ``ForceCommand internal-sftp``, so it serves nothing but SFTP.
Password login is tested too: sshd checks passwords against ``/etc/shadow``, and the machine's root account has none,
so sshd starts in a private mount namespace (``unshare --mount``) where a copy of the shadow file with a throwaway
password for root is bind-mounted over ``/etc/shadow``. Nothing outside that namespace changes. Where the namespace
cannot be made (no CAP_SYS_ADMIN), the peer has no password and the password test skips with that reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
PASSWORD = "sftp-test-password"
KEY_PASSPHRASE = "key-passphrase"


@dataclass(frozen=True)
class SshdPeer:
    """How to reach the test server: address, user, keys, and the ``known_hosts`` file that trusts it."""

    host: str
    port: int
    user: str
    known_hosts: Path
    client_key: Path
    client_key_passphrase: str
    password: str | None
    workdir: Path

    def remote_dir(self, name: str) -> Path:
        """A fresh directory on the server (the server shares this machine's file system)."""
        path = self.workdir / "remote" / name
        path.mkdir(parents=True)
        return path

    def known_hosts_with_another_key(self, directory: Path) -> Path:
        """A ``known_hosts`` that lists a *different* ed25519 key for this server (a man in the middle)."""
        key = directory / "impostor_ed25519"
        _keygen(key, "")
        public = (key.with_suffix(".pub")).read_text().split()[:2]
        path = directory / "known_hosts_impostor"
        path.write_text(f"[{self.host}]:{self.port} {' '.join(public)}\n")
        return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path, passphrase: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "fmrp-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _shadow_with_root_password(workdir: Path) -> Path | None:
    """A copy of /etc/shadow whose root entry has PASSWORD (hashed with openssl), or None if not possible."""
    if not Path("/etc/shadow").is_file() or shutil.which("openssl") is None:
        return None
    hashed = subprocess.run(
        ["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True, text=True
    ).stdout.strip()
    lines = []
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "root":
            fields[1] = hashed
        lines.append(":".join(fields))
    shadow = workdir / "shadow"
    shadow.write_text("\n".join(lines) + "\n")
    shadow.chmod(0o600)
    return shadow


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _wait_for_banner(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not answer on 127.0.0.1:{port} within {timeout} s: {log.read_text()}")


def start_sshd(workdir: Path) -> tuple[SshdPeer, subprocess.Popen[bytes]]:
    """Start sshd on a free loopback port; returns the peer description and the process (its own session)."""
    if not SSHD.exists():
        raise RuntimeError("OpenSSH server missing: `apt-get install -y openssh-server` (make peers does it)")
    if os.geteuid() != 0:
        raise RuntimeError("the sshd test peer runs as root (sshd needs it to switch to the login user)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    workdir.mkdir(parents=True, exist_ok=True)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    _keygen(host_key, "")
    _keygen(client_key, KEY_PASSPHRASE)
    (workdir / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = free_port()
    host_public = host_key.with_suffix(".pub").read_text().split()[:2]
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {' '.join(host_public)}\n")
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                "PermitRootLogin yes",
                "AllowUsers root",
                "PubkeyAuthentication yes",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "MaxStartups 50",
                "Subsystem sftp internal-sftp",
                "ForceCommand internal-sftp",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    command = [str(SSHD), "-D", "-e", "-f", str(config)]
    shadow = _shadow_with_root_password(workdir) if _can_unshare() else None
    if shadow is not None:
        # a private mount namespace: the throwaway shadow file is visible to this sshd only
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   f'mount --bind "{shadow}" /etc/shadow && exec "$@"', "sshd", *command]  # fmt: skip
    log = workdir / "sshd.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for_banner(port, process, log)
    peer = SshdPeer(
        host="127.0.0.1",
        port=port,
        user="root",
        known_hosts=known_hosts,
        client_key=client_key,
        client_key_passphrase=KEY_PASSPHRASE,
        password=PASSWORD if shadow is not None else None,
        workdir=workdir,
    )
    return peer, process


def stop_sshd(process: subprocess.Popen[bytes]) -> None:
    """Stop the sshd we started (its own process group: the listener and any session children)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdPeer]:
    """One sshd for the test session; each test takes its own remote directory (``sshd.remote_dir``)."""
    peer, process = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield peer
    stop_sshd(process)
