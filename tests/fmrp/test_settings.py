from pathlib import Path

from fmrp.settings import Settings, project_root


def test_defaults_are_local_and_embedded(monkeypatch):
    for name in ("WAREHOUSE_URL", "FMRP_WAREHOUSE_URL", "FMRP_DATA_DIR", "FMRP_INBOX_DIR", "FMRP_HORIZON"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.is_embedded
    assert settings.data_dir == project_root() / ".data"
    assert settings.postgres_dir == project_root() / ".data" / "postgres"
    assert settings.inbox == project_root() / ".data" / "inbox"
    assert (settings.frequency, settings.horizon, settings.firm_horizon) == ("week", 13, 2)
    assert settings.service_levels() == {"A": 0.97, "B": 0.93, "C": 0.85}
    assert settings.currency == "BRL"


def test_environment_overrides(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://u:secret@db.example:5432/wh")
    monkeypatch.setenv("FMRP_INBOX_DIR", str(tmp_path))
    monkeypatch.setenv("FMRP_HORIZON", "52")
    monkeypatch.setenv("FMRP_SERVICE_LEVEL_A", "0.99")
    monkeypatch.setenv("FMRP_XLSX_PASSWORDS", '["s3nha", "com, vírgula"]')
    settings = Settings(_env_file=None)
    assert not settings.is_embedded
    assert settings.inbox == tmp_path
    assert settings.horizon == 52
    assert settings.service_levels()["A"] == 0.99
    assert settings.workbook_passwords() == ("s3nha", "com, vírgula")
    assert "s3nha" not in repr(settings)


def test_dotenv_file_is_read(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("FMRP_HORIZON", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("FMRP_HORIZON=26\nFMRP_DATA_DIR=relative/state\n")
    settings = Settings(_env_file=env_file)
    assert settings.horizon == 26
    assert settings.data_dir == project_root() / "relative" / "state"
