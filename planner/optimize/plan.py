"""`plan()`: the cost-minimal plan of a scenario (SPEC section 8), the API behind `planner plan`.

Stages: coefficient tables (planner.inputs) -> PuLP problem (planner.optimize.build) -> solver
(planner.optimize.solve) -> decision values -> PlanResult (planner.results). Infeasible plans are
diagnosed by re-solving with unmet-demand slack to name the workload, month and binding limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pandas as pd

from planner.errors import InfeasibleError, SolverError
from planner.inputs import PlanInputs, build_inputs
from planner.loading import Loaded
from planner.loading.market import input_warnings
from planner.optimize import build as lp
from planner.optimize import duals
from planner.optimize.solve import DEFAULT_MIP_GAP, SolveInfo, Status, left_running, solve
from planner.results import PlanResult, compute_result

# Unmet demand costs this much per Mtok in diagnosis mode: far above any real price.
UNMET_PENALTY_PER_MTOK = 1e7


def plan(loaded: Loaded, *, channels: Iterable[str] | str | None = None, relax: bool = False,
         solver: str = "highs", time_limit: float | None = None,
         mip_gap: float = DEFAULT_MIP_GAP, fixed_commitments: pd.DataFrame | None = None,
         lp_path: str | None = None) -> PlanResult:
    """Solve the plan of `loaded.scenario`.

    channels: some of api, on_demand, reserved, spot, purchase (default all);
    relax: LP relaxation (fractional servers, site); solver: 'highs' or 'cbc';
    time_limit: seconds; fixed_commitments: purchases/reservations to keep (see
    planner.optimize.build.build); lp_path: also write the problem as an LP file (MPS when it
    ends in .mps).
    Raises InfeasibleError (exit 3) or SolverError (exit 4)."""
    inputs = build_inputs(loaded, channels)
    provenance = {
        "scenario": loaded.scenario.name,
        "scenario_path": str(loaded.scenario_path) if loaded.scenario_path else None,
        "variant": loaded.variant, "overrides": loaded.overrides_as_dicts(),
        "channels": list(inputs.channels), "relax": relax,
        # inputs that change nothing (loading.market); channels only when asked for explicitly
        "warnings": input_warnings(loaded.catalog, loaded.scenario,
                                   None if channels is None else inputs.channels),
    }
    return optimize(inputs, relax=relax, solver=solver, time_limit=time_limit,
                       mip_gap=mip_gap, fixed_commitments=fixed_commitments,
                       provenance=provenance, lp_path=lp_path)


def optimize(inputs: PlanInputs, *, relax: bool = False, solver: str = "highs",
             time_limit: float | None = None, mip_gap: float = DEFAULT_MIP_GAP,
             fixed_commitments: pd.DataFrame | None = None,
             provenance: dict[str, Any] | None = None,
             lp_path: str | None = None, limit_values: bool = True) -> PlanResult:
    """The staged plan from coefficient tables: build -> solve -> results (plan, diagnose, the
    alternatives, stress and bench all run it; tests build the tables by hand). The solver
    statistics carry the seconds of each stage (`write_seconds`: the LP/MPS file, if any).
    `limit_values`: also price the scenario's limits (planner.optimize.duals; one more LP,
    only when the scenario has limits and no commitments are fixed)."""
    began = time.perf_counter()
    built = lp.build(inputs, relax=relax, fixed_commitments=fixed_commitments)
    build_seconds = time.perf_counter() - began
    write_seconds = 0.0
    if lp_path:
        lp.write_model(built, lp_path)
        write_seconds = time.perf_counter() - began - build_seconds
    info = solve(built.problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                 periods=(built.column_period, built.stand_in))
    check_solved(info, inputs, relax=relax, solver=solver, time_limit=time_limit,
                 fixed_commitments=fixed_commitments)
    solver_info = info.as_dict()
    solver_info.update(variables=built.variables, constraints=built.constraints,
                       build_seconds=build_seconds, write_seconds=write_seconds,
                       money_scale=built.money_scale)
    result = compute_result(inputs, lp.decision_values(built), solver_info,
                            dict(provenance or {"scenario": inputs.name}))
    result.build_seconds = build_seconds
    # Not while a cancelled solve still runs (a time limit): another would wait for it.
    if limit_values and built.limits and fixed_commitments is None and solver == "highs" \
            and not left_running():
        result.limits_value = duals.limit_values(built)
    return result


def check_solved(info: SolveInfo, inputs: PlanInputs, *, relax: bool, solver: str,
                 time_limit: float | None, fixed_commitments: pd.DataFrame | None) -> None:
    """Raise InfeasibleError (diagnosed: workload, month, limit) or SolverError (no plan within
    the time limit) unless the solve returned a plan."""
    if info.status in (Status.INFEASIBLE, Status.UNBOUNDED):
        raise InfeasibleError(diagnose(inputs, relax=relax, solver=solver,
                                       fixed_commitments=fixed_commitments))
    if not info.is_ok:
        limit = f" within --time-limit {time_limit:g} s" if time_limit else ""
        raise SolverError(f"solver {solver} found no plan{limit} ({info.status.value}); raise "
                          "--time-limit, try --relax (fractional servers) or --solver "
                          f"{'cbc' if solver == 'highs' else 'highs'}")


def diagnose(inputs: PlanInputs, *, relax: bool, solver: str,
             fixed_commitments: pd.DataFrame | None) -> str:
    """Why no plan meets demand: re-solve with unmet-demand slack and name the first workload
    and month left short, and the limits that hold with equality by then."""
    built = lp.build(inputs, relax=True, fixed_commitments=fixed_commitments,
                     unmet_penalty=UNMET_PENALTY_PER_MTOK)
    info = solve(built.problem, solver=solver)
    fixed = " with the fixed commitments" if fixed_commitments is not None else ""
    if not info.is_ok:
        return f"no plan meets demand{fixed}, and the diagnosis could not solve either"
    short = lp.decision_values(built)["unmet"]
    if not len(short):
        integral = "" if relax else (" with whole servers (the relaxation with fractional "
                                     "servers is feasible: try --relax or loosen the limits)")
        tight = lp.tight_limits(built, max(built.inputs.periods.index))
        return (f"no plan meets demand{integral}{fixed}; limits holding with equality: "
                + (", ".join(tight) or "none"))
    short = short.sort_values(["period", "workload"])
    first = short.iloc[0]
    period = int(first["period"])
    month = inputs.periods.loc[period, "month"]
    tight = lp.tight_limits(built, period)
    where = "" if first["slice"] == "all" else f" (time slice {first['slice']})"
    limits = (f"binding limits: {', '.join(tight)}" if tight else
              "no scenario limit binds: the channels allowed cannot serve it "
              f"(channels: {', '.join(inputs.channels)})")
    return (f"no plan meets demand{fixed}: workload {first['workload']!r} is short from "
            f"{month}{where}; {limits}. Loosen the limit (--set limits...), allow more "
            "channels or offers, or lower demand.")


def unmet_demand(inputs: PlanInputs, *, solver: str = "highs",
                 fixed_commitments: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Where and how much demand no plan can serve (`planner plan --diagnose`): re-solve the
    relaxation with unmet demand priced far above any real price, so the solver serves all it
    can and leaves short only what the limits forbid. One row per (workload, month, slice) left
    short: tokens unserved in that period's slice ("all" for a deferrable workload)."""
    built = lp.build(inputs, relax=True, fixed_commitments=fixed_commitments,
                     unmet_penalty=UNMET_PENALTY_PER_MTOK)
    info = solve(built.problem, solver=solver)
    if not info.is_ok:
        raise SolverError(f"the diagnosis with unmet demand could not be solved "
                          f"({info.status.value})")
    frame = lp._frame(inputs)
    rows = []
    for (workload, period, key), var in sorted(built.unmet.items(), key=lambda kv: (
            kv[0][1], str(kv[0][0]), str(kv[0][2]))):
        mtok_per_hour = var.value() or 0.0
        if mtok_per_hour <= 1e-9:
            continue
        slices = frame.slices if key == "all" else [key]
        hours = sum(frame.slice_hours(period, s) for s in slices)
        rows.append({"workload": workload, "month": inputs.month_label(frame.first[period]),
                     "slice": key, "tokens": round(mtok_per_hour * hours * 1e6)})
    return rows


__all__ = ["plan", "optimize", "diagnose", "unmet_demand"]
