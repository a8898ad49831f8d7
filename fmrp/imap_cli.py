"""`fmrp imap`: look into the cash-closing mailbox as cash_closing_email_sensor does, and deliver .eml files to it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fmrp.settings import get_settings
from ingestion.imap import ImapConfig, ImapError, ImapMailbox, pending_emails

imap_app = typer.Typer(help="The cash-closing mailbox (FMRP_IMAP_*).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _config() -> ImapConfig:
    try:
        config = get_settings().imap_config()
    except ImapError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
    if config is None:
        err_console.print("[red]FMRP_IMAP_HOST is not set: configure the mailbox first (see .env.example)[/red]")
        raise typer.Exit(2)
    return config


@imap_app.command("check")
def check() -> None:
    """Log in, create the processed and quarantine folders if missing, and list the cash-closing emails waiting
    (business date and run key, as the sensor would request them). Nothing is landed, moved or marked read."""
    config = _config()
    try:
        with ImapMailbox(config) as mailbox:
            mailbox.ensure_folders()
            poll, pending = pending_emails(mailbox, None)
    except ImapError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    table = Table(title=f"{config.describe()} (UIDVALIDITY {poll.uidvalidity})")
    for column in ("UID", "business date", "subject", "run key"):
        table.add_column(column)
    for email in pending:
        table.add_row(str(email.ref.uid), str(email.business_date or "-"), email.subject, email.run_key)
    console.print(table)
    console.print(
        f"{len(pending)} cash-closing email(s) waiting; {poll.ignored} other message(s) left alone; "
        f"landed emails go to {config.processed_folder!r} ({config.on_success}), failing ones to "
        f"{config.quarantine_folder!r}"
    )


@imap_app.command("append")
def append(files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help=".eml files")) -> None:  # noqa: B008
    """Deliver .eml files into the mailbox (IMAP APPEND): to try the sensor on a test mailbox, or to hand an
    archived email back to the pipeline."""
    config = _config()
    try:
        with ImapMailbox(config) as mailbox:
            for path in files:
                mailbox.append(path.read_bytes())
                console.print(f"appended {path.name} to {config.describe()}")
    except ImapError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
