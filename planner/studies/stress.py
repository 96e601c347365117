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

import gc
import math
import multiprocessing
import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterable, Sequence
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
from planner.results import statistics
from planner.results.result import (
    CATEGORIES,
    COMMITMENT_COLUMNS,
    PlanResult,
    format_number,
)
from planner.schemas.scenario import Distribution, StressSettings
from planner.studies.engine import Engine, run_all
from planner.studies.hedge import (
    DEFAULT_CLUSTERS,
    HEDGE_TIME_LIMIT_S,
    _records,
    cluster_futures,
    commitment_differences,
    cvar,
    describe_change,
    hedge_inputs,
    score,
)
from planner.studies.intervals import CONFIDENCE, percentile_table, relative_half_width
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
AUTO = "auto"  # --samples auto
AUTO_FIRST = 100  # --samples auto: the first batch; then doubling up to --max-samples
AUTO_TARGET = 0.01  # ... until p90's confidence interval reaches at most 1% from it
DEFAULT_MAX_SAMPLES = 2000


@dataclass(frozen=True)
class StressOptions:
    """samples: Monte Carlo futures (None: the scenario's stress.samples; 0: none);
    workers: processes (None: os.cpu_count()); hedge_over: 'samples', 'variants' or 'auto'
    (samples when there are any); cvar_weight/cvar_alpha: None = the scenario's."""

    samples: int | str | None = None  # a count, or "auto"
    max_samples: int = DEFAULT_MAX_SAMPLES  # --samples auto stops here at the latest
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
    hedge_clusters: int = DEFAULT_CLUSTERS  # the program holds at most this many futures
    hedge_bound: bool = True  # also solve each future's relaxed own plan (the bound)
    cvar_weight: float | None = None
    cvar_alpha: float | None = None
    progress: bool = True  # a progress line on stderr (a terminal) for runs over 2 s
    scheduler: str | None = None  # a Dask scheduler's address: solves run there
    currency: str | None = None  # --currency: only the scenario's own is supported yet
    # Build once, solve many: Monte Carlo futures (and the hedged plan's evaluation) solved on
    # one model kept per worker, only its numbers changed (planner.optimize.reuse). False:
    # every future built and solved from scratch (`planner bench --stress` compares both).
    reuse: bool = True


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
    lp_only: bool = False  # the LP relaxation of the integer plan only (a bound)
    # Also the future's own plan as the LP relaxation of the integer model, with every
    # commitment at the `locked` prices (the hedge's bound), from the same loaded inputs.
    bound: bool = False
    # Build once, solve many (planner.optimize.reuse): the future is the scenario with these
    # `--set`s plus its own; its LPs are solved on the model of that base (the same fixed
    # commitments and locked prices), kept in this worker. None: rebuilt, as every solve was.
    base_sets: tuple[str, ...] | None = None


def _commitment_rows(result: PlanResult) -> tuple[tuple[str, str, str, float], ...]:
    c = result.commitments
    return tuple((str(k), str(o), str(m), float(g)) for k, o, m, g in
                 zip(c["kind"], c["offer"], c["month"], c["gpus"], strict=True))


def committed_utilization(result: PlanResult) -> list[float]:
    """Per period with owned or reserved GPUs serving: the share of their GPU-hours that served
    tokens (planner.results.statistics.utilization by month). Empty when the plan commits
    nothing."""
    return statistics.utilization(result, by=("month",))["utilization"].tolist()


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
    reuse, reused_before = None, 0
    if not Path(task.scenario).is_file():
        raise InputError(f"{task.scenario}: a stress worker cannot read the scenario file "
                         "(workers need the scenario and catalog at the same paths)")
    inputs = None
    try:
        loaded = loading.load(task.scenario, catalog_dir=task.catalog, sets=task.sets,
                              variant=task.variant)
        inputs = lock_prices(build_inputs(loaded), task.locked)
        fixed = None if task.fixed is None else pd.DataFrame(list(task.fixed),
                                                             columns=COMMITMENT_COLUMNS)
        provenance = {"scenario": loaded.scenario.name, "variant": loaded.variant,
                      "overrides": loaded.overrides_as_dicts(), "relax": task.relax}
        reuse = _kept_model(task, fixed)
        reused_before = 0 if reuse is None else reuse.reused
        result = recourse(inputs, fixed_commitments=fixed, relax=task.relax,
                          solver=task.solver, time_limit=task.time_limit, mip_gap=task.mip_gap,
                          provenance=provenance, lp_first=fixed is not None,
                          lp_only=task.lp_only, bound=task.bound, reuse=reuse)
        out = summarize(result, task.idle_threshold)
        if task.lp_only:  # a bound: the LP's cost, not that of its decisions rounded
            out["npv"] = result.solver["lp_npv"]
        if task.bound and fixed is not None:  # solved on the same model: no second build
            out["bound_npv"] = result.solver.get("bound_npv")
    except (InfeasibleError, SolverError, InputError) as exc:
        kind = {InfeasibleError: "infeasible", SolverError: "solver_failed"}.get(type(exc),
                                                                                   "not_applicable")
        out = {"feasible": False, "status": kind, **FAILED,
               "error": str(exc).splitlines()[0][:300]}
    if task.bound and "bound_npv" not in out:
        out["bound_npv"] = _bound(task, inputs)
    if not task.keep_years:
        out["years"] = [{"year": y["year"], "total": y["total"]} for y in out["years"]]
    out["index"] = task.index
    out["seconds"] = time.perf_counter() - began
    # Whether the kept model solved this future (None: none was asked for or could be made).
    out["reused"] = None if reuse is None else reuse.reused > reused_before
    return out


