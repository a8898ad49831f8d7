"""Lot sizing (PL-4) and order modifiers: published textbook cases, the semantics we chose, and properties.

Periods are 0-based in the API; the textbooks count from 1, so "period 3" in a comment is index 2.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.lotsizing import (
    METHODS,
    InvalidDemandError,
    InvalidParameterError,
    LengthMismatchError,
    LotSizingError,
    UnknownMethodError,
    economic_order_quantity,
    lot_size,
    wagner_whitin_batch,
)
from mrp.modifiers import InvalidModifierError, OrderModifiers

# Rules whose every order covers whole periods of net requirements (when no modifier is set).
COVERAGE_RULES = [method for method in METHODS if method not in ("fixed_order_quantity", "eoq")]


def run(method: str, demand, setup_cost, holding_cost, **params):
    """lot_size with the parameter a method cannot run without (FOQ's quantity) filled in."""
    if method == "fixed_order_quantity" and "quantity" not in params:
        params["quantity"] = max(1.0, sum(demand) / len(demand)) if len(demand) else 1.0
    return lot_size(demand, method, setup_cost=setup_cost, holding_cost=holding_cost, **params)


# --- The worked examples of issue 5 ------------------------------------------------------------------------


def test_issue_wagner_whitin_orders_110_in_period_1_and_160_in_period_3_for_330():
    plan = lot_size([50, 60, 90, 70], "wagner_whitin", setup_cost=100, holding_cost=1)
    assert plan.quantities.tolist() == [110, 0, 160, 0]
    assert plan.orders == [(0, 110), (2, 160)]
    assert plan.inventory.tolist() == [60, 0, 70, 0]
    assert (plan.setup_cost_total, plan.holding_cost_total, plan.total_cost) == (200, 130, 330)


def test_issue_lot_for_lot_costs_400():
    plan = lot_size([50, 60, 90, 70], "lot_for_lot", setup_cost=100, holding_cost=1)
    assert plan.quantities.tolist() == [50, 60, 90, 70]
    assert plan.total_cost == 400


def test_issue_silver_meal_orders_90_then_60():
    # C(1) = 100, C(2) = (100 + 40) / 2 = 70, C(3) = (140 + 2 * 60) / 3 = 86.7 > 70: stop, order 50 + 40.
    plan = lot_size([50, 40, 60], "silver_meal", setup_cost=100, holding_cost=1)
    assert plan.quantities.tolist() == [90, 0, 60]
    assert plan.total_cost == 240


def test_issue_eoq_of_5200_per_year_setup_50_holding_2_5():
    assert economic_order_quantity(5200, 50, 2.5) == pytest.approx(456.0702, abs=5e-5)


# --- Published textbook examples ---------------------------------------------------------------------------

# Wagner, H. M. & Whitin, T. M. (1958). Dynamic version of the economic lot size model. Management Science
# 5(1), 89-96: the paper's 12-month numerical example, with a setup cost that differs by month and a holding
# cost of 1 per unit per month. Published optimum: 864.
WW1958_DEMAND = [69, 29, 36, 61, 61, 26, 34, 67, 45, 67, 79, 56]
WW1958_SETUP = [85, 102, 102, 101, 98, 114, 105, 86, 119, 110, 98, 114]

# Silver, E. A., Pyke, D. F. & Peterson, R. (1998). Inventory Management and Production Planning and
# Scheduling, 3rd ed., Wiley, ch. 6 numerical illustration: A = $54 per setup, v = $20 per unit and
# r = 0.02 $/$/month, i.e. h = $0.40 per unit per month. Published Wagner-Whitin optimum: $501.20.
SPP_DEMAND = [10, 62, 12, 130, 154, 129, 88, 52, 124, 160, 238, 41]

# Nahmias, S. Production and Operations Analysis, ch. 7, Example 7.5 (machine shop, computer casings,
# r = 18, 30, 42, 5, 20): K = $80, h = $2 per unit per week. Published answers, as reproduced in course
# material: Silver-Meal y = (48, 0, 47, 0, 20); part-period balancing y = (48, 0, 67, 0, 0), setup and
# holding cost $310.
NAHMIAS_DEMAND = [18, 30, 42, 5, 20]


def test_wagner_whitin_1958_example_costs_the_published_864():
    plan = lot_size(WW1958_DEMAND, "wagner_whitin", setup_cost=WW1958_SETUP, holding_cost=1)
    assert plan.total_cost == pytest.approx(864)
    # The schedule is derived, not quoted: it is the only plan costing 864 (all 2^11 plans enumerated).
    assert plan.orders == [(0, 98), (2, 97), (4, 121), (7, 112), (9, 67), (10, 135)]


def test_silver_pyke_peterson_example_wagner_whitin_costs_the_published_501_20():
    plan = lot_size(SPP_DEMAND, "wagner_whitin", setup_cost=54, holding_cost=0.4)
    assert plan.total_cost == pytest.approx(501.20)


def test_silver_pyke_peterson_example_silver_meal_derived_by_hand():
    # Derived by hand (not quoted). From month 1: C = 54, 39.4, 29.47, then 61.1 -> cover 1-3 (84).
    # Month 4: 54, then 57.8 -> 130. Month 5: 54, 52.8, then 58.67 -> 154 + 129. Month 7: 54, 37.4, then 58
    # -> 88 + 52. Month 9: 54, then 59 -> 124. Month 10: 54, then 74.6 -> 160. Month 11: 54, 35.2 -> 238 + 41.
    # 7 setups (378) + holding 0.4 * (62 + 2*12 + 129 + 52 + 41) = 123.2: 501.20, the optimum here.
    plan = lot_size(SPP_DEMAND, "silver_meal", setup_cost=54, holding_cost=0.4)
    assert plan.quantities.tolist() == [84, 0, 0, 130, 283, 0, 140, 0, 124, 160, 279, 0]
    assert plan.total_cost == pytest.approx(501.20)


def test_silver_pyke_peterson_example_lot_for_lot_is_one_setup_per_month():
    plan = lot_size(SPP_DEMAND, "lot_for_lot", setup_cost=54, holding_cost=0.4)
    assert plan.total_cost == pytest.approx(12 * 54)


def test_nahmias_example_silver_meal_gives_the_published_48_47_20():
    plan = lot_size(NAHMIAS_DEMAND, "silver_meal", setup_cost=80, holding_cost=2)
    assert plan.quantities.tolist() == [48, 0, 47, 0, 20]
    assert plan.total_cost == pytest.approx(310)  # 3 * 80 + 2 * 30 + 2 * 5


def test_nahmias_example_part_period_balancing_gives_the_published_48_67_for_310():
    # From week 1: holding 60 then 228 -> 60 is closer to K = 80. From week 3: 10 then 90 -> 90 is closer.
    plan = lot_size(NAHMIAS_DEMAND, "part_period_balancing", setup_cost=80, holding_cost=2)
    assert plan.quantities.tolist() == [48, 0, 67, 0, 0]
    assert plan.total_cost == pytest.approx(310)


def test_nahmias_example_least_unit_cost_derived_by_hand():
    # Derived by hand with the textbook procedure (not quoted). From week 1: 80/18 = 4.44, 140/48 = 2.92,
    # 308/90 = 3.42 -> 48. From week 3: 80/42 = 1.905, 90/47 = 1.915 -> 42. From week 4: 80/5 = 16,
    # 120/25 = 4.8 -> 25. Cost 3 * 80 + 2 * 30 + 2 * 20 = 340.
    plan = lot_size(NAHMIAS_DEMAND, "least_unit_cost", setup_cost=80, holding_cost=2)
    assert plan.quantities.tolist() == [48, 0, 42, 25, 0]
    assert plan.total_cost == pytest.approx(340)


def test_nahmias_example_optimum_is_310():
    # Derived: both (48, 0, 67, 0, 0) and (48, 0, 47, 0, 20) cost 310 and no plan costs less.
    plan = lot_size(NAHMIAS_DEMAND, "wagner_whitin", setup_cost=80, holding_cost=2)
    assert plan.total_cost == pytest.approx(310)


# --- EOQ, FOQ and POQ (hand-derived) -----------------------------------------------------------------------


def test_periodic_order_quantity_rounds_eoq_over_mean_demand():
    # Mean 67.5, EOQ = sqrt(2 * 67.5 * 100 / 1) = 116.2, 116.2 / 67.5 = 1.72 -> every 2 periods.
    plan = lot_size([50, 60, 90, 70], "periodic_order_quantity", setup_cost=100, holding_cost=1)
    assert plan.quantities.tolist() == [110, 0, 160, 0]


def test_periodic_order_quantity_on_the_silver_pyke_peterson_data():
    # Mean 100, EOQ = sqrt(2 * 100 * 54 / 0.4) = 164.3 -> P = 2; 6 setups + 0.4 * 574 held = 553.60.
    plan = lot_size(SPP_DEMAND, "poq", setup_cost=54, holding_cost=0.4)
    assert plan.quantities.tolist() == [72, 0, 142, 0, 283, 0, 140, 0, 284, 0, 279, 0]
    assert plan.total_cost == pytest.approx(553.60)


def test_periodic_order_quantity_with_explicit_periods_counts_calendar_periods():
    plan = lot_size([10, 0, 10, 10, 10, 10, 10], "periodic_order_quantity", setup_cost=1, holding_cost=1, periods=3)
    assert plan.quantities.tolist() == [20, 0, 0, 30, 0, 0, 10]


def test_fixed_order_quantity_orders_the_lot_whenever_stock_would_go_negative():
    plan = lot_size([50, 60, 90, 70], "fixed_order_quantity", setup_cost=100, holding_cost=1, quantity=100)
    assert plan.quantities.tolist() == [100, 100, 0, 100]
    assert plan.inventory.tolist() == [50, 90, 0, 30]
    assert plan.total_cost == 300 + 170


def test_fixed_order_quantity_orders_the_requirement_when_it_exceeds_the_lot():
    plan = lot_size([30, 250, 10], "fixed_order_quantity", setup_cost=1, holding_cost=1, quantity=100)
    assert plan.quantities.tolist() == [100, 180, 100]
    assert plan.inventory.tolist() == [70, 0, 90]


def test_eoq_uses_the_mean_demand_unless_a_rate_is_given():
    demand = [50, 60, 90, 70]
    by_mean = lot_size(demand, "eoq", setup_cost=100, holding_cost=1)
    assert by_mean.orders[0][1] == pytest.approx(math.sqrt(2 * 67.5 * 100))
    # sqrt(2 * 50 * 100 / 1) = 100: the same plan as a fixed order quantity of 100.
    foq = lot_size(demand, "fixed_order_quantity", setup_cost=100, holding_cost=1, quantity=100)
    per_period = lot_size(demand, "eoq", setup_cost=100, holding_cost=1, demand_rate=50)
    per_year = lot_size(demand, "eoq", setup_cost=100, holding_cost=1, annual_demand=2600, periods_per_year=52)
    assert per_period.quantities.tolist() == pytest.approx(foq.quantities.tolist())
    assert per_year.quantities.tolist() == pytest.approx(foq.quantities.tolist())


def test_free_holding_makes_eoq_and_poq_cover_the_rest_of_the_horizon():
    for method in ("eoq", "periodic_order_quantity"):
        plan = lot_size([5, 0, 7, 3], method, setup_cost=10, holding_cost=0)
        assert plan.quantities.tolist() == [15, 0, 0, 0], method


# --- Semantics: start inventory, per-period costs, carried stock, modifiers --------------------------------


def test_start_inventory_is_consumed_first_and_its_holding_counted():
    demand = [50, 60, 90, 70]
    plan = lot_size(demand, "lot_for_lot", setup_cost=100, holding_cost=1, initial_inventory=70)
    assert plan.quantities.tolist() == [0, 40, 90, 70]
    assert plan.inventory.tolist() == [20, 0, 0, 0]
    assert plan.total_cost == 300 + 20
    # Net 0, 40, 90, 70; derived by hand, the optimum orders 40, then 90 + 70: 200 setup + (20 + 70) held.
    optimum = lot_size(demand, "wagner_whitin", setup_cost=100, holding_cost=1, initial_inventory=70)
    assert optimum.orders == [(1, 40), (2, 160)]
    assert optimum.total_cost == 200 + 20 + 70


def test_wagner_whitin_orders_in_an_empty_period_whose_setup_is_cheap():
    plan = lot_size([5, 0, 5], "wagner_whitin", setup_cost=[100, 1, 1000], holding_cost=1)
    assert plan.orders == [(0, 5), (1, 5)]
    assert plan.total_cost == 100 + 1 + 5


def test_holding_cost_of_each_period_is_honoured():
    # One order for both periods holds 10 units at the end of period 0 only: h of period 0 decides.
    cheap = lot_size([10, 10], "wagner_whitin", setup_cost=15, holding_cost=[1, 99])
    dear = lot_size([10, 10], "wagner_whitin", setup_cost=15, holding_cost=[2, 0])
    assert cheap.quantities.tolist() == [20, 0]
    assert cheap.total_cost == 15 + 10
    assert dear.quantities.tolist() == [10, 10]
    assert dear.total_cost == 30


def test_moq_surplus_is_carried_forward_so_later_orders_vanish():
    plan = lot_size([30] * 5, "lot_for_lot", setup_cost=10, holding_cost=1, moq=100)
    assert plan.orders == [(0, 100), (3, 100)]
    assert plan.inventory.tolist() == [70, 40, 10, 80, 50]


def test_multiple_rounds_up_and_the_extra_shrinks_the_next_order():
    plan = lot_size([30, 10, 0, 40], "lot_for_lot", setup_cost=10, holding_cost=1, multiple=25)
    assert plan.orders == [(0, 50), (3, 50)]
    assert plan.inventory.tolist() == [20, 10, 10, 20]


def test_wagner_whitin_with_a_multiple_reapplies_the_rule_where_stock_runs_out():
    plan = lot_size([50, 60, 90, 70], "wagner_whitin", setup_cost=100, holding_cost=1, multiple=50)
    # 110 -> 150 leaves 40 for period 2; from there the optimum covers 2-3: 50 + 70 = 120 -> 150.
    assert plan.orders == [(0, 150), (2, 150)]
    assert plan.inventory.tolist() == [100, 40, 100, 30]


def test_max_lot_splits_into_several_orders_each_paying_a_setup():
    plan = lot_size([250], "lot_for_lot", setup_cost=10, holding_cost=1, max_lot=100)
    assert plan.orders == [(0, 100), (0, 100), (0, 50)]
    assert plan.quantities.tolist() == [250]
    assert plan.setup_cost_total == 30


def test_max_lot_remainder_is_raised_to_the_minimum_lot():
    plan = lot_size([250], "lot_for_lot", setup_cost=10, holding_cost=1, max_lot=100, min_lot=80, multiple=10)
    assert plan.orders == [(0, 100), (0, 100), (0, 80)]
    assert plan.inventory.tolist() == [30]


def test_max_lot_is_rounded_down_to_the_multiple():
    assert OrderModifiers(multiple=30, max_lot=100).apply(250) == (90.0, 90.0, 90.0)


def test_modifiers_leave_zero_alone_and_raise_small_quantities():
    modifiers = OrderModifiers(min_lot=20, moq=40, multiple=15)
    assert modifiers.apply(0) == ()
    assert modifiers.apply(1) == (45.0,)
    assert modifiers.apply(45) == (45.0,)
    assert modifiers.apply(46) == (60.0,)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_lot": 120, "max_lot": 100},
        {"moq": 105, "multiple": 50, "max_lot": 120},
        {"multiple": 30, "max_lot": 20},
        {"multiple": 0},
        {"min_lot": -1},
        {"max_lot": math.inf},
    ],
)
def test_contradictory_or_out_of_range_modifiers_are_refused(kwargs):
    with pytest.raises(InvalidModifierError):
        OrderModifiers(**kwargs)
    with pytest.raises(InvalidParameterError):
        lot_size([10], "lot_for_lot", setup_cost=1, holding_cost=1, **kwargs)


