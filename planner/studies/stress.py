"""`planner stress`: how a plan holds up when the future differs from the forecast (issue 6).

Four parts, all built on `plan(..., fixed_commitments=...)` (first stage: purchases and reserved
contracts; recourse: on-demand, spot, APIs) and, for the hedged plan, on the two-stage builder
`planner.optimize.two_stage`. No PuLP here. docs/stress.md writes it out.

- variants: the base scenario and each named variant, solved on their own.
- regret: each variant's commitments fixed, the rest re-optimised under every variant; regret =
  that cost minus the best cost known for the future evaluated (>= 0 by construction).
- monte_carlo: futures drawn from the scenario's `stress:` distributions (numpy default_rng(seed));
  the base plan's commitments are evaluated with recourse in each.
- hedged: one set of commitments minimizing the expected cost (optionally plus a CVaR weight)
  over the sampled (or variant) futures, against the base plan's commitments on the same futures.

Futures are applied through the same override machinery as variants (stress keys and dotted
paths as `--set` values), so a sampled future is exactly `planner plan --set ...`. Solves run in
worker processes, results ordered by index so the numbers do not depend on the worker count.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import loading
from planner.errors import InfeasibleError, InputError, PlannerError, SolverError
from planner.inputs import PlanInputs, build_inputs
from planner.optimize import solve as solve_module
from planner.optimize.solve import DEFAULT_MIP_GAP
from planner.results.result import (
    CATEGORIES,
    COMMITMENT_COLUMNS,
    PlanResult,
    format_number,
)
from planner.schemas.scenario import Distribution, StressSettings
from planner.studies.locked import lock_prices, signed_prices

BASE = "base"
# Defaults of the scenario's `stress:` section (docs/stress.md, "Distributions").
DEFAULT_DISTRIBUTIONS: dict[str, Distribution] = {
    "demand_multiplier": Distribution(dist="lognormal", median=1.0, sigma=0.3),
    "demand_growth": Distribution(dist="normal", mean=0.0, sd=0.2),
    "api_price_multiplier": Distribution(dist="lognormal", median=1.0, sigma=0.3),
    "gpu_price_multiplier": Distribution(dist="lognormal", median=1.0, sigma=0.15),
    "spot_availability": Distribution(dist="uniform", low=0.5, high=0.95),
}
DRAW_ORDER = tuple(DEFAULT_DISTRIBUTIONS)  # fixed order: the same seed, the same numbers
MIN_GROWTH = -0.95  # a drawn growth_per_year is kept above this (the schema needs > -1)
MIN_MULTIPLIER = 1e-3  # a drawn multiplier (normal, uniform) is kept above 0
HEDGE_TIME_LIMIT_S = 300.0


@dataclass(frozen=True)
class StressOptions:
    """samples: Monte Carlo futures (None: the scenario's stress.samples; 0: none);
    workers: processes (None: os.cpu_count()); hedge_over: 'samples', 'variants' or 'auto'
    (samples when there are any); cvar_weight/cvar_alpha: None = the scenario's."""

    samples: int | None = None
    seed: int = 0
    workers: int | None = None
    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float = DEFAULT_MIP_GAP
    relax: bool = False
    regret: bool = True
    hedge: bool = True
    hedge_over: str = "auto"
    hedge_time_limit: float | None = HEDGE_TIME_LIMIT_S
    cvar_weight: float | None = None
    cvar_alpha: float | None = None
    progress: bool | None = None  # None: when stderr is a terminal
    currency: str | None = None  # --currency: only the scenario's own is supported yet


@dataclass(frozen=True)
class Future:
    """One future: a name, its overrides as `--set` texts, and its weight."""

    name: str
    sets: tuple[str, ...] = ()
    variant: str | None = None
    weight: float = 1.0
    draws: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- sampling


def settings_of(loaded: loading.Loaded) -> StressSettings:
    scenario = loaded.scenario
    return scenario.stress if scenario is not None and scenario.stress is not None \
        else StressSettings()


def distributions(settings: StressSettings) -> dict[str, Distribution]:
    """The scenario's distributions, defaults where it sets none."""
    return {key: getattr(settings, key) or DEFAULT_DISTRIBUTIONS[key] for key in DRAW_ORDER}


def draw(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """n values of one distribution (always consuming the generator the same way)."""
    if dist.dist == "lognormal":
        return dist.median * np.exp(dist.sigma * rng.standard_normal(n))
    if dist.dist == "normal":
        return dist.mean + dist.sd * rng.standard_normal(n)
    if dist.dist == "uniform":
        return rng.uniform(dist.low, dist.high, n)
    if dist.dist == "triangular":
        if dist.low == dist.high:
            rng.uniform(0, 1, n)
            return np.full(n, dist.low)
        return rng.triangular(dist.low, dist.mode, dist.high, n)
    rng.uniform(0, 1, n)  # fixed: keep the stream aligned with other distributions
    return np.full(n, dist.value)


def sample_futures(loaded: loading.Loaded, samples: int, seed: int) -> list[Future]:
    """`samples` futures drawn with numpy's default_rng(seed), as --set overrides: the four
    stress multipliers, plus growth_per_year + a common shift for every workload whose demand
    is given by requests_per_day (series demand is only scaled)."""
    dists = distributions(settings_of(loaded))
    rng = np.random.default_rng(seed)
    values = {key: draw(dists[key], rng, samples) for key in DRAW_ORDER}
    growth = {w: wl.demand.growth_per_year for w, wl in loaded.scenario.workloads.items()
              if wl.demand.series is None}
    futures = []
    for i in range(samples):
        d = {key: float(values[key][i]) for key in DRAW_ORDER}
        for key in ("demand_multiplier", "api_price_multiplier", "gpu_price_multiplier"):
            d[key] = max(d[key], MIN_MULTIPLIER)
        d["spot_availability"] = min(max(d["spot_availability"], MIN_MULTIPLIER), 1.0)
        sets = [f"{key}={d[key]!r}" for key in ("demand_multiplier", "api_price_multiplier",
                                                "gpu_price_multiplier", "spot_availability")]
        for w, g in growth.items():
            shifted = max(g + d["demand_growth"], MIN_GROWTH)
            sets.append(f"workloads.{w}.demand.growth_per_year={shifted!r}")
        futures.append(Future(f"sample {i}", tuple(sets), None, 1.0 / samples, d))
    return futures


# --------------------------------------------------------------------------- worker tasks


@dataclass(frozen=True)
class Task:
    """One solve, picklable for a worker process."""

    index: int
    scenario: str
    catalog: str | None
    sets: tuple[str, ...]
    variant: str | None
    fixed: tuple[tuple[str, str, str, float], ...] | None  # commitments (kind, offer, month, gpus)
    solver: str
    time_limit: float | None
    mip_gap: float
    relax: bool
    idle_threshold: float = 0.5
    # Signed prices of the fixed commitments (planner.studies.locked): they keep them here.
    locked: tuple[tuple[str, str, str, float], ...] = ()
    keep_years: bool = False  # return every year's cash (Monte Carlo's budget ranges)


def _commitment_rows(result: PlanResult) -> tuple[tuple[str, str, str, float], ...]:
    c = result.commitments
    return tuple((str(k), str(o), str(m), float(g)) for k, o, m, g in
                 zip(c["kind"], c["offer"], c["month"], c["gpus"], strict=True))


def committed_utilization(result: PlanResult) -> list[float]:
    """Per period with owned or reserved GPUs serving: the share of their GPU-hours that served
    tokens (tokens served by owned/reserved GPUs over Mtok per GPU-hour, over the GPU-hours
    held). Empty when the plan commits nothing."""
    inputs = result.inputs
    fleet = result.fleet[result.fleet["channel"].isin(("purchase", "reserved"))]
    if not len(fleet):
        return []
    rate = {(w, g): r for w, g, r in zip(inputs.capacity["workload"], inputs.capacity["gpu"],
                                         inputs.capacity["mtok_per_gpu_hour"], strict=True)}
    held = fleet.groupby("month")["gpu_hours"].sum()
    served = result.served[result.served["channel"].isin(("purchase", "reserved"))]
    used: dict[str, float] = {}
    for month, w, g, mtok in zip(served["month"], served["workload"], served["resource"],
                                 served["mtok"], strict=True):
        used[month] = used.get(month, 0.0) + mtok / rate[(w, g)]
    return [min(1.0, used.get(m, 0.0) / h) for m, h in held.items() if h > 0]


def summarize(result: PlanResult, idle_threshold: float) -> dict[str, Any]:
    """What the stress tables keep of a solved plan (`signed`: the prices its commitments were
    signed at, which they keep under every other future)."""
    util = committed_utilization(result)
    years = [{"year": int(y), **{c: float(r[c]) for c in (*CATEGORIES, "total")}}
             for y, r in result.years.iterrows()]
    commitments = _commitment_rows(result)
    gap = result.solver.get("mip_gap")
    return {"feasible": True, "status": result.status, "npv": float(result.npv),
            "total_cost": float(result.total_cost), "years": years,
            "commitments": commitments,
            "signed": signed_prices(result.inputs, commitments),
            "committed_utilization_min": min(util) if util else None,
            "committed_utilization_mean": float(np.mean(util)) if util else None,
            "idle": bool(util) and min(util) < idle_threshold,
            "solver_seconds": float(result.solver.get("seconds") or 0.0),
            "mip_gap": None if gap is None else float(gap),
            "lp_whole": bool(result.solver.get("lp_whole", False)), "error": None}


FAILED = {"npv": None, "total_cost": None, "years": [], "commitments": (), "signed": (),
          "committed_utilization_min": None, "committed_utilization_mean": None,
          "idle": False, "solver_seconds": 0.0, "mip_gap": None, "lp_whole": False}


def run_task(task: Task) -> dict[str, Any]:
    """Load the future, solve (commitments fixed when given, at their signed prices, the LP
    first: planner.optimize.recourse); never raises for a plan that cannot be made: it is
    reported infeasible with the reason. A scenario file the worker cannot read raises."""
    from planner.optimize.recourse import recourse

    began = time.perf_counter()
    if not Path(task.scenario).is_file():
        raise InputError(f"{task.scenario}: a stress worker cannot read the scenario file "
                         "(workers need the scenario and catalog at the same paths)")
    try:
        loaded = loading.load(task.scenario, catalog_dir=task.catalog, sets=task.sets,
                              variant=task.variant)
        inputs = lock_prices(build_inputs(loaded), task.locked)
        fixed = None if task.fixed is None else pd.DataFrame(list(task.fixed),
                                                             columns=COMMITMENT_COLUMNS)
        provenance = {"scenario": loaded.scenario.name, "variant": loaded.variant,
                      "overrides": loaded.overrides_as_dicts(), "relax": task.relax}
        result = recourse(inputs, fixed_commitments=fixed, relax=task.relax,
                          solver=task.solver, time_limit=task.time_limit, mip_gap=task.mip_gap,
                          provenance=provenance, lp_first=fixed is not None)
        out = summarize(result, task.idle_threshold)
    except (InfeasibleError, SolverError, InputError) as exc:
        kind = {InfeasibleError: "infeasible", SolverError: "solver_failed"}.get(type(exc),
                                                                                   "not_applicable")
        out = {"feasible": False, "status": kind, **FAILED,
               "error": str(exc).splitlines()[0][:300]}
    if not task.keep_years:
        out["years"] = [{"year": y["year"], "total": y["total"]} for y in out["years"]]
    out["index"] = task.index
    out["seconds"] = time.perf_counter() - began
    return out


def run_tasks(tasks: Sequence[Task], workers: int, label: str, progress: bool
              ) -> list[dict[str, Any]]:
    """Solve tasks in `workers` processes (1: in this process); results in task order."""
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    began = time.perf_counter()

    def report(done: int) -> None:
        if progress:
            print(f"\r{label}: {done}/{len(tasks)} solved, {time.perf_counter() - began:.0f} s",
                  end="" if done < len(tasks) else "\n", file=sys.stderr, flush=True)

    shown = solve_module.SHOW_ELAPSED
    _quiet_solves()  # one progress line: ours, not each solve's elapsed seconds
    try:
        if workers <= 1 or len(tasks) <= 1:
            for i, task in enumerate(tasks):
                results[i] = run_task(task)
                report(i + 1)
        else:
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                                     initializer=_quiet_solves) as pool:
                for done, (i, out) in enumerate(zip(range(len(tasks)),
                                                    pool.map(run_task, tasks), strict=True),
                                                start=1):
                    results[i] = out
                    report(done)
    finally:
        solve_module.SHOW_ELAPSED = shown
    return [r for r in results if r is not None]


def _quiet_solves() -> None:
    solve_module.SHOW_ELAPSED = False


# --------------------------------------------------------------------------- the four parts


def variant_names(loaded: loading.Loaded) -> list[str]:
    return [BASE, *map(str, loaded.scenario.variants)]


def regret_rows(names: Sequence[str], own: dict[str, float | None],
                evaluations: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (plan_from, evaluated_under, npv, best_npv, regret, feasible, error). best_npv: the
    lowest cost known for the future evaluated (its own plan, or another plan's commitments
    re-optimised there when that came out cheaper within the MIP gap), so regret >= 0 and a
    variant's regret against itself is 0 up to the solver's gap."""
    best: dict[str, float | None] = {}
    for j in names:
        known = [v for v in [own.get(j)] + [evaluations[(i, j)]["npv"] for i in names
                                           if (i, j) in evaluations] if v is not None]
        best[j] = min(known) if known else None
    rows = []
    for i in names:
        for j in names:
            ev = evaluations.get((i, j))
            if ev is None:
                continue
            npv = ev["npv"]
            rows.append({"plan_from": i, "evaluated_under": j, "npv": npv, "best_npv": best[j],
                         "regret": None if npv is None or best[j] is None else npv - best[j],
                         "feasible": ev["feasible"], "error": ev["error"]})
    return rows


def regret_summary(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """Per plan: its worst and mean regret over the futures it could serve, and how many it
    could not (the row a planner picks from: the smallest max_regret)."""
    out = []
    for i in names:
        mine = [r for r in rows if r["plan_from"] == i]
        values = [r["regret"] for r in mine if r["regret"] is not None]
        out.append({"plan_from": i, "max_regret": max(values) if values else None,
                    "mean_regret": float(np.mean(values)) if values else None,
                    "infeasible": sum(1 for r in mine if not r["feasible"])})
    return out


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99 (numpy's linear interpolation), mean, std, min, max."""
    if not values:
        return {k: None for k in ("p50", "p90", "p99", "mean", "std", "min", "max")}
    data = np.asarray(values, dtype=float)
    return {"p50": float(np.percentile(data, 50)), "p90": float(np.percentile(data, 90)),
            "p99": float(np.percentile(data, 99)), "mean": float(data.mean()),
            "std": float(data.std()), "min": float(data.min()), "max": float(data.max())}


def monte_carlo_summary(futures: Sequence[Future], outcomes: Sequence[dict[str, Any]],
                        settings: StressSettings, seed: int) -> dict[str, Any]:
    feasible = [o["npv"] for o in outcomes if o["feasible"]]
    samples = []
    for i, (future, o) in enumerate(zip(futures, outcomes, strict=True)):
        samples.append({"sample": i, **{k: future.draws[k] for k in DRAW_ORDER},
                        "npv": o["npv"], "feasible": o["feasible"], "idle": o["idle"],
                        "committed_utilization_min": o["committed_utilization_min"],
                        "committed_utilization_mean": o["committed_utilization_mean"],
                        "lp_whole": o["lp_whole"], "mip_gap": o["mip_gap"],
                        "error": o["error"]})
    idle = sum(1 for o in outcomes if o["feasible"] and o["idle"])
    gaps = [o["mip_gap"] for o in outcomes if o["feasible"] and o["mip_gap"] is not None]
    util = [o["committed_utilization_mean"] for o in outcomes
            if o["committed_utilization_mean"] is not None]
    return {"count": len(futures), "seed": seed, "feasible": len(feasible),
            "infeasible": len(futures) - len(feasible), **percentiles(feasible),
            "idle_share": idle / len(feasible) if feasible else None,
            "idle_threshold": settings.idle_threshold,
            "committed_utilization_mean": float(np.mean(util)) if util else None,
            "lp_whole": sum(1 for o in outcomes if o["feasible"] and o["lp_whole"]),
            "largest_gap": max(gaps) if gaps else None,
            "distributions": {k: v.model_dump(exclude_none=True)
                              for k, v in distributions(settings).items()},
            "samples": samples}


# --------------------------------------------------------------------------- hedged


def hedge_inputs(futures: Sequence[PlanInputs], weights: Sequence[float] | None = None, *,
                 base_commitments: pd.DataFrame | None = None, relax: bool = False,
                 solver: str = "highs", time_limit: float | None = HEDGE_TIME_LIMIT_S,
                 mip_gap: float = DEFAULT_MIP_GAP, cvar_weight: float = 0.0,
                 cvar_alpha: float = 0.9,
                 deterministic: Sequence[float | None] | None = None) -> dict[str, Any]:
    """The two-stage stochastic program over `futures` (coefficient tables): one set of
    commitments shared by all, recourse per future, minimizing the weighted expected net
    present cost (plus cvar_weight x CVaR_alpha). `deterministic`: the base plan's commitments'
    npv in each future (None: infeasible); when not given and `base_commitments` is, they are
    evaluated here. The hedged plan is never worse in expectation than the base commitments:
    those are a feasible first stage; if the solver stops (time limit, MIP gap) above them, the
    base commitments are kept and `kept_base` says so."""
    from planner.optimize import build as lp
    from planner.optimize.plan import optimize
    from planner.optimize.solve import solve
    from planner.results import compute_result

    n = len(futures)
    weights = [1.0 / n] * n if weights is None else [float(w) for w in weights]
    total = sum(weights)
    weights = [w / total for w in weights]
    if deterministic is None and base_commitments is not None:
        deterministic = []
        for inputs in futures:
            try:
                deterministic.append(optimize(inputs, relax=relax, solver=solver,
                                                 mip_gap=mip_gap,
                                                 fixed_commitments=base_commitments).npv)
            except (InfeasibleError, SolverError, InputError):
                deterministic.append(None)
    began = time.perf_counter()
    built = lp.build_two_stage(list(futures), weights, relax=relax, cvar_weight=cvar_weight,
                               cvar_alpha=cvar_alpha)
    info = solve(built.problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
    seconds = time.perf_counter() - began
    out: dict[str, Any] = {
        "method": "two-stage stochastic program", "futures": n, "weights": weights,
        "cvar_weight": cvar_weight, "cvar_alpha": cvar_alpha, "status": info.status.value,
        "seconds": seconds, "mip_gap": info.mip_gap, "variables": built.variables,
        "constraints": built.constraints}
    det_ok = deterministic is not None and all(v is not None for v in deterministic)
    det_expected = float(sum(w * v for w, v in zip(weights, deterministic, strict=True))) \
        if det_ok else None
    out["deterministic_expected_npv"] = det_expected
    out["deterministic_infeasible"] = (sum(1 for v in deterministic if v is None)
                                       if deterministic is not None else None)
    if not info.is_ok:
        out.update(expected_npv=None, npvs=[], commitments=[], kept_base=False)
        return out
    npvs, frames = [], []
    for k, (inputs, future) in enumerate(zip(futures, built.futures, strict=True)):
        result = compute_result(inputs, lp.decision_values(future), info.as_dict(),
                                {"scenario": inputs.name, "future": k})
        npvs.append(float(result.npv))
        frames.append(result.commitments)
    expected = float(sum(w * v for w, v in zip(weights, npvs, strict=True)))
    commitments = frames[0][COMMITMENT_COLUMNS] if frames else pd.DataFrame(
        columns=COMMITMENT_COLUMNS)

    def score(values: list[float]) -> float:  # the program's objective, in money
        return (1 - cvar_weight) * float(np.dot(weights, values)) + cvar_weight * cvar(
            values, weights, cvar_alpha)

    kept_base = False
    if det_ok and base_commitments is not None and score(npvs) > score(list(deterministic)):
        # Stopped above a known first stage (gap, time limit): the base commitments are better.
        kept_base, npvs = True, list(deterministic)
        expected = float(np.dot(weights, npvs))
        commitments = base_commitments[COMMITMENT_COLUMNS]
    out.update(expected_npv=expected, npvs=npvs, kept_base=kept_base,
               commitments=_records(commitments), cvar_npv=cvar(npvs, weights, cvar_alpha))
    if det_ok:
        out["deterministic_cvar_npv"] = cvar(list(deterministic), weights, cvar_alpha)
    if base_commitments is not None:
        out["differences"] = commitment_differences(base_commitments, commitments)
    return out


def cvar(values: Sequence[float], weights: Sequence[float], alpha: float) -> float | None:
    """Conditional value at risk: the weighted mean of the worst (1 - alpha) share of costs
    (Rockafellar-Uryasev: min over eta of eta + E[(cost - eta)+] / (1 - alpha))."""
    if not values:
        return None
    best = math.inf
    for eta in values:
        excess = sum(w * max(v - eta, 0.0) for v, w in zip(values, weights, strict=True))
        best = min(best, eta + excess / (1 - alpha))
    return float(best)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"kind": k, "offer": o, "month": m, "gpus": float(g)} for k, o, m, g in
            zip(frame["kind"], frame["offer"], frame["month"], frame["gpus"], strict=True)]


def commitment_differences(base: pd.DataFrame, hedged: pd.DataFrame) -> list[dict[str, Any]]:
    """What the hedged plan commits differently: per (kind, offer, month), GPUs in each."""
    def totals(frame: pd.DataFrame) -> dict[tuple[str, str, str], float]:
        out: dict[tuple[str, str, str], float] = {}
        for k, o, m, g in zip(frame["kind"], frame["offer"], frame["month"], frame["gpus"],
                              strict=True):
            out[(k, o, m)] = out.get((k, o, m), 0.0) + float(g)
        return out

    a, b = totals(base), totals(hedged)
    rows = []
    for key in sorted(set(a) | set(b)):
        if abs(a.get(key, 0.0) - b.get(key, 0.0)) > 1e-6:
            rows.append({"kind": key[0], "offer": key[1], "month": key[2],
                         "base_gpus": a.get(key, 0.0), "hedged_gpus": b.get(key, 0.0),
                         "change": b.get(key, 0.0) - a.get(key, 0.0)})
    return rows


# --------------------------------------------------------------------------- driver


def _progress(options: StressOptions) -> bool:
    return sys.stderr.isatty() if options.progress is None else options.progress


def stress(scenario: Path | str, *, catalog_dir: Path | str | None = None,
           sets: Iterable[str] = (), options: StressOptions | None = None) -> dict[str, Any]:
    """The `planner stress --json` document: variants, regret, monte_carlo, hedged."""
    options = options or StressOptions()
    sets = tuple(sets)
    began = time.perf_counter()
    loaded = loading.load(scenario, catalog_dir=catalog_dir, sets=sets)
    if options.currency is not None:
        from planner.studies.unit_costs import reporting_currency

        if reporting_currency(loaded, options.currency) != loaded.currency:
            raise InputError(f"--currency {options.currency}: stress reports in the scenario's "
                             f"currency only; allowed: {loaded.currency} (or leave it out)")
    settings = settings_of(loaded)
    samples = settings.samples if options.samples is None else options.samples
    if samples < 0:
        raise InputError(f"--samples {samples}: allowed: 0 or more")
    workers = options.workers or os.cpu_count() or 1
    if workers < 1:
        raise InputError(f"--workers {workers}: allowed: 1 or more")
    progress = _progress(options)
    cvar_weight = settings.cvar_weight if options.cvar_weight is None else options.cvar_weight
    cvar_alpha = settings.cvar_alpha if options.cvar_alpha is None else options.cvar_alpha
    if not 0 <= cvar_weight <= 1 or not 0 <= cvar_alpha < 1:
        raise InputError(f"--cvar-weight {cvar_weight} / --cvar-alpha {cvar_alpha}: allowed: "
                         "a weight in [0, 1] and alpha in [0, 1)")
    path, catalog = str(scenario), None if catalog_dir is None else str(catalog_dir)
    common = dict(scenario=path, catalog=catalog, solver=options.solver,
                  time_limit=options.time_limit, mip_gap=options.mip_gap, relax=options.relax,
                  idle_threshold=settings.idle_threshold)

    # Variants: each future's own plan. The user's --set applies on top of every variant.
    names = variant_names(loaded)
    own = run_tasks([Task(i, sets=sets, variant=None if n == BASE else n, fixed=None,
                          keep_years=True, **common)
                     for i, n in enumerate(names)], workers, "variants", progress)
    if not own[0]["feasible"]:
        raise InfeasibleError(f"the base plan of {path} cannot be made: {own[0]['error']}")
    variants = [{"name": n, "npv": o["npv"], "total_cost": o["total_cost"],
                 "feasible": o["feasible"], "status": o["status"], "years": o["years"],
                 "commitments": [dict(zip(COMMITMENT_COLUMNS, c, strict=True))
                                 for c in o["commitments"]], "error": o["error"]}
                for n, o in zip(names, own, strict=True)]

    # Regret: commitments of i fixed (at the prices i signed them at), recourse re-optimised
    # under j. One solve per distinct (commitments, signed prices) and future.
    regret: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    regret_solves = 0
    evaluations: dict[tuple[str, str], dict[str, Any]] = {}
    if options.regret:
        feasible_names = [n for n, o in zip(names, own, strict=True) if o["feasible"]]
        signed = {n: (o["commitments"], o["signed"]) for n, o in zip(names, own, strict=True)}
        distinct = list(dict.fromkeys(signed[i] for i in feasible_names))
        pairs = [(c, j) for c in distinct for j in names]
        outs = run_tasks([Task(k, sets=sets, variant=None if j == BASE else j, fixed=c[0],
                               locked=c[1], **common) for k, (c, j) in enumerate(pairs)],
                         workers, "regret", progress)
        regret_solves = len(pairs)
        solved = dict(zip(pairs, outs, strict=True))
        evaluations = {(i, j): solved[(signed[i], j)] for i in feasible_names for j in names}
        regret = regret_rows(names, {n: o["npv"] for n, o in zip(names, own, strict=True)},
                             evaluations)
        summary = regret_summary(regret, feasible_names)

    # Monte Carlo: the base plan's commitments (at the base's prices) under sampled futures.
    base_fixed, base_signed = own[0]["commitments"], own[0]["signed"]
    futures = sample_futures(loaded, samples, options.seed) if samples else []
    monte_carlo = None
    outcomes: list[dict[str, Any]] = []
    if futures:
        outcomes = run_tasks([Task(k, sets=(*f.sets, *sets), variant=None, fixed=base_fixed,
                                   locked=base_signed, **common)
                              for k, f in enumerate(futures)],
                             workers, "monte carlo", progress)
        monte_carlo = monte_carlo_summary(futures, outcomes, settings, options.seed)

    # Hedged: the two-stage program over the samples (or the variants). Every commitment it
    # may make is signed at the base scenario's prices in every future.
    hedged = None
    if options.hedge:
        over = options.hedge_over
        if over == "auto":
            over = "samples" if futures else "variants"
        if over not in ("samples", "variants"):
            raise InputError(f"--hedge-over {over!r}: allowed: samples, variants, auto")
        if over == "samples" and not futures:
            raise InputError("--hedge-over samples needs --samples above 0")
        if over == "samples":
            chosen = futures
            det = [o["npv"] for o in outcomes]
        else:
            chosen = [Future(n, (), None if n == BASE else n, 1.0 / len(names)) for n in names]
            det = [evaluations[(BASE, n)]["npv"] for n in names] if options.regret else None
        if progress:
            print(f"hedged plan: two-stage program over {len(chosen)} {over} ...",
                  file=sys.stderr, flush=True)
        today = signed_prices(build_inputs(loaded))
        inputs_list = [lock_prices(build_inputs(loading.load(path, catalog_dir=catalog,
                                                             sets=(*f.sets, *sets),
                                                             variant=f.variant)), today)
                       for f in chosen]
        base_frame = pd.DataFrame(list(base_fixed), columns=COMMITMENT_COLUMNS)
        try:
            hedged = hedge_inputs(inputs_list, [f.weight for f in chosen],
                                  base_commitments=base_frame, relax=options.relax,
                                  solver=options.solver, time_limit=options.hedge_time_limit,
                                  mip_gap=options.mip_gap, cvar_weight=cvar_weight,
                                  cvar_alpha=cvar_alpha, deterministic=det)
        except PlannerError as exc:
            hedged = {"method": "two-stage stochastic program", "status": "failed",
                      "error": str(exc).splitlines()[0][:300], "expected_npv": None,
                      "deterministic_expected_npv": None}
        hedged["over"] = over
        hedged["future_names"] = [f.name for f in chosen]

    return {"scenario": loaded.scenario.name, "scenario_path": path,
            "currency": loaded.currency, "overrides": loaded.overrides_as_dicts(),
            "sets": list(sets), "seed": options.seed, "samples": samples, "workers": workers,
            "variants": variants, "regret": regret, "regret_summary": summary,
            "monte_carlo": monte_carlo, "hedged": hedged, "regret_solves": regret_solves,
            "seconds": time.perf_counter() - began}


# --------------------------------------------------------------------------- output


def _n(value: Any) -> str:
    return "-" if value is None else format_number(float(value))


def render(result: dict[str, Any], width: int = 100) -> str:
    """Readable summary within `width` columns."""
    cur = result["currency"]
    lines = [f"Stress test {result['scenario']} ({cur}, net present cost), "
             f"{result['seconds']:.1f} s with {result['workers']} worker(s)", "",
             "Variants (each solved on its own)",
             f"  {'variant':<22}{'npv':>14}{'total cash':>14}  status"]
    for v in result["variants"]:
        lines.append(f"  {v['name'][:21]:<22}{_n(v['npv']):>14}{_n(v['total_cost']):>14}  "
                     f"{v['status']}")
    if result["regret"]:
        names = [v["name"] for v in result["variants"]]
        lines += ["", "Regret: rows = whose commitments, columns = future evaluated "
                  f"(thousands of {cur}; x = cannot serve)"]
        cell = {(r["plan_from"], r["evaluated_under"]): r for r in result["regret"]}
        shown = names[: max(1, (width - 24) // 8)]
        lines.append(f"  {'plan from':<14}" + "".join(f"{n[:7]:>8}" for n in shown)
                     + f"{'max':>8}")
        worst = {s["plan_from"]: s for s in result["regret_summary"]}
        for i in names:
            if i not in worst:
                continue
            row = []
            for j in shown:
                r = cell.get((i, j))
                row.append("x" if r is None or r["regret"] is None else
                           f"{r['regret'] / 1000:,.0f}")
            top = worst[i]["max_regret"]
            lines.append(f"  {i[:13]:<14}" + "".join(f"{c:>8}" for c in row)
                         + f"{'-' if top is None else f'{top / 1000:,.0f}':>8}")
        if len(shown) < len(names):
            lines.append(f"  ({len(names) - len(shown)} more columns in --json / --out)")
        best = min((s for s in result["regret_summary"] if s["max_regret"] is not None),
                   key=lambda s: (s["infeasible"], s["max_regret"]), default=None)
        if best:
            cannot = f", cannot serve {best['infeasible']} future(s)" if best["infeasible"] \
                else ""
            lines.append(f"  Smallest worst-case regret: the {best['plan_from']} plan's "
                         f"commitments ({_n(best['max_regret'])} {cur}{cannot})")
    mc = result["monte_carlo"]
    if mc:
        lines += ["", f"Monte Carlo: the base plan's commitments in {mc['count']} sampled "
                  f"futures (seed {mc['seed']}), {mc['infeasible']} infeasible",
                  f"  p50 {_n(mc['p50'])}   p90 {_n(mc['p90'])}   p99 {_n(mc['p99'])}   "
                  f"mean {_n(mc['mean'])}   ({cur})"]
        if mc["idle_share"] is not None and mc["committed_utilization_mean"] is not None:
            lines.append(f"  Commitments sit idle (some month below {mc['idle_threshold']:.0%} "
                         f"used) in {mc['idle_share']:.0%} of samples; mean use "
                         f"{mc['committed_utilization_mean']:.0%}")
        elif mc["committed_utilization_mean"] is None:
            lines.append("  The base plan commits no GPUs: nothing can sit idle")
    h = result["hedged"]
    if h:
        lines += ["", f"Hedged plan ({h['method']} over {h.get('futures', '?')} "
                  f"{h.get('over', '')}, {h['status']})"]
        if h.get("expected_npv") is not None:
            det = h.get("deterministic_expected_npv")
            gain = "" if det is None else f"; saves {_n(det - h['expected_npv'])}"
            lines.append(f"  expected npv {_n(h['expected_npv'])} vs base plan's commitments "
                         f"{_n(det)}{gain} {cur}")
            if h.get("kept_base"):
                lines.append("  (the solver stopped above the base commitments: kept them)")
            diffs = h.get("differences") or []
            if not diffs:
                lines.append("  Commits the same as the base plan")
            for d in diffs[:8]:
                lines.append(f"  {d['kind']:<9}{d['offer'][:26]:<27}{d['month']:<9}"
                             f"{d['base_gpus']:>7.2f} -> {d['hedged_gpus']:.2f} GPUs")
            if len(diffs) > 8:
                lines.append(f"  ... {len(diffs) - 8} more in --json / --out")
        elif h.get("error"):
            lines.append(f"  {h['error']}")
    return "\n".join(line if len(line) <= width else line[: width - 3] + "..."
                     for line in lines)


__all__ = ["DEFAULT_DISTRIBUTIONS", "StressOptions", "Future", "commitment_differences", "cvar",
           "hedge_inputs", "percentiles", "regret_rows", "render", "run_task", "sample_futures",
           "stress"]