# What a worker process needs imported (planner.studies.engine preloads them in the
# forkserver): this module, and through it loading, inputs, the builder and the solvers.
WORKER_MODULES = ("planner.studies.stress", "planner.optimize.recourse",
                  "planner.optimize.reuse")
_KEPT = threading.local()  # per worker thread (Dask runs tasks in threads): its kept models
KEPT_MODELS = 2  # kept per thread at most (each a few MB)


def _kept_model(task: Task, fixed: pd.DataFrame | None):
    """The kept model (planner.optimize.reuse.Reuse) of the task's base future, built in this
    worker the first time a task names it; None when the task asks for none or the base's
    model cannot be made (every future is then rebuilt)."""
    from planner.optimize.reuse import Reuse

    if task.base_sets is None or fixed is None or task.relax or task.solver != "highs":
        return None
    key = (task.scenario, task.catalog, task.base_sets, task.fixed, task.locked,
           task.time_limit, task.bound)
    kept = getattr(_KEPT, "models", None)
    if kept is None:
        kept = _KEPT.models = {}
    if key in kept:
        kept[key] = kept.pop(key)  # most recently used last
        return kept[key]
    try:
        loaded = loading.load(task.scenario, catalog_dir=task.catalog, sets=task.base_sets)
        reuse = Reuse.for_inputs(lock_prices(build_inputs(loaded), task.locked),
                                 fixed_commitments=fixed, bound=task.bound,
                                 time_limit=task.time_limit)
    except PlannerError:
        reuse = None
    while len(kept) >= KEPT_MODELS:
        kept.pop(next(iter(kept)))
    kept[key] = reuse
    return reuse


def _bound(task: Task, inputs: PlanInputs | None) -> float | None:
    """The future's own plan as the LP relaxation of the integer model (None: none)."""
    from planner.optimize.recourse import recourse

    if inputs is None:
        return None
    try:
        return recourse(inputs, fixed_commitments=None, relax=task.relax,
                        solver=task.solver, time_limit=task.time_limit,
                        mip_gap=task.mip_gap, lp_only=True).solver["lp_npv"]
    except (InfeasibleError, SolverError, InputError):
        return None


def run_tasks(tasks: Sequence[Task], engine: Engine, label: str, progress: bool
              ) -> list[dict[str, Any]]:
    """Solve tasks on `engine` (planner.studies.engine); results in task order."""
    shown = solve_module.SHOW_ELAPSED
    threshold = gc.get_threshold()
    try:  # one progress line: ours, not each solve's elapsed seconds
        return run_all(run_task, tasks, engine, label, progress, initializer=_worker_setup,
                       preload=WORKER_MODULES)
    finally:
        solve_module.SHOW_ELAPSED = shown
        gc.set_threshold(*threshold)  # a serial run collects less only while it runs


# Collect less often while solving: each solve makes and drops a PuLP model of tens of
# thousands of objects, and with Python's default thresholds (700, 10, 10) the collector runs
# every few hundred of them and, every hundred runs, rescans everything alive (the catalogs,
# pandas, the kept models). Objects are freed by reference counting all the same; this only
# spaces out the search for cycles. About 10% of a Monte Carlo sample's CPU (docs/stress.md).
GC_THRESHOLD = (50_000, 20, 20)


def _worker_setup() -> None:
    """Each worker (and a serial run's own process): no per-solve elapsed line, and fewer
    garbage collections; a worker process also freezes what it imported, so that the
    collector no longer scans it (the forkserver's preloaded modules, planner.studies.engine)."""
    solve_module.SHOW_ELAPSED = False
    if multiprocessing.parent_process() is not None:  # a worker: this process is ours
        gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


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
    """p10, p50, p90, p99 (numpy's linear interpolation), mean, std, min, max."""
    keys = ("p10", "p50", "p90", "p99", "mean", "std", "min", "max")
    if not len(values):
        return dict.fromkeys(keys)
    data = np.asarray(values, dtype=float)
    return {"p10": float(np.percentile(data, 10)), "p50": float(np.percentile(data, 50)),
            "p90": float(np.percentile(data, 90)), "p99": float(np.percentile(data, 99)),
            "mean": float(data.mean()), "std": float(data.std()), "min": float(data.min()),
            "max": float(data.max())}


