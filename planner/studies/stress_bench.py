"""`planner bench --stress SCENARIO`: how fast a stress run is (issue 22's targets), in one run:
seconds per part, per Monte Carlo sample against HiGHS alone on the same recourse problem,
and how the hedged plan compares with the base plan's commitments and its bound."""

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
from planner.studies.stress import StressOptions, sample_futures, stress


def run_stress_bench(scenario: str, *, samples: int = 100, workers: int = 2, seed: int = 0,
                     regret: bool = False, hedge: bool = True) -> dict[str, Any]:
    """One stress run of `scenario`, timed; then HiGHS alone on sample 0's recourse problem."""
    from planner.errors import InputError
    from planner.optimize.recourse import highs_alone_seconds

    if samples < 1:
        raise InputError(f"--samples {samples}: allowed: 1 or more for --stress")
    began = time.perf_counter()
    cpu = os.times()
    result = stress(scenario, options=StressOptions(samples=samples, workers=workers,
                                                    seed=seed, regret=regret, hedge=hedge,
                                                    progress=False))
    wall = time.perf_counter() - began
    after = os.times()
    cpu_s = (after.user + after.children_user + after.system + after.children_system
             - cpu.user - cpu.children_user - cpu.system - cpu.children_system)
    loaded = loading.load(scenario)
    future = sample_futures(loaded, 1, seed)[0]
    inputs = lock_prices(build_inputs(loading.load(scenario, sets=future.sets)),
                         signed_prices(build_inputs(loaded)))
    fixed = pd.DataFrame([[c[k] for k in COMMITMENT_COLUMNS]
                          for c in result.variants[0]["commitments"]],
                         columns=COMMITMENT_COLUMNS)
    with tempfile.TemporaryDirectory(prefix="planner-stress-bench-") as tmp:
        alone, _ = highs_alone_seconds(inputs, fixed_commitments=fixed, folder=tmp)
    mc_s = result.timings.get("monte carlo", 0.0)
    per_sample = mc_s * min(workers, samples) / samples
    h = result.hedged or {}
    return {"scenario": result.scenario, "samples": samples, "workers": workers,
            "engine": result.engine, "seconds": round(wall, 2), "cpu_seconds": round(cpu_s, 2),
            **{f"seconds_{k.replace(' ', '_')}": round(v, 2)
               for k, v in result.timings.items()},
            "solves": result.solves,
            "sample_seconds": round(per_sample, 4),
            "highs_alone_seconds": round(alone, 4),
            "sample_over_highs_alone": round(per_sample / alone, 2) if alone > 0 else None,
            "lp_whole": (result.monte_carlo or {}).get("lp_whole"),
            "largest_gap": (result.monte_carlo or {}).get("largest_gap"),
            "hedged_expected_npv": h.get("expected_npv"),
            "base_expected_npv": h.get("deterministic_expected_npv"),
            "hedged_p90_npv": h.get("p90_npv"), "base_p90_npv": h.get("deterministic_p90_npv"),
            "hedge_gap_to_bound": h.get("gap_to_bound"), "hedge_kept_base": h.get("kept_base"),
            "hedge_clusters": h.get("clusters")}


__all__ = ["run_stress_bench"]
