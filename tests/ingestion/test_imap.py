"""The IMAP connector against a real dovecot on loopback: filters, UID cursor, UIDVALIDITY, landing, moving,
quarantine with reasons, bad input, TLS, and the server stopping in the middle of a fetch."""

import socket
import threading
from datetime import date, datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from time import monotonic

import psycopg
import pytest

from ingestion.imap import (
    PROCESSED_KEYWORD,
    QUARANTINED_KEYWORD,
    ImapAuthError,
    ImapConfig,
    ImapConfigError,
    ImapCursor,
    ImapCursorError,
    ImapMailbox,
    ImapUnavailableError,
    MessageRef,
    land_message,
    run_key,
)
from ingestion.landing import ensure_raw_schema
from ingestion.mail import parse_email
from tests.factories import HEADER, cash_closing
from tests.peers.imap import CuttingProxy, DovecotServer, running_dovecot

SENT = "Thu, 04 Jan 2024 07:00:00 -0300"
BRT = timezone(timedelta(hours=-3))
ROWS = "03/01/2024;PA-1;x;2;5;10\n03/01/2024;PA-2;y;1;3;3\n"


@pytest.fixture
def imap():
    with running_dovecot() as server:
        yield server


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        yield connection


def email(day: int, message_id: str | None = None, rows: str | None = None, **kwargs) -> bytes:
    business = date(2024, 1, day)
    body = rows if rows is not None else f"{business:%d/%m/%Y};PA-1;x;{day};5;{5 * day}\n"
    # sent the next morning, as the finance team does: a sale dated after its email would be a bad row
    sent = kwargs.pop("sent", format_datetime(datetime.combine(business + timedelta(days=1), time(7), BRT)))
    return cash_closing(business, body, message_id=message_id or f"<fech-{day}@fin>", sent=sent, **kwargs)