def year_ranges(outcomes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per calendar year, p10/p50/p90 and mean of the total cash over the feasible samples
    (what a budget for that year must cover), with p10/p90 confidence intervals."""
    by_year: dict[int, list[float]] = {}
    for o in outcomes:
        if o["feasible"]:
            for y in o["years"]:
                by_year.setdefault(int(y["year"]), []).append(float(y["total"]))
    rows = []
    for year, values in sorted(by_year.items()):
        table = percentile_table(values)
        rows.append({"year": year, **{k: table[k]["value"] for k in ("p10", "p50", "p90")},
                     "mean": float(np.mean(values)),
                     "intervals": {k: [table[k]["low"], table[k]["high"]]
                                   for k in ("p10", "p50", "p90")}})
    return rows


def monte_carlo_summary(futures: Sequence[Future], outcomes: Sequence[dict[str, Any]],
                        settings: StressSettings, seed: int,
                        auto: dict[str, Any] | None = None) -> dict[str, Any]:
    feasible = [o["npv"] for o in outcomes if o["feasible"]]
    samples = []
    for i, (future, o) in enumerate(zip(futures, outcomes, strict=True)):
        samples.append({"sample": i, **{k: future.draws[k] for k in DRAW_ORDER},
                        "npv": o["npv"], "feasible": o["feasible"], "idle": o["idle"],
                        "committed_utilization_min": o["committed_utilization_min"],
                        "committed_utilization_mean": o["committed_utilization_mean"],
                        **{f"cash_{y['year']}": y["total"] for y in o["years"]},
                        "lp_whole": o["lp_whole"], "mip_gap": o["mip_gap"],
                        "error": o["error"]})
    idle = sum(1 for o in outcomes if o["feasible"] and o["idle"])
    gaps = [o["mip_gap"] for o in outcomes if o["feasible"] and o["mip_gap"] is not None]
    util = [o["committed_utilization_mean"] for o in outcomes
            if o["committed_utilization_mean"] is not None]
    table = percentile_table(feasible)
    return {"count": len(futures), "seed": seed, "feasible": len(feasible),
            "infeasible": len(futures) - len(feasible), **percentiles(feasible),
            "confidence": CONFIDENCE,
            "intervals": {k: [v["low"], v["high"]] for k, v in table.items()},
            "auto": auto,
            "years": year_ranges(outcomes),
            "idle_share": idle / len(feasible) if feasible else None,
            "idle_threshold": settings.idle_threshold,
            "committed_utilization_mean": float(np.mean(util)) if util else None,
            "lp_whole": sum(1 for o in outcomes if o["feasible"] and o["lp_whole"]),
            "largest_gap": max(gaps) if gaps else None,
            "distributions": {k: v.model_dump(exclude_none=True)
                              for k, v in distributions(settings).items()},
            "samples": samples}


# --------------------------------------------------------------------------- result


@dataclass
class StressResult:
    """What `stress()` returns. The four parts (their keys are those of `--json`, docs/stress.md):

    variants:    list of {name, npv, total_cost, feasible, status, years, commitments, error}
    regret:      list of {plan_from, evaluated_under, npv, best_npv, regret, feasible, error}
    monte_carlo: None or {count, p10.., intervals, years, samples, ...}
    hedged:      None or {method, commitments, differences, changes, expected_npv, ...}

    `to_dict()` is the `--json` document: the same for a seed on every engine and worker count.
    The run's statistics (seconds, engine, workers) are attributes, shown by the text and the
    report's details, and in the JSON only with `to_dict(timings=True)`."""

    scenario: str
    scenario_path: str
    currency: str
    overrides: list[dict[str, Any]]
    sets: list[str]
    seed: int
    samples: int
    variants: list[dict[str, Any]]
    regret: list[dict[str, Any]]
    regret_summary: list[dict[str, Any]]
    monte_carlo: dict[str, Any] | None
    hedged: dict[str, Any] | None
    solves: dict[str, int]
    seconds: float = 0.0
    workers: int = 1
    engine: str = "serial"
    timings: dict[str, float] = field(default_factory=dict)
    # Build once, solve many: per part, futures solved on the kept model (`reused`) and those
    # built and solved anew (`rebuilt`: another shape, or no kept model), docs/stress.md.
    reuse: dict[str, dict[str, int]] = field(default_factory=dict)

    RUN_FIELDS = ("seconds", "workers", "engine", "timings", "reuse")

    def to_dict(self, timings: bool = False) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__
               if k not in self.RUN_FIELDS}
        if timings:
            out.update({k: getattr(self, k) for k in self.RUN_FIELDS})
        return out

    def regret_matrix(self) -> pd.DataFrame:
        """Regret as plans x futures (rows: whose commitments; columns: the future evaluated;
        NaN: cannot serve), full names, variants' order."""
        names = [v["name"] for v in self.variants]
        plans = [s["plan_from"] for s in self.regret_summary]
        cell = {(r["plan_from"], r["evaluated_under"]): r["regret"] for r in self.regret}
        return pd.DataFrame([[cell.get((i, j)) for j in names] for i in plans],
                            index=pd.Index(plans, name="plan_from"),
                            columns=pd.Index(names, name="evaluated_under"), dtype=float)

    def samples_frame(self) -> pd.DataFrame:
        """One row per Monte Carlo sample (empty without samples)."""
        return pd.DataFrame(self.monte_carlo["samples"] if self.monte_carlo else [])


# --------------------------------------------------------------------------- driver


