"""The plan split by period (planner/optimize/periods.py), worked on paper.

Two months, one commitment x (a GPU reserved for both months, 10 a unit), per month p an
on-demand GPU o_p (6 a month, whole) and an API a_p (8 per GPU's worth of tokens). Each month
needs 1.5 GPUs' worth:  g_p + a_p = 1.5,  g_p <= x + o_p.
- Without the reservation a month costs 10 (one on-demand GPU, half a GPU's worth by API:
  6 + 4; two GPUs or all API cost 12): 20 in all.
- Reserving one GPU: 10 + 2 x 4 (the half by API) = 18, the optimum; two: 20.
- The value row of a month (a month's own cost, less what renting a stand-in for x saves):
  6 o_p + 8 a_p + 6 x >= 10. At the optimum 4 + 6 = 10: tight.
"""

import numpy as np
import pulp
import pytest

from planner.inputs import build_inputs
from planner.loading import load
from planner.optimize import build as lp
from planner.optimize import periods
from planner.optimize import solve as solve_module
from planner.optimize.plan import optimize
from planner.optimize.solve import solve
from planner.studies.bench import write_scenario


def _two_months(x_low: float = 0, x_high: float | None = None, need_gpus: float = 1.5):
    problem = pulp.LpProblem("two_months", pulp.LpMinimize)
    x = problem.add_variable("reserve", x_low, x_high, pulp.LpInteger)
    own = {}
    column_period = {}
    terms = [10 * x]
    for p in (0, 1):
        o = problem.add_variable(f"on_demand_{p}", 0, None, pulp.LpInteger)
        a = problem.add_variable(f"api_{p}", 0)
        g = problem.add_variable(f"assign_{p}", 0)
        problem += g + a == need_gpus, f"demand_{p}"
        problem += g - x - o <= 0, f"capacity_{p}"
        terms += [6 * o, 8 * a]
        own[p] = (o, a, g)
        column_period.update({o: p, a: p, g: p})
    problem += pulp.lpSum(terms)
    stand_in = {p: [(x, own[p][0], 1)] for p in (0, 1)}
    return problem, x, own, column_period, stand_in


def _highs_model(problem):
    """The problem loaded in HiGHS as `solve` loads it (columns in name order)."""
    engine = solve_module._InterruptibleHiGHS(msg=False)
    variables = sorted(problem.variables(), key=lambda v: v.name)
    engine.createAndConfigureSolver(problem)
    engine._load(problem, variables)
    return problem.solverModel, variables, {v.name: i for i, v in enumerate(variables)}


def _split(problem, column_period):
    """The problem in HiGHS, its model, its periods apart, its columns and their positions."""
    highs, variables, position = _highs_model(problem)
    model = highs.getLp()
    blocks = periods.split(model, np.array([column_period.get(v, periods.LINKING)
                                            for v in variables]))
    return highs, model, blocks, variables, position


def test_each_month_alone_and_the_value_rows_match_the_paper():
    problem, x, own, column_period, stand_in = _two_months()
    highs, variables, position = _highs_model(problem)
    model = highs.getLp()
    column_period_array = np.array([column_period.get(v, periods.LINKING) for v in variables])
    blocks = periods.split(model, column_period_array)
    assert blocks is not None and list(blocks.periods) == [0, 1]
    assert list(blocks.linking) == [position["reserve"]]

    without = periods.complete(highs, model, blocks, np.array([0.0]), mip_gap=1e-9)
    assert without.cost == pytest.approx(20)
    assert without.period_bound == pytest.approx({0: 10, 1: 10})
    assert without.bound == pytest.approx(20)
    one = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9)
    assert one.cost == pytest.approx(18)
    assert one.values[position["api_0"]] == pytest.approx(0.5)
    assert one.values[position["on_demand_0"]] == pytest.approx(0)

    indexed = {p: [(position[j.name], position[o.name], n) for j, o, n in pairs]
               for p, pairs in stand_in.items()}
    cuts = periods.value_cuts(model, blocks, without, indexed)
    assert len(cuts) == 2
    for p, (columns, coefficients, floor) in enumerate(cuts):
        row = {variables[c].name: v for c, v in zip(columns, coefficients, strict=True)}
        assert row == pytest.approx({f"on_demand_{p}": 6, f"api_{p}": 8, "reserve": 6})
        assert floor == pytest.approx(10)
        # valid at the optimum (x = 1, half a GPU's worth by API), tight there
        assert 8 * 0.5 + 6 * 1 >= floor - 1e-9


