from datetime import UTC, date, datetime

import polars as pl
import pytest

from ingestion.grading import grade, letter_of, timeliness
from ingestion.readers import map_columns, read_table
from ingestion.schema import ENTITIES
from ingestion.validation import validate_rows

SALES_HEADER = "Data;Código;Descrição;Quantidade;Preço Unitário;Valor Total\n"
RECEIVED = datetime(2024, 1, 4, 10, 0, tzinfo=UTC)


def validated(rows: str, entity: str = "sales", header: str = SALES_HEADER, received_at=RECEIVED):
    spec = ENTITIES[entity]
    table = map_columns(read_table((header + rows).encode("cp1252"), "f.csv"), spec, "f.csv")
    return validate_rows(table, spec, received_at)


def test_good_rows_keep_their_file_row_numbers_and_bad_ones_carry_row_field_value_and_reason():
    result = validated("03/01/2024;A;x;1;2;2\n03/01/2024;B;x;12,5x;1;1\n03/01/2024;C;x;3;1;3\n")
    assert result.good["_row_number"].to_list() == [1, 3]
    assert result.good["sku"].to_list() == ["A", "C"]
    assert result.problems.rows() == [(2, "quantity", "Quantidade", "12,5x", "is not a number")]
    assert result.bad_rows == 1 and result.bad_share_pct == pytest.approx(100 / 3)
    [(row, raw)] = result.raw_rows.rows()
    assert row == 2 and '"quantity":"12,5x"' in raw and '"sku":"B"' in raw


def test_a_date_after_the_day_received_is_bad_but_the_same_day_is_not():
    result = validated("04/01/2024;A;x;1;2;2\n05/01/2024;B;x;1;2;2\n")
    assert result.good["sku"].to_list() == ["A"]
    [(row, field, _, value, reason)] = result.problems.rows()
    assert (row, field, value) == (2, "sale_date", "05/01/2024")
    assert reason == "is in the future (the file was received on 04/01/2024)"


def test_due_dates_may_lie_ahead():
    header = "Pedido;Item;Cliente;Código;Quantidade;Data Pedido;Data Entrega\n"
    result = validated("P1;1;C;A;5;02/01/2024;30/06/2024\n", "customer_orders", header)
    assert result.bad_rows == 0


def test_an_exact_copy_is_quarantined_and_the_first_one_lands():
    result = validated("03/01/2024;A;x;1;2;2\n03/01/2024;B;x;1;2;2\n03/01/2024;A;x;1;2;2\n03/01/2024;A;x;2;2;4\n")
    assert result.good["_row_number"].to_list() == [1, 2, 4]
    assert result.problems.rows() == [(3, None, None, None, "is an exact copy of row 1")]
    assert (result.bad_rows, result.duplicate_rows, result.invalid_rows, result.bad_share_pct) == (1, 1, 0, 0.0)


def test_negative_quantity_lands_because_the_report_has_no_return_flag():
    result = validated("03/01/2024;A;x;-2;2;-4\n")
    assert result.bad_rows == 0 and result.good["quantity"].to_list() == [-2.0]


def test_ranges_of_master_data():
    header = "Centro de Trabalho;Turno;Dia da Semana;Início;Fim\n"
    result = validated("CT1;T1;1;06:00;14:00\nCT1;T1;8;06:00;14:00\n", "shifts", header)
    assert result.problems.rows() == [(2, "weekday", "Dia da Semana", "8", "is out of range (1 to 7)")]
    header = "Código Pai;Código Componente;Quantidade;Perda %;Válido De;Válido Até\n"
    result = validated("A;B;-1;2,0;;\n", "bom", header)
    assert result.problems["reason"].to_list() == ["is below the minimum 0"]


def test_a_row_with_several_problems_counts_once():
    result = validated("09/01/2024;;x;abc;-1;1\n03/01/2024;A;x;1;1;1\n")
    assert sorted(result.problems["field"].to_list()) == ["quantity", "sale_date", "sku", "unit_price"]
    assert result.bad_rows == 1 and not result.too_many_bad_rows(50.0) and result.too_many_bad_rows(49.9)


def test_threshold_is_more_than_n_percent():
    rows = "".join(f"03/01/2024;S{i};x;1;1;1\n" for i in range(19)) + "03/01/2024;BAD;x;?;1;1\n"
    result = validated(rows)
    assert result.bad_share_pct == pytest.approx(5.0)
    assert not result.too_many_bad_rows(5.0) and result.too_many_bad_rows(4.9)


def test_timeliness_full_on_the_day_and_the_next_then_decays():
    day = date(2024, 1, 3)
    at = lambda d: datetime(2024, 1, d, 9, tzinfo=UTC)  # noqa: E731
    assert [timeliness(at(d), day) for d in (3, 4)] == [1.0, 1.0]
    assert timeliness(at(5), day) == pytest.approx(6 / 7)
    assert timeliness(at(11), day) == 0.0 and timeliness(at(30), day) == 0.0
    assert timeliness(at(5), None) == 1.0


def test_grade_combines_completeness_validity_and_timeliness():
    landed = pl.DataFrame({"a": [1, 2, 3, 4], "b": [1, None, None, None]})
    on_time = grade(landed, ["a", "b"], 4, datetime(2024, 1, 4, tzinfo=UTC), date(2024, 1, 3))
    assert (on_time.completeness, on_time.validity, on_time.timeliness) == (0.625, 1.0, 1.0)
    assert on_time.score == pytest.approx(88.75, abs=0.05) and on_time.letter == "B"
    late_and_bad = grade(landed, ["a", "b"], 8, datetime(2024, 1, 20, tzinfo=UTC), date(2024, 1, 3))
    assert late_and_bad.score == pytest.approx(43.75, abs=0.05) and late_and_bad.letter == "D"
    perfect = grade(pl.DataFrame({"a": [1]}), ["a"], 1, datetime(2024, 1, 3, tzinfo=UTC), date(2024, 1, 3))
    assert (perfect.score, perfect.letter) == (100.0, "A")
    assert [letter_of(s) for s in (90, 89.9, 75, 60, 59.9)] == ["A", "B", "B", "C", "D"]