def parse_samples(text: str | int | None) -> int | str | None:
    """--samples: a count (0: none) or 'auto'."""
    if text is None or isinstance(text, int):
        return text
    if str(text).strip().lower() == "auto":
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--samples {text!r}: allowed: a whole number >= 0, or auto") from None


def stress(scenario: Path | str, *, catalog_dir: Path | str | None = None,
           sets: Iterable[str] = (), options: StressOptions | None = None) -> StressResult:
    """Variants, regret, Monte Carlo and the hedged plan of a scenario (docs/stress.md)."""
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
    samples = settings.samples if options.samples is None else parse_samples(options.samples)
    auto = samples == AUTO
    if not auto and (not isinstance(samples, int) or samples < 0):
        raise InputError(f"--samples {samples}: allowed: a whole number >= 0, or auto")
    if not isinstance(options.max_samples, int) or options.max_samples < 1:
        raise InputError(f"--max-samples {options.max_samples}: allowed: 1 or more")
    workers = options.workers if options.workers is not None else (os.cpu_count() or 1)
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers {workers}: allowed: 1 or more")
    if options.hedge_clusters < 1:
        raise InputError(f"--hedge-clusters {options.hedge_clusters}: allowed: 1 or more")
    progress = options.progress and sys.stderr.isatty()  # SPEC 9: on a terminal
    engine = Engine(workers, options.scheduler)
    cvar_weight = settings.cvar_weight if options.cvar_weight is None else options.cvar_weight
    cvar_alpha = settings.cvar_alpha if options.cvar_alpha is None else options.cvar_alpha
    if not 0 <= cvar_weight <= 1 or not 0 <= cvar_alpha < 1:
        raise InputError(f"--cvar-weight {cvar_weight} / --cvar-alpha {cvar_alpha}: allowed: "
                         "a weight in [0, 1] and alpha in [0, 1)")
    for flag, limit in (("--time-limit", options.time_limit),
                        ("--hedge-time-limit", options.hedge_time_limit)):
        if limit is not None and not (isinstance(limit, int | float) and 0 < limit < math.inf):
            raise InputError(f"{flag} {limit}: allowed: a positive number of seconds")
    over = options.hedge_over
    if over not in ("samples", "variants", "auto"):
        raise InputError(f"--hedge-over {over!r}: allowed: samples, variants, auto")
    if options.hedge and over == "samples" and samples == 0:
        raise InputError("--hedge-over samples needs --samples above 0")
    path, catalog = str(scenario), None if catalog_dir is None else str(catalog_dir)
    common = dict(scenario=path, catalog=catalog, solver=options.solver,
                  time_limit=options.time_limit, mip_gap=options.mip_gap, relax=options.relax,
                  idle_threshold=settings.idle_threshold)
    timings: dict[str, float] = {}
    solves: dict[str, int] = {}
    reuse: dict[str, dict[str, int]] = {}  # per part: futures solved on the kept model or not

    def run(label: str, tasks: list[Task]) -> list[dict[str, Any]]:
        mark = time.perf_counter()
        outs = run_tasks(tasks, engine, label, progress)
        timings[label] = timings.get(label, 0.0) + time.perf_counter() - mark
        solves[label] = solves.get(label, 0) + len(tasks)
        asked = [o["reused"] for o in outs if o.get("reused") is not None]
        if asked or any(t.base_sets is not None for t in tasks):
            tally = reuse.setdefault(label, {"reused": 0, "rebuilt": 0})
            tally["reused"] += sum(asked)
            tally["rebuilt"] += len(tasks) - sum(asked)
        return outs

    # Prices locked when signed: every purchase and reservation, in every future (a variant's
    # own plan too), costs the price of its month in the scenario as run; only the recourse
    # (on-demand, spot, APIs) sees a future's prices (docs/stress.md).
    today = signed_prices(build_inputs(loaded))

    # Variants: each future's own plan. The user's --set applies on top of every variant.
    names = variant_names(loaded)
    for name in names[1:]:  # a variant that is bad input stops the run here (exit 2)
        loading.load(scenario, catalog_dir=catalog_dir, sets=sets, variant=name)
    own = run("variants", [Task(i, sets=sets, variant=None if n == BASE else n, fixed=None,
                                locked=today, keep_years=True, **common)
                           for i, n in enumerate(names)])
    if not own[0]["feasible"]:
        raise InfeasibleError(f"the base plan of {path} cannot be made: {own[0]['error']}")
    variants = [{"name": n, "npv": o["npv"], "total_cost": o["total_cost"],
                 "feasible": o["feasible"], "status": o["status"], "years": o["years"],
                 "commitments": [{**dict(zip(COMMITMENT_COLUMNS, c, strict=True)),
                                  "price_per_gpu": p[3],
                                  "price_unit": "GPU" if c[0] == "purchase" else "GPU-month"}
                                 for c, p in zip(o["commitments"], _prices_of(o), strict=True)],
                 "error": o["error"]}
                for n, o in zip(names, own, strict=True)]

    # Regret: commitments of i fixed (at the prices they were signed at), recourse
    # re-optimised under j. One solve per distinct (commitments, signed prices) and future,
    # none where that is the future's own plan's set: its own plan is that recourse's optimum
    # (up to the MIP gap, as a solve would be), already solved.
    regret: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    evaluations: dict[tuple[str, str], dict[str, Any]] = {}
    if options.regret:
        feasible_names = [n for n, o in zip(names, own, strict=True) if o["feasible"]]
        signed = {n: (o["commitments"], o["signed"]) for n, o in zip(names, own, strict=True)}
        distinct = list(dict.fromkeys(signed[i] for i in feasible_names))
        pairs = [(c, j) for c in distinct for j in names]
        solved = {(signed[j], j): o for j, o in zip(names, own, strict=True) if o["feasible"]}
        todo = [p for p in pairs if p not in solved]
        outs = run("regret", [Task(k, sets=sets, variant=None if j == BASE else j, fixed=c[0],
                                   locked=c[1], **common) for k, (c, j) in enumerate(todo)])
        solved.update(zip(todo, outs, strict=True))
        evaluations = {(i, j): solved[(signed[i], j)] for i in feasible_names for j in names}
        regret = regret_rows(names, {n: o["npv"] for n, o in zip(names, own, strict=True)},
                             evaluations)
        summary = regret_summary(regret, feasible_names)

    # Monte Carlo: the base plan's commitments (at the base's prices) under sampled futures;
    # --samples auto solves batches of the --max-samples draws until p90 is known within 1%.
    # Every row at the base's prices: the hedge's bound (each future's own plan) is solved on
    # the same model.
    base_fixed = own[0]["commitments"]
    kept_sets = sets if options.reuse else None  # the base future of the kept model
    bound_in_mc = options.hedge and options.hedge_bound and over in ("samples", "auto")
    drawn = sample_futures(loaded, options.max_samples if auto else samples, options.seed) \
        if samples else []
    outcomes: list[dict[str, Any]] = []
    auto_info = None
    count = len(drawn) if not auto else min(AUTO_FIRST, len(drawn))
    while count > len(outcomes):
        outcomes += run("monte carlo", [
            Task(k, sets=(*drawn[k].sets, *sets), variant=None, fixed=base_fixed,
                 locked=today, keep_years=False, bound=bound_in_mc, base_sets=kept_sets,
                 **common)
            for k in range(len(outcomes), count)])
        if not auto:
            break
        npvs = [o["npv"] for o in outcomes if o["feasible"]]
        width = relative_half_width(percentile_table(npvs)["p90"]) if npvs else None
        auto_info = {"target": AUTO_TARGET, "max_samples": options.max_samples,
                     "p90_half_width": width,
                     "converged": width is not None and width <= AUTO_TARGET}
        if auto_info["converged"]:
            break
        count = min(2 * count, len(drawn))
    futures = drawn[:len(outcomes)]
    monte_carlo = monte_carlo_summary(futures, outcomes, settings, options.seed, auto_info) \
        if futures else None

    # Hedged: commitments for the samples (or the variants), every one signed at the base
    # scenario's prices in every future.
    hedged = None
    if options.hedge:
        if over == "auto":
            over = "samples" if futures else "variants"
        if over == "samples":
            chosen = futures
            det = [o["npv"] for o in outcomes]
            bounds = [o.get("bound_npv") for o in outcomes] if bound_in_mc else None
        else:
            chosen = [Future(n, (), None if n == BASE else n, 1.0 / len(names)) for n in names]
            bounds = None
            det = [evaluations[(BASE, n)]["npv"] for n in names] if options.regret else \
                [o["npv"] for o in run("hedge", [
                    Task(k, sets=sets, variant=f.variant, fixed=base_fixed, locked=today,
                         **common) for k, f in enumerate(chosen)])]
        # Each variant's own plan, already evaluated on every variant (--regret), is a
        # hedge too: the program's relaxed recourse can miss a better one.
        rivals = {i: (o["commitments"], [evaluations[(i, j)]["npv"] for j in names])
                  for i, o in zip(names[1:], own[1:], strict=True)
                  if (i, BASE) in evaluations} if over == "variants" else {}
        mark = time.perf_counter()
        hedged = hedge_futures(loaded, chosen, det, base_fixed, options, common, cvar_weight,
                               cvar_alpha, run, sets, progress, bounds, rivals)
        hedged["over"] = over
        timings["hedged program"] = hedged.pop("_program_seconds")
        timings["hedged plan"] = time.perf_counter() - mark

    return StressResult(
        scenario=loaded.scenario.name, scenario_path=path, currency=loaded.currency,
        overrides=loaded.overrides_as_dicts(), sets=list(sets), seed=options.seed,
        samples=len(futures), variants=variants, regret=regret, regret_summary=summary,
        monte_carlo=monte_carlo, hedged=hedged, solves=solves,
        seconds=time.perf_counter() - began, workers=workers, engine=engine.name,
        timings=timings, reuse=reuse)