def test_a_month_whole_in_the_relaxation_is_not_solved_again(monkeypatch):
    # The reservation fixed at 1 and month 1 needing 1 GPU's worth: the LP relaxation serves
    # month 1 on the reserved GPU alone (whole, cost 0) and month 0 with half an on-demand GPU
    # (not whole). With the relaxation handed over only month 0 is solved (one on-demand GPU
    # is 6, half a GPU's worth by API 4: it takes the API), and the plan is the same:
    # 10 + 4 + 0 = 14.
    import highspy

    problem, _, _, column_period, _ = _two_months(1, 1)
    problem.get_constraint_by_name("demand_1").constant = -1.0
    highs, model, blocks, variables, position = _split(problem, column_period)
    relaxation = highspy.Highs()
    relaxation.setOptionValue("output_flag", False)
    lp_model = highs.getLp()
    lp_model.integrality_ = []
    relaxation.passModel(lp_model)
    relaxation.run()
    relaxed = np.asarray(relaxation.getSolution().col_value)
    assert relaxed[position["on_demand_0"]] == pytest.approx(0.5)
    assert relaxed[position["on_demand_1"]] == pytest.approx(0.0)
    runs = []
    real_run = highspy.Highs.run
    monkeypatch.setattr(highspy.Highs, "run", lambda self: runs.append(1) or real_run(self))
    alone = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9)
    assert len(runs) == 2 and alone.cost == pytest.approx(14)
    runs.clear()
    kept = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                            relaxed=relaxed)
    assert len(runs) == 1 and kept.cost == pytest.approx(14)
    assert kept.period_bound == pytest.approx({0: 4, 1: 0})
    assert kept.values[position["api_0"]] == pytest.approx(0.5)


def _reserved_and_rented(variables, position):
    """A whole plan of the two months: one GPU reserved and one on demand each month, 1.5
    GPUs' worth served on GPUs alone: 10 + 6 + 6 = 22."""
    start = np.zeros(len(variables))
    for name, value in {"reserve": 1, "on_demand_0": 1, "on_demand_1": 1, "assign_0": 1.5,
                        "assign_1": 1.5}.items():
        start[position[name]] = value
    return start


def _engine_with_a_start():
    """The two months split, the start of `_reserved_and_rented` (22), and an engine that
    improves it (solve._InterruptibleHiGHS, the problem's costs) with the split it reads."""
    problem, _, _, column_period, _ = _two_months()
    highs, model, blocks, variables, position = _split(problem, column_period)
    engine = solve_module._InterruptibleHiGHS(msg=False)
    engine.cost = np.asarray(model.col_cost_)
    split = solve_module._Blocks(blocks, model, np.array([0.0]), blocks.linking)
    return highs, model, blocks, column_period, position, \
        _reserved_and_rented(variables, position), engine, split


def test_a_plan_improved_month_by_month_from_a_start():
    # One GPU reserved; the start rents an on-demand GPU each month as well and serves the
    # 1.5 GPUs' worth on GPUs alone: 10 + 6 + 6 = 22. Month by month from it, each month
    # takes the API for the half GPU's worth instead (4 < 6): 10 + 4 + 4 = 18, the optimum
    # with one reservation. Without time the start comes back as it was.
    problem, _, _, column_period, _ = _two_months()
    highs, model, blocks, variables, position = _split(problem, column_period)
    start = _reserved_and_rented(variables, position)
    assert float(np.asarray(model.col_cost_) @ start) == pytest.approx(22)
    better = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                              start=start)
    assert better.cost == pytest.approx(18)
    assert better.values[position["api_1"]] == pytest.approx(0.5)
    assert better.values[position["reserve"]] == 1
    assert better.bound == pytest.approx(18)
    assert better.solved
    unchanged = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                                 deadline_s=0.0, start=start)
    assert unchanged.cost == pytest.approx(22)
    assert np.array_equal(unchanged.values, start)
    assert unchanged.bound == -np.inf
    assert not unchanged.solved


