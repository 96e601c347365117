"""Solver choice, status mapping, time limit and gap (SPEC section 8); LP and MPS files are
build.write_model's.

HiGHS through PuLP's highspy API by default; CBC (PuLP's bundled binary) with `solver="cbc"`.
Raw solver codes never leave `_status`: callers see a small Status enum and a SolveInfo.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pulp

from planner.errors import InputError

SOLVERS = ("highs", "cbc")
DEFAULT_MIP_GAP = 1e-3  # relative (0.1%); the plan reports the gap it reached
SEED = 0  # fixed random seed: the same inputs give the same plan
DIVE = True  # start integer plans from a dive's whole-number plan (_start_from_dive)
# The share of a time limit the dive may use: all of it. At 0.8 the large bench's dive (96-117 s
# of 120 on a slow host) stopped one or two LPs short, and branch and bound found no plan in
# the rest: none at all (docs/bench.md, "A dive that finishes").
DIVE_TIME_SHARE = 1.0
# The dive's rounds take 1.4-1.6 times its first LP on the large bench, 2.2 on medium; where
# this many times would not fit in the time left, the LP is rounded period by period instead
# (_dive_by_period): on large a plan 1% dearer, in 38 s instead of 58-70 s.
DIVE_ROUNDS_PER_LP = 2.5
SHOW_ELAPSED = True  # stress turns it off while it shows its own progress line
# The watchdog (_InterruptibleHiGHS._run): HiGHS 1.16 checks its time limit at points its root
# heuristics can miss for minutes (docs/bench.md, "Speed must hold"). At the deadline the
# watchdog cancels the solve; a HiGHS that has not stopped this many seconds later is left to
# stop on its own in the background and the best plan known is returned.
WATCHDOG_GRACE_S = 5.0
# Shares of the time left after the dive (periods.complete): completing a plan from scratch
# period by period, and improving the dive's plan period by period (on the medium bench branch
# and bound did not better the improved plan in the 27 s it had left, docs/bench.md).
COMPLETION_TIME_SHARE = 0.5
IMPROVEMENT_TIME_SHARE = 0.75
BRANCH_AND_BOUND_RESERVE = 0.05  # share kept to hand the plan over when branch and bound is no help
# The value rows (_by_period) are left out when the LP relaxation commits in more linking
# columns than this (docs/bench.md, "Plans in seconds"): saas_usd's plans the rows speed up
# commit in 1-3 columns; the two they slow 2x in 25 and 46.
LP_COMMITMENT_MONTHS = 3
PERIOD_LP_FACTOR = 10.0  # least seconds of an improved period, in its share of the LP's seconds
# The same, searching only around the start (periods.complete's neighbourhood), used where
# every period's whole search would not fit: the large bench at 120 s gave gaps of 1.94%, 1.55%
# and 1.66% at 1, 2 and 4 (docs/bench.md, "Periods searched around the start").
NEIGHBOURHOOD_LP_FACTOR = 2.0


class Status(StrEnum):
    """What the solver achieved."""

    OPTIMAL = "optimal"  # proven optimal (within the MIP gap)
    FEASIBLE = "feasible"  # a solution, stopped early (not by the time limit) before the proof
    TIME_LIMIT = "time_limit"  # the best solution found when --time-limit ran out (see mip_gap)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped (time limit, error) without any solution

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE, Status.TIME_LIMIT)


@dataclass(frozen=True)
class SolveInfo:
    """How a solve went: solver name, status, seconds, the MIP gap reached (0 for an LP,
    None when the solver does not report it), and the scaled objective."""

    name: str
    status: Status
    seconds: float
    mip_gap: float | None
    objective: float | None
    time_limit: float | None

    @property
    def is_ok(self) -> bool:
        return self.status.has_solution

    def as_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status.value
        return out


def _status(problem: pulp.LpProblem) -> Status:
    """The one place PuLP's codes are read."""
    solution = problem.sol_status
    if solution == pulp.LpSolutionOptimal:
        return Status.OPTIMAL
    if solution == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE
    if solution == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if solution == pulp.LpSolutionUnbounded or problem.status == pulp.LpStatusUnbounded:
        return Status.UNBOUNDED
    if problem.status == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    return Status.NO_SOLUTION


@contextlib.contextmanager
def highs_banner_off_stdout():
    """highspy 1.16 prints its banner on the process's stdout (from C, before any option can be
    set) the first time a Highs is made; that would break `--json` output. Point file descriptor
    1 at /dev/null while one is made."""
    sys.stdout.flush()
    try:
        saved_fd = os.dup(1)
    except OSError:  # no stdout at all: nothing to protect
        yield
        return
    devnull_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull_fd, 1)
    try:
        yield
    finally:
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        os.close(devnull_fd)


