"""The cash-closing mailbox over IMAP (IN-1, IN-2): poll with a UID cursor, fetch, land, then move or quarantine.

The mailbox is the queue. A poll lists the messages after the cursor (``UIDVALIDITY`` + last UID seen) that pass
the sender and subject filters; when the server's ``UIDVALIDITY`` changed (mailbox rebuilt, server migrated) the
whole mailbox is read again — safe, because what lands twice is decided by the landing ledger (same attachment
sha256 = duplicate) and by the run key (Message-ID + attachment sha256), never by the UID.

After landing, a message is moved to the processed folder (or flagged ``$FmrpProcessed`` in place); one that could
not land goes to the quarantine folder, flagged ``$FmrpQuarantined``, next to a short note message stating the
reason (the same reason is in ``raw.batches.error``). Nothing is ever deleted or expunged by this module: a move
uses the server's MOVE (RFC 6851), and without it COPY plus a keyword on the original, which later polls skip.

Every server operation is retried with exponential backoff after a dropped connection (server restart, network
hiccup): the client reconnects, logs in, selects the folder again and repeats the operation, which is idempotent.

A caller with a time budget (a Dagster sensor's tick ends after 60 s) bounds the work: the connect and read
timeouts bound each attempt, a ``deadline`` stops retrying when another attempt might not end before it, and a
``limit`` on a poll takes at most that many messages, the cursor stopping after the last one taken (the rest wait
for the next poll, none skipped).
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import json
import logging
import ssl
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Literal, TypeVar

import psycopg
from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError

from ingestion.landing import LandingResult, land_email
from ingestion.mail import CashClosingEmail, parse_email
from ingestion.validation import DEFAULT_REJECT_THRESHOLD_PCT

log = logging.getLogger(__name__)

DEFAULT_SUBJECTS = ("Fechamento", "Relatório diário")
PROCESSED_KEYWORD = "$FmrpProcessed"
QUARANTINED_KEYWORD = "$FmrpQuarantined"
NOTE_SENDER = "forecasting-mrp <fmrp@localhost>"
MB = 1_000_000
_HEADER_FIELDS = "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID DATE)]"
_HEADER_KEY = b"BODY[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID DATE)]"
_DONE = {PROCESSED_KEYWORD, QUARANTINED_KEYWORD}
# a dropped or refused connection, a timeout, a TLS record error: worth reconnecting and trying again
_TRANSIENT: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.abort, EOFError)
_CLOSING: tuple[type[BaseException], ...] = (*_TRANSIENT, imaplib.IMAP4.error)

Security = Literal["tls", "starttls", "none"]
OnSuccess = Literal["move", "flag"]
Action = Literal["processed", "flagged", "quarantined", "missing"]
T = TypeVar("T")


class ImapError(Exception):
    """Base class of the connector's errors; messages name the server (never the password) and the step."""


class ImapConfigError(ImapError):
    """The connector's configuration is missing or cannot work."""


class ImapAuthError(ImapError):
    """The server refused the user and password (not retried: retrying would only lock the account)."""


class ImapUnavailableError(ImapError):
    """The server could not be reached, or kept dropping the connection, after every retry."""


class ImapCursorError(ImapError):
    """A stored cursor that this module did not write."""