def _prices_of(outcome: dict[str, Any]) -> list[tuple]:
    """The signed price of each of a plan's commitments, in the commitments' order."""
    price = {(k, o, m): p for k, o, m, p in outcome["signed"]}
    return [(k, o, m, price.get((k, o, m))) for k, o, m, _ in outcome["commitments"]]


def hedge_futures(loaded: loading.Loaded, chosen: Sequence[Future],
                  deterministic: Sequence[float | None], base_fixed: tuple, options: StressOptions,
                  common: dict[str, Any], cvar_weight: float, cvar_alpha: float, run: Any,
                  sets: tuple[str, ...], progress: bool,
                  bounds: Sequence[float | None] | None = None,
                  rivals: dict[str, tuple[tuple, list]] | None = None) -> dict[str, Any]:
    """The hedged plan over `chosen` (docs/stress.md, "The hedged plan"): the two-stage
    program on at most --hedge-clusters futures (every one when there are no more, else the
    clusters' central futures weighted by the clusters' sizes), its commitments evaluated on
    every future, kept only if they beat the base plan's there and every rival's (`rivals`:
    a variant's name -> its own plan's commitments and their cost in each of `chosen`; the
    one kept instead is `kept_plan`); with the bound of perfect information (each future's
    own relaxed plan) to say how far from the best it can be."""
    path, catalog = common["scenario"], common["catalog"]
    n = len(chosen)
    weights = [1.0 / n] * n
    today = signed_prices(build_inputs(loaded))  # every contract at the base's prices
    base_frame = pd.DataFrame(list(base_fixed), columns=COMMITMENT_COLUMNS)
    det_ok = all(v is not None for v in deterministic)
    # Variants are few and have no draws to cluster on: the program holds them all.
    sampled = all(f.draws for f in chosen)
    k = min(options.hedge_clusters, n) if sampled else n
    if k < n:
        features = [[f.draws[key] for key in DRAW_ORDER] + [v if v is not None else np.nan]
                    for f, v in zip(chosen, deterministic, strict=True)]
        frame = np.asarray(features, dtype=float)
        column_mean = np.nanmean(frame, axis=0)
        frame = np.where(np.isnan(frame), column_mean, frame)
        reps, rep_weights, _ = cluster_futures(frame, k, options.seed)
    else:
        reps, rep_weights = list(range(n)), weights
    if progress:
        print(f"hedged plan: two-stage program over {len(reps)} of {n} futures ...",
              file=sys.stderr, flush=True)

    def inputs_of(f: Future) -> PlanInputs:
        return lock_prices(build_inputs(loading.load(path, catalog_dir=catalog,
                                                     sets=(*f.sets, *sets),
                                                     variant=f.variant)), today)

    out: dict[str, Any]
    try:
        out = hedge_inputs([inputs_of(chosen[i]) for i in reps], rep_weights,
                           base_commitments=base_frame, relax=options.relax,
                           solver=options.solver, time_limit=options.hedge_time_limit,
                           mip_gap=options.mip_gap, cvar_weight=cvar_weight,
                           cvar_alpha=cvar_alpha,
                           deterministic=[deterministic[i] for i in reps],
                           evaluate=k >= n)  # else evaluated on all N futures below
    except PlannerError as exc:
        out = {"status": "failed", "error": str(exc).splitlines()[0][:300],
               "expected_npv": None, "commitments": [], "npvs": []}
    program = {k2: out.get(k2) for k2 in ("status", "mip_gap", "variables", "constraints",
                                          "relaxed_recourse_columns", "error", "kept_base")}
    hedged_rows = tuple((c["kind"], c["offer"], c["month"], float(c["gpus"]))
                        for c in out.get("commitments") or [])
    result: dict[str, Any] = {
        "method": ("two-stage stochastic program" if k >= n else
                   f"two-stage program on {len(reps)} scenario clusters, evaluated on all "
                   f"{n} futures"),
        "futures": n, "clusters": len(reps), "cluster_futures": [chosen[i].name for i in reps],
        "cluster_weights": rep_weights, "cvar_weight": cvar_weight, "cvar_alpha": cvar_alpha,
        "program": program, "_program_seconds": out.get("seconds") or 0.0,
        "status": out.get("status"), "future_names": [f.name for f in chosen],
        "deterministic_expected_npv": float(np.dot(weights, deterministic)) if det_ok else None,
        "deterministic_p90_npv": float(np.percentile(deterministic, 90)) if det_ok else None,
        "deterministic_infeasible": sum(1 for v in deterministic if v is None),
        "deterministic_cvar_npv": cvar(list(deterministic), weights, cvar_alpha)
        if det_ok else None}
    if out.get("error") or not out.get("commitments") and out.get("expected_npv") is None:
        result.update(error=out.get("error") or "the two-stage program found no plan",
                      expected_npv=None, npvs=[], commitments=_records(base_frame),
                      kept_base=True, kept_plan=BASE, differences=[], changes=[])
        return result
    # Evaluate the program's commitments on every future (the program saw only K of them).
    if k >= n:
        npvs = list(out["npvs"])
    elif sorted(hedged_rows) == sorted(base_fixed):
        npvs = list(deterministic)
    else:
        locked = signed_prices(build_inputs(loaded), hedged_rows)
        kept_sets = sets if options.reuse else None  # the kept model's base future
        outs = run("hedged plan", [Task(i, sets=(*f.sets, *sets), variant=f.variant,
                                        fixed=hedged_rows, locked=locked,
                                        base_sets=kept_sets if f.variant is None else None,
                                        **common)
                                   for i, f in enumerate(chosen)])
        npvs = [o["npv"] for o in outs]
    commitments = out["commitments"]
    hedged_ok = all(v is not None for v in npvs)
    kept_base = bool(out.get("kept_base"))
    kept_plan = BASE if kept_base else None
    candidates = [(BASE, base_fixed, deterministic), *(
        (name, rows, values) for name, (rows, values) in (rivals or {}).items())]
    for name, rows, values in candidates:
        # Never worse than a plan already evaluated on the same futures: keep its commitments.
        if all(v is not None for v in values) and (
                not hedged_ok or score(values, weights, cvar_weight, cvar_alpha)
                < score(npvs, weights, cvar_weight, cvar_alpha)):
            kept_plan, npvs, hedged_ok = name, list(values), True
            commitments = _records(pd.DataFrame(list(rows), columns=COMMITMENT_COLUMNS))
    kept_base = kept_plan == BASE
    # A bound: every future's own plan with perfect information, as the LP relaxation of the
    # integer model (whole-GPU rows kept), costs no more than any commitments there, so its
    # score bounds every hedge's from below.
    bound = None
    if options.hedge_bound:
        values = list(bounds) if bounds is not None else [o["npv"] for o in run(
            "hedge bound", [Task(i, sets=(*f.sets, *sets), variant=f.variant, fixed=None,
                                 locked=today, lp_only=True, **common)
                            for i, f in enumerate(chosen)])]
        if all(v is not None for v in values):
            bound = score(values, weights, cvar_weight, cvar_alpha)
    ok = all(v is not None for v in npvs)
    mine = score(npvs, weights, cvar_weight, cvar_alpha) if ok else None
    offers = offer_info(build_inputs(loaded))
    differences = commitment_differences(base_frame, pd.DataFrame(
        commitments, columns=COMMITMENT_COLUMNS))
    result.update(
        npvs=npvs, commitments=commitments, kept_base=kept_base, kept_plan=kept_plan,
        expected_npv=float(np.dot(weights, npvs)) if ok else None,
        p90_npv=float(np.percentile(npvs, 90)) if ok else None,
        cvar_npv=cvar(npvs, weights, cvar_alpha) if ok else None,
        bound_npv=bound,
        gap_to_bound=(mine - bound) / mine if mine and bound is not None else None,
        differences=differences,
        changes=[describe_change(d, offers) for d in differences])
    return result