def test_under_a_time_limit_the_month_with_most_to_gain_is_improved_first(monkeypatch):
    # The start serves month 0 as the LP does (the half GPU's worth by API: 4) and month 1 on
    # a second, on-demand GPU (6): month 1 costs 2 above the LP's share, month 0 nothing. A
    # time limit may stop the improvement before the last month: month 1 goes first.
    highs, model, blocks, _, position, start, engine, split = _engine_with_a_start()
    start[position["on_demand_0"]], start[position["assign_0"]] = 0, 1
    start[position["api_0"]] = 0.5
    engine.lp_values = start.copy()
    engine.lp_values[[position["on_demand_1"], position["assign_1"], position["api_1"]]] = \
        (0, 1, 0.5)
    assert engine._most_to_gain(split, start) is None  # no time limit: month by month
    engine.deadline = float("inf")
    order = engine._most_to_gain(split, start)
    assert list(order) == [1, 0]
    solved = []
    real_solver = periods._period_solver
    monkeypatch.setattr(periods, "_period_solver",
                        lambda *args: solved.append(args[3]) or real_solver(*args))
    improved = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                                start=start, order=order)
    assert solved == [1, 0]
    assert improved.cost == pytest.approx(18)
    assert list(improved.period_bound) == [0, 1]  # in period order, as the value rows read it


def test_a_month_searched_around_the_start_keeps_what_its_relaxation_agrees_with():
    # Searching around the start (RINS), a month's whole-number columns equal in the start and
    # in the month's own LP relaxation are fixed. One GPU reserved:
    # - 1.5 GPUs' worth a month: the relaxation rents half a GPU (6 x 0.5 = 3 < 4 by API), the
    #   start one: nothing agrees, so each month is searched whole: 22 -> 18, bound 18.
    # - 2 GPUs' worth: both rent one GPU (6 < 8 by API): fixed, the start (22) stands, with no
    #   bound (a search around the start proves nothing about the month).
    problem, _, _, column_period, _ = _two_months()
    highs, model, blocks, variables, position = _split(problem, column_period)
    start = _reserved_and_rented(variables, position)
    around = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                              start=start, neighbourhood=True)
    assert around.cost == pytest.approx(18) and around.bound == pytest.approx(18)
    assert around.solved

    problem, _, _, column_period, _ = _two_months(need_gpus=2)
    highs, model, blocks, variables, position = _split(problem, column_period)
    start = _reserved_and_rented(variables, position)
    start[[position["assign_0"], position["assign_1"]]] = 2
    around = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                              start=start, neighbourhood=True)
    assert around.cost == pytest.approx(22) and np.array_equal(around.values, start)
    assert around.bound == -np.inf and not around.solved
    whole = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9, start=start)
    assert whole.cost == pytest.approx(22) and whole.bound == pytest.approx(22)


def test_months_are_searched_around_the_start_where_whole_searches_would_not_fit(monkeypatch):
    # A month's whole search takes about PERIOD_LP_FACTOR times its share of the LP's seconds
    # (two months: 5 x the LP's). The improvement's share of 20 s left is 15 s. An LP of 0.1 s:
    # whole searches fit (1 s). 2.5 s: they do not (25 s), so each month searches around the
    # start, and in the time then left (about 15 s, more than one month's 12.5 s) the months
    # are searched whole from that plan. 10 s: around the start only.
    import time

    highs, _, _, _, _, start, engine, split = _engine_with_a_start()
    calls = []
    monkeypatch.setattr(periods, "complete", lambda *args, **kwargs: calls.append(kwargs) or
                        periods.Completion(kwargs["start"], 22.0, -np.inf, {}, False))
    passes = {}
    for lp_seconds in (0.1, 2.5, 10.0):
        engine.lp_seconds, engine.deadline = lp_seconds, time.perf_counter() + 20
        calls.clear()
        engine._complete(highs, split, np.array([1.0]), start)
        passes[lp_seconds] = [kwargs.get("neighbourhood", False) for kwargs in calls]
    assert passes == {0.1: [False], 2.5: [True, False], 10.0: [True]}
    assert calls[0]["least_period_s"] == pytest.approx(
        solve_module.NEIGHBOURHOOD_LP_FACTOR * 10.0 / 2)


