"""The recourse of a stress future: purchases and reservations fixed, the rest re-optimised
(on-demand, spot, APIs, assignments), cheaply and honestly (issue 22, item 2).

With the commitments fixed, what is left is small, and its LP relaxation is usually whole at the
root already (40 of 40 samples of seed001_medium): then the LP's optimum is the integer optimum,
exactly (the relaxation bounds every integer plan from below and this one is integer), and
branch and bound (with its dive and sub-MIP heuristics) would only prove it again. So: solve the
LP; when every integer column comes back whole, that is the plan (gap 0); otherwise solve the
integer problem as `plan` does (the dive starts it from the rounded LP) and report the gap it
stops at. Works on whatever planner.optimize.build writes: it only relaxes and restores the
integer columns of the built problem.

With a kept model (`reuse`, planner.optimize.reuse: build once, solve many) a future of the
base's shape has its LPs solved there, only the numbers changed, and its integer problem, when
the LP is not whole, on a copy of it by HiGHS's branch and bound alone.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pulp

from planner.errors import InfeasibleError, SolverError
from planner.inputs import PlanInputs
from planner.optimize import build as lp
from planner.optimize.periods import WHOLE_TOLERANCE
from planner.optimize.plan import check_solved, diagnose
from planner.optimize.reuse import Reuse, assign_values
from planner.optimize.solve import DEFAULT_MIP_GAP, SolveInfo, Status, solve
from planner.results import PlanResult, compute_result


def recourse(inputs: PlanInputs, *, fixed_commitments: pd.DataFrame | None,
             relax: bool = False, solver: str = "highs", time_limit: float | None = None,
             mip_gap: float = DEFAULT_MIP_GAP, provenance: dict[str, Any] | None = None,
             lp_first: bool = True, lp_only: bool = False, bound: bool = False,
             reuse: Reuse | None = None) -> PlanResult:
    """The plan of `inputs` with `fixed_commitments` held (None: a full plan, solved the same
    way). `result.solver` says how: `lp_whole` (the LP relaxation was whole: no branch and
    bound) and `mip_gap` (0 when lp_whole). `lp_only`: stop after the LP relaxation of the
    integer model (its whole-GPU rows kept, integrality dropped) and return its plan, whole or
    not, with its cost, a lower bound on the integer plan's, in `result.solver["lp_npv"]`
    (status 'lp_bound' unless whole). Raises
    InfeasibleError (with the diagnosis) or SolverError as `planner.optimize.plan.optimize`
    does. `bound` (with fixed commitments): first solve the same model with the commitments
    free, as an LP: the future's own plan relaxed, a lower bound on any commitments' cost there
    (`result.solver["bound_npv"]`, None if it has none); one build serves both. `reuse`: a
    base future's model kept in HiGHS (planner.optimize.reuse): when this future's model has its
    shape, its LPs (the bound and the recourse relaxation) are solved there with only the
    numbers changed (`result.solver["reused"]`); when the LP is not whole, the integer problem
    on a copy of that model (HiGHS's branch and bound, stopped at `mip_gap`)."""
    began = time.perf_counter()
    built = lp.build(inputs, relax=relax, fixed_commitments=fixed_commitments)
    build_seconds = time.perf_counter() - began
    problem = built.problem
    # PlanModel.column registers every column with the problem when it makes it.
    integers = [v for v in problem._variables if v.cat == pulp.LpInteger]
    lp_whole = False
    info = None
    lp_seconds = 0.0
    bound_npv = None
    arrays = None
    integer_kept = False  # the integer problem solved on a copy of the kept model
    if reuse is not None and solver == "highs" and not relax:
        arrays = reuse.arrays_if_same_shape(built)
    if bound and fixed_commitments is not None:
        bound_npv = _free_bound(built, integers, solver, time_limit, mip_gap) if arrays is None \
            else _reused_bound(reuse, arrays, built)
    if (lp_first or lp_only) and integers and not relax:
        info = _reused_lp(reuse, arrays, time_limit) if arrays is not None else None
        if info is None:
            for var in integers:
                var.cat = pulp.LpContinuous
            try:
                info = solve(problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
            finally:
                for var in integers:
                    var.cat = pulp.LpInteger
        if info.status in (Status.INFEASIBLE, Status.UNBOUNDED):
            # The relaxation has no plan: neither has the integer problem.
            raise InfeasibleError(diagnose(inputs, relax=relax, solver=solver,
                                           fixed_commitments=fixed_commitments))
        lp_seconds = info.seconds
        lp_whole = info.status == Status.OPTIMAL and all(
            abs((v.varValue or 0.0) - round(v.varValue or 0.0)) <= WHOLE_TOLERANCE
            for v in integers)
        if lp_whole:
            for var in integers:
                var.varValue = float(round(var.varValue or 0.0))
        elif arrays is not None and info.is_ok and not lp_only:
            whole = _reused_integer(reuse, arrays, info, mip_gap, time_limit)
            if whole is not None:
                info, integer_kept = whole, True
                check_solved(info, inputs, relax=relax, solver=solver, time_limit=time_limit,
                             fixed_commitments=fixed_commitments)
    if integer_kept:
        pass  # solved on the kept model's copy
    elif lp_only and info is not None and not lp_whole:
        if not info.is_ok:
            raise SolverError(f"solver {solver} found no LP relaxation ({info.status.value})")
    elif not lp_whole:
        info = solve(problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                     periods=(built.column_period, built.stand_in))
        check_solved(info, inputs, relax=relax, solver=solver, time_limit=time_limit,
                     fixed_commitments=fixed_commitments)
    solver_info = info.as_dict()
    if lp_whole:
        solver_info["mip_gap"] = 0.0
    elif lp_only and integers and not relax:
        solver_info.update(status="lp_bound", mip_gap=None)
    if lp_only:
        # the bound is the LP's objective: the result's npv is read from decisions rounded to
        # whole numbers (build._value), which a fractional plan's are not
        solver_info["lp_npv"] = lp.objective_value(built) if info.is_ok else None
    solver_info.update(variables=built.variables, constraints=built.constraints,
                       build_seconds=build_seconds, money_scale=built.money_scale,
                       lp_whole=lp_whole, integer_columns=len(integers), bound_npv=bound_npv,
                       reused=arrays is not None,
                       seconds=info.seconds + (0.0 if lp_whole or integer_kept else lp_seconds))
    result = compute_result(inputs, lp.decision_values(built), solver_info,
                            dict(provenance or {"scenario": inputs.name}))
    result.build_seconds = build_seconds
    return result


__all__ = ["recourse"]


def _free_bound(built: lp.PlanModel, integers: list, solver: str, time_limit: float | None,
                mip_gap: float) -> float | None:
    """The LP relaxation's optimum (money) with the first-stage columns freed from the values
    the commitments fixed (bounds 0..none: looser than the plan's own, still a relaxation of
    it), then their fixed bounds restored."""
    first = [*built.buy.values(), *built.reserve.values()]
    saved = [(v.lowBound, v.upBound) for v in first]
    for var in first:
        var.lowBound, var.upBound = 0, None
    for var in integers:
        var.cat = pulp.LpContinuous
    try:
        info = solve(built.problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
        value = lp.objective_value(built) if info.status == Status.OPTIMAL else None
    finally:
        for var, (low, high) in zip(first, saved, strict=True):
            var.lowBound, var.upBound = low, high
        for var in integers:
            var.cat = pulp.LpInteger
    return value


def _reused_bound(reuse: Reuse, arrays, built: lp.PlanModel) -> float | None:
    """_free_bound's LP on the kept bound model (planner.optimize.reuse)."""
    out = reuse.solve_bound(arrays)
    return None if out.objective is None else float(out.objective) * built.money_scale


def _reused_integer(reuse: Reuse, arrays, relaxed: SolveInfo, mip_gap: float,
                    time_limit: float | None) -> SolveInfo | None:
    """The integer problem on a copy of the kept model (reuse.solve_integer), its plan on the
    future's variables; None when it stopped without a plan (then solved as before)."""
    out = reuse.solve_integer(arrays, mip_gap, time_limit)
    if out is None:
        return None
    seconds = relaxed.seconds + out.seconds
    if out.status == "infeasible":
        return SolveInfo("highs", Status.INFEASIBLE, seconds, None, None, time_limit)
    assign_values(arrays, out.values)
    status = Status.OPTIMAL if out.status == "optimal" or out.gap <= mip_gap \
        else Status.TIME_LIMIT
    return SolveInfo("highs", status, seconds, out.gap, out.objective, time_limit)


def _reused_lp(reuse: Reuse, arrays, time_limit: float | None) -> SolveInfo | None:
    """The recourse relaxation on the kept model, its values on the future's variables; None
    when HiGHS neither solved it nor proved it infeasible (then it is solved as before)."""
    out = reuse.solve_recourse(arrays)
    if out.status == "infeasible":
        return SolveInfo("highs", Status.INFEASIBLE, out.seconds, None, None, time_limit)
    if out.status != "optimal":
        return None
    assign_values(arrays, out.values)
    return SolveInfo("highs", Status.OPTIMAL, out.seconds, 0.0, out.objective, time_limit)


def highs_alone_seconds(inputs: PlanInputs, *, fixed_commitments: pd.DataFrame | None,
                        folder, mip_gap: float = DEFAULT_MIP_GAP) -> tuple[float, float | None]:
    """The same recourse problem written to MPS and solved by HiGHS directly (read + run):
    what a stress sample's time is measured against (`planner bench --stress`)."""
    from pathlib import Path

    from planner.optimize.solve import highs_only_seconds

    built = lp.build(inputs, fixed_commitments=fixed_commitments)
    path = Path(folder) / "recourse.mps"
    lp.write_model(built, str(path))
    seconds, objective, _ = highs_only_seconds(path, mip_gap=mip_gap)
    return seconds, objective


def relax_second_stage(model: lp.TwoStageModel) -> int:
    """Drop the integrality of every column of a two-stage program but its first stage
    (purchases and reservations, shared and per future): the recourse (whole GPUs rented,
    replicas) becomes continuous, the commitments stay whole. The program is then a relaxation
    of the recourse only; its commitments must be evaluated with the exact recourse
    (planner.studies.hedge does). Returns the columns relaxed."""
    first = {id(v) for v in model.first_stage.values()}
    for future in model.futures:
        first.update(id(v) for v in (*future.buy.values(), *future.reserve.values()))
    relaxed = 0
    for var in model.problem.variables():
        if var.cat == pulp.LpInteger and id(var) not in first:
            var.cat = pulp.LpContinuous
            relaxed += 1
    return relaxed


__all__ += ["highs_alone_seconds", "relax_second_stage"]