def message(subject: str, sender: str = "Financeiro <financeiro@industria-exemplo.com.br>", **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["Date"] = SENT
    msg["Message-ID"] = headers.pop("message_id", f"<{abs(hash(subject))}@x>")
    return msg


def land_all(server: DovecotServer, conn: psycopg.Connection, config: ImapConfig | None = None) -> list:
    """What the sensor and the asset do together, without Dagster: poll, then land each message."""
    config = config or server.config()
    with ImapMailbox(config) as mailbox:
        mailbox.ensure_folders()
        poll = mailbox.poll(None)
        refs = [MessageRef(config.mailbox, poll.uidvalidity, m.uid, m.message_id) for m in poll.messages]
        return [land_message(mailbox, conn, ref) for ref in refs]


def batches(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select source_ref, file_name, status, business_date, row_count, error from raw.batches order by batch_id"
    ).fetchall()


# --- filters and cursor ------------------------------------------------------------------------------------------


def test_poll_keeps_to_the_sender_and_subject_filters_and_the_cursor(imap):
    wanted = email(3)
    unaccented = message("relatorio diario de vendas 04/01/2024", message_id="<rel@fin>")
    other_subject = message("Reunião de planejamento", message_id="<meet@fin>")
    other_sender = message("Fechamento de caixa 05/01/2024", "Spam <x@spam.example>", message_id="<spam@x>")
    imap.append(wanted, bytes(unaccented), bytes(other_subject), bytes(other_sender))
    config = imap.config(senders=("@industria-exemplo.com.br",))
    with ImapMailbox(config) as mailbox:
        first = mailbox.poll(None)
        assert [m.message_id for m in first.messages] == ["<fech-3@fin>", "<rel@fin>"]
        assert (first.cursor.last_uid, first.ignored, first.rescanned) == (4, 2, False)
        assert mailbox.poll(first.cursor).messages == ()
        imap.append(email(5))
        second = mailbox.poll(first.cursor)
    assert [(m.uid, m.message_id) for m in second.messages] == [(5, "<fech-5@fin>")]
    assert second.cursor == ImapCursor(first.uidvalidity, 5)
    assert imap.messages("INBOX")[0][1] == set(), "polling must not mark anything \\Seen"


def test_a_changed_uidvalidity_reads_the_whole_mailbox_again(imap):
    imap.append(email(3), email(4))
    with ImapMailbox(imap.config()) as mailbox:
        before = mailbox.poll(None)
    imap.reset_uidvalidity()
    with ImapMailbox(imap.config()) as mailbox:
        after = mailbox.poll(before.cursor)
    assert after.uidvalidity != before.uidvalidity
    assert after.rescanned
    assert [m.message_id for m in after.messages] == ["<fech-3@fin>", "<fech-4@fin>"]


def test_cursor_round_trips_and_a_foreign_cursor_is_a_clear_error():
    cursor = ImapCursor(17, 42)
    assert ImapCursor.from_json(cursor.to_json()) == cursor
    assert ImapCursor.from_json(None) is None
    assert cursor.hold_before(40) == ImapCursor(17, 39)
    with pytest.raises(ImapCursorError, match="reset the sensor's cursor"):
        ImapCursor.from_json('{"last": 3}')


def test_run_key_is_message_id_and_attachment_hash():
    original = email(3)
    redelivered = b"Received: from mx by relay; Thu, 4 Jan 2024 07:01:00 -0300\r\n" + original
    corrected = email(3, message_id="<fech-3-b@fin>", rows="03/01/2024;PA-1;x;9;5;45\n")
    key = run_key(parse_email(original))
    assert key.startswith("imap:fech-3@fin:")
    assert run_key(parse_email(redelivered)) == key
    assert run_key(parse_email(corrected)) != key
    bare = html_only()
    relayed = b"Received: from mx by relay; Thu, 4 Jan 2024 07:01:00 -0300\r\n" + bare
    assert run_key(parse_email(relayed)) == run_key(parse_email(bare))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("security", "ssl", "security 'ssl' is not one of"),
        ("on_success", "delete", "on_success 'delete'"),
        ("port", 70000, "port 70000"),
        ("processed_folder", "INBOX", "three different folders"),
        ("password", "", "no user or password"),
        ("ca_file", "/nonexistent/ca.pem", "ca_file /nonexistent/ca.pem does not exist"),
    ],
)
def test_bad_configuration_names_the_setting(field, value, message):
    values = {"host": "mail.example", "user": "u", "password": "p", field: value}
    with pytest.raises(ImapConfigError, match=message):
        ImapConfig(**values)


# --- landing, moving, nothing deleted -----------------------------------------------------------------------------


def test_landed_emails_move_to_processed_and_a_redelivery_lands_nothing(imap, conn):
    imap.append(email(3), email(4))
    outcomes = land_all(imap, conn)
    assert [o.action for o in outcomes] == ["processed", "processed"]
    assert [r.status for o in outcomes for r in o.results] == ["landed", "landed"]
    assert imap.message_ids("INBOX") == []
    processed = imap.messages("Processed")
    assert [m for m, _ in processed] == ["<fech-3@fin>", "<fech-4@fin>"]
    assert all(PROCESSED_KEYWORD in flags for _, flags in processed)
    before = batches(conn)
    assert [(b[0], b[2], b[3]) for b in before] == [
        ("<fech-3@fin>", "active", date(2024, 1, 3)),
        ("<fech-4@fin>", "active", date(2024, 1, 4)),
    ]
    assert conn.execute("select distinct _source from raw.sales").fetchall() == [("imap",)]

    imap.append(email(3))  # the same email delivered again
    [again] = land_all(imap, conn)
    assert (again.action, [r.status for r in again.results]) == ("processed", ["duplicate"])
    assert batches(conn) == before
    assert imap.message_ids("Processed") == ["<fech-3@fin>", "<fech-4@fin>", "<fech-3@fin>"]


def test_a_corrected_resend_supersedes_the_first_email(imap, conn):
    imap.append(email(3))
    land_all(imap, conn)
    imap.append(email(3, message_id="<fech-3-corr@fin>", rows="03/01/2024;PA-1;x;7;5;35\n", subject_suffix=" (c)"))
    land_all(imap, conn)
    assert [(b[0], b[2]) for b in batches(conn)] == [("<fech-3@fin>", "superseded"), ("<fech-3-corr@fin>", "active")]


