"""What a limit costs: shadow prices of the scenario's limits (capex budget per year, power cap,
max GPUs, spot share) for a solved plan.

As PyPSA does after a unit-commitment run: the yes/no decisions of the integer plan (the site
opened or not, a GPU pool serving or not) are fixed at their values and the rest is solved as
an LP, whose row duals price each limit. The counts (servers bought, GPUs held) stay continuous
in that LP: fixed too, every limit on the fleet would hold only fixed columns and its dual would
be 0 by construction, saying nothing. So a value is a marginal rate around the plan's structure:
what a little more of the limit saves; with whole servers the real saving comes in steps.

Rows are summed by calendar year (raising the power cap by one kW in every month of 2028 is
worth the sum of that year's duals) and, but for the capex budget, over the whole horizon
(`year` None): where a chain of rows binds (a GPU bought once draws power every month after),
the LP's duals may sit in any one year of it, and their sum is the robust figure. Money is the
plan's net present cost.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from planner.optimize.build import PlanModel
from planner.optimize.solve import SEED, _InterruptibleHiGHS
from planner.units import MONTHS_PER_YEAR, month_index

KW_PER_MW = 1000.0
PERCENT = 0.01


def limit_values(model: PlanModel) -> list[dict[str, Any]]:
    """Shadow prices of the limits of a solved plan `model` (module docstring): one row per
    limit, key and year with a nonzero value, largest first: `limit` (family), `key` (year,
    GPU id, ...), `year`, `value_per_unit`: net present cost saved by one more unit (a unit of
    money of capex budget, a MW of power, a GPU, a percentage point of spot share). The
    model's variable values are left as the plan's."""
    if not model.limits:
        return []
    problem = model.problem
    problem._add_variables(problem.objective.keys())
    variables = list(problem._variables)
    saved = [(v, v.lowBound, v.upBound, v.varValue) for v in variables]
    status = (problem.status, problem.sol_status)
    switches = set(model.site.values()) | {v for v in variables if v.name.startswith("serves_")}
    try:
        for var in switches:
            var.lowBound = var.upBound = float(round(var.varValue or 0.0))
        engine = _InterruptibleHiGHS(msg=False, mip=False, random_seed=SEED)
        problem.solve(engine)
        import highspy

        if problem.solverModel.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return []
        duals = problem.solverModel.getSolution().row_dual
        row = {name: i for i, name in enumerate(problem._constraints)}
        values = {v.name: (v.varValue or 0.0) for v in variables}
    finally:
        for var, low, high, value in saved:
            var.lowBound, var.upBound, var.varValue = low, high, value
        problem.status, problem.sol_status = status
    inputs = model.inputs
    start = month_index(inputs.start)
    first = inputs.periods["first"].astype(int).to_dict()
    share = inputs.limits.max_spot_share
    totals: dict[tuple[str, str, int], float] = defaultdict(float)
    for family, entries in model.limits.items():
        for key, period, con in entries:
            dual = float(duals[row[con.name]])
            if family == "capex_budget_per_year":
                year = int(key)
                saving = -dual
            else:
                year = (start + first[period]) // MONTHS_PER_YEAR
                saving = -dual
                if family == "max_power_kw":
                    saving *= KW_PER_MW
                elif family == "max_spot_share":
                    saving *= _gpus_in_row(con, values, share) * PERCENT
            totals[(family, str(key), year)] += saving * model.money_scale
    # Over the whole horizon too: duals of a degenerate LP may sit in any year of a chain of
    # binding rows (a GPU bought once uses power every month after), their sum is robust.
    whole: dict[tuple[str, str], float] = defaultdict(float)
    for (family, key, _), value in totals.items():
        if family != "capex_budget_per_year":
            whole[(family, key)] += value
    rows = [{"limit": family, "key": key, "year": None, "value_per_unit": value}
            for (family, key), value in sorted(whole.items(), key=lambda kv: -kv[1])]
    rows += [{"limit": family, "key": key, "year": year, "value_per_unit": value}
             for (family, key, year), value in sorted(totals.items(), key=lambda kv: -kv[1])]
    return [r for r in rows if abs(r["value_per_unit"]) >= 1e-6]


def _gpus_in_row(con: Any, values: dict[str, float], share: float | None) -> float:
    """All GPUs held in a spot-share row (1 - s) spot - s other <= 0: what raising s by one
    unit lets the spot side grow by (the derivative of the row in s is -(spot + other))."""
    if share is None or not 0 < share < 1:
        return 0.0
    total = 0.0
    for var, coef in con.items():
        value = values.get(var.name, 0.0)
        total += coef * value / (1 - share) if coef > 0 else -coef * value / share
    return total


__all__ = ["limit_values"]