def test_demand_may_be_a_list_tuple_numpy_array_or_polars_series():
    expected = [110, 0, 160, 0]
    for demand in ([50, 60, 90, 70], (50, 60, 90, 70), np.array([50, 60, 90, 70]), pl.Series([50, 60, 90, 70])):
        assert lot_size(demand, "ww", setup_cost=100, holding_cost=1).quantities.tolist() == expected


def test_method_names_are_forgiving_about_case_separators_and_short_forms():
    for name in ("Wagner-Whitin", " WW ", "wagner whitin"):
        assert lot_size([1], name, setup_cost=1, holding_cost=1).method == "wagner_whitin"


def test_empty_and_all_zero_horizons_need_no_orders():
    for demand in ([], [0, 0, 0]):
        for method in METHODS:
            plan = run(method, demand, 10, 1)
            assert plan.orders == []
            assert plan.total_cost == 0


def test_the_plan_arrays_are_read_only():
    plan = lot_size([5, 5], "lot_for_lot", setup_cost=1, holding_cost=1)
    with pytest.raises(ValueError):
        plan.quantities[0] = 1


# --- Errors ------------------------------------------------------------------------------------------------


def test_negative_demand_is_refused_naming_the_period():
    with pytest.raises(InvalidDemandError, match="period 2"):
        lot_size([10, 0, -5], "lot_for_lot", setup_cost=1, holding_cost=1)