@dataclass(frozen=True)
class ImapConfig:
    """Where the cash-closing emails arrive and what to do with them.

    Args:
        host: the IMAP server.
        user: login name.
        password: login password (read from the environment by the caller; never logged or shown).
        port: default 993 for ``tls``, 143 otherwise.
        security: ``tls`` (implicit TLS), ``starttls`` (plain connection upgraded) or ``none`` (tests only).
        ca_file: CA bundle to trust instead of the system's (a server with a private certificate).
        mailbox: the folder polled for new emails.
        processed_folder: where landed emails go (``on_success="move"``); created if missing.
        quarantine_folder: where emails that could not land go, next to a note saying why; created if missing.
        on_success: ``move`` to the processed folder, or ``flag`` in place with ``$FmrpProcessed``.
        senders: From filters, each a full address or ``@domain``; empty accepts any sender.
        subjects: the subject must contain one of these (case and accents ignored); empty accepts any subject.
        max_attachment_bytes: attachments above this are rejected (IN-8: 25 MB).
        timeout: read timeout: seconds to wait for each response of the server.
        connect_timeout: seconds to wait for the connection (TCP and TLS handshake).
        attempts: tries per operation before giving up with ``ImapUnavailableError``.
        backoff: seconds before the first retry; doubled before each next one.
    """

    host: str
    user: str
    password: str = field(repr=False)
    port: int | None = None
    security: Security = "tls"
    ca_file: str | None = None
    mailbox: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    on_success: OnSuccess = "move"
    senders: tuple[str, ...] = ()
    subjects: tuple[str, ...] = DEFAULT_SUBJECTS
    max_attachment_bytes: int = 25 * MB
    timeout: float = 30.0
    connect_timeout: float = 10.0
    attempts: int = 4
    backoff: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if not self.host:
            problems.append("no host (FMRP_IMAP_HOST)")
        if not self.user or not self.password:
            problems.append("no user or password (FMRP_IMAP_USER, FMRP_IMAP_PASSWORD)")
        if self.security not in ("tls", "starttls", "none"):
            problems.append(f"security {self.security!r} is not one of tls, starttls, none")
        if self.on_success not in ("move", "flag"):
            problems.append(f"on_success {self.on_success!r} is not one of move, flag")
        if self.port is not None and not 0 < self.port < 65536:
            problems.append(f"port {self.port} is not a TCP port")
        if self.attempts < 1 or self.backoff < 0 or self.max_attachment_bytes < 1:
            problems.append("attempts must be >= 1, backoff >= 0 and the attachment cap > 0")
        if not (self.timeout > 0 and self.connect_timeout > 0):
            problems.append("the read and connect timeouts must be > 0")
        if len({self.mailbox, self.processed_folder, self.quarantine_folder}) < 3:
            problems.append("the mailbox, processed and quarantine folders must be three different folders")
        if self.ca_file and not Path(self.ca_file).is_file():
            problems.append(f"ca_file {self.ca_file} does not exist")
        if problems:
            raise ImapConfigError(f"IMAP configuration ({self.user}@{self.host}): " + "; ".join(problems))

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    def describe(self) -> str:
        """``imaps://user@host:port/mailbox``, without the password: safe to log."""
        scheme = "imaps" if self.security == "tls" else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.effective_port}/{self.mailbox}"


