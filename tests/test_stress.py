"""`planner stress`: a two-future hedge solved on paper, determinism under a seed, regret of a
variant against itself, the CLI on a small scenario (quarters, one GPU type, relaxed)."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.inputs import PlanInputs
from planner.schemas.scenario import Distribution
from planner.studies.stress import (
    cvar,
    draw,
    hedge_inputs,
    percentiles,
    regret_rows,
    sample_futures,
)

ROOT_CATALOG = __import__("pathlib").Path(__file__).resolve().parent.parent / "catalogs"


def one_month(gpus_needed: float, *, reserved_per_month: float, on_demand_per_hour: float
              ) -> PlanInputs:
    """One month, one workload needing `gpus_needed` GPUs all month (1 Mtok per GPU-hour),
    a 1-month reservation at `reserved_per_month` and on-demand at `on_demand_per_hour`."""
    empty_apis = pd.DataFrame(columns=["workload", "api", "month", "price_per_mtok"])
    empty_buy = pd.DataFrame(columns=["offer", "gpu", "month", "price_per_gpu", "unit_gpus",
                                      "lead_time_months", "residual_per_gpu"])
    return PlanInputs(
        name="hedge", currency="USD", start="2026-01", months=1, discount_rate=0.0,
        depreciation_years=4.0,
        periods=pd.DataFrame({"period": [0], "month": ["2026-01"], "first": [0],
                              "months": [1]}).set_index("period"),
        slices=pd.DataFrame({"slice": ["all"], "hours_per_day": [24], "hours": ["0-23"]}
                            ).set_index("slice"),
        workloads=pd.DataFrame({"workload": ["w"], "deferrable": [False],
                                "spot_allowed": [False]}).set_index("workload"),
        demand=pd.DataFrame({"workload": ["w"], "month": [0], "slice": ["all"],
                             "mtok": [730.0 * gpus_needed]}),
        capacity=pd.DataFrame({"workload": ["w"], "gpu": ["G"], "model": ["m"],
                               "precision": ["fp8"], "tp": [1], "mtok_per_gpu_hour": [1.0]}),
        purchases=empty_buy,
        reserved=pd.DataFrame({"offer": ["res"], "gpu": ["G"], "month": [0], "term_months": [1],
                               "price_per_gpu_month": [reserved_per_month]}),
        rentals=pd.DataFrame({"offer": ["od"], "gpu": ["G"], "channel": ["on_demand"],
                              "month": [0], "price_per_gpu_hour": [on_demand_per_hour],
                              "availability": [1.0]}),
        apis=empty_apis,
        gpus=pd.DataFrame({"gpu": ["G"], "opex_per_gpu_hour": [0.0], "power_kw": [1.0]}
                          ).set_index("gpu"))


@pytest.mark.parametrize(("reserved", "hedged_gpus", "expected"), [
    # Futures: 1 or 3 GPUs needed, 1/2 each; on-demand 1/h = 730 a GPU-month.
    # E[cost](x) = R x + 730 x (max(1 - x, 0) + max(3 - x, 0)) / 2: the slope is R - 730 below 1
    # GPU and R - 365 between 1 and 3 (newsvendor: reserve the quantile (730 - R) / 730).
    # R = 500: reserve 1, E = 500 + 365 x 2 = 1,230.
    (500.0, 1.0, 1230.0),
    # R = 300 (< 365): reserve 3, E = 900.
    (300.0, 3.0, 900.0),
])
def test_two_future_hedge_is_the_newsvendor_quantile(reserved, hedged_gpus, expected):
    futures = [one_month(n, reserved_per_month=reserved, on_demand_per_hour=1.0)
               for n in (1.0, 3.0)]
    # The deterministic plan for the mean demand (2 GPUs) reserves 2 (R < 730): in the futures
    # it costs 2R + 730 x (0 + 1) / 2 = 2R + 365 (R = 500: 1,365; R = 300: 965).
    base = pd.DataFrame([{"kind": "reserved", "offer": "res", "month": "2026-01", "gpus": 2.0}])
    out = hedge_inputs(futures, base_commitments=base, relax=True, mip_gap=0.0)
    assert out["deterministic_expected_npv"] == pytest.approx(2 * reserved + 365, rel=1e-6)
    assert out["expected_npv"] == pytest.approx(expected, rel=1e-6)
    assert out["expected_npv"] <= out["deterministic_expected_npv"]
    assert [c["gpus"] for c in out["commitments"]] == pytest.approx([hedged_gpus], rel=1e-6)
    assert out["differences"][0]["change"] == pytest.approx(hedged_gpus - 2.0, rel=1e-6)
    assert not out["kept_base"]


def test_hedge_relaxes_the_recourse_in_the_program_and_evaluates_it_whole():
    # Futures need 1.5 or 2.5 GPUs (1/2 each); R = 500 a reserved GPU-month, on-demand 730 a
    # whole GPU-month. In the program only the reservation is whole: rentals may be fractions,
    # E(x = 1) = 500 + (365 + 1,095) / 2 = 1,230, E(2) = 1,000 + (0 + 365) / 2 = 1,182.5,
    # E(3) = 1,500: reserve 2. Evaluated with whole rentals: 1,000 + (0 + 730) / 2 = 1,365,
    # the best whole plan too (x = 1: 500 + (730 + 1,460) / 2 = 1,595; x = 3: 1,500).
    futures = [one_month(n, reserved_per_month=500.0, on_demand_per_hour=1.0)
               for n in (1.5, 2.5)]
    out = hedge_inputs(futures, mip_gap=0.0)
    assert out["relaxed_recourse_columns"] > 0
    assert [c["gpus"] for c in out["commitments"]] == pytest.approx([2.0], rel=1e-9)
    assert out["expected_npv"] == pytest.approx(1365.0, rel=1e-9)
    assert out["npvs"] == pytest.approx([1000.0, 1730.0], rel=1e-9)
    whole = hedge_inputs(futures, mip_gap=0.0, whole_recourse=True)
    assert whole["relaxed_recourse_columns"] == 0
    assert whole["expected_npv"] == pytest.approx(1365.0, rel=1e-9)


def test_cvar_weight_hedges_toward_the_bad_future():
    # R = 500 and full CVaR at alpha 0.5: only the worse future (3 GPUs) counts, so reserve 3:
    # cost 1,500 in both futures (R x 3), CVaR 1,500 (expectation alone would reserve 1).
    futures = [one_month(n, reserved_per_month=500.0, on_demand_per_hour=1.0) for n in (1, 3)]
    out = hedge_inputs(futures, relax=True, mip_gap=0.0, cvar_weight=1.0, cvar_alpha=0.5)
    assert [c["gpus"] for c in out["commitments"]] == pytest.approx([3.0], rel=1e-6)
    assert out["cvar_npv"] == pytest.approx(1500.0, rel=1e-6)


def test_cvar_and_percentiles_by_hand():
    # Worst half of {1, 3} at equal weights: 3.
    assert cvar([1.0, 3.0], [0.5, 0.5], 0.5) == pytest.approx(3.0)
    # alpha 0: the mean, 2.
    assert cvar([1.0, 3.0], [0.5, 0.5], 0.0) == pytest.approx(2.0)
    p = percentiles([1.0, 2.0, 3.0, 4.0, 5.0])
    # numpy linear interpolation: p90 = 4 + 0.6 x 1 = 4.6; p99 = 4 + 0.96 = 4.96.
    assert (p["p50"], p["p90"], p["p99"], p["mean"]) == pytest.approx((3.0, 4.6, 4.96, 3.0))


def test_regret_of_a_variant_against_itself_is_zero():
    own = {"a": 100.0, "b": 150.0}
    ev = {("a", "a"): {"npv": 100.0, "feasible": True, "error": None},
          ("a", "b"): {"npv": 170.0, "feasible": True, "error": None},
          ("b", "a"): {"npv": 130.0, "feasible": True, "error": None},
          ("b", "b"): {"npv": 150.0, "feasible": True, "error": None}}
    rows = {(r["plan_from"], r["evaluated_under"]): r["regret"]
            for r in regret_rows(["a", "b"], own, ev)}
    # a's plan under b: 170 - 150 = 20; b's plan under a: 130 - 100 = 30.
    assert rows == {("a", "a"): 0.0, ("a", "b"): 20.0, ("b", "a"): 30.0, ("b", "b"): 0.0}


def test_draws_follow_their_distribution_and_the_seed():
    import numpy as np

    flat = draw(Distribution(dist="lognormal", median=1.3, sigma=0.0),
                np.random.default_rng(0), 3)
    assert flat.tolist() == pytest.approx([1.3, 1.3, 1.3])
    uniform = draw(Distribution(dist="uniform", low=0.5, high=0.6), np.random.default_rng(0), 50)
    assert uniform.min() >= 0.5 and uniform.max() <= 0.6


SMALL = """\
name: stress-small
start: 2026-07
months: 12
step: quarter
currency: CNY
catalog: {catalog}
finance: {{currency: CNY, fx: {{USD: 7.2}}, api_price_change_per_year: 0.0,
          rental_price_change_per_year: 0.0, purchase_price_change_per_year: 0.0}}