@pytest.mark.parametrize("demand", [[1, float("nan")], [float("inf")], [[1, 2], [3, 4]], ["a"]])
def test_non_finite_or_malformed_demand_is_refused(demand):
    with pytest.raises(InvalidDemandError):
        lot_size(demand, "lot_for_lot", setup_cost=1, holding_cost=1)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(UnknownMethodError, match="silver_meal"):
        lot_size([1], "silver-mean", setup_cost=1, holding_cost=1)


@pytest.mark.parametrize("costs", [{"setup_cost": [1, 2], "holding_cost": 1}, {"setup_cost": 1, "holding_cost": [1]}])
def test_per_period_costs_must_match_the_horizon(costs):
    with pytest.raises(LengthMismatchError, match="3 periods"):
        lot_size([1, 2, 3], "wagner_whitin", **costs)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("fixed_order_quantity", {}),
        ("fixed_order_quantity", {"quantity": 0}),
        ("silver_meal", {"quantity": 10}),
        ("wagner_whitin", {"periods": 2}),
        ("periodic_order_quantity", {"periods": 0}),
        ("periodic_order_quantity", {"periods": 1.5}),
        ("eoq", {"demand_rate": 5, "annual_demand": 260}),
        ("eoq", {"periods_per_year": 12}),
        ("eoq", {"demand_rate": -1}),
        ("lot_for_lot", {"initial_inventory": -1}),
        ("lot_for_lot", {"setup_cost": -1}),
        ("lot_for_lot", {"holding_cost": [1, float("nan")]}),
    ],
)
def test_missing_misplaced_or_out_of_range_parameters_are_refused(method, params):
    costs = {"setup_cost": params.pop("setup_cost", 1), "holding_cost": params.pop("holding_cost", 1)}
    with pytest.raises(InvalidParameterError):
        lot_size([1, 2], method, **costs, **params)


