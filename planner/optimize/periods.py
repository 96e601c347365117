"""A plan split by period (docs/plan.md, "Periods apart"). Only purchases, reservations and the
site (the linking columns) reach across periods; every other column (rentals, replicas,
assignments, APIs) and every row that holds one belongs to a single period. With the linking
columns fixed the plan falls apart into one small integer program per period, solved one by one
(`complete`): exact, where HiGHS on the whole problem closes each period's rounding gap in one
search tree (seconds against minutes on saas_usd). Two uses (planner.optimize.solve):
- the commitments fixed (stress futures, `fixed_commitments`): the periods are the plan;
- otherwise each period's optimum without commitments gives a plan to start from and a valid
  row per period (`value_cuts`) that lifts the relaxation of branch and bound.
Arrays are HiGHS's (`Highs.getLp()`, columns in its order); highspy only, no PuLP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINKING = -1  # period of a column that reaches across periods (purchases, reservations, site)
FEASIBILITY_TOLERANCE = 1e-6  # of a row, relative to max(1, |bound|)
WHOLE_TOLERANCE = 1e-6  # an integer column within this of a whole number counts as whole


@dataclass(frozen=True)
class Blocks:
    """Which period each column and row belongs to (LINKING: none), and the matrix column-wise
    (HiGHS's start/index/value arrays, and the column of each nonzero), read once by `split`."""

    column_period: np.ndarray
    row_period: np.ndarray
    periods: np.ndarray  # the distinct periods, ascending
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    nonzero_column: np.ndarray

    @property
    def linking(self) -> np.ndarray:
        return np.flatnonzero(self.column_period == LINKING)


@dataclass(frozen=True)
class Completion:
    """The cheapest plan with the linking columns fixed (`complete`)."""

    values: np.ndarray  # every column
    cost: float  # cost @ values
    bound: float  # a lower bound on any plan with these linking values
    period_bound: dict[int, float]  # lower bound of each period's own cost
    solved: bool = True  # every period solved to the gap (not stopped by the deadline)


def _columnwise(lp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import highspy

    matrix = lp.a_matrix_
    start, index = np.asarray(matrix.start_), np.asarray(matrix.index_)
    value = np.asarray(matrix.value_, dtype=np.float64)
    if matrix.format_ == highspy.MatrixFormat.kColwise:
        return start, index, value
    rows = np.repeat(np.arange(lp.num_row_), np.diff(start))  # row-wise: start per row
    order = np.lexsort((rows, index))
    counts = np.bincount(index, minlength=lp.num_col_)
    return np.concatenate([[0], np.cumsum(counts)]), rows[order], value[order]


def split(lp, column_period: np.ndarray) -> Blocks | None:
    """The periods of `lp`'s rows, or None when a row holds columns of two periods (a limit
    summed over months, say): then the plan does not fall apart."""
    start, index, value = _columnwise(lp)
    nonzero_column = np.repeat(np.arange(lp.num_col_), np.diff(start))
    nonzero_period = column_period[nonzero_column]
    own = nonzero_period != LINKING
    rows = index[own]
    low = np.full(lp.num_row_, np.iinfo(np.int64).max)
    high = np.full(lp.num_row_, LINKING, dtype=np.int64)
    np.minimum.at(low, rows, nonzero_period[own])
    np.maximum.at(high, rows, nonzero_period[own])
    held = high != LINKING
    if np.any(low[held] != high[held]):
        return None
    row_period = np.where(held, high, LINKING)
    periods = np.unique(column_period[column_period != LINKING])
    return Blocks(column_period.astype(np.int64), row_period, periods, start, index, value,
                  nonzero_column)


def linking_bounds(lp, blocks: Blocks) -> tuple[np.ndarray, np.ndarray]:
    """The linking columns' lower and upper bounds (in `blocks.linking` order): equal for a
    commitment fixed in advance (a stress future, `fixed_commitments`)."""
    linking = blocks.linking
    return np.asarray(lp.col_lower_)[linking], np.asarray(lp.col_upper_)[linking]


def complete(highs, lp, blocks: Blocks, linking_values: np.ndarray, *, mip_gap: float,
             deadline_s: float | None = None, relaxed: np.ndarray | None = None,
             start: np.ndarray | None = None, least_period_s: float = 0.0,
             dive=None, order: np.ndarray | None = None, neighbourhood: bool = False
             ) -> Completion | None:
    """The cheapest plan with the linking columns at `linking_values` (in `blocks.linking`
    order): one integer program per period, the linking columns' share moved to the row
    bounds. None when a period has no plan, a row of linking columns alone is broken, or
    `deadline_s` (seconds left) runs out, or would at the pace of the periods so far. Each
    period is solved to `mip_gap`, so the plan is within `mip_gap` of the best with these
    linking values (costs are not negative). `relaxed`: the optimum of the whole LP relaxation
    with the linking columns at these values (every column); a period where it is already
    whole takes it as it is: that LP falls apart by period too, so its share of a period is
    that period's LP optimum, and a whole one is the period's integer optimum.
    `start`: a whole plan with these linking values (every column). Each period then starts
    from the start's share and keeps it unless it finds a cheaper one, and the deadline never
    fails the completion: every period gets an equal share of the time left, or
    `least_period_s` if more, and a period it does not reach keeps the start's share (its
    bound is then unknown: -inf). The plan returned never costs more than the start
    (docs/bench.md: the dive's plan per period is often several times its period's optimum).
    `dive`: a function (solve._dive) that rounds a period's problem to a whole plan, or None;
    each period is then dived instead of solved (fast, no bound: -inf), None if one fails.
    `order`: the periods in the order to solve them (default: ascending); with a start and a
    deadline, the periods with most to gain first. `neighbourhood` (with a start): each period
    searches only around the start, its whole-number columns that agree with the period's own
    LP relaxation fixed (RINS: Danna, Rothberg and Le Pape 2005): a period's improvement in a
    second where its whole search spends the first seconds in root cuts (docs/bench.md); no
    bound then (-inf) where a column was fixed."""
    import time

    import highspy

    from planner.optimize.solve import hand_start, limit_next_run, start_returned_for_incumbent

    began = time.perf_counter()
    cost = np.asarray(lp.col_cost_, dtype=np.float64)
    integrality = np.asarray([int(k) for k in lp.integrality_], dtype=np.int64) \
        if len(lp.integrality_) else np.zeros(lp.num_col_, dtype=np.int64)
    values = np.zeros(lp.num_col_) if start is None else np.array(start, dtype=np.float64)
    linking = blocks.linking
    values[linking] = linking_values
    # The linking columns' share of each row, as if a column of constants.
    fixed = np.zeros(lp.num_col_)
    fixed[linking] = linking_values
    activity = np.bincount(blocks.index, weights=blocks.value * fixed[blocks.nonzero_column],
                           minlength=lp.num_row_)
    row_lower, row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    shifted_lower, shifted_upper = row_lower - activity, row_upper - activity
    alone = blocks.row_period == LINKING
    slack = FEASIBILITY_TOLERANCE * np.maximum(1.0, np.abs(activity))
    if np.any(activity[alone] < row_lower[alone] - slack[alone]) or \
            np.any(activity[alone] > row_upper[alone] + slack[alone]):
        return None
    bound = float(cost[linking] @ linking_values)
    period_bound = {}
    solved_all = True
    slowest_s = 0.0  # the longest period so far: later periods grow with demand
    for done, period in enumerate(blocks.periods if order is None else order):
        elapsed_s = time.perf_counter() - began
        left_s = None if deadline_s is None else deadline_s - elapsed_s
        columns = np.flatnonzero(blocks.column_period == period)
        if start is not None and left_s is not None and left_s <= 0:
            bound = -float("inf")  # the start's share stands, unsolved
            solved_all = False
            continue
        if start is None and left_s is not None and \
                (left_s <= 0 or left_s < slowest_s * (len(blocks.periods) - done)):
            return None  # at this pace the periods left would not finish in time
        if relaxed is not None:
            own = relaxed[columns]
            whole = integrality[columns] == 0
            if np.all(whole | (np.abs(own - np.round(own)) <= WHOLE_TOLERANCE)):
                values[columns] = np.where(whole, own, np.round(own))
                period_bound[int(period)] = float(cost[columns] @ values[columns])
                bound += period_bound[int(period)]
                continue
        solver = _period_solver(highs, lp, blocks, period, columns, integrality,
                                shifted_lower, shifted_upper, mip_gap)
        if dive is not None:
            kinds = getattr(highs, "planner_kinds", None)
            if kinds is not None:
                solver.planner_kinds = kinds[columns]  # the dive rounds by kind
            own = dive(solver, left_s)
            if own is None:
                return None
            values[columns] = own
            bound, solved_all = -float("inf"), False
            slowest_s = max(slowest_s, time.perf_counter() - began - elapsed_s)
            continue
        # with a start, an equal share of the time left for each period left
        period_s = None if left_s is None else left_s if start is None else min(
            left_s, max(left_s / (len(blocks.periods) - done), least_period_s))
        if period_s is not None:
            solver.setOptionValue("time_limit", period_s)
        searched_around = neighbourhood and start is not None and \
            _fix_where_relaxation_agrees(solver, values[columns], integrality[columns], period_s)
        if start is not None:
            hand_start(solver, values[columns])
        solver.run()
        if start is not None and start_returned_for_incumbent(solver, cost[columns]):
            # highspy 1.16 reported the start as presolve maps it (cheaper) and returned the
            # start itself: again without it (seed001_heavy fast_growth: 2,149.14 -> 2,142.78)
            solver.clearSolver()
            if period_s is not None:
                limit_next_run(solver, period_s)
            solver.run()
        slowest_s = max(slowest_s, time.perf_counter() - began - elapsed_s)
        info = solver.getInfo()
        found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        solved = solver.getModelStatus() == highspy.HighsModelStatus.kOptimal and \
            not searched_around
        if start is None and not solved:
            return None
        solved_all = solved_all and solved
        if found and (start is None or info.objective_function_value
                      < float(cost[columns] @ values[columns])):
            values[columns] = solver.getSolution().col_value
        period_bound[int(period)] = -float("inf") if searched_around else \
            float(info.mip_dual_bound) if integrality[columns].any() else \
            float(info.objective_function_value)
        bound += period_bound[int(period)]
    return Completion(values, float(cost @ values), bound, dict(sorted(period_bound.items())),
                      solved_all)


def _fix_where_relaxation_agrees(solver, start: np.ndarray, integrality: np.ndarray,
                                 seconds: float | None) -> bool:
    """Fix `solver`'s whole-number columns where its LP relaxation's optimum equals `start`
    (RINS). Whether any was fixed (not when the relaxation is not solved in `seconds`)."""
    import highspy

    from planner.optimize.solve import highs_banner_off_stdout

    model = solver.getLp()
    model.integrality_ = []
    with highs_banner_off_stdout():
        relaxation = highspy.Highs()
    relaxation.passOptions(solver.getOptions())
    if seconds is not None:
        relaxation.setOptionValue("time_limit", seconds)
    relaxation.passModel(model)
    relaxation.run()
    if relaxation.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return False
    relaxed = np.asarray(relaxation.getSolution().col_value)
    agree = np.flatnonzero((integrality != 0) & (np.abs(relaxed - start) <= WHOLE_TOLERANCE))
    solver.changeColsBounds(len(agree), agree.astype(np.int32), start[agree], start[agree])
    return bool(len(agree))


def _period_solver(highs, lp, blocks: Blocks, period: int, columns: np.ndarray,
                   integrality: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray,
                   mip_gap: float):
    """A Highs holding one period's integer program: its columns and rows, the row bounds
    given (the linking columns' share already moved there), `highs`'s options."""
    import highspy

    from planner.optimize.solve import highs_banner_off_stdout

    start, index, value = blocks.start, blocks.index, blocks.value
    rows = np.flatnonzero(blocks.row_period == period)
    local = np.full(lp.num_row_, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    spans = [np.arange(start[c], start[c + 1]) for c in columns]
    nonzeros = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
    sub = highspy.HighsLp()
    sub.num_col_, sub.num_row_ = len(columns), len(rows)
    sub.col_cost_ = np.asarray(lp.col_cost_, dtype=np.float64)[columns]
    sub.col_lower_ = np.asarray(lp.col_lower_)[columns]
    sub.col_upper_ = np.asarray(lp.col_upper_)[columns]
    sub.row_lower_, sub.row_upper_ = row_lower[rows], row_upper[rows]
    sub.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    sub.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(s) for s in spans])])
    sub.a_matrix_.index_ = local[index[nonzeros]]
    sub.a_matrix_.value_ = value[nonzeros]
    sub.integrality_ = [highspy.HighsVarType(int(k)) for k in integrality[columns]]
    with highs_banner_off_stdout():
        solver = highspy.Highs()
    solver.passOptions(highs.getOptions())
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("mip_rel_gap", mip_gap)
    solver.passModel(sub)
    return solver