offers: [l40s-reserved-1y-cny, l40s-on-demand-cny]
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {{requests_per_day: 98400, growth_per_year: 0.0}}
    slo: {{ttft_ms: 2000, tpot_ms: 50}}
    self_host: [qwen3-32b]
    apis: [deepseek-v3]
variants:
  demand_x2: {{demand_multiplier: 2}}
  api_cheap: {{api_price_multiplier: 0.3}}
stress:
  samples: 4
  demand_multiplier: {{dist: lognormal, median: 1.0, sigma: 0.5}}
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(catalog=ROOT_CATALOG), encoding="utf-8")
    return path


def test_same_seed_same_futures(small):
    from planner import loading

    loaded = loading.load(small)
    a, b = sample_futures(loaded, 5, 7), sample_futures(loaded, 5, 7)
    assert [f.sets for f in a] == [f.sets for f in b]
    assert [f.sets for f in a] != [f.sets for f in sample_futures(loaded, 5, 8)]
    # The scenario's sigma 0.5 for demand; the default sigma 0.3 for API prices.
    assert all(f.sets[0].startswith("demand_multiplier=") for f in a)


def test_cli_stress_is_deterministic_and_hedged_is_no_worse(run_cli, small, tmp_path):
    first = run_cli("stress", small, "--seed", "3", "--workers", "1", "--relax", "--json")
    assert first.code == 0, first.err
    doc = first.json()
    names = [v["name"] for v in doc["variants"]]
    assert names == ["base", "demand_x2", "api_cheap"]
    # Regret against itself: 0 up to the solver's gap (relaxed: an LP, so exactly optimal).
    for row in doc["regret"]:
        if row["plan_from"] == row["evaluated_under"]:
            assert row["regret"] == pytest.approx(0.0, abs=1e-6 * row["npv"])
        elif row["regret"] is not None:
            assert row["regret"] >= 0
    mc = doc["monte_carlo"]
    assert mc["count"] == 4 and set(mc) >= {"p50", "p90", "p99", "mean", "idle_share"}
    assert mc["p50"] <= mc["p90"] <= mc["p99"]
    hedged = doc["hedged"]
    assert hedged["over"] == "samples" and hedged["futures"] == 4
    assert hedged["expected_npv"] <= hedged["deterministic_expected_npv"] * (1 + 1e-9)
    again = run_cli("stress", small, "--seed", "3", "--workers", "2", "--relax", "--json",
                    "--no-regret", "--out", tmp_path / "out")
    assert again.code == 0, again.err
    redo = again.json()
    assert [s["npv"] for s in redo["monte_carlo"]["samples"]] == \
        [s["npv"] for s in mc["samples"]]
    assert redo["hedged"]["expected_npv"] == pytest.approx(hedged["expected_npv"], rel=1e-9)
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"variants.csv", "monte_carlo_samples.csv", "hedged_commitments.csv",
            "stress.json", "report.html"} <= written
    for csv in (tmp_path / "out").glob("*.csv"):  # every table has its header, empty or not
        assert len(pd.read_csv(csv).columns) >= 2, csv.name


