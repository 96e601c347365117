"""`planner plan`: tiny plans solved on paper (asserted exactly), the shipped scenarios, the CLI.

Hand-built PlanInputs (helper `tiny`) keep the arithmetic visible: one workload, one slice,
demand of 730 Mtok a month = 1 Mtok per hour, one GPU serving 1 Mtok per GPU-hour, so exactly one
GPU serves it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from planner.errors import InfeasibleError
from planner.inputs import PlanInputs
from planner.optimize.plan import optimize
from planner.schemas import Limits

REL = 1e-6


def tiny(months: int = 12, *, rate: float = 0.0, mtok_per_month: float = 730.0,
         api_price: float | None = None, on_demand: float | None = None,
         spot: tuple[float, float] | None = None,
         reserved: tuple[float, int] | None = None, purchase: dict | None = None,
         opex_per_gpu_hour: float = 0.0, site_setup: float = 0.0,
         depreciation_years: float = 4.0, limits: Limits | None = None) -> PlanInputs:
    """One flat workload 'w' on GPU 'G' (1 Mtok per GPU-hour), channels as given; `spot` is
    (price per GPU-hour, availability)."""
    periods = pd.DataFrame({"period": range(months), "month": [f"2026-{m + 1:02d}" if m < 12
                                                               else f"2027-{m - 11:02d}"
                                                               for m in range(months)],
                            "first": range(months), "months": 1}).set_index("period")
    demand = pd.DataFrame({"workload": "w", "month": range(months), "slice": "all",
                           "mtok": mtok_per_month})
    apis = pd.DataFrame(columns=["workload", "api", "month", "price_per_mtok"])
    if api_price is not None:
        apis = pd.DataFrame({"workload": "w", "api": "A", "month": range(months),
                             "price_per_mtok": api_price})
    rentals = pd.DataFrame(columns=["offer", "gpu", "channel", "month", "price_per_gpu_hour",
                                    "availability"])
    if on_demand is not None:
        rentals = pd.DataFrame({"offer": "od", "gpu": "G", "channel": "on_demand",
                                "month": range(months), "price_per_gpu_hour": on_demand,
                                "availability": 1.0})
    if spot is not None:
        rentals = pd.concat([rentals, pd.DataFrame({
            "offer": "spot", "gpu": "G", "channel": "spot", "month": range(months),
            "price_per_gpu_hour": spot[0], "availability": spot[1]})], ignore_index=True)
    res = pd.DataFrame(columns=["offer", "gpu", "month", "term_months", "price_per_gpu_month"])
    if reserved is not None:
        res = pd.DataFrame({"offer": "res", "gpu": "G", "month": range(months),
                            "term_months": reserved[1], "price_per_gpu_month": reserved[0]})
    buy = pd.DataFrame(columns=["offer", "gpu", "month", "price_per_gpu", "unit_gpus",
                                "lead_time_months", "residual_per_gpu"])
    if purchase is not None:
        price = purchase["price"]
        buy = pd.DataFrame({"offer": "buy", "gpu": "G", "month": range(months),
                            "price_per_gpu": price, "unit_gpus": 1,
                            "lead_time_months": purchase.get("lead", 0),
                            "residual_per_gpu": [price * max(0.0, 1 - (months - m) /
                                                             (12 * depreciation_years))
                                                 for m in range(months)]})
    return PlanInputs(
        name="tiny", currency="USD", start="2026-01", months=months, discount_rate=rate,
        depreciation_years=depreciation_years, periods=periods,
        slices=pd.DataFrame({"slice": ["all"], "hours_per_day": [24], "hours": ["0-23"]}
                            ).set_index("slice"),
        workloads=pd.DataFrame({"workload": ["w"], "deferrable": [False],
                                "spot_allowed": [True]}).set_index("workload"),
        demand=demand,
        capacity=pd.DataFrame({"workload": ["w"], "gpu": ["G"], "model": ["m"],
                               "precision": ["fp8"], "tp": [1], "mtok_per_gpu_hour": [1.0]}),
        purchases=buy, reserved=res, rentals=rentals, apis=apis,
        gpus=pd.DataFrame({"gpu": ["G"], "opex_per_gpu_hour": [opex_per_gpu_hour],
                           "power_kw": [1.0]}).set_index("gpu"),
        site_setup_cost=site_setup, limits=limits or Limits())


def solve(inputs: PlanInputs, **kwargs):
    return optimize(inputs, mip_gap=0.0, **kwargs)


# --------------------------------------------------------------------------- on paper


def test_api_only_year_is_tokens_times_price_discounted():
    # 730 Mtok a month at 2.00 per Mtok = 1,460 a month; at 10% a year, month m counts
    # 1.1^(-m/12): npv = 1460 x sum_{m<12} 1.1^(-m/12).
    result = solve(tiny(12, rate=0.10, api_price=2.0))
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(12 * 1460, rel=REL)
    expected = 1460 * sum(1.1 ** (-m / 12) for m in range(12))  # 16,766.97...
    assert result.npv == pytest.approx(expected, rel=REL)
    assert result.years.loc[2026, "api"] == pytest.approx(17520, rel=REL)
    # Levelized: the npv over the discounted tokens is the price itself.
    assert result.workloads.loc["w", "cost_per_mtok"] == pytest.approx(2.0, rel=REL)
    assert result.mix()["api"] == pytest.approx(1.0)


@pytest.mark.parametrize("months", [8, 9, 12])
def test_reserving_beats_on_demand_and_counts_only_the_months_inside_the_horizon(months):
    # On demand: 1 GPU x 1.00/h x 730 h = 730 a month. A 12-month reservation at 500 a month:
    # only its months inside the horizon count (the horizon's end rule,
    # planner/inputs/costs.py), 500 a month < 730, so it wins at any horizon: npv 500 x H. Its
    # cash is paid in full (6,000) and the payments after the end, 500 x (12 - H), stay
    # committed after the horizon.
    result = solve(tiny(months, on_demand=1.0, reserved=(500.0, 12)))
    assert result.npv == pytest.approx(500.0 * months, rel=REL)
    assert result.years["reserved"].sum() == pytest.approx(6000.0, rel=REL)
    row = result.commitments.iloc[0]
    assert (row["kind"], row["month"], row["gpus"], row["ends"]) == \
        ("reserved", "2026-01", 1.0, "2026-12")
    assert row["after_horizon"] == pytest.approx(500.0 * (12 - months), rel=REL)


@pytest.mark.parametrize(("api_price", "api_share"), [(1.1, 0.0), (0.9, 1.0)])
def test_a_sliver_of_demand_pays_a_whole_gpu(api_price, api_share):
    # 73 Mtok a month = 0.1 GPU. On demand at 0.10/h: the relaxation pays 0.1 GPU = 7.30 a month;
    # a whole GPU costs 73 a month = 1.00 per Mtok, so the API wins at 0.90 and loses at 1.10.
    inputs = tiny(6, mtok_per_month=73.0, api_price=api_price, on_demand=0.1)
    result = solve(inputs)
    assert result.npv == pytest.approx(6 * 73 * min(api_price, 1.0), rel=REL)
    assert result.mix()["api"] == pytest.approx(api_share)
    assert solve(inputs, relax=True).npv == pytest.approx(6 * 7.3, rel=REL)


@pytest.mark.parametrize(("months", "buy"), [(10, False), (11, True)])
def test_purchase_pays_off_only_with_a_long_enough_horizon(months, buy):
    # Own: site setup 2,000 + price 2,400 less its book value 2400 (1 - H/24) = 100 a month,
    # + opex 0.10/h x 730 = 73 a month -> 2000 + 173 H. On demand 0.50/h -> 365 H.
    # 2000 + 173 x 10 = 3,730 > 3,650 (rent); 2000 + 173 x 11 = 3,903 < 4,015 (buy).
    inputs = tiny(months, on_demand=0.5, purchase={"price": 2400.0}, opex_per_gpu_hour=0.1,
                  site_setup=2000.0, depreciation_years=2)
    result = solve(inputs)
    assert result.npv == pytest.approx(2000 + 173 * months if buy else 365 * months, rel=REL)
    if buy:
        assert result.years.loc[2026, "capex"] == pytest.approx(4400.0, rel=REL)
        assert result.residual_value == pytest.approx(2400 * (1 - months / 24), rel=REL)
        assert result.mix()["purchase"] == pytest.approx(1.0)


def test_discounting_of_a_purchase_and_its_book_value():
    # Only a purchase: 1 GPU at 12,000 in month 0, 4-year life, 12-month horizon, 10% a year.
    # Book value at the end 12000 x (1 - 12/48) = 9,000, credited at month 12: 9000 / 1.1.
    # Opex 0.5/h x 730 = 365 a month from month 0: 365 x sum_{m<12} 1.1^(-m/12).
    result = solve(tiny(12, rate=0.10, purchase={"price": 12000.0}, opex_per_gpu_hour=0.5))
    opex = 365 * sum(1.1 ** (-m / 12) for m in range(12))
    assert result.npv == pytest.approx(12000 - 9000 / 1.1 + opex, rel=REL)
    assert result.total_cost == pytest.approx(12000 + 12 * 365, rel=REL)


def test_lead_time_delays_service_and_rentals_fill_the_gap():
    # A 2-month lead time: months 0-1 on demand (2 x 730 x 1.0), then owned (price 1,000,
    # no opex, no setup, 4-year life, book value 1000 x (1 - 12/48) = 750 at the end).
    inputs = tiny(12, on_demand=1.0, purchase={"price": 1000.0, "lead": 2})
    result = solve(inputs)
    assert result.npv == pytest.approx(2 * 730 + 1000 - 750, rel=REL)
    assert result.commitments.iloc[0]["serves_from"] == "2026-03"


def test_capex_budget_binds_and_infeasible_names_the_workload():
    budget = Limits(capex_budget_per_year={2026: 500.0})
    inputs = tiny(12, purchase={"price": 1000.0})
    with pytest.raises(InfeasibleError, match=r"workload 'w' is short from 2026-01.*capex_budget"):
        solve(replace_limits(inputs, budget))


def replace_limits(inputs: PlanInputs, limits: Limits) -> PlanInputs:
    from dataclasses import replace

    return replace(inputs, limits=limits)


def test_fixed_commitments_are_kept_and_the_rest_reoptimised():
    # Forcing two reserved GPUs (500 a month, 8 months inside the horizon) where one GPU of
    # load is needed: 2 x 500 x 8 = 8,000; the optimum reserves one (4,000). Forcing none: on
    # demand, 730 x 8 = 5,840.
    inputs = tiny(8, on_demand=1.0, reserved=(500.0, 12))
    fixed = pd.DataFrame([{"kind": "reserved", "offer": "res", "month": "2026-01", "gpus": 2}])
    assert solve(inputs, fixed_commitments=fixed).npv == pytest.approx(8000.0, rel=REL)
    assert solve(inputs).npv == pytest.approx(4000.0, rel=REL)
    none = fixed.iloc[0:0]
    assert solve(inputs, fixed_commitments=none).npv == pytest.approx(5840.0, rel=REL)


# --------------------------------------------------------------------------- shipped + CLI


SCENARIOS = ["seed001_light", "seed001_medium", "seed001_heavy", "seed000_h200_token_factory"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_shipped_scenarios_solve(run_cli, name):
    result = run_cli("plan", f"scenarios/{name}.yaml", "--json")
    assert result.code == 0, result.err
    out = result.json()
    for key in ("status", "currency", "npv", "total_cost", "years", "periods", "workloads",
                "solver", "scenario", "variant", "overrides"):
        assert key in out
    assert out["status"] == "optimal"
    assert set(out["years"][0]) >= {"year", "capex", "opex", "reserved", "on_demand", "spot",
                                    "api", "total"}
    assert out["solver"]["name"] == "highs" and out["solver"]["seconds"] < 30
    year_totals = sum(y["total"] for y in out["years"])
    assert year_totals == pytest.approx(out["total_cost"], rel=1e-9)


def test_seed001_light_api_wins_by_far(run_cli):
    # Seed 001 scenario A: API (DeepSeek-V4-Flash) beats renting or owning by far.
    # 10,000 requests a day x (800 x 0.20 + 400 x 0.42) / 1e6 = 3.28 CNY a day;
    # x 730/24 days = 99.767 CNY a month; 36 months = 3,591.6 CNY.
    out = run_cli("plan", "scenarios/seed001_light.yaml", "--json").json()
    assert out["mix"]["api"] == pytest.approx(1.0)
    assert out["total_cost"] == pytest.approx(36 * 10000 * 730 / 24 * 0.000328, rel=1e-6)
    only_rent = run_cli("plan", "scenarios/seed001_light.yaml", "--channels", "on_demand",
                        "--json").json()
    assert only_rent["npv"] > 10 * out["npv"]


def test_plan_json_stdout_is_only_json_in_a_fresh_process():
    # highspy 1.16 prints a banner on stdout from C the first time a solver is made; in-process
    # tests never see it (the first solver of the test session was made long before).
    done = subprocess.run([sys.executable, "-m", "planner", "plan", "scenarios/seed001_heavy.yaml",
                           "--json"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout)["npv"] == pytest.approx(947420.92, rel=1e-6)


def test_channels_api_gives_the_api_only_cost(run_cli):
    # seed 001 heavy on DeepSeek-V4-Pro: 1,000,000 requests a day x (800 x 3 + 400 x 6) / 1e6
    # = 4,800 CNY a day; x 730/24 = 146,000 CNY a month; discounted at 13.3% a year.
    out = run_cli("plan", "scenarios/seed001_heavy.yaml", "--channels", "api", "--json").json()
    assert out["total_cost"] == pytest.approx(36 * 146000, rel=1e-6)
    assert out["npv"] == pytest.approx(146000 * sum(1.133 ** (-m / 12) for m in range(36)),
                                       rel=1e-6)
    best = run_cli("plan", "scenarios/seed001_heavy.yaml", "--json").json()
    # Seed 001 scenario C: renting (or owning) beats the API.
    assert best["npv"] < out["npv"]
    assert best["mix"]["api"] < 0.01


def test_plan_text_fits_100_columns_and_out_writes_csvs(run_cli, tmp_path):
    out_dir = tmp_path / "plan"
    result = run_cli("plan", "scenarios/seed001_heavy.yaml", "--variant", "spot_for_chat",
                     "--out", out_dir)
    assert result.code == 0, result.err
    assert "Yearly budget (CNY" in result.out
    summary = result.out.split("\n\nWrote")[0]  # the folder path may be long
    assert max(len(line) for line in summary.splitlines()) <= 100
    years = pd.read_csv(out_dir / "years.csv")
    assert {"year", "capex_cny", "reserved_cny", "total_cny"} <= set(years.columns)
    saved = json.loads((out_dir / "plan.json").read_text())
    assert saved["variant"] == "spot_for_chat"
    assert any(o["path"] == "workloads.chat.spot_allowed" for o in saved["overrides"])
    again = run_cli("plan", "scenarios/seed001_heavy.yaml", "--out", out_dir)
    assert again.code == 2 and "--force" in again.err


def test_infeasible_plan_exits_3_naming_the_workload(run_cli):
    result = run_cli("plan", "scenarios/seed001_medium.yaml", "--variant", "compliance_no_api",
                     "--channels", "api")
    assert result.code == 3
    assert "'chat'" in result.err and "2026-07" in result.err


def test_gpu_cap_binding_is_named(run_cli):
    result = run_cli("plan", "scenarios/seed001_heavy.yaml", "--variant", "compliance_no_api",
                     "--set", "limits.max_gpus={A100-80GB: 0, H100-SXM: 0, H200: 1, L40S: 0}")
    assert result.code == 3, result.err
    assert "'chat'" in result.err and "max_gpus (H200)" in result.err


def test_unknown_channel_is_bad_input(run_cli):
    result = run_cli("plan", "scenarios/seed001_light.yaml", "--channels", "apis")
    assert result.code == 2 and "allowed" in result.err


def test_workload_kv_precision_reaches_the_deployments():
    # seed001-heavy's chat workload: the default rule gives fp8 weights an fp8 cache; a 16-bit
    # cache (workloads.chat.kv_precision=fp16) halves the sequences that fit, so every GPU that
    # runs it at fp8 serves fewer tokens per hour; the A100 (bf16 weights, bf16 cache: the same
    # 2 bytes) is unchanged.
    from planner.inputs import build_inputs
    from planner.loading import load

    path = ROOT / "scenarios" / "seed001_heavy.yaml"
    default = build_inputs(load(path)).capacity.set_index("gpu")["mtok_per_gpu_hour"]
    fp16 = build_inputs(load(path, sets=["workloads.chat.kv_precision=fp16"])).capacity
    fp16 = fp16.set_index("gpu")["mtok_per_gpu_hour"]
    assert set(fp16.index) == set(default.index)
    assert fp16["A100-80GB"] == default["A100-80GB"]
    for gpu in ("H100-SXM", "H200", "L40S"):
        assert fp16[gpu] < default[gpu], gpu