def offer_info(inputs: PlanInputs) -> dict[str, dict[str, Any]]:
    """Per purchase or reservation offer: its GPU, server size and term (for words)."""
    info: dict[str, dict[str, Any]] = {}
    for o, g, u in zip(inputs.purchases["offer"], inputs.purchases["gpu"],
                       inputs.purchases["unit_gpus"], strict=True):
        info[o] = {"gpu": g, "unit_gpus": int(u)}
    for o, g, t in zip(inputs.reserved["offer"], inputs.reserved["gpu"],
                       inputs.reserved["term_months"], strict=True):
        info[o] = {"gpu": g, "term_months": int(t)}
    return info


# --------------------------------------------------------------------------- output


def _n(value: Any) -> str:
    return "-" if value is None else format_number(float(value))


def _pct(new: float | None, old: float | None) -> str:
    if new is None or old is None or not old:
        return "-"
    return f"{(new - old) / old * 100:+.1f}%"


def _reuse_note(result: StressResult) -> str:
    """', 990 of 1,000 futures on one kept model': build once, solve many at work."""
    reused = sum(c["reused"] for c in result.reuse.values())
    total = reused + sum(c["rebuilt"] for c in result.reuse.values())
    return f", {reused:,} of {total:,} futures on one kept model" if total else ""