def value_cuts(lp, blocks: Blocks, base: Completion, stand_in: dict[int, list]
               ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """One valid row per period from the plan with the linking columns at their lower bounds
    (`base`, usually no commitments): a period's own cost is at least its cost there, less
    what renting stand-ins for the commitments above those bounds would cost:
        sum own cost + sum_j R[j] x[j] >= base bound of the period + sum_j R[j] lower[j]
    R[j] = sum of cost[o] x units over `stand_in[period]`'s (j, o, units): on-demand units of
    the same GPU that replace one unit of commitment j in every row it holds in the period.
    Valid because any plan with commitments x becomes one with the lower bounds by renting
    the stand-ins (same GPUs in every slice; build.add_gpu_capacity records them). Periods
    where a linking column in the period's rows has no stand-in get no row.
    Returns (columns, coefficients, lower bound) per row."""
    index, nonzero_column = blocks.index, blocks.nonzero_column
    cost = np.asarray(lp.col_cost_, dtype=np.float64)
    lower = np.asarray(lp.col_lower_, dtype=np.float64)
    in_rows: dict[int, set] = {}  # period -> linking columns in its rows
    linking_nonzero = blocks.column_period[nonzero_column] == LINKING
    for column, row in zip(nonzero_column[linking_nonzero], index[linking_nonzero],
                           strict=True):
        period = int(blocks.row_period[row])
        if period != LINKING:
            in_rows.setdefault(period, set()).add(int(column))
    cuts = []
    for period, floor in base.period_bound.items():
        pairs = stand_in.get(period)
        if pairs is None or not np.isfinite(floor):  # no stand-in; a period stopped unsolved
            continue
        replace: dict[int, float] = {}
        for commitment, on_demand, units in set(pairs):
            replace[commitment] = replace.get(commitment, 0.0) + cost[on_demand] * units
        if not in_rows.get(period, set()) <= set(replace):
            continue
        own = np.flatnonzero((blocks.column_period == period) & (cost != 0))
        columns = np.concatenate([own, np.array(sorted(replace), dtype=np.int64)])
        coefficients = np.concatenate([cost[own], [replace[j] for j in sorted(replace)]])
        rhs = floor + sum(replace[j] * lower[j] for j in replace)
        cuts.append((columns, coefficients, rhs))
    return cuts


__all__ = ["Blocks", "Completion", "LINKING", "WHOLE_TOLERANCE", "complete", "linking_bounds",
           "split", "value_cuts"]
