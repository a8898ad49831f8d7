"""The SFTP connector against a real OpenSSH sshd on loopback (tests/peers/sftp.py)."""

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.fetched import ensure_ledger
from ingestion.landing import ensure_raw_schema, erp_file_entity, land_erp_file
from ingestion.sftp import (
    HostKeyMismatchError,
    SftpAuthenticationError,
    SftpConfig,
    SftpConfigError,
    SftpSource,
    UnknownHostKeyError,
    fetch_new_files,
    parse_pattern,
)
from tests.peers.sftp import SshdPeer, sshd  # noqa: F401  (the session fixture)

INVENTORY = "Data;Código;Depósito;Saldo;Custo Médio\n03/01/2024;MP-1;D01;10,5;2,00\n03/01/2024;MP-2;D01;7;1,00\n"
ITEMS = "Código;Descrição;Tipo;Unidade;Política\nMP-1;Aço;Matéria-prima;KG;Comprar\n"


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        ensure_ledger(connection)
        yield connection


def config_for(peer: SshdPeer, remote: Path, **overrides) -> SftpConfig:
    values: dict[str, Any] = dict(
        host=peer.host,
        port=peer.port,
        username=peer.user,
        key_file=peer.client_key,
        key_passphrase=peer.client_key_passphrase,
        known_hosts=peer.known_hosts,
        remote_dir=str(remote),
        stable_seconds=0.2,
        timeout=10.0,
    )
    values.update(overrides)
    return SftpConfig(**values)


def connect(config: SftpConfig) -> None:
    with SftpSource(config):
        pass