def test_every_error_is_a_lot_sizing_error_and_a_value_error():
    for error in (InvalidDemandError, UnknownMethodError, LengthMismatchError, InvalidParameterError):
        assert issubclass(error, LotSizingError)
    assert issubclass(LotSizingError, ValueError)


# --- The batch variant -------------------------------------------------------------------------------------


def test_batch_wagner_whitin_matches_one_item_at_a_time():
    rng = np.random.default_rng(20240605)
    demand = rng.integers(0, 80, size=(60, 26)).astype(float)
    demand[rng.random(demand.shape) < 0.3] = 0
    setup = rng.uniform(0, 300, size=demand.shape)
    holding = rng.uniform(0, 3, size=60)
    receipts = wagner_whitin_batch(demand, setup, holding)
    for item in range(len(demand)):
        plan = lot_size(demand[item], "wagner_whitin", setup_cost=setup[item], holding_cost=holding[item])
        np.testing.assert_allclose(receipts[item], plan.quantities, atol=1e-9)


def test_batch_wagner_whitin_reproduces_the_textbook_optima():
    receipts = wagner_whitin_batch([SPP_DEMAND, SPP_DEMAND], setup_cost=[54, 1e9], holding_cost=0.4)
    assert receipts[0].tolist() == [84, 0, 0, 130, 283, 0, 140, 0, 124, 160, 279, 0]
    assert receipts[1].tolist() == [sum(SPP_DEMAND)] + [0] * 11


