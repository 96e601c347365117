"""Build once, solve many (issue 22, item 1): one recourse model kept in HiGHS for a stress run.

Every Monte Carlo future differs from the base only in numbers: demand right-hand sides, prices
in the objective, availabilities in the matrix, commitments as column bounds. So a `Reuse` holds
the base future's recourse LP in one `highspy.Highs` (and, for the hedge's bound, a second one
with the first-stage columns free), and for each future changes only the numbers that differ
(`changeColsCost`, `changeColsBounds`, `changeRowsBounds`, `changeCoeff`) and solves again,
starting from the base's optimal basis.

The model's shape is pinned by a fingerprint: the column names in HiGHS's order, the row names,
the matrix's sparsity pattern and the integer columns. A future whose built model has another
shape (ties between equally priced offers broken another way, a row written differently) is not
forced into the base's: it is solved as before, rebuilt and cold (`rebuilt` counts them).

Determinism: the warm start is always the base's basis, never the previous future's, so what a
future's solve returns depends only on the base and that future, not on which futures a worker
solved before it; the same seed gives the same numbers whatever the worker count or engine. The
numbers are read from the future's PuLP model as planner.optimize.solve passes them (the same
column order and values), so a future solved here is the same LP as the rebuild's, started
elsewhere: the same optimum to the solver's tolerance (an alternate optimal vertex may differ).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from itertools import chain

import numpy as np
import pulp

from planner.optimize import build as lp
from planner.optimize import periods
from planner.optimize.periods import LINKING
from planner.optimize.solve import SEED, highs_banner_off_stdout, limit_next_run


@dataclass
class ModelArrays:
    """A built problem as HiGHS is handed it (planner.optimize.solve._load's order): columns
    sorted by name, rows in the order built, the matrix as CSR without zeros."""

    variables: list  # pulp.LpVariable, HiGHS's column order
    names: list[str]
    rows: list[str]
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray
    integers: np.ndarray  # integer columns (indices)
    first_stage: np.ndarray  # purchase and reservation columns (indices)

    def same_shape(self, other: ModelArrays) -> bool:
        """Whether both have as many columns and the same rows and sparsity pattern (column
        names aside: HiGHS sees only numbers and positions, and a future's values go back to
        its own variables by position)."""
        return (len(self.names) == len(other.names) and self.rows == other.rows
                and np.array_equal(self.starts, other.starts)
                and np.array_equal(self.index, other.index))

    def aligned(self, base: ModelArrays) -> ModelArrays | None:
        """These arrays in `base`'s row layout, when every row of these is a row of the base's
        (by name, in the same order): a row only the base has is kept with the base's
        coefficients but made free (no bounds), so it constrains nothing and the LP is this
        model's own. The gates of planner.optimize.build.add_whole_gpus are the case: written
        only while a workload needs less than a replica, so a future with more demand has
        fewer. None when these have a row the base lacks (another shape)."""
        if self.rows == base.rows:
            return self
        import highspy

        mine = {name: r for r, name in enumerate(self.rows)}
        order = [mine.get(name, -1) for name in base.rows]
        kept = [r for r in order if r >= 0]
        if len(kept) != len(self.rows) or kept != sorted(kept):
            return None
        rows = np.asarray(order, np.int64)
        mine_rows = rows >= 0
        # Each base row's entries come from this model's row or (free) from the base's own:
        # gathered from both matrices laid end to end.
        first = np.where(mine_rows, self.starts[np.maximum(rows, 0)],
                         len(self.index) + base.starts[:-1])
        length = np.where(mine_rows, np.diff(self.starts)[np.maximum(rows, 0)],
                          np.diff(base.starts))
        starts = np.zeros(len(rows) + 1, np.int32)
        np.cumsum(length, out=starts[1:])
        take = np.repeat(first - starts[:-1], length) + np.arange(int(starts[-1]))
        inf = highspy.kHighsInf
        return replace(self, rows=base.rows, starts=starts,
                       index=np.concatenate([self.index, base.index])[take].astype(np.int32),
                       value=np.concatenate([self.value, base.value])[take],
                       row_lower=np.where(mine_rows, self.row_lower[np.maximum(rows, 0)], -inf),
                       row_upper=np.where(mine_rows, self.row_upper[np.maximum(rows, 0)], inf))


def model_arrays(built: lp.PlanModel) -> ModelArrays:
    """The numbers and shape of `built`'s problem, as solve._load passes them to HiGHS (the
    same order and values; read in bulk: a future's model is read once per solve)."""
    import highspy

    inf = highspy.kHighsInf
    problem = built.problem
    problem._add_variables(problem.objective.keys())  # as solve's actualSolve does
    problem._variables.sort(key=lambda v: v.name)
    variables = list(problem._variables)
    n = len(variables)
    for i, var in enumerate(variables):
        var._planner_column = i
    objective = problem.objective
    cost = np.fromiter((objective.get(v, 0.0) for v in variables), np.float64, n)
    lower = np.fromiter((-inf if v.lowBound is None else v.lowBound for v in variables),
                        np.float64, n)
    upper = np.fromiter((inf if v.upBound is None else v.upBound for v in variables),
                        np.float64, n)
    constraints = list(problem._constraints.values())
    exprs = [con.expr for con in constraints]
    counts = np.fromiter((len(e) for e in exprs), np.int64, len(exprs))
    total = int(counts.sum())
    index = np.fromiter((v._planner_column for v in chain.from_iterable(exprs)), np.int32,
                        total)
    value = np.fromiter(chain.from_iterable(e.values() for e in exprs), np.float64, total)
    nonzero = value != 0  # solve._load leaves zero coefficients out
    if not nonzero.all():
        row = np.repeat(np.arange(len(exprs)), counts)
        counts = np.bincount(row[nonzero], minlength=len(exprs))
        index, value = index[nonzero], value[nonzero]
    starts = np.zeros(len(exprs) + 1, np.int32)
    np.cumsum(counts, out=starts[1:])
    sense = np.fromiter((con.sense for con in constraints), np.int8, len(constraints))
    rhs = -np.fromiter((con.constant for con in constraints), np.float64, len(constraints))
    row_lower = np.where(sense == pulp.LpConstraintLE, -inf, rhs)
    row_upper = np.where(sense == pulp.LpConstraintGE, inf, rhs)
    first = {id(v) for v in (*built.buy.values(), *built.reserve.values())}
    return ModelArrays(
        variables, [v.name for v in variables], list(problem._constraints), cost, lower, upper,
        row_lower, row_upper, starts, index, value,
        np.asarray([i for i, v in enumerate(variables) if v.cat == pulp.LpInteger], np.int32),
        np.asarray([i for i, v in enumerate(variables) if id(v) in first], np.int32))


def _free(arrays: ModelArrays) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds with the first-stage columns freed (0 .. none): the hedge's bound."""
    import highspy

    lower, upper = arrays.lower.copy(), arrays.upper.copy()
    lower[arrays.first_stage] = 0.0
    upper[arrays.first_stage] = highspy.kHighsInf
    return lower, upper


@dataclass
class LPOutcome:
    """What one solve on a kept model gave: `optimal`, `infeasible`, `time_limit` or `other`;
    the column values in HiGHS's order (None without a plan), the objective (HiGHS's scale)
    and the seconds HiGHS ran."""

    status: str
    values: np.ndarray | None
    objective: float | None
    seconds: float
    gap: float = 0.0  # of an integer plan: (plan - bound) / plan


class _Kept:
    """One LP kept in a Highs: its current numbers (to change only what differs) and the
    base's optimal basis (every solve starts there)."""

    def __init__(self, arrays: ModelArrays, lower: np.ndarray, upper: np.ndarray,
                 time_limit: float | None) -> None:
        import highspy

        with highs_banner_off_stdout():
            self.highs = highspy.Highs()
        h = self.highs
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", SEED)
        self.time_limit = time_limit  # of each solve (limit_next_run)
        n = len(arrays.names)
        h.addCols(n, arrays.cost, lower, upper, 0, np.zeros(0, np.int32),
                  np.zeros(0, np.int32), np.zeros(0, np.float64))
        rows = len(arrays.rows)
        if rows:
            h.addRows(rows, arrays.row_lower, arrays.row_upper, len(arrays.index),
                      arrays.starts[:-1], arrays.index, arrays.value)
        self.cost, self.lower, self.upper = arrays.cost.copy(), lower.copy(), upper.copy()
        self.row_lower, self.row_upper = arrays.row_lower.copy(), arrays.row_upper.copy()
        self.value = arrays.value.copy()
        self.row_of = np.repeat(np.arange(rows, dtype=np.int32), np.diff(arrays.starts))
        self.index = arrays.index
        self.basis = None
        first = self._run(use_basis=False)
        if first.status == "optimal":
            self.basis = h.getBasis()
        self.base = first

    def _run(self, use_basis: bool = True) -> LPOutcome:
        import highspy

        h = self.highs
        if use_basis:
            h.setBasis(self.basis)  # the base's: no history from earlier futures
        if self.time_limit is not None:
            limit_next_run(h, self.time_limit)
        began = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - began
        status = h.getModelStatus()
        codes = highspy.HighsModelStatus
        if status == codes.kOptimal:
            return LPOutcome("optimal", np.asarray(h.getSolution().col_value),
                             h.getInfo().objective_function_value, seconds)
        if status in (codes.kInfeasible, codes.kUnboundedOrInfeasible, codes.kUnbounded):
            return LPOutcome("infeasible", None, None, seconds)
        return LPOutcome("other", None, None, seconds)

    def solve(self, arrays: ModelArrays, lower: np.ndarray, upper: np.ndarray) -> LPOutcome:
        """Change the numbers that differ from the current model's, then solve from the
        base's basis."""
        h = self.highs
        changed = np.flatnonzero(arrays.cost != self.cost)
        if len(changed):
            h.changeColsCost(len(changed), changed.astype(np.int32), arrays.cost[changed])
        changed = np.flatnonzero((lower != self.lower) | (upper != self.upper))
        if len(changed):
            h.changeColsBounds(len(changed), changed.astype(np.int32), lower[changed],
                               upper[changed])
        changed = np.flatnonzero((arrays.row_lower != self.row_lower)
                                 | (arrays.row_upper != self.row_upper))
        if len(changed):
            h.changeRowsBounds(len(changed), changed.astype(np.int32),
                               arrays.row_lower[changed], arrays.row_upper[changed])
        for k in np.flatnonzero(arrays.value != self.value).tolist():
            h.changeCoeff(int(self.row_of[k]), int(self.index[k]), float(arrays.value[k]))
        self.cost, self.lower, self.upper = arrays.cost, lower, upper
        self.row_lower, self.row_upper, self.value = (arrays.row_lower, arrays.row_upper,
                                                      arrays.value)
        return self._run()


class Reuse:
    """The recourse LP of a base future kept in HiGHS, solved again for futures of the same
    shape with only their numbers changed (module docstring). `bound`: also keep the LP with
    the first-stage columns free (each future's own relaxed plan, the hedge's bound).
    `reused` and `rebuilt` count the futures solved here and those of another shape."""

    def __init__(self, base: lp.PlanModel, *, bound: bool = False,
                 time_limit: float | None = None) -> None:
        self.shape = model_arrays(base)
        # each column's period (planner.optimize.periods), the same for every future's shape
        self.column_period = np.array([base.column_period.get(v, LINKING)
                                       for v in self.shape.variables], dtype=np.int64)
        self.recourse = _Kept(self.shape, self.shape.lower, self.shape.upper, time_limit)
        self.bound = _Kept(self.shape, *_free(self.shape), time_limit) if bound else None
        self.reused = 0
        self.rebuilt = 0

    @classmethod
    def for_inputs(cls, inputs, *, fixed_commitments, bound: bool = False,
                   time_limit: float | None = None) -> Reuse:
        """The kept model of the base future `inputs` with `fixed_commitments`, built as
        planner.optimize.recourse builds every future's."""
        return cls(lp.build(inputs, fixed_commitments=fixed_commitments), bound=bound,
                   time_limit=time_limit)

    @property
    def usable(self) -> bool:
        """Whether the base's LPs were solved (a basis to start from)."""
        return self.recourse.basis is not None and (self.bound is None
                                                    or self.bound.basis is not None)

    def arrays_if_same_shape(self, built: lp.PlanModel) -> ModelArrays | None:
        """`built`'s numbers when it has the base's shape (counted `reused`), else None
        (counted `rebuilt`: the caller solves it as before)."""
        arrays = model_arrays(built).aligned(self.shape) if self.usable else None
        if arrays is None or not arrays.same_shape(self.shape):
            self.rebuilt += 1
            return None
        self.reused += 1
        return arrays

    def solve_recourse(self, arrays: ModelArrays) -> LPOutcome:
        """The future's recourse LP (commitments fixed, integrality dropped)."""
        return self.recourse.solve(arrays, arrays.lower, arrays.upper)

    def solve_integer(self, arrays: ModelArrays, mip_gap: float,
                      time_limit: float | None = None) -> LPOutcome | None:
        """After solve_recourse found a relaxation that is not whole: the integer problem on
        the kept model's numbers (the future's), stopped at `mip_gap`. With every commitment
        fixed the plan falls apart by period (planner.optimize.periods.complete, as `plan`
        solves fixed commitments): one small integer program per month, exact to the gap.
        Otherwise HiGHS's branch and bound on a copy of the kept model. `status` 'optimal'
        (within the gap), 'time_limit' (a plan, stopped by the limit) or 'infeasible'; `gap`
        the plan's own ((plan - bound) / plan); None when it stopped without a plan (the
        caller solves it as before). No dive start is handed over: it costs more here than
        it saves, 3 to 20x on seed001_medium's samples (docs/stress.md)."""
        import highspy

        relaxed = np.asarray(self.recourse.highs.getSolution().col_value)  # solve_recourse's
        model = self.recourse.highs.getLp()
        kinds = [highspy.HighsVarType.kContinuous] * len(arrays.names)
        for j in arrays.integers.tolist():
            kinds[j] = highspy.HighsVarType.kInteger
        model.integrality_ = kinds
        by_period = self._by_period(model, mip_gap, time_limit, relaxed)
        if by_period is not None:
            return by_period
        with highs_banner_off_stdout():
            copy = highspy.Highs()
        copy.passOptions(self.recourse.highs.getOptions())
        copy.setOptionValue("mip_rel_gap", float(mip_gap))
        copy.setOptionValue("time_limit", highspy.kHighsInf if time_limit is None
                            else float(time_limit))  # not the kept model's running total
        copy.passModel(model)
        began = time.perf_counter()
        copy.run()
        seconds = time.perf_counter() - began
        status = copy.getModelStatus()
        codes = highspy.HighsModelStatus
        if status in (codes.kInfeasible, codes.kUnboundedOrInfeasible, codes.kUnbounded):
            return LPOutcome("infeasible", None, None, seconds)
        info = copy.getInfo()
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            return None
        values = np.asarray(copy.getSolution().col_value)
        objective = float(arrays.cost @ values)
        gap = max(objective - info.mip_dual_bound, 0.0) / max(abs(objective), 1e-9)
        return LPOutcome("optimal" if status == codes.kOptimal else "time_limit", values,
                         objective, seconds, gap)

    def _by_period(self, model, mip_gap: float, time_limit: float | None,
                   relaxed: np.ndarray) -> LPOutcome | None:
        """solve_integer period by period, when every linking column is fixed; None when they
        are not or a period found no plan (branch and bound then proves or finds one). Periods
        where the relaxation `relaxed` is whole keep it: only the others are solved."""
        blocks = periods.split(model, self.column_period)
        if blocks is None:
            return None
        lower, upper = periods.linking_bounds(model, blocks)
        if np.any(lower < upper):
            return None
        began = time.perf_counter()
        done = periods.complete(self.recourse.highs, model, blocks, lower, mip_gap=mip_gap,
                                deadline_s=time_limit, relaxed=relaxed)
        if done is None:
            return None
        seconds = time.perf_counter() - began
        gap = max(done.cost - done.bound, 0.0) / max(abs(done.cost), 1e-9)
        return LPOutcome("optimal", done.values, done.cost, seconds, gap)

    def solve_bound(self, arrays: ModelArrays) -> LPOutcome:
        """The future's own plan relaxed: first-stage columns free, integrality dropped."""
        if self.bound is None:
            raise ValueError("this Reuse keeps no bound model")  # a bug, not an input
        return self.bound.solve(arrays, *_free(arrays))


def assign_values(arrays: ModelArrays, values: np.ndarray) -> None:
    """Column values back onto the PuLP variables (what decision_values reads)."""
    for var, value in zip(arrays.variables, values.tolist(), strict=True):
        var.varValue = value


__all__ = ["LPOutcome", "ModelArrays", "Reuse", "assign_values", "model_arrays"]