@dataclass(frozen=True)
class ImapCursor:
    """How far a poll has read: the mailbox's UIDVALIDITY and the highest UID seen under it."""

    uidvalidity: int
    last_uid: int

    def to_json(self) -> str:
        return json.dumps({"uidvalidity": self.uidvalidity, "last_uid": self.last_uid})

    @classmethod
    def from_json(cls, text: str | None) -> ImapCursor | None:
        """The cursor stored by ``to_json``; ``None`` before the first poll."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(int(data["uidvalidity"]), int(data["last_uid"]))
        except (ValueError, KeyError, TypeError) as err:
            raise ImapCursorError(f"not an IMAP cursor: {text[:200]!r} ({err}); reset the sensor's cursor") from err

    def hold_before(self, uid: int) -> ImapCursor:
        """This cursor moved back so that the next poll reads ``uid`` again."""
        return ImapCursor(self.uidvalidity, min(self.last_uid, uid - 1))


@dataclass(frozen=True)
class MailSummary:
    """A new message that passed the filters, as its headers describe it."""

    uid: int
    message_id: str
    subject: str
    sender: str
    size: int


@dataclass(frozen=True)
class Poll:
    """What one poll found."""

    uidvalidity: int
    messages: tuple[MailSummary, ...]
    cursor: ImapCursor
    rescanned: bool  # the stored cursor's UIDVALIDITY no longer held: the whole mailbox was read again
    ignored: int  # new messages that did not pass the filters or were already processed
    more: bool = False  # the limit was reached: messages after the cursor wait for the next poll


@dataclass(frozen=True)
class MessageRef:
    """Enough to find a message again in a later run, even after a UIDVALIDITY change (by Message-ID)."""

    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str


@dataclass(frozen=True)
class PendingEmail:
    """A cash-closing email waiting in the mailbox: where it is, the day it reports on and its run key."""

    ref: MessageRef
    run_key: str
    business_date: date | None
    subject: str


@dataclass(frozen=True)
class Disposition:
    """What happened to one message: its landing results and where it went."""

    ref: MessageRef
    action: Action
    results: tuple[LandingResult, ...] = ()
    reason: str | None = None


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Relatório Diário' and 'relatorio diario' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def passes_filters(config: ImapConfig, sender: str, subject: str) -> bool:
    """Whether a message with this From and Subject is a cash-closing email for this configuration."""
    if config.senders:
        address = parseaddr(sender)[1].casefold()
        wanted = [s.strip().casefold() for s in config.senders]
        if not any(address.endswith(s) if s.startswith("@") else address == s for s in wanted):
            return False
    return not config.subjects or any(_fold(s) in _fold(subject) for s in config.subjects)


def run_key(email: CashClosingEmail) -> str:
    """The run key of an email: ``imap:<Message-ID>:<16 hex of the attachments' sha256>``.

    A redelivered copy (same Message-ID, same attachments) gets the same key; a corrected resend (new Message-ID
    or other attachments) a new one. An email without a table attachment is known by its Message-ID alone (its
    raw bytes change with every relay's Received header; one without Message-ID has a sha256 stand-in for it).
    """
    digests = sorted(a.sha256 for a in email.attachments) or ["no table attachment"]
    content = hashlib.sha256("".join(digests).encode()).hexdigest()[:16]
    ident = email.message_id.strip().strip("<>")
    if len(ident) > 120:  # run keys are stored as run tags: keep them short
        ident = "sha256-" + hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"imap:{ident}:{content}"


def _header_text(raw: bytes) -> tuple[str, str, str]:
    """Message-ID, Subject and From, RFC 2047 words decoded."""
    headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    return (
        str(headers.get("Message-ID", "")).strip(),
        str(headers.get("Subject", "")),
        str(headers.get("From", "")),
    )


def _keywords(flags: Sequence[bytes]) -> set[str]:
    return {f.decode("ascii", "replace") for f in flags}


class ImapMailbox:
    """A connection to the cash-closing mailbox that reconnects and retries after a dropped connection.

    Use as a context manager; the connection opens on first use. ``deadline`` (a ``time.monotonic()`` value) is
    when the caller must be done: a failed operation is not tried again when the backoff plus another attempt (its
    connect and read timeouts) would end after it.
    """

    def __init__(self, config: ImapConfig, *, deadline: float | None = None) -> None:
        self.config = config
        self.deadline = deadline
        self.reconnects = 0
        self._client: IMAPClient | None = None
        self._selected: str | None = None

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (best effort: the server may be gone already)."""
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            try:
                client.logout()
            except _CLOSING:
                _shutdown(client)

    # --- connection and retries ------------------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        cfg = self.config
        context = ssl.create_default_context(cafile=cfg.ca_file) if cfg.security != "none" else None
        client = IMAPClient(
            cfg.host,
            port=cfg.effective_port,
            ssl=cfg.security == "tls",
            ssl_context=context,
            timeout=SocketTimeout(connect=cfg.connect_timeout, read=cfg.timeout),
        )
        try:
            if cfg.security == "starttls":
                client.starttls(context)
            client.login(cfg.user, cfg.password)
        except LoginError as err:
            _shutdown(client)
            raise ImapAuthError(f"{cfg.describe()}: the server refused the login of {cfg.user!r}: {err}") from err
        except BaseException:
            _shutdown(client)
            raise
        return client

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            _shutdown(client)

    def _call(self, what: str, operation: Callable[[IMAPClient], T], *, folder: str | None = None) -> T:
        """Run ``operation`` on a logged-in client (with ``folder`` selected); after a dropped connection,
        reconnect and run it again, up to ``config.attempts`` times with exponential backoff."""
        delay = self.config.backoff
        for attempt in range(1, self.config.attempts + 1):
            try:
                if self._client is None:
                    self._client = self._connect()
                if folder is not None and self._selected != folder:
                    self._select(self._client, folder)
                return operation(self._client)
            except ssl.SSLCertVerificationError as err:
                self._drop()
                raise ImapConfigError(
                    f"{self.config.describe()}: the server's certificate is not trusted ({err.verify_message}); "
                    "set FMRP_IMAP_CA_FILE to its CA bundle"
                ) from err
            except _TRANSIENT as err:
                self._drop()
                late = not self._time_for_retry(delay)
                if attempt == self.config.attempts or late:
                    cut = " (no time left for another before the deadline)" if late else ""
                    raise ImapUnavailableError(
                        f"{self.config.describe()}: {what} failed after {attempt} attempts{cut}: {err!r}"
                    ) from err
                log.warning("%s: %s failed (%r); retry %d in %.1f s", self.config.describe(), what, err, attempt, delay)
                self.reconnects += 1
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable: the loop returns or raises")

    def _time_for_retry(self, delay: float) -> bool:
        """Whether a retry after ``delay`` seconds ends before the deadline even if it runs into both timeouts."""
        if self.deadline is None:
            return True
        worst = delay + self.config.connect_timeout + self.config.timeout
        return time.monotonic() + worst <= self.deadline

    def _select(self, client: IMAPClient, folder: str) -> dict[bytes, Any]:
        try:
            status = client.select_folder(folder)
        except imaplib.IMAP4.abort:
            raise  # the connection dropped (e.g. "BYE server shutting down"): retried by _call
        except imaplib.IMAP4.error as err:
            raise ImapConfigError(f"{self.config.describe()}: cannot open the folder {folder!r}: {err}") from err
        self._selected = folder
        return status

    def _in_mailbox(self, what: str, operation: Callable[[IMAPClient], T]) -> T:
        return self._call(what, operation, folder=self.config.mailbox)

    # --- folders ---------------------------------------------------------------------------------------------

    def ensure_folders(self) -> None:
        """Check the mailbox exists; create the processed and quarantine folders if missing."""

        def create(client: IMAPClient) -> None:
            if not client.folder_exists(self.config.mailbox):
                raise ImapConfigError(f"{self.config.describe()}: the mailbox {self.config.mailbox!r} does not exist")
            for folder in (self.config.processed_folder, self.config.quarantine_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)

        self._call("create folders", create)

    def uidvalidity(self) -> int:
        """The mailbox's UIDVALIDITY now (selecting it afresh, so that new messages are seen)."""
        status = self._call("select", lambda c: self._select(c, self.config.mailbox))
        return int(status[b"UIDVALIDITY"])

    def append(self, raw: bytes, folder: str | None = None) -> None:
        """Put a message into a folder (the mailbox by default): how tests and demos deliver an email."""
        target = folder or self.config.mailbox
        self._call(f"append to {target}", lambda c: c.append(target, raw))

    # --- reading ---------------------------------------------------------------------------------------------

    def poll(self, cursor: ImapCursor | None, *, chunk: int = 500, limit: int | None = None) -> Poll:
        """The new messages after ``cursor`` that pass the filters, in UID order, and the cursor to store next.

        Messages already flagged ``$FmrpProcessed``/``$FmrpQuarantined`` (flag mode, or a server without MOVE)
        are skipped. When ``cursor`` belongs to another UIDVALIDITY, the whole mailbox is read. With ``limit``, at
        most that many messages are returned and the cursor stops at the last of them (``Poll.more`` says whether
        messages are left for the next poll).
        """
        if limit is not None and limit < 1:
            raise ValueError(f"a poll's limit must be >= 1, got {limit}")
        uidvalidity = self.uidvalidity()
        rescanned = cursor is not None and cursor.uidvalidity != uidvalidity
        start = cursor.last_uid + 1 if cursor is not None and not rescanned else 1
        # "UID n:*" also answers the highest message when that is below n: filter
        uids = sorted(u for u in self._in_mailbox("search", lambda c: c.search(["UID", f"{start}:*"])) if u >= start)
        found: list[MailSummary] = []
        examined = 0
        cap = len(uids) if limit is None else limit
        for i in range(0, len(uids), chunk):
            if len(found) >= cap:
                break
            part = uids[i : i + chunk]
            data = self._in_mailbox("fetch headers", _fetcher(part, [_HEADER_FIELDS, "RFC822.SIZE", "FLAGS"]))
            for uid in part:
                if len(found) >= cap:
                    break
                examined += 1
                item = data.get(uid)
                if item is None or _keywords(item[b"FLAGS"]) & _DONE:  # expunged meanwhile, or done already
                    continue
                message_id, subject, sender = _header_text(item[_HEADER_KEY])
                if passes_filters(self.config, sender, subject):
                    found.append(MailSummary(uid, message_id, subject, sender, int(item[b"RFC822.SIZE"])))
        cursor_after = ImapCursor(uidvalidity, uids[examined - 1] if examined else start - 1)
        more = examined < len(uids)
        return Poll(uidvalidity, tuple(found), cursor_after, rescanned, examined - len(found), more)

    def fetch(self, uid: int) -> bytes | None:
        """The whole message (``BODY.PEEK[]``: ``\\Seen`` is left alone), or ``None`` when the UID is gone."""
        data = self._in_mailbox(f"fetch UID {uid}", lambda c: c.fetch([uid], ["BODY.PEEK[]"]))
        item = data.get(uid)
        return None if item is None else bytes(item[b"BODY[]"])

    def fetch_many(
        self, uids: Sequence[int], *, chunk: int = 20, on_chunk: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """Whole messages, a chunk per command; a chunk cut off by a dropped connection is fetched again whole.

        Each message is yielded exactly once, in the order given; UIDs gone from the mailbox are skipped.
        ``on_chunk`` is called after each chunk with the number of messages yielded so far.
        """
        done = 0
        for i in range(0, len(uids), chunk):
            part = list(uids[i : i + chunk])
            data = self._in_mailbox("fetch messages", _fetcher(part, ["BODY.PEEK[]"]))
            for uid in part:
                if uid in data:
                    done += 1
                    yield uid, bytes(data[uid][b"BODY[]"])
            if on_chunk is not None:
                on_chunk(done)

    def locate(self, ref: MessageRef) -> int | None:
        """The UID of a message now: ``ref.uid`` while UIDVALIDITY holds, else found by its Message-ID.

        ``None`` when it is no longer in the mailbox (or only as a copy already processed).
        """

        def find(client: IMAPClient) -> int | None:
            status = self._select(client, self.config.mailbox)
            if int(status[b"UIDVALIDITY"]) == ref.uidvalidity:
                item = client.fetch([ref.uid], [_HEADER_FIELDS, "FLAGS"]).get(ref.uid)
                header_id = _header_text(item[_HEADER_KEY])[0] if item is not None else None
                # a message without Message-ID is known by the sha256 stand-in parse_email gives it
                if header_id == ref.message_id or (header_id == "" and ref.message_id.startswith("<sha256:")):
                    return None if _keywords(item[b"FLAGS"]) & _DONE else ref.uid
            for uid in sorted(client.search(["HEADER", "Message-ID", ref.message_id])):
                if not _keywords(client.get_flags([uid]).get(uid, ())) & _DONE:
                    return int(uid)
            return None

        return self._call(f"locate {ref.message_id}", find)

    # --- disposition -----------------------------------------------------------------------------------------

    def mark_processed(self, uid: int) -> Action:
        """After landing: move to the processed folder, or flag in place (``on_success``)."""
        if self.config.on_success == "flag":
            flags = [b"\\Seen", PROCESSED_KEYWORD.encode()]
            self._in_mailbox(f"flag UID {uid}", lambda c: c.add_flags([uid], flags))
            return "flagged"
        self._move(uid, self.config.processed_folder, PROCESSED_KEYWORD)
        return "processed"

    def quarantine(self, uid: int, reason: str) -> None:
        """Move a message that could not land to the quarantine folder and file a note saying why beside it."""
        data = self._in_mailbox(f"fetch headers of UID {uid}", lambda c: c.fetch([uid], [_HEADER_FIELDS]))
        message_id, subject, sender = _header_text(data[uid][_HEADER_KEY]) if uid in data else ("", "", "")
        self._move(uid, self.config.quarantine_folder, QUARANTINED_KEYWORD)
        self.append(quarantine_note(message_id, subject, sender, reason), self.config.quarantine_folder)

    def _move(self, uid: int, folder: str, keyword: str) -> None:
        """MOVE when the server has it, else COPY and keep the original flagged: never a delete or an expunge."""

        def move(client: IMAPClient) -> None:
            flags = client.get_flags([uid]).get(uid)
            if flags is None:  # gone already: a retry after the server moved it but the answer was lost
                return
            if client.has_capability("MOVE"):
                client.add_flags([uid], [keyword.encode()])  # flags travel with the message
                client.move([uid], folder)
            elif keyword not in _keywords(flags):  # the keyword says "copied": a retry must not copy twice
                client.copy([uid], folder)
                client.add_flags([uid], [b"\\Seen", keyword.encode()])

        self._in_mailbox(f"move UID {uid} to {folder}", move)


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(*_CLOSING):
        client.shutdown()


def _fetcher(uids: list[int], items: list[str]) -> Callable[[IMAPClient], dict[int, dict[bytes, Any]]]:
    return lambda client: client.fetch(uids, items)


def quarantine_note(message_id: str, subject: str, sender: str, reason: str) -> bytes:
    """The note filed next to a quarantined message: which message, and why it could not land."""
    note = EmailMessage()
    note["From"] = NOTE_SENDER
    note["Subject"] = f"[fmrp] quarantined: {subject}"[:200]
    note["Date"] = format_datetime(datetime.now().astimezone())
    if message_id:
        note["In-Reply-To"] = message_id
        note["References"] = message_id
        note["X-Fmrp-Quarantined"] = message_id
    note.set_content(
        f"The email {message_id or '(no Message-ID)'} from {sender or '(unknown sender)'}\n"
        f"subject: {subject}\n\n"
        f"was moved to this folder because it could not land:\n\n{reason}\n\n"
        "Nothing was deleted. A landing error is also in raw.batches.error. Send a corrected email (a newer one\n"
        "for the same business date supersedes) rather than moving this one back: the same file is recognised by\n"
        "its sha256 and not landed again.\n"
    )
    return note.as_bytes(policy=policy.SMTP)


def pending_emails(
    mailbox: ImapMailbox, cursor: ImapCursor | None, *, limit: int | None = None
) -> tuple[Poll, list[PendingEmail]]:
    """Poll after ``cursor`` and describe each new cash-closing email: business date and run key.

    The whole message is fetched (the run key needs the attachments' sha256) but not landed. With ``limit``, at
    most that many emails are fetched; the poll's cursor stops after the last of them.
    """
    poll = mailbox.poll(cursor, limit=limit)
    pending = []
    for uid, raw in mailbox.fetch_many([m.uid for m in poll.messages]):
        email = parse_email(raw, f"{mailbox.config.mailbox}/{uid}")
        ref = MessageRef(mailbox.config.mailbox, poll.uidvalidity, uid, email.message_id)
        pending.append(PendingEmail(ref, run_key(email), email.business_date, email.subject))
    return poll, pending


def sales_landed(conn: psycopg.Connection, day: date) -> bool:
    """Whether a cash-closing file for ``day`` has landed (active or superseded; rejected ones do not count)."""
    row = conn.execute(
        "select exists (select 1 from raw.batches where entity = 'sales' and business_date = %s"
        " and status in ('active', 'superseded'))",
        (day,),
    ).fetchone()
    return bool(row and row[0])


def email_expected(conn: psycopg.Connection, day: date) -> bool:
    """Whether a cash-closing email is due for ``day``: a working day of the factory calendar
    (``marts.factory_calendar`` once dbt has built it), else Monday to Friday."""
    if conn.execute("select to_regclass('marts.factory_calendar')").fetchone() != (None,):
        row = conn.execute(
            "select is_working_day from marts.factory_calendar where calendar_date = %s", (day,)
        ).fetchone()
        if row is not None:
            return bool(row[0])
    return day.weekday() < 5


def _failures(conn: psycopg.Connection, results: Sequence[LandingResult]) -> list[str]:
    """The errors of a message's landing: rejected now, or a redelivered copy of a file rejected before."""
    errors = [r.error or f"{r.file_name}: rejected" for r in results if r.status == "rejected"]
    earlier = [r.batch_id for r in results if r.status == "duplicate" and r.batch_id is not None]
    if earlier:
        rows = conn.execute(
            "select error from raw.batches where batch_id = any(%s) and status = 'rejected' order by batch_id",
            (earlier,),
        ).fetchall()
        errors += [f"{error} (rejected before)" for (error,) in rows]
    return errors


def land_message(
    mailbox: ImapMailbox,
    conn: psycopg.Connection,
    ref: MessageRef,
    *,
    source: str = "imap",
    reject_threshold_pct: float = DEFAULT_REJECT_THRESHOLD_PCT,
    passwords: Sequence[str] = (),
) -> Disposition:
    """Fetch one message, land its attachments into ``raw.sales``, then move it to processed or quarantine.

    Args:
        mailbox: the open mailbox.
        conn: an autocommit connection to the warehouse (``raw`` schema created).
        ref: the message, as the sensor saw it.
        source: the lineage source recorded on the batches and rows (``source_ref`` is the Message-ID).
        reject_threshold_pct: an attachment with more bad rows than this share is rejected whole (IN-8).
        passwords: tried on a password-protected workbook attachment.

    Returns:
        The landing results and what was done with the message: ``missing`` when it is no longer in the mailbox
        (processed by an earlier run, or moved by hand) — nothing is landed then.
    """
    uid = mailbox.locate(ref)
    raw = None if uid is None else mailbox.fetch(uid)
    if uid is None or raw is None:
        return Disposition(ref, "missing", reason=f"{ref.message_id} is no longer waiting in {ref.mailbox}")
    results = tuple(
        land_email(
            conn,
            raw,
            source=source,
            max_attachment_bytes=mailbox.config.max_attachment_bytes,
            reject_threshold_pct=reject_threshold_pct,
            passwords=passwords,
        )
    )
    errors = _failures(conn, results)
    if errors:
        reason = "\n".join(errors)
        mailbox.quarantine(uid, reason)
        return Disposition(ref, "quarantined", results, reason)
    return Disposition(ref, mailbox.mark_processed(uid), results)
