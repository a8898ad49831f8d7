"""The raw landing assets report quarantined rows and grades (metadata) and warn through no_rejected_rows."""

from pathlib import Path

import dagster as dg

from fmrp.settings import get_settings
from orchestration.defs.ingestion.assets import raw_erp_exports
from orchestration.defs.ingestion.resources import InboxResource
from orchestration.defs.warehouse.resources import WarehouseResource

HEADER = "Data;Código;Depósito;Saldo;Custo Médio\n"


def inventory(rows: int, bad: set[int]) -> str:
    lines = [f"03/01/2024;MP-{i};D01;{'7x' if i in bad else i};1,5" for i in range(1, rows + 1)]
    return HEADER + "\n".join(lines) + "\n"


def materialize(inbox: Path, url: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_erp_exports],
        partition_key="2024-01-03",
        selection=[dg.AssetKey(["raw", "inventory"])],
        resources={"inbox": InboxResource(path=str(inbox)), "warehouse": WarehouseResource(url=url)},
    )


def test_quarantined_rows_show_in_metadata_and_warn_and_an_over_threshold_file_fails_the_file_check(
    isolated_settings, tmp_path, monkeypatch
):
    url = isolated_settings["WAREHOUSE_URL"]
    erp = tmp_path / "inbox" / "erp"
    erp.mkdir(parents=True)
    (erp / "estoque_20240103.csv").write_text(inventory(40, {5}), encoding="utf-8")
    result = materialize(tmp_path / "inbox", url)
    [materialization] = result.asset_materializations_for_node("raw_erp_exports")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert (metadata["rows_landed"], metadata["rows_rejected"], metadata["files_rejected"]) == (39, 1, 0)
    assert metadata["quality_score_min"] < 100 and "estoque_20240103.csv" in metadata["quality_grades"]
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["no_rejected_files"].passed
    assert not checks["no_rejected_rows"].passed
    assert checks["no_rejected_rows"].severity == dg.AssetCheckSeverity.WARN
    assert "estoque_20240103.csv: 1 row(s)" in checks["no_rejected_rows"].metadata["files"].value

    monkeypatch.setenv("FMRP_REJECT_THRESHOLD_PCT", "1")  # the same share of bad rows is now too many
    get_settings.cache_clear()
    (erp / "estoque_20240103.csv").write_text(inventory(40, {6}), encoding="utf-8")
    result = materialize(tmp_path / "inbox", url)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["no_rejected_files"].passed and checks["no_rejected_rows"].passed
    assert "over the reject threshold of 1%" in checks["no_rejected_files"].metadata["errors"].value
