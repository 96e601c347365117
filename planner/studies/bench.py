"""`planner bench`: reproducible synthetic scenarios and where the time of a plan goes (issue 8).

A scenario of a given size is generated from the shipped catalogs (extra GPU types and APIs are
derived from shipped ones with scaled specs and prices, from a fixed seed), written to a temp
folder and loaded like any scenario. The bench then times the stages of `plan()`: coefficient
tables, model building, solving and reading back, and compares with HiGHS alone on the same
problem written to MPS (the floor we measure the Python overhead against). docs/bench.md
records the figures.
"""

from __future__ import annotations

import copy
import random
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from planner.errors import SolverError
from planner.inputs import build_inputs
from planner.loading import SHIPPED_CATALOG_DIR, load
from planner.optimize import optimize
from planner.optimize.solve import highs_only_seconds

# Input dimensions of each size (issue 8); every channel is on.
SIZES: dict[str, dict[str, int]] = {
    "small": {"workloads": 3, "gpus": 4, "apis": 5, "months": 36, "slices": 2},
    "medium": {"workloads": 20, "gpus": 8, "apis": 15, "months": 60, "slices": 4},
    "large": {"workloads": 100, "gpus": 12, "apis": 30, "months": 60, "slices": 6},
}
SEED = 8
# Runs of each size the bench keeps the fastest of (small runs take a tenth of a second, where
# a busy machine's noise is as large as the figure).
REPEATS = {"small": 5, "medium": 1, "large": 1}
START = "2027-01"
# Shipped GPUs in the order a size takes them; beyond these, derived copies.
GPU_ORDER = ("H100-SXM", "H200", "A100-80GB", "L40S", "B200", "MI300X", "A100-40GB", "Gaudi3")
# Models small enough to fit one of most GPUs, and request shapes (input, output tokens).
MODELS = ("llama-3.1-8b", "qwen3-8b", "deepseek-r1-distill-qwen-14b", "qwen3-32b",
          "mixtral-8x7b", "llama-3.1-70b")
SHAPES = ((500, 200), (1000, 500), (2000, 300), (800, 400), (300, 600))


