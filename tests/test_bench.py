"""planner bench (issue 8): the small bench's figures, and pruning never changes the optimum."""

from __future__ import annotations

import pytest

from planner import model as lp
from planner.bench import SIZES, write_scenario
from planner.inputs import build_inputs
from planner.loading import load
from planner.solve import solve

KEYS = {"workloads", "gpus", "apis", "months", "slices", "variables", "constraints",
        "build_seconds", "solve_seconds", "total_seconds", "highs_only_seconds", "max_rss_mb",
        "integer"}


def test_small_bench_reports_every_figure(run_cli):
    out = run_cli("bench", "--size", "small", "--relax", "--json").json()
    assert KEYS <= set(out)
    # The small size: 3 workloads, 4 GPUs, 5 APIs, 36 months, 2 slices.
    assert (out["workloads"], out["gpus"], out["apis"], out["months"], out["slices"]) == (
        3, 4, 5, 36, 2)
    assert out["integer"] is False and out["status"] == "optimal"
    assert out["variables"] > 0 and out["constraints"] > 0
    # The same LP solved by HiGHS from MPS reaches the same optimum.
    assert out["highs_only_npv"] == pytest.approx(out["npv"], rel=1e-6)


def test_bench_scenarios_are_reproducible(tmp_path):
    a = write_scenario("small", tmp_path / "a").read_text()
    b = write_scenario("small", tmp_path / "b").read_text()
    assert a == b
    assert set(SIZES) == {"small", "medium", "large"}


def _optimum(inputs, *, prune: bool, relax: bool) -> tuple[float, int]:
    built = lp.build(inputs, relax=relax, prune=prune)
    info = solve(built.problem, mip_gap=1e-9)
    assert info.is_ok
    return lp.objective_value(built), built.variables


@pytest.mark.parametrize("seed", range(6))
def test_pruning_never_changes_the_optimum(tmp_path, seed):
    # Random small scenarios (3 workloads, 4 GPUs, 36 months, 1- and 3-year reservations):
    # dropping dominated reservations gives the same optimum as keeping every one.
    inputs = build_inputs(load(write_scenario("small", tmp_path, seed=seed)))
    pruned, n_pruned = _optimum(inputs, prune=True, relax=True)
    full, n_full = _optimum(inputs, prune=False, relax=True)
    assert pruned == pytest.approx(full, rel=1e-7)
    # Late 3-year contracts pay past the horizon for the periods a 1-year one covers: pruned.
    assert n_pruned < n_full