def test_batch_wagner_whitin_refuses_bad_shapes():
    with pytest.raises(InvalidDemandError):
        wagner_whitin_batch([1, 2, 3], 1, 1)
    with pytest.raises(LengthMismatchError):
        wagner_whitin_batch([[1, 2, 3]], [1, 2], 1)


# --- Properties --------------------------------------------------------------------------------------------


def net_requirements(demand, initial):
    """Independent netting: serve the earliest periods from start stock."""
    net, stock = [], initial
    for requirement in demand:
        served = min(stock, requirement)
        stock -= served
        net.append(requirement - served)
    return net


def plan_cost(receipts, demand, setup, holding, initial):
    """Cost of a receipt plan under PRODUCT §1 (one setup per period with a receipt), or inf if infeasible."""
    inventory = initial + np.cumsum(receipts) - np.cumsum(demand)
    if (inventory < -1e-9).any():
        return math.inf
    return sum(k for k, q in zip(setup, receipts, strict=True) if q > 0) + float(np.dot(holding, inventory))


def cheapest_by_enumeration(demand, setup, holding, initial):
    """Try every subset of order periods; each order covers the net requirements up to the next order."""
    net = net_requirements(demand, initial)
    best = math.inf
    for subset in itertools.product((False, True), repeat=len(demand)):
        receipts, last_order = [0.0] * len(demand), None
        for t, order_here in enumerate(subset):
            if order_here:
                last_order = t
            if net[t] > 0:
                if last_order is None:
                    break
                receipts[last_order] += net[t]
        else:
            best = min(best, plan_cost(receipts, demand, setup, holding, initial))
    return best


