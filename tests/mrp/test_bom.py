"""BOM (PL-3): low-level codes, cycles named in the error, validity dates, the scrap factor."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.bom import (
    BomCycleError,
    InvalidBomLineError,
    UnknownBomItemError,
    edge_validity,
    explosion_factor,
    index_bom,
    low_level_codes,
    normalize_bom,
)


def edges(*lines: tuple[str, str] | tuple[str, str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "parent_sku": [line[0] for line in lines],
            "component_sku": [line[1] for line in lines],
            "qty_per": [float(line[2]) if len(line) > 2 else 1.0 for line in lines],
        },
        schema={"parent_sku": pl.String, "component_sku": pl.String, "qty_per": pl.Float64},
    )


def codes(items: list[str], bom: pl.DataFrame) -> dict[str, int]:
    return dict(low_level_codes(items, bom).iter_rows())


def test_low_level_code_is_the_deepest_level_an_item_appears_on():
    # BOLT goes directly into the bike (level 1) and into the frame's sub-assembly (level 3): its code is 3.
    bom = edges(("BIKE", "FRAME"), ("BIKE", "BOLT"), ("FRAME", "TUBE"), ("TUBE", "BOLT"), ("BIKE", "WHEEL"))
    assert codes(["BIKE", "FRAME", "TUBE", "BOLT", "WHEEL", "SPARE"], bom) == {
        "BIKE": 0,
        "FRAME": 1,
        "WHEEL": 1,
        "TUBE": 2,
        "BOLT": 3,
        "SPARE": 0,
    }


def test_an_item_sold_and_used_as_a_component_is_planned_at_its_component_level():
    assert codes(["KIT", "PART"], edges(("KIT", "PART"))) == {"KIT": 0, "PART": 1}


def test_a_cycle_is_an_error_naming_its_items_in_bom_order():
    bom = edges(("TOP", "A"), ("A", "B"), ("B", "C"), ("C", "A"), ("C", "LEAF"))
    with pytest.raises(BomCycleError) as caught:
        low_level_codes(["TOP", "A", "B", "C", "LEAF"], bom)
    assert caught.value.cycle == ("A", "B", "C", "A")
    assert "A -> B -> C -> A" in str(caught.value)


def test_an_item_that_is_its_own_component_is_a_cycle():
    with pytest.raises(BomCycleError, match="X -> X"):
        low_level_codes(["X"], edges(("X", "X")))


def test_a_line_naming_an_unknown_item_is_an_error_naming_it():
    with pytest.raises(UnknownBomItemError, match="GHOST"):
        low_level_codes(["A"], edges(("A", "GHOST")))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("qty_per", 0.0, "qty_per must be > 0"), ("scrap_rate", 1.0, r"scrap_rate must be in \[0, 1\)")],
)
def test_bad_lines_are_refused_with_the_line_named(column, value, message):
    bom = edges(("A", "B"), ("A", "C")).with_columns(scrap_rate=pl.lit(0.0))
    bom = bom.with_columns(pl.when(pl.col("component_sku") == "C").then(value).otherwise(pl.col(column)).alias(column))
    with pytest.raises(InvalidBomLineError, match=f"line 1 \\(A -> C\\): {message}"):
        normalize_bom(bom)


def test_scrap_factor_of_the_issue():
    # Issue 5: 0.15 per parent with 2 % scrap, 1000 parents -> 153.06.
    assert round(1000 * explosion_factor(0.15, 0.02), 2) == 153.06


def test_validity_is_inclusive_on_both_ends_and_null_is_open():
    mondays = [dt.date(2025, 3, 24), dt.date(2025, 3, 31), dt.date(2025, 4, 7)]
    bom = pl.DataFrame(
        {
            "valid_from": [None, dt.date(2025, 3, 31), dt.date(2025, 4, 1)],
            "valid_to": [dt.date(2025, 3, 31), None, None],
        },
        schema={"valid_from": pl.Date, "valid_to": pl.Date},
    )
    assert edge_validity(bom, mondays).tolist() == [
        [True, True, False],  # valid_to 31/03 still applies on that day
        [False, True, True],  # valid_from 31/03 applies from that day
        [False, False, True],  # the week of 31/03 starts before 01/04: the bucket's first day decides
    ]


def test_index_bom_gives_positions_factors_and_validity():
    bom = edges(("A", "B", 2.0)).with_columns(scrap_rate=pl.lit(0.2))
    indexed = index_bom(["A", "B"], bom, [dt.date(2026, 1, 5)])
    assert indexed.parent.tolist() == [0]
    assert indexed.component.tolist() == [1]
    assert indexed.factor.tolist() == pytest.approx([2.5])
    assert indexed.valid.tolist() == [[True]]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """A random DAG: edges only from a lower to a higher index of a hidden topological order."""
    n = draw(st.integers(1, 12))
    names = [f"I{k:02d}" for k in draw(st.permutations(range(n)))]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=25)) if pairs else []
    return names, [(names[i], names[j]) for i, j in chosen]


@settings(max_examples=80, deadline=None)
@given(dags())
def test_low_level_codes_are_longest_path_depths(dag):
    names, lines = dag
    result = codes(names, edges(*lines))
    parents: dict[str, list[str]] = {name: [] for name in names}
    for parent, component in lines:
        parents[component].append(parent)
        assert result[component] > result[parent]
    for name in names:
        expected = max((result[p] + 1 for p in parents[name]), default=0)
        assert result[name] == expected


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_a_back_edge_makes_a_cycle_whose_steps_are_bom_lines(dag, data):
    names, lines = dag
    if not lines:
        return
    parent, component = data.draw(st.sampled_from(lines))
    # A path parent -> ... -> component exists (the edge itself), so component -> parent closes a cycle.
    closed = [*lines, (component, parent)]
    with pytest.raises(BomCycleError) as caught:
        low_level_codes(names, edges(*closed))
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1] and len(cycle) >= 3
    assert all(step in set(closed) for step in itertools.pairwise(cycle))


def test_codes_do_not_depend_on_row_order():
    rng = np.random.default_rng(7)
    bom = edges(("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E"), ("A", "E"))
    shuffled = bom.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))
    assert codes(list("EDCBA"), shuffled) == codes(list("ABCDE"), bom)