def test_flag_mode_leaves_the_message_in_place_and_later_polls_skip_it(imap, conn):
    imap.append(email(3))
    config = imap.config(on_success="flag")
    [outcome] = land_all(imap, conn, config)
    assert outcome.action == "flagged"
    [(message_id, flags)] = imap.messages("INBOX")
    assert message_id == "<fech-3@fin>" and {PROCESSED_KEYWORD, "\\Seen"} <= flags
    with ImapMailbox(config) as mailbox:
        assert mailbox.poll(None).messages == ()  # even a full rescan skips what was processed


def test_a_message_already_gone_is_reported_missing_and_nothing_lands(imap, conn):
    imap.append(email(3))
    config = imap.config()
    with ImapMailbox(config) as mailbox:
        mailbox.ensure_folders()
        poll = mailbox.poll(None)
        ref = MessageRef("INBOX", poll.uidvalidity, poll.messages[0].uid, "<fech-3@fin>")
        assert land_message(mailbox, conn, ref).action == "processed"
        second = land_message(mailbox, conn, ref)  # a second run for the same message
    assert (second.action, second.results) == ("missing", ())
    assert len(batches(conn)) == 1


def test_after_a_uidvalidity_change_the_message_is_found_by_its_message_id(imap, conn):
    imap.append(email(2), email(3))
    with ImapMailbox(imap.config()) as mailbox:
        poll = mailbox.poll(None)
    ref = MessageRef("INBOX", poll.uidvalidity, poll.messages[1].uid, "<fech-3@fin>")
    imap.reset_uidvalidity()
    with ImapMailbox(imap.config()) as mailbox:
        mailbox.ensure_folders()
        outcome = land_message(mailbox, conn, ref)
    assert outcome.action == "processed"
    assert [b[0] for b in batches(conn)] == ["<fech-3@fin>"]
    assert imap.message_ids("INBOX") == ["<fech-2@fin>"]


# --- bad input: quarantined with the reason, nothing lost ----------------------------------------------------------


def html_only() -> bytes:
    msg = message("Fechamento de caixa 03/01/2024", message_id="<html@fin>")
    msg.set_content("<p>Segue o fechamento (planilha no link)</p>", subtype="html")
    return bytes(msg)


def empty_attachment() -> bytes:
    msg = message("Fechamento de caixa 03/01/2024", message_id="<empty@fin>")
    msg.set_content("Segue.")
    msg.add_attachment(b"", maintype="text", subtype="csv", filename="fechamento_2024-01-03.csv")
    return bytes(msg)