def render(result: StressResult, width: int = 100) -> str:
    """Readable summary within `width` columns."""
    cur = result.currency
    lines = [f"Stress test {result.scenario} ({cur}, net present cost), "
             f"{result.seconds:.1f} s on {result.engine}{_reuse_note(result)}", "",
             "Variants (each solved on its own; purchases and reservations signed at the "
             "scenario's prices, so a price variant moves rentals and APIs only; npv leaves "
             "out what is paid after the horizon, total cash does not)",
             f"  {'variant':<22}{'npv':>14}{'total cash':>14}  status"]
    for v in result.variants:
        lines.append(f"  {v['name'][:21]:<22}{_n(v['npv']):>14}{_n(v['total_cost']):>14}  "
                     f"{v['status']}")
    if result.regret:
        names = [v["name"] for v in result.variants]
        lines += ["", "Regret: rows = whose commitments, columns = the future evaluated, "
                  f"numbered as the rows (thousands of {cur}; x = cannot serve)"]
        cell = {(r["plan_from"], r["evaluated_under"]): r for r in result.regret}
        label = max(len(n) for n in names) + 5
        shown = names[: max(1, (width - 2 - label - 8) // 7)]
        lines.append(f"  {'plan from':<{label}}" + "".join(f"{k + 1:>7}" for k in
                                                            range(len(shown))) + f"{'max':>8}")
        worst = {s["plan_from"]: s for s in result.regret_summary}
        for k, i in enumerate(names):
            if i not in worst:
                continue
            row = []
            for j in shown:
                r = cell.get((i, j))
                row.append("x" if r is None or r["regret"] is None else
                           f"{r['regret'] / 1000:,.0f}")
            top = worst[i]["max_regret"]
            lines.append(f"  {f'{k + 1:>2} {i}':<{label}}" + "".join(f"{c:>7}" for c in row)
                         + f"{'-' if top is None else f'{top / 1000:,.0f}':>8}")
        if len(shown) < len(names):
            lines.append(f"  ({len(names) - len(shown)} more columns in --json / --out)")
        best = min((s for s in result.regret_summary if s["max_regret"] is not None),
                   key=lambda s: (s["infeasible"], s["max_regret"]), default=None)
        if best:
            cannot = f", cannot serve {best['infeasible']} future(s)" if best["infeasible"] \
                else ""
            lines.append(f"  Smallest worst-case regret: the {best['plan_from']} plan's "
                         f"commitments ({_n(best['max_regret'])} {cur}{cannot})")
    mc = result.monte_carlo
    if mc:
        auto = mc.get("auto")
        how = "" if not auto else (
            f"; --samples auto: p90 within {auto['target']:.0%}" if auto["converged"] else
            f"; --samples auto stopped at --max-samples {auto['max_samples']}, p90 known to "
            f"+-{(auto['p90_half_width'] or float('nan')):.1%}")
        lines += ["", f"Monte Carlo: the base plan's commitments in {mc['count']} sampled "
                  f"futures (seed {mc['seed']}), {mc['infeasible']} infeasible{how}"]
        lines.append(f"  {'':<8}{'value':>14}   {mc['confidence']:.0%} interval")
        for key in ("p10", "p50", "p90", "p99"):
            low, high = mc["intervals"][key]
            lines.append(f"  {key:<8}{_n(mc[key]):>14}   {_n(low)} .. {_n(high)}")
        lines.append(f"  {'mean':<8}{_n(mc['mean']):>14}   ({cur})")
        if mc["years"]:
            lines.append(f"  Cash per year (p10 / p50 / p90, {cur}):")
            for y in mc["years"]:
                lines.append(f"    {y['year']}  {_n(y['p10']):>13} {_n(y['p50']):>13} "
                             f"{_n(y['p90']):>13}")
        if mc["idle_share"] is not None and mc["committed_utilization_mean"] is not None:
            lines.append(f"  Commitments sit idle (some month below {mc['idle_threshold']:.0%} "
                         f"used) in {mc['idle_share']:.0%} of samples; mean use "
                         f"{mc['committed_utilization_mean']:.0%}")
        elif mc["committed_utilization_mean"] is None:
            lines.append("  The base plan commits no GPUs: nothing can sit idle")
    h = result.hedged
    if h:
        lines += ["", f"Hedged plan ({h['method']}, over {h['over']})"]
        if h.get("expected_npv") is not None:
            det, det90 = h.get("deterministic_expected_npv"), h.get("deterministic_p90_npv")
            lines.append(f"  expected {_n(h['expected_npv'])} {cur} ({_pct(h['expected_npv'], det)}"
                         f" vs the base plan's commitments), p90 {_n(h.get('p90_npv'))} "
                         f"({_pct(h.get('p90_npv'), det90)})")
            if h.get("gap_to_bound") is not None:
                lines.append(f"  at most {h['gap_to_bound']:.1%} above the bound of perfect "
                             f"information ({_n(h['bound_npv'])} {cur})")
            if h.get("kept_base"):
                lines.append("  Keeps the base plan's commitments (nothing found beats them on "
                             "these futures)")
            elif h.get("kept_plan"):
                lines.append("  Keeps the commitments of the plan made for variant "
                             f"{h['kept_plan']} (the best on these futures)")
            elif not h.get("changes"):
                lines.append("  Commits the same as the base plan")
            for text in (h.get("changes") or [])[:8]:
                lines.append(f"  - {text}")
            if len(h.get("changes") or []) > 8:
                lines.append(f"  ... {len(h['changes']) - 8} more in --json / --out")
        elif h.get("error"):
            lines.append(f"  {h['error']}")
    return "\n".join(_wrapped(line, width) for line in lines)


def _wrapped(line: str, width: int) -> str:
    """A line of at most `width` columns, or wrapped under its own indent (not cut: a cut
    line lost the regret table's units)."""
    if len(line) <= width:
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return "\n".join(textwrap.wrap(line, width=width, initial_indent="",
                                    subsequent_indent=indent + "  ",
                                    break_on_hyphens=False))


__all__ = ["AUTO", "DEFAULT_DISTRIBUTIONS", "StressOptions", "StressResult", "Future",
           "Task", "commitment_differences", "cvar", "hedge_inputs", "percentiles",
           "regret_rows", "render", "run_task", "sample_futures", "stress"]