def put(remote: Path, name: str, text: str, mtime: float | None = None) -> Path:
    path = remote / name
    path.write_bytes(text.encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def ledger(conn) -> list[tuple]:
    return conn.execute(
        "select remote_ref, entity, business_date, size, sha256 from raw.fetched_files order by fetch_id"
    ).fetchall()


def test_fetches_matching_exports_once_with_sha256_and_canonical_names(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("once")
    put(remote, "estoque_20240103.csv", INVENTORY, mtime=1704290000)
    put(remote, "itens_20240103.csv", ITEMS)
    put(remote, "leia-me.txt", "not an export")
    put(remote, "estoque_20241399.csv", INVENTORY)  # digits that are no date
    inbox = tmp_path / "inbox"

    first = fetch_new_files(config_for(sshd, remote), conn, inbox)

    names = sorted(f.local_path.name for f in first.fetched)
    assert names == ["estoque_20240103.csv", "itens_20240103.csv"]
    inventory = next(f for f in first.fetched if f.entity == "inventory")
    assert inventory.remote_ref == f"sftp://root@127.0.0.1:{sshd.port}{remote}/estoque_20240103.csv"
    assert inventory.local_path.read_bytes() == INVENTORY.encode("utf-8")
    assert inventory.size == len(INVENTORY.encode("utf-8"))
    assert inventory.local_path.stat().st_mtime == 1704290000  # the ERP's time: landing records it as received_at
    assert [(row[1], row[2]) for row in ledger(conn)] == [("inventory", date(2024, 1, 3)), ("items", date(2024, 1, 3))]
    assert all(len(row[4]) == 64 for row in ledger(conn))

    again = fetch_new_files(config_for(sshd, remote), conn, inbox)
    assert again.fetched == [] and again.unchanged == 2
    assert len(ledger(conn)) == 2

    landed = land_erp_file(conn, inventory.local_path)
    assert (landed.status, landed.rows, landed.entity) == ("landed", 2, "inventory")


def test_password_login(sshd, conn, tmp_path):  # noqa: F811
    if sshd.password is None:
        pytest.skip("no private mount namespace here: the sshd peer has no password login")
    remote = sshd.remote_dir("password")
    put(remote, "estoque_20240104.csv", INVENTORY)
    config = config_for(sshd, remote, key_file=None, key_passphrase=None, password=sshd.password)
    [fetched] = fetch_new_files(config, conn, tmp_path / "inbox").fetched
    assert fetched.local_path.name == "estoque_20240104.csv"


def test_wrong_password_is_a_clear_authentication_error(sshd, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("badpass")
    config = config_for(sshd, remote, key_file=None, key_passphrase=None, password="not-the-password")
    with pytest.raises(SftpAuthenticationError, match=r"root@127\.0\.0\.1:\d+: login refused with the password"):
        connect(config)


def test_host_key_mismatch_is_refused_with_both_fingerprints(sshd, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("mitm")
    impostor = sshd.known_hosts_with_another_key(tmp_path)
    with pytest.raises(HostKeyMismatchError) as caught:
        connect(config_for(sshd, remote, known_hosts=impostor))
    message = str(caught.value)
    assert "ssh-ed25519 host key" in message and str(impostor) in message
    assert message.count("SHA256:") == 2 and "intercepting" in message


def test_unknown_host_is_refused(sshd, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("unknown")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(UnknownHostKeyError, match=r"is not in .*known_hosts.*ssh-keyscan"):
        connect(config_for(sshd, remote, known_hosts=empty))
    with pytest.raises(UnknownHostKeyError, match="does not exist"):
        connect(config_for(sshd, remote, known_hosts=tmp_path / "absent"))


def test_a_growing_file_is_not_taken_until_its_size_holds_still(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("growing")
    growing = put(remote, "estoque_20240105.csv", INVENTORY.splitlines(keepends=True)[0])
    put(remote, "itens_20240105.csv", ITEMS)
    rows = INVENTORY.splitlines(keepends=True)[1:]

    def erp_still_writing(seconds: float) -> None:
        with growing.open("a", encoding="utf-8") as handle:
            handle.write(rows.pop(0))

    inbox = tmp_path / "inbox"
    first = fetch_new_files(config_for(sshd, remote), conn, inbox, sleep=erp_still_writing)
    assert [f.entity for f in first.fetched] == ["items"]
    assert not (inbox / "erp" / "estoque_20240105.csv").exists()

    second = fetch_new_files(config_for(sshd, remote), conn, inbox, sleep=erp_still_writing)
    assert second.fetched == []  # the ERP wrote its last row during this look too

    third = fetch_new_files(config_for(sshd, remote), conn, inbox)  # no writer any more: stable
    [inventory] = third.fetched
    assert inventory.local_path.read_text(encoding="utf-8") == INVENTORY


def test_an_empty_file_is_never_ready(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("empty")
    put(remote, "estoque_20240106.csv", "")
    assert fetch_new_files(config_for(sshd, remote), conn, tmp_path / "inbox").fetched == []


def test_fetched_files_move_to_the_done_folder(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("moving")
    put(remote, "estoque_20240107.csv", INVENTORY)
    [fetched] = fetch_new_files(config_for(sshd, remote, done_dir="done"), conn, tmp_path / "inbox").fetched
    assert not (remote / "estoque_20240107.csv").exists()
    assert (remote / "done" / "estoque_20240107.csv").read_text(encoding="utf-8") == INVENTORY
    assert fetched.remote_ref.endswith(f"{remote}/estoque_20240107.csv")  # the ref stays the delivered path


def test_a_replaced_file_is_fetched_again_but_a_touched_one_is_not(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("replaced")
    inbox = tmp_path / "inbox"
    put(remote, "estoque_20240108.csv", INVENTORY, mtime=1704700000)
    assert len(fetch_new_files(config_for(sshd, remote), conn, inbox).fetched) == 1

    put(remote, "estoque_20240108.csv", INVENTORY, mtime=1704710000)  # same bytes, new mtime
    touched = fetch_new_files(config_for(sshd, remote), conn, inbox)
    assert touched.fetched == []
    assert fetch_new_files(config_for(sshd, remote), conn, inbox).unchanged == 1  # recognised without download

    corrected = INVENTORY.replace("10,5", "11,5")
    put(remote, "estoque_20240108.csv", corrected, mtime=1704720000)
    [again] = fetch_new_files(config_for(sshd, remote), conn, inbox).fetched
    assert again.local_path.read_text(encoding="utf-8") == corrected
    assert len({row[4] for row in ledger(conn)}) == 2


def test_patterns_with_a_fixed_export_and_another_date_format(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("patterns")
    put(remote, "ESTQ_05012024_0600.CSV", INVENTORY)
    put(remote, "ESTQ_05012024.XLS", INVENTORY)  # not a table type we read
    config = config_for(sshd, remote, patterns=("estoque=ESTQ_{date:%d%m%Y}_*.csv",))
    [fetched] = fetch_new_files(config, conn, tmp_path / "inbox").fetched
    assert fetched.local_path.name == "estoque_20240105.csv"
    assert erp_file_entity(fetched.local_path) is not None


def test_pattern_errors_say_what_is_wrong():
    assert parse_pattern("inventory=x_{date:%Y-%m-%d}.csv").match("X_2024-02-29.csv")[1] == date(2024, 2, 29)
    assert parse_pattern("{export}_{date}.csv").match("pedidos_compra_20240102.csv")[0].name == "purchase_orders"
    with pytest.raises(SftpConfigError, match=r"has no \{date\}"):
        parse_pattern("estoque=estoque.csv")
    with pytest.raises(SftpConfigError, match="say the export"):
        parse_pattern("dump_{date}.csv")
    with pytest.raises(SftpConfigError, match="unknown export 'stock'"):
        parse_pattern("stock=stock_{date}.csv")
    with pytest.raises(SftpConfigError, match="directive %H not supported"):
        parse_pattern("{export}_{date:%Y%m%d%H}.csv")
    with pytest.raises(SftpConfigError, match="password or a key file"):
        SftpConfig(host="h", username="u")


def test_mtime_is_utc(sshd, conn, tmp_path):  # noqa: F811
    remote = sshd.remote_dir("mtime")
    put(remote, "estoque_20240109.csv", INVENTORY, mtime=1704800000)
    with SftpSource(config_for(sshd, remote)) as source:
        [candidate] = source.list_candidates()
    assert candidate.mtime == datetime.fromtimestamp(1704800000, tz=UTC)