def test_months_stopped_short_from_a_start_are_not_tried_from_scratch(monkeypatch):
    # Improving the start (one GPU reserved, 22) ran out of time: the plan without the
    # reservation would need every month solved from scratch in less time, so it is not
    # tried (the medium bench lost 3.8 s of 60 to it); the improved plan is the start.
    highs, model, blocks, column_period, _, start, engine, split = _engine_with_a_start()
    stopped = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                               deadline_s=0.0, start=start)
    calls = []
    monkeypatch.setattr(engine, "_complete", lambda *args: calls.append(args) or stopped)
    assert np.array_equal(engine._by_period(highs, split, start), start)
    assert len(calls) == 1  # the improvement only
    improved = periods.complete(highs, model, blocks, np.array([1.0]), mip_gap=1e-9,
                                start=start)
    monkeypatch.setattr(engine, "_complete", lambda *args: calls.append(args) or improved)
    calls.clear()
    engine.periods = (column_period, {})
    engine._by_period(highs, split, start)
    assert len(calls) == 2  # solved: the plan without commitments is tried as well


def test_a_month_without_a_stand_in_gets_no_value_row():
    problem, _, _, column_period, _ = _two_months()
    highs, model, blocks, variables, position = _split(problem, column_period)
    base = periods.complete(highs, model, blocks, np.array([0.0]), mip_gap=1e-9)
    only_first = {0: [(position["reserve"], position["on_demand_0"], 1)], 1: None}
    assert len(periods.value_cuts(model, blocks, base, only_first)) == 1


def test_a_row_across_months_keeps_the_plan_whole():
    problem, _, own, column_period, _ = _two_months()
    problem += own[0][1] + own[1][1] <= 2.5, "api_budget"  # a limit summed over both months
    highs, variables, _ = _highs_model(problem)
    assert periods.split(highs.getLp(), np.array([column_period.get(v, periods.LINKING)
                                                  for v in variables])) is None


@pytest.mark.parametrize("fixed", [None, 0, 1])
def test_the_plan_by_period_is_the_optimum(fixed):
    # Free: the months apart start branch and bound from 20 and it finds 18 (reserve one).
    # Fixed (a stress future's commitments): the months apart are the plan, no search.
    low, high = (0, None) if fixed is None else (fixed, fixed)
    problem, x, own, column_period, stand_in = _two_months(low, high)
    info = solve(problem, mip_gap=1e-9, periods=(column_period, stand_in))
    assert info.status.value == "optimal"
    assert info.objective == pytest.approx({None: 18, 0: 20, 1: 18}[fixed])
    assert x.varValue == pytest.approx(1 if fixed is None else fixed)
    assert own[0][1].varValue == pytest.approx(0.5)  # half a GPU's worth by API each month
    # fixed: no branch and bound ran (the stand-in for HiGHS of a plan proven without it)
    assert isinstance(problem.solverModel, solve_module._Stopped) == (fixed is not None)