def cheapest_over_all_integer_plans(demand, setup, holding, initial):
    """DP over every integer stock level and order size: no structure of the optimum assumed."""
    remaining = [sum(demand[t:]) for t in range(len(demand))] + [0]
    costs = {initial: 0.0}  # stock at the start of the period -> least cost so far
    for t, requirement in enumerate(demand):
        following: dict[int, float] = {}
        for stock, cost in costs.items():
            for order in range(max(0, requirement - stock), max(0, remaining[t] - stock) + 1):
                end = stock + order - requirement
                total = cost + (setup[t] if order else 0) + holding[t] * end
                following[end] = min(following.get(end, math.inf), total)
        costs = following
    return min(costs.values())


@st.composite
def instances(draw, max_periods=8, max_demand=100, max_setup=300):
    n = draw(st.integers(1, max_periods))
    demand = draw(st.lists(st.one_of(st.just(0), st.integers(0, max_demand)), min_size=n, max_size=n))
    setup = draw(
        st.one_of(
            st.integers(0, max_setup).map(lambda k: [k] * n),
            st.lists(st.integers(0, max_setup), min_size=n, max_size=n),
        )
    )
    quarters = st.integers(0, 12).map(lambda q: q / 4)
    holding = draw(st.one_of(quarters.map(lambda h: [h] * n), st.lists(quarters, min_size=n, max_size=n)))
    initial = draw(st.one_of(st.just(0), st.integers(0, max_demand)))
    return demand, setup, holding, initial


def plan_of(method, instance, **params):
    demand, setup, holding, initial = instance
    return run(method, demand, setup, holding, initial_inventory=initial, **params)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_wagner_whitin_equals_the_cheapest_of_every_order_period_subset(instance):
    plan = plan_of("wagner_whitin", instance)
    assert plan.total_cost == pytest.approx(cheapest_by_enumeration(*instance), abs=1e-6)