def oversized(size: int) -> bytes:
    line = "03/01/2024;PA-1;x;1;5;5\n"
    body = (HEADER + line * (size // len(line) + 1)).encode("cp1252")
    msg = message("Fechamento de caixa 03/01/2024", message_id="<big@fin>")
    msg.set_content("Segue.")
    msg.add_attachment(body, maintype="text", subtype="csv", filename="fechamento_2024-01-03.csv")
    return bytes(msg)


def misspelled_header() -> bytes:
    msg = message("Fechamento de caixa 03/01/2024", message_id="<typo@fin>")
    msg.set_content("Segue.")
    table = (HEADER.replace("Quantidade", "Quantidde") + ROWS).encode("cp1252")
    msg.add_attachment(table, maintype="text", subtype="csv", filename="fechamento_2024-01-03.csv")
    return bytes(msg)


@pytest.mark.parametrize(
    ("raw", "config", "reason"),
    [
        (html_only(), {}, "the email has no .xlsx or .csv attachment"),
        (empty_attachment(), {}, "fechamento_2024-01-03.csv: the file is empty"),
        (oversized(60_000), {"max_attachment_bytes": 50_000}, "over the size cap of 0.1 MB"),
        (misspelled_header(), {}, "Quantidde"),
    ],
    ids=["html-only-no-attachment", "empty-attachment", "over-a-configured-cap", "misspelled-header"],
)
def test_bad_email_is_quarantined_with_its_reason_and_nothing_is_lost(imap, conn, raw, config, reason):
    imap.append(raw)
    message_id = parse_email(raw).message_id
    [outcome] = land_all(imap, conn, imap.config(**config))
    assert outcome.action == "quarantined"
    assert reason in (outcome.reason or "")
    [batch] = batches(conn)
    assert batch[0] == message_id and batch[2] == "rejected" and reason in batch[5]
    assert conn.execute("select count(*) from raw.sales").fetchone() == (0,)
    assert imap.message_ids("INBOX") == []
    quarantine = imap.messages("Quarantine")
    assert quarantine[0][0] == message_id and QUARANTINED_KEYWORD in quarantine[0][1]
    note = parse_email_message(imap.fetch_all("Quarantine")[1])
    assert str(note["Subject"]).startswith("[fmrp] quarantined: Fechamento de caixa 03/01/2024")
    assert note["In-Reply-To"] == message_id
    assert reason in note.get_content()


def test_the_default_25_mb_cap_rejects_a_bigger_attachment(imap, conn):
    raw = oversized(26_000_000)
    imap.append(raw)
    [outcome] = land_all(imap, conn)
    assert outcome.action == "quarantined"
    assert "26.0 MB is over the size cap of 25.0 MB" in (outcome.reason or "")
    assert imap.message_ids("Quarantine")[0] == "<big@fin>"


def test_a_redelivered_bad_email_goes_to_quarantine_again(imap, conn):
    imap.append(html_only())
    land_all(imap, conn)
    imap.append(html_only())
    [again] = land_all(imap, conn)
    assert again.action == "quarantined" and "rejected before" in (again.reason or "")
    assert len(batches(conn)) == 1


def test_non_ascii_attachment_name_rfc2231_lands(imap, conn):
    msg = message("Fechamento de caixa 03/01/2024", message_id="<acento@fin>")
    msg.set_content("Segue.")
    msg.add_attachment(
        (HEADER + ROWS).encode("cp1252"), maintype="text", subtype="csv", filename="fechamento_março_2024-01-03.csv"
    )
    raw = bytes(msg)
    assert b"filename*=utf-8''fechamento_mar%C3%A7o" in raw  # really encoded the RFC 2231 way
    imap.append(raw)
    [outcome] = land_all(imap, conn)
    assert outcome.action == "processed"
    assert [(b[1], b[2], b[4]) for b in batches(conn)] == [("fechamento_março_2024-01-03.csv", "active", 2)]


def test_a_forwarded_email_lands_the_attachment_nested_inside(imap, conn):
    original = email(3, rows=ROWS)
    forward = message("Fwd: Fechamento de caixa 03/01/2024", "Ana <ana@industria-exemplo.com.br>", message_id="<fw@x>")
    forward.set_content("Encaminhando o fechamento de ontem.")
    forward.add_attachment(parse_email_message(original))
    imap.append(bytes(forward))
    [outcome] = land_all(imap, conn)
    assert outcome.action == "processed"
    assert [(b[0], b[1], b[3], b[4]) for b in batches(conn)] == [
        ("<fw@x>", "fechamento_2024-01-03.csv", date(2024, 1, 3), 2)
    ]


def parse_email_message(raw: bytes) -> EmailMessage:
    from email import policy
    from email.parser import BytesParser

    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- faults ---------------------------------------------------------------------------------------------------------


def test_server_stopped_in_the_middle_of_a_fetch_retries_and_nothing_is_lost_or_doubled(imap, conn):
    emails = [
        email(day, rows="".join(f"{day:02d}/01/2024;PA-{i};x;{i};5;{5 * i}\n" for i in range(80)))
        for day in range(1, 31)
    ]
    imap.append(*emails)
    proxy = CuttingProxy(imap.port)
    config = imap.config(port=proxy.port, attempts=6, backoff=0.3)
    restarted = threading.Event()

    def crash() -> None:  # the server dies mid-answer and comes back a second later
        imap.stop()
        threading.Timer(1.0, lambda: (imap.start(), restarted.set())).start()

    try:
        with ImapMailbox(config) as mailbox:
            poll = mailbox.poll(None)
            proxy.arm(after_bytes=60_000, on_cut=crash)  # ~ the middle of the second chunk of bodies
            fetched = list(mailbox.fetch_many([m.uid for m in poll.messages], chunk=10))
            assert restarted.wait(10)
            assert proxy.cuts == 1 and mailbox.reconnects >= 1
            assert [uid for uid, _ in fetched] == [m.uid for m in poll.messages]  # each once, in order
            assert [bytes(raw).replace(b"\r\n", b"\n") for _, raw in fetched] == [
                e.replace(b"\r\n", b"\n") for e in emails
            ]
    finally:
        proxy.close()
    outcomes = land_all(imap, conn)
    assert [o.action for o in outcomes] == ["processed"] * 30
    assert len({b[0] for b in batches(conn)}) == len(batches(conn)) == 30


def test_server_stopped_during_landing_resumes_without_doubling(imap, conn):
    imap.append(*(email(day) for day in range(1, 7)))
    config = imap.config(attempts=6, backoff=0.3)
    with ImapMailbox(config) as mailbox:
        mailbox.ensure_folders()
        poll = mailbox.poll(None)
        refs = [MessageRef("INBOX", poll.uidvalidity, m.uid, m.message_id) for m in poll.messages]
        outcomes = [land_message(mailbox, conn, ref) for ref in refs[:3]]
        imap.stop()
        threading.Timer(0.8, imap.start).start()
        outcomes += [land_message(mailbox, conn, ref) for ref in refs[3:]]
    assert [o.action for o in outcomes] == ["processed"] * 6
    assert len(batches(conn)) == 6
    assert len(imap.message_ids("Processed")) == 6 and imap.message_ids("INBOX") == []


def test_a_server_that_stays_down_is_a_clear_error_and_the_mailbox_is_untouched(imap):
    imap.append(email(3))
    imap.stop()
    config = imap.config(attempts=3, backoff=0.05)
    with ImapMailbox(config) as mailbox, pytest.raises(ImapUnavailableError, match=r"select failed after 3 attempts"):
        mailbox.poll(None)
    imap.start()
    assert imap.message_ids("INBOX") == ["<fech-3@fin>"]


def test_a_silent_server_times_out_and_no_retry_starts_that_could_end_after_the_deadline():
    """A server that takes the connection and never answers (a hung proxy): each attempt ends at the timeouts, and
    with a deadline the mailbox gives up rather than start a retry that might run past it (a sensor's tick)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody ever greets
        config = ImapConfig(
            host="127.0.0.1",
            port=silent.getsockname()[1],
            security="none",
            user="u",
            password="p",
            timeout=0.3,
            connect_timeout=0.3,
            attempts=3,
            backoff=0.1,
        )
        started = monotonic()
        with ImapMailbox(config) as mailbox, pytest.raises(ImapUnavailableError, match="failed after 3 attempts: "):
            mailbox.uidvalidity()
        assert 0.9 <= monotonic() - started < 5

        started = monotonic()
        with (
            ImapMailbox(config, deadline=started + 1.0) as mailbox,
            pytest.raises(ImapUnavailableError, match=r"after 1 attempts \(no time left for another before the dead"),
        ):
            mailbox.uidvalidity()
        assert monotonic() - started < 0.9


def test_a_wrong_password_is_not_retried(imap):
    with ImapMailbox(imap.config(password="wrong", attempts=5, backoff=5)) as mailbox:
        with pytest.raises(ImapAuthError, match="refused the login of 'planejamento'"):
            mailbox.poll(None)
        assert mailbox.reconnects == 0


# --- TLS ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_starttls_with_a_private_ca(security, conn):
    with running_dovecot(security) as server:
        server.append(email(3))
        [outcome] = land_all(server, conn)
        assert outcome.action == "processed"
        with ImapMailbox(server.config(ca_file=None)) as mailbox, pytest.raises(ImapConfigError, match="CA_FILE"):
            mailbox.poll(None)