def test_a_dive_proven_at_the_lp_bound_skips_the_months_apart(monkeypatch):
    # A whole GPU's worth a month: the LP reserves one GPU (10, against 6 + 6 on demand), a
    # whole plan at the LP bound, so nothing is solved month by month.
    problem, x, _, column_period, stand_in = _two_months(need_gpus=1.0)
    calls = []
    original = periods.complete
    monkeypatch.setattr(periods, "complete",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    info = solve(problem, mip_gap=1e-9, periods=(column_period, stand_in))
    assert info.objective == pytest.approx(10)
    assert x.varValue == pytest.approx(1)
    assert calls == []


@pytest.mark.parametrize(("lp_commitments", "often"), [(None, False), (3, False), (4, True)])
def test_value_rows_are_left_out_where_the_lp_commits_month_after_month(lp_commitments, often):
    # LP_COMMITMENT_MONTHS = 3: saas_usd's LP commits in 1-3 columns where the value rows
    # speed branch and bound up, in 25 (frontier_only) where they slow it 2x.
    from types import SimpleNamespace

    engine = solve_module._InterruptibleHiGHS(msg=False)
    linking = np.arange(6)
    blocks = SimpleNamespace(lower=np.array([0.0, 0, 0, 0, 0, 1]))
    if lp_commitments is not None:
        engine.lp_values = np.where(np.arange(6) < lp_commitments, 0.25, 0.0)
        engine.lp_values[5] = 1.0  # at its lower bound (a commitment fixed): not counted
    assert solve_module.LP_COMMITMENT_MONTHS == 3
    assert engine._lp_commits_often(linking, blocks) is often


@pytest.mark.parametrize("seed", [0, 1])
def test_a_future_with_fixed_commitments_solved_by_period_is_the_whole_optimum(
        tmp_path, seed, monkeypatch):
    # Random small scenarios (bench generator, 12 months): the plan's commitments fixed, as
    # stress fixes them in each future; the months apart give what HiGHS gives on the whole.
    inputs = build_inputs(load(write_scenario("small", tmp_path, seed=seed),
                               sets=["months=12"]))
    commitments = optimize(inputs).commitments
    calls = []
    original = periods.complete
    monkeypatch.setattr(periods, "complete",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    by_period = optimize(inputs, fixed_commitments=commitments, mip_gap=1e-6)
    assert calls == [1]  # one completion: the fixed commitments
    built = lp.build(inputs, fixed_commitments=commitments)
    whole = solve(built.problem, mip_gap=1e-6)
    assert by_period.solver["status"] == whole.status.value == "optimal"
    assert by_period.npv == pytest.approx(whole.objective * built.money_scale, rel=1e-6)


def test_a_period_started_from_a_plan_finds_what_it_finds_from_scratch():
    # seed001_heavy `fast_growth`, the dive's commitments kept: completing each month from the
    # dive's plan gives the same plan as completing it from scratch (2,142.78). highspy 1.16
    # reports a month's cheaper plan when presolve maps the start onto it, but returns the
    # start itself; taking that at its word gave 2,149.14 before the month was solved again.
    from conftest import ROOT

    built = lp.build(build_inputs(load(ROOT / "scenarios" / "seed001_heavy.yaml",
                                       variant="fast_growth")))
    engine = solve_module._InterruptibleHiGHS(msg=False, gapRel=solve_module.DEFAULT_MIP_GAP)
    engine.periods = (built.column_period, built.stand_in)
    problem = built.problem
    variables = sorted(problem.variables(), key=lambda v: v.name)
    engine.createAndConfigureSolver(problem)
    engine._load(problem, variables)
    highs = problem.solverModel
    model = highs.getLp()
    blocks = periods.split(model, engine.column_period)
    start = solve_module._dive(highs)
    linking = start[blocks.linking]
    scratch = periods.complete(highs, model, blocks, linking, mip_gap=1e-3)
    started = periods.complete(highs, model, blocks, linking, mip_gap=1e-3, start=start)
    assert float(np.asarray(model.col_cost_) @ start) > scratch.cost
    assert started.cost == pytest.approx(scratch.cost, rel=1e-4)


def test_a_dive_rounded_period_by_period_where_its_rounds_would_not_fit(monkeypatch):
    # The LP reserves 1.5 GPUs (5 a GPU-month against 6 on demand and 8 by API): 15. Rounded
    # to the nearest (2) and each month dived on its own with the reservation fixed: 1.5 GPUs'
    # worth on the 2 reserved GPUs, 20, whole. Branch and bound then finds the optimum, 18
    # (one GPU reserved, half a GPU's worth by API each month).
    problem, x, own, column_period, stand_in = _two_months()
    calls = []
    real = solve_module._InterruptibleHiGHS._dive_by_period

    def spy(self, highs, blocks, lp_values, left_s):
        plan = real(self, highs, blocks, lp_values, left_s)
        linking = blocks.split.linking
        calls.append((lp_values[linking], plan[linking], float(self.cost @ plan)))
        return plan

    monkeypatch.setattr(solve_module._InterruptibleHiGHS, "_dive_by_period", spy)
    monkeypatch.setattr(solve_module, "DIVE_ROUNDS_PER_LP", 1e9)  # never fits: by period
    info = solve(problem, time_limit=100.0, mip_gap=1e-9, periods=(column_period, stand_in))
    assert len(calls) == 1
    lp_reserve, plan_reserve, plan_cost = calls[0]
    assert lp_reserve == pytest.approx([1.5]) and list(plan_reserve) == [2.0]
    assert plan_cost == pytest.approx(20)
    assert info.objective == pytest.approx(18)
    assert x.varValue == pytest.approx(1)


def test_a_dive_by_period_rounds_up_where_the_nearest_breaks_a_row(monkeypatch):
    # A purchase (2 a GPU, both months) needs its site (1, binary: buy <= 8 site); each month
    # needs 1.4 GPUs, 6 a GPU on demand. The LP buys 1.4 GPUs and 0.175 of a site (2.975).
    # To the nearest (1 GPU, no site) the site row breaks; rounded up (2 GPUs, a site) each
    # month fits on the 2 GPUs: 4 + 1 = 5, which is also the optimum (one GPU bought and one
    # on demand a month: 15; on demand only: 24).
    problem = pulp.LpProblem("site", pulp.LpMinimize)
    buy = problem.add_variable("buy", 0, 8, pulp.LpInteger)
    site = problem.add_variable("site", 0, 1, pulp.LpBinary)
    problem += buy - 8 * site <= 0, "site_needed"
    column_period, terms = {}, [2 * buy, site]
    for p in (0, 1):
        on_demand = problem.add_variable(f"on_demand_{p}", 0, None, pulp.LpInteger)
        assign = problem.add_variable(f"assign_{p}", 0)
        problem += assign == 1.4, f"demand_{p}"
        problem += assign - buy - on_demand <= 0, f"capacity_{p}"
        terms.append(6 * on_demand)
        column_period.update({on_demand: p, assign: p})
    problem += pulp.lpSum(terms)
    plans = []
    real = solve_module._InterruptibleHiGHS._dive_by_period

    def spy(self, highs, blocks, lp_values, left_s):
        plan = real(self, highs, blocks, lp_values, left_s)
        plans.append((lp_values[blocks.split.linking], plan[blocks.split.linking],
                      float(self.cost @ plan)))
        return plan

    monkeypatch.setattr(solve_module._InterruptibleHiGHS, "_dive_by_period", spy)
    monkeypatch.setattr(solve_module, "DIVE_ROUNDS_PER_LP", 1e9)
    info = solve(problem, time_limit=100.0, mip_gap=1e-9, periods=(column_period, {}))
    [(lp_linking, plan_linking, plan_cost)] = plans
    assert lp_linking == pytest.approx([1.4, 0.175])  # buy, site (name order)
    assert list(plan_linking) == [2.0, 1.0] and plan_cost == pytest.approx(5)
    assert info.objective == pytest.approx(5)


def test_a_dive_by_period_that_fails_falls_back_to_the_rounds(monkeypatch):
    # No plan period by period: the dive goes on with its rounds of the whole LP (here the
    # LP's 1.5 reserved GPUs rounded to the nearest, 2: 10 x 2 = 20).
    problem, _, _, column_period, stand_in = _two_months()
    starts = []
    real_start = solve_module._start_from_dive
    monkeypatch.setattr(solve_module._InterruptibleHiGHS, "_dive_by_period",
                        lambda *args: None)
    monkeypatch.setattr(solve_module, "DIVE_ROUNDS_PER_LP", 1e9)
    monkeypatch.setattr(solve_module, "_start_from_dive",
                        lambda *args: starts.append(real_start(*args)) or starts[-1])
    info = solve(problem, time_limit=100.0, mip_gap=1e-9, periods=(column_period, stand_in))
    [(start, _, _, _)] = starts
    costs = [problem.objective.get(v, 0.0) for v in sorted(problem.variables(),
                                                             key=lambda v: v.name)]
    assert start is not None and float(np.asarray(start) @ costs) == pytest.approx(20)
    assert info.objective == pytest.approx(18)