def _read(name: str) -> dict[str, Any]:
    return yaml.safe_load((SHIPPED_CATALOG_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def _gpus(n: int, rng: random.Random) -> dict[str, dict]:
    """n GPU types: shipped ones first, then copies scaled 0.8-1.3x (a faster or slower part)."""
    shipped = _read("gpus")
    chosen = {g: shipped[g] for g in GPU_ORDER[:n]}
    k = 0
    while len(chosen) < n:
        base_id = GPU_ORDER[k % len(GPU_ORDER)]
        k += 1
        scale = rng.uniform(0.8, 1.3)
        gpu = copy.deepcopy(shipped[base_id])
        gpu["name"] = f"{gpu['name']} (synthetic x{scale:.2f})"
        gpu["memory_bandwidth_tb_per_s"] = round(gpu["memory_bandwidth_tb_per_s"] * scale, 4)
        gpu["dense_tflops"] = {p: round(v * scale, 2) for p, v in gpu["dense_tflops"].items()}
        gpu["power_kw"] = round(gpu["power_kw"] * rng.uniform(0.9, 1.2), 3)
        gpu.pop("measured", None)
        chosen[f"{base_id}-syn{k}"] = gpu
    return chosen


def _offers(gpus: dict[str, dict], rng: random.Random) -> dict[str, dict]:
    """Every channel for every GPU, priced from its memory bandwidth with +-15% noise;
    derived GPUs arrive one or two years into the horizon."""
    offers: dict[str, dict] = {}
    common = {"currency": "USD", "source": "synthetic (planner bench)", "as_of": date(2026, 6, 1)}
    for i, (g, spec) in enumerate(gpus.items()):
        hourly = 0.9 * spec["memory_bandwidth_tb_per_s"] * rng.uniform(0.85, 1.15)
        later = {"available_from": f"{2027 + i % 3}-0{1 + i % 9}"} if "-syn" in g else {}
        key = g.lower()
        offers[f"{key}-purchase"] = {**common, **later, "gpu": g, "channel": "purchase",
                                     "price_per_gpu": round(hourly * 8760 * rng.uniform(0.9, 1.3)),
                                     "unit_gpus": 8, "lead_time_months": 2 + i % 3}
        for term, share in ((12, 0.7), (36, 0.45)):
            offers[f"{key}-reserved-{term // 12}y"] = {
                **common, **later, "gpu": g, "channel": "reserved", "term_months": term,
                "price_per_gpu_month": round(hourly * 730 * share * rng.uniform(0.9, 1.1), 2)}
        offers[f"{key}-on-demand"] = {**common, **later, "gpu": g, "channel": "on_demand",
                                      "price_per_gpu_hour": round(hourly, 3)}
        offers[f"{key}-spot"] = {**common, **later, "gpu": g, "channel": "spot",
                                 "price_per_gpu_hour": round(hourly * rng.uniform(0.3, 0.5), 3),
                                 "availability": round(rng.uniform(0.8, 0.97), 2)}
    return offers


def _apis(n: int, rng: random.Random) -> dict[str, dict]:
    """n APIs: shipped ones, then copies with prices scaled 0.5-1.6x; a third rate-limited."""
    shipped = _read("apis")
    ids = sorted(shipped)
    chosen = {a: shipped[a] for a in ids[:n]}
    k = 0
    while len(chosen) < n:
        api = copy.deepcopy(shipped[ids[k % len(ids)]])
        k += 1
        scale = rng.uniform(0.5, 1.6)
        for price in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
            if api.get(price) is not None:
                api[price] = round(api[price] * scale, 4)
        if k % 3 == 0:
            api["rate_limit_tokens_per_minute"] = rng.choice((2e5, 1e6, 5e6))
        api["source"] = "synthetic (planner bench)"
        chosen[f"{ids[(k - 1) % len(ids)]}-syn{k}"] = api
    return chosen


def _profile(block: int, levels: list[float]) -> list[float]:
    return [round(levels[h // block], 4) for h in range(24)]


def _workloads(n: int, slices: int, api_ids: list[str], rng: random.Random) -> dict[str, dict]:
    """n workloads with block profiles giving exactly `slices` time slices (24/slices hours each);
    a fifth deferrable, a third spot-allowed, demand 1e4-3e6 requests a day."""
    block = 24 // slices
    out = {}
    for i in range(n):
        inp, outp = SHAPES[i % len(SHAPES)]
        # Distinct block levels for the first workload fix the slices; others vary freely.
        levels = ([1.0 + 0.3 * b for b in range(slices)] if i == 0 else
                  [round(rng.uniform(0.5, 2.0), 2) for _ in range(slices)])
        out[f"w{i:03d}"] = {
            "input_tokens": inp, "output_tokens": outp,
            "demand": {"requests_per_day": round(10 ** rng.uniform(4, 6.5)),
                       "growth_per_year": round(rng.uniform(0.0, 0.8), 2)},
            "hourly_profile": _profile(block, levels),
            "slo": {"ttft_ms": 2000, "tpot_ms": 80},
            "self_host": rng.sample(MODELS, 2),
            "apis": rng.sample(api_ids, min(len(api_ids), rng.randint(2, 5))),
            "deferrable": i % 5 == 4,
            "spot_allowed": i % 3 == 1,
        }
    return out


def write_scenario(size: str, folder: Path, seed: int = SEED) -> Path:
    """Write the catalog and scenario of a bench size into `folder`; returns the scenario path."""
    dims = SIZES[size]
    rng = random.Random(f"{seed}-{size}")
    catalog = folder / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    gpus = _gpus(dims["gpus"], rng)
    apis = _apis(dims["apis"], rng)
    files = {"gpus": gpus, "offers": _offers(gpus, rng), "apis": apis,
             "models": _read("models"), "finance": _read("finance")}
    for name, tree in files.items():
        (catalog / f"{name}.yaml").write_text(yaml.safe_dump(tree, sort_keys=True),
                                              encoding="utf-8")
    scenario = {"name": f"bench-{size}", "start": START, "months": dims["months"],
                "step": "month", "catalog": "catalog",
                "workloads": _workloads(dims["workloads"], dims["slices"], sorted(apis), rng)}
    path = folder / f"bench_{size}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def _max_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _timed_plan(path: Path, relax: bool, time_limit: float | None, mps_path: Path
                ) -> dict[str, Any]:
    """One plan from file to result (the staged `optimize` plan runs), timed by stage
    (seconds); the problem is also written to `mps_path` for HiGHS alone, not timed."""
    began = time.perf_counter()
    inputs = build_inputs(load(path))
    inputs_done = time.perf_counter()
    try:
        result = optimize(inputs, relax=relax, time_limit=time_limit, lp_path=str(mps_path))
    except SolverError:  # a time limit without a plan: timed, npv None
        result = None
    solver = result.solver if result is not None else {}
    done = time.perf_counter() - solver.get("write_seconds", 0.0)
    build_s = solver.get("build_seconds", 0.0)
    solve_s = solver.get("seconds", done - inputs_done)
    return {"inputs": inputs, "solver": solver, "npv": round(float(result.npv), 2)
            if result is not None else None,
            "inputs_seconds": inputs_done - began, "build_seconds": build_s,
            "solve_seconds": solve_s,
            "results_seconds": max(done - inputs_done - build_s - solve_s, 0.0),
            "total_seconds": done - began}


def run_bench(size: str = "small", *, integer: bool = False, seed: int = SEED,
              highs_only: bool = True, time_limit: float | None = None,
              repeats: int | None = None) -> dict[str, Any]:
    """Generate, load, build, solve and read back one bench scenario; the figures as a dict.
    By default the plan's LP relaxation, the problem whose building the targets of issue 8
    measure against HiGHS; `integer` solves what `plan` solves (whole servers and GPUs), where
    HiGHS's branch and bound dominates.
    `repeats` runs (default REPEATS[size]) of ours and of HiGHS alone, taken in turn, each
    keep the fastest, as timeit does: the first run in a process also pays one-off warm-up
    costs (pandas and numpy code paths, name caches), reported apart as `first_total_seconds`.
    `time_limit` (seconds) bounds each solve, ours and HiGHS alone (integer large runs long);
    a stop without a plan reports npv None."""
    from planner.errors import InputError

    if size not in SIZES:
        raise InputError(f"--size {size!r}: allowed: {', '.join(SIZES)}")
    repeats = REPEATS[size] if repeats is None else repeats
    if repeats < 1:
        raise InputError(f"--repeat {repeats}: allowed: a whole number of runs, 1 or more")
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        folder = Path(tmp)
        path = write_scenario(size, folder, seed)
        mps = folder / "bench.mps"
        runs, alone = [], []
        for _ in range(repeats):  # alternated, so a machine's drift in speed hits both alike
            runs.append(_timed_plan(path, not integer, time_limit, mps))
            if highs_only:
                alone.append(highs_only_seconds(mps, time_limit=time_limit))
        best = min(runs, key=lambda run: run["total_seconds"])
        solver = best["solver"]
        figures: dict[str, Any] = {
            "size": size, "seed": seed, **SIZES[size], "repeats": repeats,
            "integer": bool(integer),
            "variables": solver.get("variables"), "constraints": solver.get("constraints"),
            "nonzeros": alone[0][2] if alone else None,
            **{key: round(best[key], 3) for key in ("inputs_seconds", "build_seconds",
                                                    "solve_seconds", "results_seconds",
                                                    "total_seconds")},
            "first_total_seconds": round(runs[0]["total_seconds"], 3),
            "status": solver.get("status", "no_solution"), "mip_gap": solver.get("mip_gap"),
            "npv": best["npv"], "currency": best["inputs"].currency,
        }
        if highs_only:
            seconds, objective, _ = min(alone)
            figures["highs_only_seconds"] = round(seconds, 3)
            figures["highs_only_npv"] = (round(objective * solver["money_scale"], 2)
                                         if objective is not None and solver else None)
            total = best["total_seconds"]
            figures["overhead_ratio"] = round(total / seconds, 2) if seconds > 0 else None
        figures["max_rss_mb"] = round(_max_rss_mb(), 1)
    return figures


def format_bench(figures: dict[str, Any]) -> str:
    """The figures as aligned text lines."""
    width = max(map(len, figures))
    return "\n".join(f"{k:<{width}}  {v}" for k, v in figures.items())


__all__ = ["SIZES", "format_bench", "run_bench", "write_scenario"]
