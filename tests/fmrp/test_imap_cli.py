"""`fmrp imap check|append` against a real dovecot, and the FMRP_IMAP_* settings behind them."""

from datetime import date

import pytest
from typer.testing import CliRunner

from fmrp.cli import app
from fmrp.settings import Settings, get_settings
from tests.factories import cash_closing
from tests.peers.imap import running_dovecot


@pytest.fixture
def mailbox_env(monkeypatch):
    with running_dovecot() as server:
        env = {
            "FMRP_IMAP_HOST": "127.0.0.1",
            "FMRP_IMAP_PORT": str(server.port),
            "FMRP_IMAP_SECURITY": "none",
            "FMRP_IMAP_USER": server.user,
            "FMRP_IMAP_PASSWORD": server.password,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def test_settings_give_the_connector_its_configuration(monkeypatch):
    monkeypatch.setenv("FMRP_IMAP_HOST", "imap.example.com.br")
    monkeypatch.setenv("FMRP_IMAP_USER", "fechamento")
    monkeypatch.setenv("FMRP_IMAP_PASSWORD", "s3cret")
    monkeypatch.setenv("FMRP_IMAP_SENDERS", "financeiro@example.com.br, @contabil.example.com.br")
    monkeypatch.setenv("FMRP_IMAP_MAX_ATTACHMENT_MB", "10")
    config = Settings(_env_file=None).imap_config()
    assert config is not None
    assert (config.effective_port, config.security, config.mailbox) == (993, "tls", "INBOX")
    assert config.senders == ("financeiro@example.com.br", "@contabil.example.com.br")
    assert config.subjects == ("Fechamento", "Relatório diário")
    assert config.max_attachment_bytes == 10_000_000
    assert "s3cret" not in repr(config) and "s3cret" not in config.describe()
    monkeypatch.delenv("FMRP_IMAP_HOST")
    assert Settings(_env_file=None).imap_config() is None


def test_append_then_check_lists_the_waiting_email_and_changes_nothing(mailbox_env, tmp_path):
    eml = tmp_path / "fechamento.eml"
    eml.write_bytes(
        cash_closing(
            date(2024, 1, 3), "03/01/2024;PA-1;x;2;5;10\n", message_id="<c@fin>", sent="4 Jan 2024 07:00 -0300"
        )
    )
    runner = CliRunner()
    appended = runner.invoke(app, ["imap", "append", str(eml)])
    assert appended.exit_code == 0, appended.output
    checked = runner.invoke(app, ["imap", "check"], env={"COLUMNS": "200"})
    assert checked.exit_code == 0, checked.output
    assert "2024-01-03" in checked.output and "imap:c@fin:" in checked.output
    assert "1 cash-closing email(s) waiting" in checked.output
    [(message_id, flags)] = mailbox_env.messages("INBOX")
    assert message_id == "<c@fin>" and "\\Seen" not in flags
    assert mailbox_env.message_ids("Processed") == [] and mailbox_env.message_ids("Quarantine") == []


def test_check_without_a_host_or_with_a_wrong_password_says_why(mailbox_env, monkeypatch):
    monkeypatch.setenv("FMRP_IMAP_PASSWORD", "wrong")
    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["imap", "check"])
    assert refused.exit_code == 1 and "refused the login" in refused.output
    monkeypatch.delenv("FMRP_IMAP_HOST")
    get_settings.cache_clear()
    unset = CliRunner().invoke(app, ["imap", "check"])
    assert unset.exit_code == 2 and "FMRP_IMAP_HOST is not set" in unset.output
