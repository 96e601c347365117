"""`planner bench --stress SCENARIO`: how fast a stress run is (issue 22's targets), in one run:
the same samples solved first as every future used to be (each built and solved from scratch)
and then with build once, solve many (one model kept in HiGHS per worker, planner.optimize.reuse);
seconds per part, per Monte Carlo sample against HiGHS alone on the same recourse problem, the
largest difference between the two runs' sample costs, and how the hedged plan compares with the
base plan's commitments and its bound."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import pandas as pd

from planner import loading
from planner.inputs import build_inputs
from planner.results.result import COMMITMENT_COLUMNS
from planner.studies.locked import lock_prices, signed_prices
from planner.studies.stress import StressOptions, StressResult, sample_futures, stress


def _timed(scenario: str, options: StressOptions, sets: tuple[str, ...] = (),
           catalog_dir: str | None = None) -> tuple[StressResult, float, float]:
    """One stress run: the result, its wall seconds and CPU seconds (workers included)."""
    began = time.perf_counter()
    cpu = os.times()
    result = stress(scenario, catalog_dir=catalog_dir, sets=sets, options=options)
    wall = time.perf_counter() - began
    after = os.times()
    cpu_s = (after.user + after.children_user + after.system + after.children_system
             - cpu.user - cpu.children_user - cpu.system - cpu.children_system)
    return result, wall, cpu_s


def _per_sample(result: StressResult, workers: int, samples: int) -> float:
    """Seconds one worker spends on one Monte Carlo sample."""
    return result.timings.get("monte carlo", 0.0) * min(workers, samples) / samples


def _largest_difference(a: StressResult, b: StressResult) -> float | None:
    """The largest relative difference between two runs' sample costs (None: none feasible in
    both); a sample feasible in one run only counts as infinite."""
    worst = 0.0
    found = False
    for x, y in zip(a.monte_carlo["samples"], b.monte_carlo["samples"], strict=True):
        if (x["npv"] is None) != (y["npv"] is None):
            return float("inf")
        if x["npv"] is not None:
            found = True
            worst = max(worst, abs(x["npv"] - y["npv"]) / max(abs(y["npv"]), 1e-9))
    return worst if found else None


def run_stress_bench(scenario: str, *, samples: int = 100, workers: int = 2, seed: int = 0,
                     regret: bool = False, hedge: bool = True,
                     compare: bool = True, sets: tuple[str, ...] = (),
                     catalog_dir: str | None = None) -> dict[str, Any]:
    """`scenario`'s stress run (with `sets` and `catalog_dir`, as `planner stress --set
    --catalog`), timed: rebuilt per sample (when `compare`), then built once; then HiGHS
    alone on sample 0's recourse problem."""
    from planner.errors import InputError
    from planner.optimize.recourse import highs_alone_seconds

    if samples < 1:
        raise InputError(f"--samples {samples}: allowed: 1 or more for --stress")
    options = dict(samples=samples, workers=workers, seed=seed, regret=regret, hedge=hedge,
                   progress=False)
    before = _timed(scenario, StressOptions(**options, reuse=False), sets,
                    catalog_dir) if compare else None
    result, wall, cpu_s = _timed(scenario, StressOptions(**options), sets, catalog_dir)
    loaded = loading.load(scenario, catalog_dir=catalog_dir, sets=sets)
    future = sample_futures(loaded, 1, seed)[0]
    inputs = lock_prices(build_inputs(loading.load(scenario, catalog_dir=catalog_dir,
                                                  sets=(*future.sets, *sets))),
                         signed_prices(build_inputs(loaded)))
    fixed = pd.DataFrame([[c[k] for k in COMMITMENT_COLUMNS]
                          for c in result.variants[0]["commitments"]],
                         columns=COMMITMENT_COLUMNS)
    with tempfile.TemporaryDirectory(prefix="planner-stress-bench-") as tmp:
        alone, _ = highs_alone_seconds(inputs, fixed_commitments=fixed, folder=tmp)
    per_sample = _per_sample(result, workers, samples)
    h = result.hedged or {}
    mc = result.monte_carlo or {}
    figures: dict[str, Any] = {
        "scenario": result.scenario, "samples": samples, "workers": workers,
        "engine": result.engine, "regret": regret, "seconds": round(wall, 2),
        "cpu_seconds": round(cpu_s, 2),
        **{f"seconds_{k.replace(' ', '_')}": round(v, 2) for k, v in result.timings.items()},
        "solves": result.solves,
        "reused": sum(c["reused"] for c in result.reuse.values()),
        "rebuilt": sum(c["rebuilt"] for c in result.reuse.values()),
        "sample_seconds": round(per_sample, 4),
        "highs_alone_seconds": round(alone, 4),
        "sample_over_highs_alone": round(per_sample / alone, 2) if alone > 0 else None}
    if before is not None:
        old, old_wall, old_cpu = before
        old_sample = _per_sample(old, workers, samples)
        figures.update({
            "rebuild_seconds": round(old_wall, 2), "rebuild_cpu_seconds": round(old_cpu, 2),
            "rebuild_seconds_monte_carlo": round(old.timings.get("monte carlo", 0.0), 2),
            "rebuild_sample_seconds": round(old_sample, 4),
            "rebuild_sample_over_highs_alone": round(old_sample / alone, 2) if alone > 0
            else None,
            "rebuild_over_build_once": round(old_sample / per_sample, 2) if per_sample > 0
            else None,
            "largest_sample_difference": _largest_difference(result, old)})
    figures.update({
        "lp_whole": mc.get("lp_whole"), "largest_gap": mc.get("largest_gap"),
        "hedged_expected_npv": h.get("expected_npv"),
        "base_expected_npv": h.get("deterministic_expected_npv"),
        "hedged_p90_npv": h.get("p90_npv"), "base_p90_npv": h.get("deterministic_p90_npv"),
        "hedge_gap_to_bound": h.get("gap_to_bound"), "hedge_kept_base": h.get("kept_base"),
        "hedge_clusters": h.get("clusters")})
    return figures


__all__ = ["run_stress_bench"]