def test_cli_stress_without_hedge_regret_zero_and_text_fits(run_cli, small, tmp_path):
    out = run_cli("stress", small, "--samples", "3", "--seed", "5", "--workers", "2",
                  "--relax", "--no-hedge", "--out", tmp_path / "o")
    assert out.code == 0, out.err
    assert "Regret" in out.out and "Monte Carlo" in out.out
    doc = run_cli("stress", small, "--samples", "3", "--seed", "5", "--workers", "1",
                  "--relax", "--no-hedge", "--json").json()
    for row in doc["regret"]:
        if row["plan_from"] == row["evaluated_under"]:
            assert row["regret"] == pytest.approx(0.0, abs=1e-6 * row["npv"])
    p50 = f"{doc['monte_carlo']['p50']:,.0f}"
    assert any(line.split()[:2] == ["p50", p50] for line in out.out.splitlines())  # 1 or 2 workers
    assert {"variants.csv", "regret.csv", "monte_carlo_samples.csv"} <= {
        p.name for p in (tmp_path / "o").iterdir()}
    assert max(len(line) for line in out.out.splitlines() if str(tmp_path) not in line) <= 100
    assert "thousands of" in out.out  # the regret table's units: wrapped, never cut off


def test_bad_distribution_is_bad_input(run_cli, small):
    out = run_cli("stress", small, "--set", "stress.demand_multiplier={dist: lognormal, "
                  "median: 1.0}")
    assert out.code == 2
    assert "stress.demand_multiplier" in out.err and "sigma" in out.err


def test_cli_stress_refuses_another_currency_instead_of_ignoring_it(run_cli, small):
    # The scenario is in CNY; USD has an FX rate, but stress does not restate its tables yet.
    out = run_cli("stress", small, "--samples", "0", "--relax", "--currency", "USD")
    assert out.code == 2
    assert "--currency USD" in out.err and "allowed: CNY" in out.err
    assert run_cli("stress", small, "--samples", "0", "--relax", "--no-regret",
                   "--currency", "cny").code == 0