class _InterruptibleHiGHS(pulp.HiGHS):
    """HiGHS that stops at Ctrl-C. HiGHS runs in C, where Python cannot see SIGINT until the
    solve ends; highspy's own solve() runs it in a worker thread, so the main thread takes the
    interrupt at once and cancels the solve. Then KeyboardInterrupt goes on (exit 130).
    With a time limit a watchdog also cancels the solve at the deadline (`_run`): that stop is
    a time limit, told apart from Ctrl-C by `timed_out`."""

    is_mip = False  # whether the last problem loaded had integer columns
    cost = None  # objective coefficients of the last problem loaded, HiGHS's column order
    earlier_bound = -float("inf")  # the dive's LP bound, or a first solve's (callSolver)
    lp_seconds = 0.0  # what the dive's LP relaxation took (sizes the improvement's periods)
    lp_values = None  # the dive's LP relaxation optimum (numpy column values), if solved
    deadline = None  # perf_counter() at which the time limit runs out (callSolver)
    start = None  # the dive's plan handed to HiGHS, if any (numpy column values)
    cut_rows: list = []  # rows of the value cuts added (_by_period), HiGHS's row indices
    timed_out = False  # the watchdog stopped the last solve at the deadline
    # The plan split by period (build.PlanModel.column_period, .stand_in), set by `solve`:
    # with it, integer plans are completed period by period (_by_period).
    periods: tuple[dict, dict] | None = None
    column_period = None  # numpy period of each column, HiGHS's order (periods.LINKING: none)

    def actualSolve(self, lp: pulp.LpProblem) -> int:
        """PuLP's HiGHS path with the variable list built once: `lp.variables()` walks every
        constraint and sorts by name on each call, and PuLP calls it three times. No walk is
        needed: a variable is registered when PlanModel.column makes it or when PuLP's
        addConstraint first sees it; only one used in the objective alone may be missing."""
        lp._add_variables(lp.objective.keys())
        lp._variables.sort(key=lambda v: v.name)  # the column order lp.variables() gives
        variables = lp._variables
        with highs_banner_off_stdout():
            self.createAndConfigureSolver(lp)
        self._load(lp, variables)
        self.callSolver(lp)
        status, solution_status = self._read_back(lp, variables)
        lp.assignStatus(status, solution_status)
        return status

    def _load(self, lp: pulp.LpProblem, variables: list[pulp.LpVariable]) -> None:
        """The whole problem in two bulk calls (columns, then rows as CSR arrays) instead of
        PuLP's one addCol/addRow per variable and constraint (docs/bench.md)."""
        import highspy
        import numpy as np

        inf = highspy.kHighsInf
        sense = -1 if lp.sense == pulp.LpMaximize else 1
        for i, var in enumerate(variables):
            var.index = i
        objective = lp.objective
        cost = np.array([sense * objective.get(v, 0.0) for v in variables], dtype=np.float64)
        self.cost = cost  # HiGHS's objective is cost @ x: no constant is passed
        lower = np.array([-inf if v.lowBound is None else v.lowBound for v in variables],
                         dtype=np.float64)
        upper = np.array([inf if v.upBound is None else v.upBound for v in variables],
                         dtype=np.float64)
        highs = lp.solverModel
        highs.addCols(len(variables), cost, lower, upper, 0, np.zeros(0, np.int32),
                      np.zeros(0, np.int32), np.zeros(0, np.float64))
        integers = np.array([v.index for v in variables if v.cat == pulp.LpInteger],
                            dtype=np.int32) if self.mip else np.zeros(0, np.int32)
        self.is_mip = bool(len(integers))  # read by _gap: lp.isMIP() walks every row again
        if self.is_mip:
            highs.changeColsIntegrality(len(integers), integers,
                                        np.full(len(integers), highspy.HighsVarType.kInteger))
            # What each whole-number column is, for the dive's rounding (by name prefix).
            highs.planner_kinds = np.array([_column_kind(v.name) for v in variables],
                                           dtype=np.int8)
        self.column_period = None  # an LP needs no periods (6% of the small LP bench's calls)
        if self.periods is not None and self.is_mip:
            from planner.optimize.periods import LINKING

            column_period = self.periods[0]
            self.column_period = np.array([column_period.get(v, LINKING) for v in variables],
                                          dtype=np.int64)
        constraints = list(lp._constraints.values())
        starts, index, value, row_lower, row_upper = [], [], [], [], []
        for con in constraints:
            starts.append(len(index))
            for var, coef in con.items():
                if coef != 0:
                    index.append(var.index)
                    value.append(coef)
            lb, ub = con.getLb(), con.getUb()
            row_lower.append(-inf if lb is None else lb)
            row_upper.append(inf if ub is None else ub)
        if constraints:
            highs.addRows(len(constraints), np.array(row_lower, dtype=np.float64),
                          np.array(row_upper, dtype=np.float64), len(index),
                          np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
                          np.array(value, dtype=np.float64))

    @staticmethod
    def _read_back(lp: pulp.LpProblem, variables: list[pulp.LpVariable]) -> tuple[int, int]:
        """Variable values and PuLP's (status, solution status). Duals and slacks are not read:
        nothing in planner uses them."""
        import highspy

        model_status = lp.solverModel.getModelStatus()
        codes = highspy.HighsModelStatus
        if model_status == codes.kOptimal:
            found = (pulp.LpStatusOptimal, pulp.LpSolutionOptimal)
        elif model_status in (codes.kInfeasible, codes.kUnboundedOrInfeasible):
            found = (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)
        elif model_status == codes.kUnbounded:
            found = (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded)
        elif model_status in (codes.kTimeLimit, codes.kIterationLimit, codes.kInterrupt,
                              codes.kObjectiveBound, codes.kObjectiveTarget) and \
                lp.solverModel.getObjectiveValue() != float("inf"):
            found = (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
        else:
            found = (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
        values = lp.solverModel.getSolution().col_value
        for var, value in zip(variables, values, strict=False):
            var.varValue = value
        return found

    def callSolver(self, lp: pulp.LpProblem) -> None:
        import highspy

        highs = lp.solverModel
        self.deadline = time.perf_counter() + self.timeLimit if self.timeLimit else None
        self.timed_out = False
        self.cut_rows = []
        self.lp_values = None
        start = None
        blocks = self._blocks(highs)
        if blocks is not None and not len(blocks.free):
            # Every commitment fixed (a stress future, fixed_commitments): the periods apart
            # are the plan, each solved to the gap.
            exact = self._complete(highs, blocks, blocks.lower)
            if exact is not None:
                self.earlier_bound = exact.bound
                lp.solverModel = _Stopped(None, (exact.cost, exact.values, exact.bound),
                                          optimal=True)
                return
        if self.is_mip and DIVE:
            by_period = None if blocks is None else \
                lambda lp_values, left_s: self._dive_by_period(highs, blocks, lp_values, left_s)
            start, self.earlier_bound, self.lp_seconds, self.lp_values = \
                _start_from_dive(highs, self.timeLimit, by_period)
        # A dive's plan already proven (below) needs no improving period by period.
        if blocks is not None and not (start is not None and self._proven(start)):
            start = self._by_period(highs, blocks, start)
        self.start = start
        if start is not None and self._proven(start):
            # The dive's plan is within the gap of the LP bound (a whole LP, often): no branch
            # and bound can better it by more than the gap asked for.
            lp.solverModel = _Stopped(None, (float(self.cost @ start), start,
                                             self.earlier_bound), optimal=True)
            return
        self._run(lp)
        highs = lp.solverModel  # a stand-in when the watchdog left HiGHS running (_run)
        if self.cut_rows and not isinstance(highs, _Stopped) and \
                highs.getModelStatus() == highspy.HighsModelStatus.kSolveError:
            # HiGHS 1.16 can fail on the value rows (a draw of tests/test_plan_properties.py):
            # branch and bound again without them, from the same start.
            highs.deleteRows(len(self.cut_rows), np.asarray(self.cut_rows, dtype=np.int32))
            self.cut_rows = []
            self._run_again(lp, highs, start)
            highs = lp.solverModel
        stopped = self.timed_out or \
            highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        if start is not None and not stopped and start_returned_for_incumbent(highs, self.cost):
            # Solve again from the start with presolve off, where the start is its own image.
            # At a time limit the start stands: _gap measures the plan returned.
            self.earlier_bound = max(self.earlier_bound,  # still a bound: same problem
                                     highs.getInfo().mip_dual_bound)
            highs.setOptionValue("presolve", "off")
            self._run_again(lp, highs, start)

    def _run_again(self, lp: pulp.LpProblem, highs, start) -> None:
        """Branch and bound once more on `highs` from `start` (None: none), its earlier
        search dropped, in the time left."""
        highs.clearSolver()  # drops the start too
        if start is not None:
            hand_start(highs, start)
        if self.deadline is not None:
            limit_next_run(highs, self.deadline - time.perf_counter())
        self._run(lp)

    def _blocks(self, highs):
        """The problem's periods (planner.optimize.periods.split) with the linking columns'
        bounds, or None (not an integer plan, no period map, or a row across periods)."""
        if not self.is_mip or self.column_period is None:
            return None
        from planner.optimize import periods

        model = highs.getLp()
        blocks = periods.split(model, self.column_period)
        if blocks is None:
            return None
        lower, upper = periods.linking_bounds(model, blocks)
        return _Blocks(blocks, model, lower, blocks.linking[lower < upper])

    def _complete(self, highs, blocks, linking_values, start=None):
        """The cheapest plan with the linking columns at `linking_values`, period by period
        (None: none, or the time limit ran out); from `start` (a whole plan with those linking
        values), a plan no dearer than it (periods.complete)."""
        from planner.optimize import periods

        left_s = None if self.deadline is None else self.deadline - time.perf_counter()
        count = max(len(blocks.split.periods), 1)
        # a period's own root LP and cuts take a few times its share of the whole LP's
        # seconds: less time than that does nothing (the large bench: 2.3 s for nothing)
        whole_s = PERIOD_LP_FACTOR * self.lp_seconds / count
        period_s, around = 0.0, False
        if left_s is not None:
            # at most a share of the time left: branch and bound keeps the rest (and the
            # start), unless the rest would not cover its root LP twice: then it is no help
            share = COMPLETION_TIME_SHARE if start is None else IMPROVEMENT_TIME_SHARE
            if start is not None and (1 - share) * left_s < 2 * self.lp_seconds:
                share = 1.0 - BRANCH_AND_BOUND_RESERVE
            left_s *= share
            # where whole searches would not fit every period, each searches around the start
            around = start is not None and whole_s * count > left_s
            period_s = NEIGHBOURHOOD_LP_FACTOR * self.lp_seconds / count if around else whole_s
        began = time.perf_counter()
        plan = periods.complete(highs, blocks.model, blocks.split, linking_values,
                                mip_gap=self.gapRel or 0.0, deadline_s=left_s, start=start,
                                least_period_s=period_s, order=self._most_to_gain(blocks, start),
                                neighbourhood=around)
        rest_s = None if left_s is None else left_s - (time.perf_counter() - began)
        if around and plan is not None and rest_s >= whole_s:
            # every period searched around the start with time to spare (the medium bench):
            # whole searches from that plan in the rest, most to gain first
            plan = periods.complete(highs, blocks.model, blocks.split, linking_values,
                                    mip_gap=self.gapRel or 0.0, deadline_s=rest_s,
                                    start=plan.values, least_period_s=whole_s,
                                    order=self._most_to_gain(blocks, plan.values))
        return plan

    def _most_to_gain(self, blocks, start):
        """The periods by how much the start's share of each costs above the LP relaxation's,
        most first: under a time limit that may not reach every period, the periods where
        improving the start can gain most (the large bench at 120 s: 29,149.64 -> 29,099.37
        against 29,108.02 in ascending order). None (ascending) without a time limit."""
        if start is None or self.deadline is None or self.lp_values is None:
            return None
        from planner.optimize.periods import LINKING

        split = blocks.split
        by_period = np.searchsorted(split.periods, split.column_period)
        own = split.column_period != LINKING
        above = np.bincount(by_period[own], weights=(self.cost * (start - self.lp_values))[own],
                            minlength=len(split.periods))
        return split.periods[np.argsort(-above, kind="stable")]

    def _dive_by_period(self, highs, blocks, lp_values, left_s: float):
        """A whole plan from the LP relaxation's values (`lp_values`) when the dive's rounds
        would not fit in `left_s`: the commitments rounded to the nearest (else up), then each
        period's own dive (periods.complete). None if a period fails or time runs out."""
        from planner.optimize import periods

        began = time.perf_counter()
        model, linking = blocks.model, blocks.split.linking
        integrality = model.integrality_  # a copy of every column's per access
        whole = np.array([int(integrality[j]) != 0 for j in linking], dtype=bool)
        upper = np.asarray(model.col_upper_)[linking]
        # the nearest; up where that breaks a row (a site rounded away from a purchase) or
        # leaves a month short (nothing to rent)
        for rounded in (np.round(lp_values[linking]), np.ceil(lp_values[linking] - 1e-6)):
            values = np.clip(np.where(whole, rounded, lp_values[linking]), blocks.lower, upper)
            plan = periods.complete(highs, model, blocks.split, values,
                                    mip_gap=self.gapRel or 0.0, dive=_dive,
                                    deadline_s=left_s - (time.perf_counter() - began))
            if plan is not None:
                return plan.values
        return None

    def _by_period(self, highs, blocks, start):
        """A better start and a stronger relaxation from the periods apart: the dive's plan
        improved period by period, the plan without commitments (their lower bounds)
        completed period by period, and the value rows the second gives
        (planner.optimize.periods.value_cuts). Returns the start for branch and bound."""
        import highspy

        from planner.optimize import periods

        linking = blocks.split.linking
        improved = None
        if start is not None:
            # first, from the start: it always gives a plan, where from scratch the periods
            # may run out of time
            improved = self._complete(highs, blocks, start[linking], start)
        if improved is not None and np.array_equal(start[linking], blocks.lower):
            base = improved  # the same commitments: from scratch would solve the same periods
        elif improved is not None and not improved.solved:
            # Periods stopped short from a start would not all be solved from scratch in less
            # time (the medium bench: 3.8 s for nothing): the time goes to branch and bound.
            base = None
        else:
            base = self._complete(highs, blocks, blocks.lower)
        found = [plan for plan in (improved, base) if plan is not None]
        best = min(found, key=lambda plan: plan.cost) if found else None
        if best is not None and (start is None or best.cost < float(self.cost @ start)):
            start = best.values
        commits = start is not None and not np.array_equal(start[linking], blocks.lower)
        if base is not None and not commits and not self._lp_commits_often(linking, blocks):
            # The rows price a commitment at its on-demand stand-in, more than it saves where
            # the best plan known commits, or where the LP commits month after month: there
            # they slow branch and bound (docs/bench.md, "Plans in seconds").
            stand_in = {p: None if pairs is None else [  # column indices (_load numbered them)
                (j.index, o.index, units) for j, o, units in pairs]
                for p, pairs in self.periods[1].items()}
            for columns, coefficients, floor in periods.value_cuts(
                    blocks.model, blocks.split, base, stand_in):
                self.cut_rows.append(highs.getNumRow())
                highs.addRow(floor, highspy.kHighsInf, len(columns), columns.astype(np.int32),
                             coefficients)
        if start is not None:
            hand_start(highs, start)  # after the rows: a change of the model drops it
        if self.deadline is not None:
            limit_next_run(highs, self.deadline - time.perf_counter())
        return start

    def _lp_commits_often(self, linking, blocks) -> bool:
        """Whether the LP relaxation signs commitments (above their lower bounds) in more than
        LP_COMMITMENT_MONTHS linking columns: a fleet it grows month by month."""
        from planner.optimize.periods import WHOLE_TOLERANCE

        if self.lp_values is None:
            return False
        above = self.lp_values[linking] > blocks.lower + WHOLE_TOLERANCE
        return int(np.count_nonzero(above)) > LP_COMMITMENT_MONTHS

    def _run(self, lp: pulp.LpProblem) -> None:
        """Run HiGHS in highspy's worker thread and wait for it here, so that Ctrl-C (main
        thread only) and the time limit's watchdog can cancel it. A cancel at the deadline is
        a time limit (`timed_out`); a HiGHS still running WATCHDOG_GRACE_S later (1.16 in a
        root heuristic that checks no limit) is left to stop in the background, and
        `lp.solverModel` becomes a `_Stopped` holding the best plan known: HiGHS's last
        improving plan or the dive's start, whichever costs less."""
        import highspy

        highs = lp.solverModel
        main = threading.current_thread() is threading.main_thread()
        if not main and self.deadline is None:
            highs.run()  # no Ctrl-C (signals reach the main thread only) and no deadline
            return
        highs.HandleUserInterrupt = True  # cancelSolve() takes effect at HiGHS's next check
        # improving plans HiGHS reports: (cost, values, dual bound); and its dual bound at
        # each interrupt check (cost inf, no plan): a HiGHS stalled after its root cuts keeps
        # their bound (the medium bench at 60 s: 3,514 against the LP's 3,354)
        found: list = []
        watch = bound = None
        if self.deadline is not None and self.is_mip:
            def watch(event) -> None:
                found.append(self._improving(event.data_out))

            def bound(event) -> None:
                found.append((float("inf"), None, float(event.data_out.mip_dual_bound)))
            highs.cbMipImprovingSolution += watch
            highs.cbMipInterrupt += bound
        interrupted = False
        cancelled_at = None
        # highspy prints a notice at Ctrl-C: to stderr (stdout is process-wide: main only)
        shown = contextlib.ExitStack()
        if main:
            shown.enter_context(contextlib.redirect_stdout(sys.stderr))
            shown.enter_context(_elapsed_on_terminal(self.timeLimit))
        _wait_for_left_running()  # highspy 1.16: one startSolve at a time per process
        try:
            with shown:
                highs.startSolve()
                while True:
                    try:
                        if highs.wait(0.1)[0]:
                            break
                    except KeyboardInterrupt:
                        interrupted = True
                    now = time.perf_counter()
                    if cancelled_at is None and (interrupted or (
                            self.deadline is not None and now >= self.deadline)):
                        cancelled_at = now
                        highs.cancelSolve()
                    elif cancelled_at is not None and now - cancelled_at >= WATCHDOG_GRACE_S:
                        if interrupted:
                            raise KeyboardInterrupt
                        self.timed_out = True
                        lp.solverModel = _Stopped(highs, self._best_known(found))
                        _leave_running(highs)
                        return
        finally:
            if watch is not None and lp.solverModel is highs:
                highs.cbMipImprovingSolution -= watch
                highs.cbMipInterrupt -= bound
        if interrupted:
            raise KeyboardInterrupt
        if highs.getModelStatus() == highspy.HighsModelStatus.kInterrupt:
            if cancelled_at is None:
                raise KeyboardInterrupt  # a cancel not ours: Ctrl-C seen by highspy
            self.timed_out = True
            if highs.getInfo().primal_solution_status != \
                    highspy.SolutionStatus.kSolutionStatusFeasible:
                # cancelled before HiGHS had a plan of its own (in presolve, say)
                lp.solverModel = _Stopped(None, self._best_known(found))

    def _proven(self, start) -> bool:
        """Whether the plan `start` is within the MIP gap asked for of the LP bound, measured
        as HiGHS (and `_gap`) measures it: (objective - bound) / |objective|."""
        objective = float(self.cost @ start)
        shortfall = objective - self.earlier_bound
        return shortfall <= (self.gapRel or 0.0) * abs(objective) or shortfall <= 1e-9

    def _improving(self, data) -> tuple[float, object, float]:
        """An improving plan HiGHS reports (callback, its worker thread): cost, values, bound."""
        import numpy as np

        values = np.array(data.mip_solution, dtype=np.float64)
        cost = float(self.cost @ values) if len(values) == len(self.cost) else float("inf")
        return cost, values, float(data.mip_dual_bound)

    def _best_known(self, found: list) -> tuple[float, object, float]:
        """The cheapest of HiGHS's improving plans and the dive's start, and the best bound."""
        found = list(found)  # HiGHS's thread may still append
        bound = max([self.earlier_bound] + [b for _, _, b in found if b < float("inf")])
        best = (float("inf"), None) if self.start is None else \
            (float(self.cost @ self.start), self.start)
        for cost, values, _ in found:
            if cost < best[0]:
                best = (cost, values)
        return best[0], best[1], min(bound, best[0])  # no bound above a plan known


@dataclass(frozen=True)
class _Blocks:
    """The problem split by period (planner.optimize.periods.Blocks), the HiGHS model it was
    read from, the linking columns' lower bounds and those not fixed (`free`)."""

    split: object
    model: object
    lower: object
    free: object


class _Stopped:
    """Stands in for a Highs that the watchdog stopped waiting for (`_InterruptibleHiGHS._run`),
    or that was never run because the dive's plan is proven (`optimal`): it answers the few
    questions planner asks of a finished solve with the best plan known (None: no plan).
    `running` is the Highs left running (or None), kept so that it is not freed while its
    thread may still run (the thread also holds it)."""

    def __init__(self, running, best: tuple[float, object, float], *,
                 optimal: bool = False) -> None:
        import highspy

        cost, values, bound = best
        self.running = running
        self.optimal = optimal  # a plan proven within the gap without HiGHS (callSolver)
        have = values is not None
        self._values = [float(v) for v in values] if have else []
        self._info = _StoppedInfo(
            objective_function_value=cost if have else float("inf"), mip_dual_bound=bound,
            primal_solution_status=highspy.SolutionStatus.kSolutionStatusFeasible if have
            else highspy.SolutionStatus.kSolutionStatusNone)

    def getModelStatus(self):
        import highspy

        codes = highspy.HighsModelStatus
        return codes.kOptimal if self.optimal else codes.kTimeLimit

    def getInfo(self):
        return self._info

    def getObjectiveValue(self) -> float:
        return self._info.objective_function_value

    def getSolution(self):
        return _StoppedSolution(self._values)


_LEFT_RUNNING: list = []  # Highs objects the watchdog stopped waiting for (cancelled)


def _leave_running(highs) -> None:
    """Remember a cancelled HiGHS still running in its thread. A process must not end while
    one runs (its C++ threads abort the process at exit): at exit, wait for them; the CLI
    ends its process at once instead (`exit_past_running_solves`)."""
    if not _LEFT_RUNNING:
        import atexit

        atexit.register(_wait_for_left_running)
    _LEFT_RUNNING.append(highs)


def left_running() -> bool:
    """Whether a cancelled solve is still running in the background."""
    return any(highs.is_solver_running() for highs in _LEFT_RUNNING)


def _wait_for_left_running() -> None:
    """Wait for the cancelled solves still running. highspy 1.16 keeps the lock that says a
    solve runs on the class, not the Highs: while one runs, any other Highs's startSolve
    raises "Solver is already running" and its wait() blocks."""
    while _LEFT_RUNNING:
        _LEFT_RUNNING.pop().joinSolve()


def exit_past_running_solves(code: int) -> None:
    """End the process now with `code` if a cancelled solve is still running (the watchdog's
    plan has been returned and shown): os._exit skips the wait at exit for HiGHS to reach its
    next check of the cancel, which can take minutes in highspy 1.16's root heuristics."""
    if left_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@dataclass(frozen=True)
class _StoppedInfo:
    objective_function_value: float
    mip_dual_bound: float
    primal_solution_status: object


@dataclass(frozen=True)
class _StoppedSolution:
    col_value: list


def limit_next_run(highs, seconds: float) -> None:
    """Let the next run() of `highs` take at most `seconds`. HiGHS compares its time_limit
    with the run time of every run() of that Highs so far (getRunTime), not of the next one
    alone: a limit of the seconds left stopped the dive's 60th LP at once, 26 s into a budget
    of 48 s (the medium bench, docs/bench.md)."""
    highs.setOptionValue("time_limit", highs.getRunTime() + max(seconds, 1e-3))


def _start_from_dive(highs, time_limit: float | None, by_period=None):
    """Hand HiGHS the dive's whole-number plan (if it finds one) as the incumbent to start
    branch and bound from, and take the dive's time off the limit of the solve that follows.
    The plan handed over (or None), the dive's LP relaxation bound (-inf if none) and the
    seconds that LP took (0 if none)."""
    began = time.perf_counter()
    first_lp = []
    start = _dive(highs, DIVE_TIME_SHARE * time_limit if time_limit else None, first_lp,
                  by_period)
    _return_freed_memory()
    if time_limit:
        limit_next_run(highs, time_limit - (time.perf_counter() - began))
    if start is not None:
        hand_start(highs, start)
    bound, lp_seconds, lp_values = first_lp or (-float("inf"), 0.0, None)
    return start, bound, lp_seconds, lp_values


def hand_start(highs, start) -> None:
    """Give `highs` the whole-number plan `start` (numpy column values) to begin from."""
    import highspy

    solution = highspy.HighsSolution()
    solution.col_value = start.tolist()
    solution.value_valid = True
    highs.setSolution(solution)


def start_returned_for_incumbent(highs, cost) -> bool:
    """Whether HiGHS handed back a plan dearer than the objective it reports. highspy 1.16
    (not 1.15) does so when its best plan is the start as presolve maps it, cheaper there
    than the start itself (a needless purchase the reductions drop): it reports that plan's
    objective but returns the start, at a time limit too (docs/bench.md, "The incumbent
    dive"). With presolve off the start is its own image: solving again so returns a plan
    that costs what HiGHS reports."""
    reported = highs.getInfo().objective_function_value
    if not abs(reported) < float("inf"):
        return False
    returned = _returned_cost(highs, cost)
    return returned > reported + 1e-7 * max(1.0, abs(reported))


def _returned_cost(highs, cost) -> float:
    """The objective of the plan HiGHS returns (HiGHS's sense and scale, no constant)."""
    import numpy as np

    return float(cost @ np.asarray(highs.getSolution().col_value))


REPLICAS, COMMITMENT, RENTAL = 1, 2, 3  # kinds of whole-number columns (_column_kind)
_KIND_PREFIXES = (("replicas_", REPLICAS), ("buy_", COMMITMENT), ("reserve_", COMMITMENT),
                  ("x_", COMMITMENT), ("on_demand_", RENTAL), ("spot_", RENTAL),
                  ("backup_", RENTAL))


def _column_kind(name: str) -> int:
    """REPLICAS, COMMITMENT (purchases, reservations) or RENTAL by the plan's column names
    (planner.optimize.build; two-stage futures prefix theirs with f{k}_), else 0."""
    if name[:1] == "f" and "_" in name and name[1:name.index("_")].isdigit():
        name = name[name.index("_") + 1:]
    for prefix, kind in _KIND_PREFIXES:
        if name.startswith(prefix):
            return kind
    return 0


def _dive(highs, budget_s: float | None = None, first_lp: list | None = None,
          by_period=None):
    """A whole-number plan for the problem loaded in `highs` (numpy column values), or None
    (docs/bench.md, "The incumbent dive"). Solve the LP relaxation; then, round after round,
    fix the binaries it holds at >= 0.5 to 1 and at <= 0.1 to 0 (the largest to 1 when none
    qualifies) and solve again; when every binary is fixed, round the general integers (whole
    servers) to the nearest, fix them and solve once more. Rentals and APIs make up for a
    server rounded away; rounding up instead buys a server in every month the LP buys a
    sliver (6x the optimum on one bench). HiGHS's own heuristics find such a plan late where
    one GPU pool filled with slivers of many workloads is the whole gap. None when an LP turns
    infeasible or `budget_s` runs out. General integers are rounded in stages when their kinds
    are known (`_column_kind`): replicas up (a replica too many is always feasible), then
    purchases and reservations to the nearest (up if that fails), then rentals up. The dive
    works on a copy of the problem, dropped before
    returning: `highs` is left as it was, and the dive's simplex memory (a gigabyte on the
    large bench) is freed before branch and bound allocates its own. The LP relaxation's
    optimum, a bound on the integer plan, and the seconds it took are appended to `first_lp`
    when given: a time limit that stops branch and bound before it has a bound still reports
    a gap. `by_period(lp_values, seconds left)`: where the rounds would not fit in the budget
    (DIVE_ROUNDS_PER_LP times the first LP's seconds), the plan it gives from the LP instead
    (_InterruptibleHiGHS._dive_by_period)."""
    import highspy
    import numpy as np

    began = time.perf_counter()
    model = highs.getLp()
    with highs_banner_off_stdout():
        diver = highspy.Highs()
    diver.passOptions(highs.getOptions())
    kinds = np.array([int(k) for k in model.integrality_], dtype=np.int32)
    integers = np.flatnonzero(kinds == int(highspy.HighsVarType.kInteger))
    lower, upper = np.array(model.col_lower_), np.array(model.col_upper_)
    binary = (lower[integers] == 0) & (upper[integers] == 1)
    unfixed = set(integers[binary].tolist())
    general = integers[~binary]
    model.integrality_ = []  # the LP relaxation
    diver.passModel(model)
    del model

    def resolve() -> bool:
        if budget_s is not None:
            left_s = budget_s - (time.perf_counter() - began)
            if left_s <= 0:
                return False
            limit_next_run(diver, left_s)
        diver.run()
        return diver.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def fix(columns: list | np.ndarray, values: list | np.ndarray) -> None:
        diver.changeColsBounds(len(columns), np.asarray(columns, dtype=np.int32),
                               np.asarray(values, dtype=np.float64),
                               np.asarray(values, dtype=np.float64))

    found = resolve()
    lp_values = np.array(diver.getSolution().col_value, dtype=np.float64) if found else None
    if found and first_lp is not None:
        first_lp += [diver.getInfo().objective_function_value, time.perf_counter() - began,
                     lp_values]
    if found and by_period is not None and budget_s is not None:
        elapsed_s = time.perf_counter() - began
        if DIVE_ROUNDS_PER_LP * elapsed_s > budget_s - elapsed_s:
            plan = by_period(lp_values, budget_s - elapsed_s)
            if plan is not None:
                return plan  # else the rounds, in the time left
    kinds = getattr(highs, "planner_kinds", None)
    if kinds is not None and len(kinds) != len(lower):
        kinds = None
    while found and unfixed:
        value = diver.getSolution().col_value
        ones = [j for j in unfixed if value[j] >= 0.5]
        zeros = [j for j in unfixed if value[j] <= 0.1]
        if not ones and not zeros:
            ones = [max(unfixed, key=lambda j: value[j])]
        unfixed.difference_update(ones, zeros)
        fix(ones + zeros, [1.0] * len(ones) + [0.0] * len(zeros))
        found = resolve()
    if kinds is None:
        stages = [(general, "nearest")]
    else:
        stages = [(general[kinds[general] == REPLICAS], "rounds"),
                  (general[kinds[general] == COMMITMENT], "nearest"),
                  (general[(kinds[general] != REPLICAS) & (kinds[general] != COMMITMENT)],
                   "up")]
    for columns, rule in stages:
        if not found or not len(columns):
            continue
        if rule == "rounds":
            found = _round_in_rounds(diver, columns, fix, resolve)
            continue
        value = np.asarray(diver.getSolution().col_value)[columns]
        fix(columns, np.round(value) if rule == "nearest" else np.ceil(value - 1e-6))
        found = resolve()
        if not found and rule == "nearest":
            diver.changeColsBounds(len(columns), columns.astype(np.int32), lower[columns],
                                   upper[columns])
            fix(columns, np.ceil(value - 1e-6))
            found = resolve()
    return np.asarray(diver.getSolution().col_value) if found else None


def _round_in_rounds(diver, columns, fix, resolve) -> bool:
    """Whole replicas as the binaries are fixed: round after round, those the LP holds within
    1e-6 of a whole number, or with a fractional part >= 0.5 (up) or <= 0.1 (down), are fixed
    and the LP solved again; when none qualifies the most fractional half goes up (one at a
    time took 45 rounds of 0.45 s on the large bench, its whole budget)."""
    import numpy as np

    unfixed = np.asarray(columns)
    found = True
    while found and len(unfixed):
        value = np.asarray(diver.getSolution().col_value)[unfixed]
        whole = np.abs(value - np.round(value)) <= 1e-6
        part = value - np.floor(value)
        up = ~whole & (part >= 0.5)
        down = ~whole & (part <= 0.1)
        chosen = whole | up | down
        if not chosen.any():
            most = np.argsort(-part, kind="stable")[:max(1, len(part) // 2)]
            up[most] = chosen[most] = True
        target = np.where(whole, np.round(value), np.where(up, np.ceil(value), np.floor(value)))
        fix(unfixed[chosen], target[chosen])
        unfixed = unfixed[~chosen]
        found = resolve()
    return found


def _return_freed_memory() -> None:
    """Hand the heap memory freed by the dive back to the system before branch and bound
    grows its own: glibc keeps it otherwise (750 MB on the large bench, docs/bench.md).
    A no-op where the C library is not glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def _elapsed_on_terminal(time_limit: float | None, after_s: float = 3.0):
    """On a terminal, a solve running longer than `after_s` shows its elapsed seconds on stderr
    (one line, rewritten each second), so a long integer plan is not mistaken for a hang."""
    if not SHOW_ELAPSED or not sys.stderr.isatty():
        yield
        return
    done = threading.Event()
    limit = f" of --time-limit {time_limit:g} s" if time_limit else " (--time-limit S bounds it)"

    def tick() -> None:
        began = time.perf_counter()
        shown = False
        while not done.wait(1.0):
            elapsed = time.perf_counter() - began
            if elapsed >= after_s:
                sys.stderr.write(f"\rplanner: solving, {elapsed:.0f} s{limit}  ")
                sys.stderr.flush()
                shown = True
        if shown:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def _solver(name: str, time_limit: float | None, mip_gap: float, threads: int | None,
            msg: bool) -> pulp.LpSolver:
    if name == "highs":
        return _InterruptibleHiGHS(msg=msg, timeLimit=time_limit, gapRel=mip_gap, threads=threads,
                          random_seed=SEED)
    if name == "cbc":
        # PuLP 3 warns that its bundled CBC goes away in PuLP 4 (pyproject pins pulp < 4); the
        # warning is not the user's concern and is an error under `pytest -W error`.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(msg=msg, timeLimit=time_limit, gapRel=mip_gap,
                                     threads=threads, options=[f"randomSeed {SEED + 1}",
                                                               f"randomCbcSeed {SEED + 1}"])
    raise InputError(f"--solver {name!r}: unknown solver; allowed: {', '.join(SOLVERS)}")


def solve(problem: pulp.LpProblem, *, solver: str = "highs", time_limit: float | None = None,
          mip_gap: float = DEFAULT_MIP_GAP, threads: int | None = None,
          msg: bool = False, periods: tuple[dict, dict] | None = None) -> SolveInfo:
    """Solve in place; return what happened (never raises for infeasible or time limit).
    `periods`: the plan's (column_period, stand_in) (build.PlanModel): HiGHS then solves
    an integer plan period by period where it can (planner.optimize.periods)."""
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"--time-limit {time_limit!r}: allowed: a positive number of seconds")
    engine = _solver(solver, time_limit, mip_gap, threads, msg)
    if isinstance(engine, _InterruptibleHiGHS):
        engine.periods = periods
    began = time.perf_counter()
    try:
        problem.solve(engine)
    except pulp.PulpSolverError as exc:
        return SolveInfo(solver, Status.NO_SOLUTION, time.perf_counter() - began, None, None,
                         time_limit) if "time" in str(exc).lower() else _failed(solver, exc)
    except IndexError:
        # HiGHS refuses rows with a coefficient above 1e15 and PuLP then misreads its solution.
        _failed(solver, "it rejected part of the problem (a coefficient beyond 1e15: check the "
                "inputs for absurd magnitudes)")
    seconds = time.perf_counter() - began
    status = _status(problem)
    if status == Status.FEASIBLE:
        status = _stopped_status(problem, solver, seconds, time_limit,
                                 getattr(engine, "timed_out", False))
    gap = _gap(problem, engine, status)
    if status == Status.TIME_LIMIT and gap is not None and gap <= mip_gap:
        status = Status.OPTIMAL  # stopped, but the plan already meets a bound (the dive's LP)
    objective = pulp.value(problem.objective) if status.has_solution else None
    return SolveInfo(solver, status, seconds, gap, objective,
                     time_limit)


def _stopped_status(problem: pulp.LpProblem, solver: str, seconds: float,
                    time_limit: float | None, timed_out: bool = False) -> Status:
    """A solve stopped before proving optimality. PuLP calls any HiGHS stop with values
    'integer feasible', even an LP whose simplex stopped at an infeasible point: keep the plan
    only if HiGHS says its primal solution is feasible, and name a time-limit stop as such
    (HiGHS's own, or the watchdog's cancel: `timed_out`)."""
    highs = getattr(problem, "solverModel", None) if solver == "highs" else None
    if highs is not None:
        import highspy

        if highs.getInfo().primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            return Status.NO_SOLUTION
        if timed_out or highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            return Status.TIME_LIMIT
        return Status.FEASIBLE
    # CBC's command line does not say why it stopped; a stop at the limit is the time limit.
    if time_limit is not None and seconds >= 0.95 * time_limit:
        return Status.TIME_LIMIT
    return Status.FEASIBLE


def _failed(solver: str, exc: Exception | str) -> SolveInfo:
    from planner.errors import SolverError

    raise SolverError(f"solver {solver} failed: {exc}") from None


def _gap(problem: pulp.LpProblem, engine: pulp.LpSolver, status: Status) -> float | None:
    if not status.has_solution:
        return None
    if isinstance(engine, _InterruptibleHiGHS):
        if not engine.is_mip:
            return 0.0
        highs = problem.solverModel
        # HiGHS's mip_gap, of the plan returned (not always the one HiGHS reports, callSolver)
        # and with the bound of a first solve when it solved twice
        objective = _returned_cost(highs, engine.cost)
        bound = max(highs.getInfo().mip_dual_bound, engine.earlier_bound)
        shortfall = max(objective - bound, 0.0)
        if shortfall == 0:
            return 0.0
        return shortfall / abs(objective) if objective and shortfall < float("inf") else None
    # CBC through its command line does not report the gap it reached.
    return None if problem.isMIP() else 0.0


def highs_only_seconds(mps_path: Path | str, mip_gap: float = DEFAULT_MIP_GAP,
                       time_limit: float | None = None) -> tuple[float, float | None, int]:
    """An MPS file read and solved by HiGHS directly, the limit Python overhead is measured
    against. Returns (seconds, objective or None without one, nonzeros of the matrix)."""
    import highspy

    _wait_for_left_running()  # an earlier solve's time, not HiGHS alone's (see _run)
    began = time.perf_counter()
    with highs_banner_off_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", mip_gap)
    highs.setOptionValue("random_seed", 0)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(time_limit))
    highs.readModel(str(mps_path))
    if time_limit is None:
        highs.run()
    else:  # the watchdog of _InterruptibleHiGHS._run, for HiGHS alone: no plan if it hangs
        highs.HandleUserInterrupt = True
        deadline = began + float(time_limit)
        cancelled_at = None
        highs.startSolve()
        while not highs.wait(0.1)[0]:
            now = time.perf_counter()
            if cancelled_at is None and now >= deadline:
                cancelled_at = now
                highs.cancelSolve()
            elif cancelled_at is not None and now - cancelled_at >= WATCHDOG_GRACE_S:
                _leave_running(highs)
                return now - began, None, highs.getNumNz()
    seconds = time.perf_counter() - began
    objective = highs.getInfo().objective_function_value
    found = objective is not None and abs(objective) < float("inf")
    return seconds, float(objective) if found else None, highs.getNumNz()


__all__ = ["DEFAULT_MIP_GAP", "SOLVERS", "SolveInfo", "Status", "exit_past_running_solves",
           "hand_start", "highs_only_seconds", "left_running", "limit_next_run", "solve",
           "start_returned_for_incumbent"]