@settings(max_examples=80, deadline=None)
@given(instances(max_periods=5, max_demand=12, max_setup=40))
def test_wagner_whitin_equals_the_cheapest_integer_plan_of_all(instance):
    plan = plan_of("wagner_whitin", instance)
    assert plan.total_cost == pytest.approx(cheapest_over_all_integer_plans(*instance), abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(instances(max_periods=16))
def test_wagner_whitin_is_never_costlier_than_any_other_rule(instance):
    optimum = plan_of("wagner_whitin", instance).total_cost
    for method in METHODS:
        assert optimum <= plan_of(method, instance).total_cost + 1e-6, method


@st.composite
def modifier_sets(draw):
    multiple = draw(st.one_of(st.none(), st.sampled_from([1, 5, 12, 25, 2.5])))
    floor = draw(st.integers(0, 60))
    largest = draw(st.one_of(st.none(), st.integers(0, 200)))
    if largest is not None:
        step = multiple or 1
        smallest = math.ceil(floor / step) * step
        largest = max(largest, smallest, step)
    return {
        "min_lot": draw(st.one_of(st.none(), st.just(floor))),
        "moq": draw(st.one_of(st.none(), st.integers(0, floor))),
        "multiple": multiple,
        "max_lot": largest,
    }


def set_only(modifiers):
    return {name: value for name, value in modifiers.items() if value is not None}


@settings(max_examples=200, deadline=None)
@given(instances(max_periods=14), st.sampled_from(METHODS), modifier_sets())
def test_every_rule_covers_all_demand_and_respects_every_modifier(instance, method, modifiers):
    demand, _, _, initial = instance
    plan = plan_of(method, instance, **set_only(modifiers))

    cumulative_supply = initial + np.cumsum(plan.quantities)
    assert (cumulative_supply >= np.cumsum(demand) - 1e-9).all()
    assert (plan.inventory >= 0).all()
    np.testing.assert_allclose(plan.inventory, cumulative_supply - np.cumsum(demand), atol=1e-9)

    per_period = np.zeros(len(demand))
    for period, quantity in plan.orders:
        per_period[period] += quantity
        assert quantity > 0
        assert quantity >= (modifiers["min_lot"] or 0) - 1e-9
        assert quantity >= (modifiers["moq"] or 0) - 1e-9
        if modifiers["multiple"]:
            units = quantity / modifiers["multiple"]
            assert units == pytest.approx(round(units), abs=1e-9)
        if modifiers["max_lot"]:
            assert quantity <= modifiers["max_lot"] + 1e-9
    np.testing.assert_allclose(per_period, plan.quantities)
    assert [period for period, _ in plan.orders] == sorted(period for period, _ in plan.orders)


@settings(max_examples=200, deadline=None)
@given(instances(max_periods=14), st.sampled_from(METHODS), modifier_sets())
def test_setup_and_holding_costs_follow_each_period(instance, method, modifiers):
    demand, setup, holding, initial = instance
    plan = plan_of(method, instance, **set_only(modifiers))
    assert plan.setup_cost_total == pytest.approx(sum(setup[period] for period, _ in plan.orders))
    assert plan.holding_cost_total == pytest.approx(float(np.dot(holding, plan.inventory)))
    assert plan.total_cost == pytest.approx(plan.setup_cost_total + plan.holding_cost_total)
    if not plan.orders or len({period for period, _ in plan.orders}) == len(plan.orders):
        assert plan.total_cost == pytest.approx(plan_cost(plan.quantities, demand, setup, holding, initial))


@settings(max_examples=200, deadline=None)
@given(instances(max_periods=14), st.sampled_from(METHODS), modifier_sets())
def test_orders_arrive_only_when_carried_stock_runs_out(instance, method, modifiers):
    # Surplus from modifiers is used up before anything new is ordered. Only Wagner-Whitin may also order in
    # a period that starts with no surplus from earlier orders, when that period's setup is the cheaper one
    # (start stock may still be on hand then: it is already promised to earlier requirements).
    demand, _, _, initial = instance
    plan = plan_of(method, instance, **set_only(modifiers))
    opening = np.concatenate(([initial], plan.inventory[:-1]))
    for period in {period for period, _ in plan.orders}:
        short = opening[period] < demand[period] - 1e-9
        start_stock_left = max(0, initial - sum(demand[:period]))
        no_surplus = opening[period] <= start_stock_left + 1e-9
        assert short or (method == "wagner_whitin" and no_surplus), (period, opening, demand)


@settings(max_examples=100, deadline=None)
@given(instances(max_periods=14))
def test_lot_for_lot_receives_exactly_the_net_requirements(instance):
    demand, _, _, initial = instance
    plan = plan_of("lot_for_lot", instance)
    np.testing.assert_allclose(plan.quantities, net_requirements(demand, initial))


@settings(max_examples=100, deadline=None)
@given(instances(max_periods=14), st.sampled_from(COVERAGE_RULES))
def test_without_modifiers_coverage_rules_order_whole_periods_of_requirements(instance, method):
    demand, _, _, initial = instance
    net = net_requirements(demand, initial)
    for period, quantity in plan_of(method, instance).orders:
        covered = np.cumsum(net[period:])
        assert np.isclose(covered, quantity).any(), (period, quantity, net)
