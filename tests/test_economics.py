"""`planner tco`, `compare` and `breakeven` through the CLI: seed 000 and seed 001 reproduced,
plus hand-checked cases on a small scenario (arithmetic in the comments)."""

from __future__ import annotations

import textwrap

import pytest
from conftest import ROOT

USD_PER_CNY = 0.1389  # catalogs/finance.yaml fx.CNY


# --------------------------------------------------------------------------- tco


@pytest.mark.parametrize(("args", "capital", "total"), [
    # seed 000: 34698 x (1 + 0.133 n) / (n x 8760); opex 0.178082 + 0.0609 = 0.238982
    (["--capex", "34698", "--years", "3"], 1.847, 2.086),
    (["--years", "4"], 1.517, 1.756),
    (["--years", "5"], 1.319, 1.558),
    # annuity: 34698 x 0.338292 / 8760 = 1.33996; + 0.238982 = 1.57894
    (["--years", "4", "--method", "annuity"], 1.340, 1.579),
])
def test_tco_reproduces_seed_000(run_cli, args, capital, total):
    result = run_cli("tco", "H200", *args, "--json")
    assert result.code == 0, result.err
    out = result.json()
    assert out["currency"] == "USD"
    assert out["capex"] == pytest.approx(34698)
    assert out["capex_per_gpu_hour"] == pytest.approx(capital, abs=5e-4)
    # 130 $/kW/month x 1 kW x 12 / 8760 = 0.178 (seed 000's 130/30/24 = 0.181, docs/finance.md)
    assert out["colocation_per_gpu_hour"] == pytest.approx(0.178, abs=5e-4)
    # 0.7 kW x 0.087 $/kWh = 0.0609
    assert out["electricity_per_gpu_hour"] == pytest.approx(0.061, abs=5e-4)
    assert out["opex_per_gpu_hour"] == pytest.approx(0.239, abs=5e-4)
    assert out["tco_per_gpu_hour"] == pytest.approx(total, abs=5e-4)


def test_tco_says_the_site_costs_are_not_in_a_gpu_tco(run_cli):
    # Per site, not per GPU: set, they leave the TCO unchanged and are named as left out.
    base = run_cli("tco", "H200", "--json").json()
    out = run_cli("tco", "H200", "--set", "finance.site_fixed_cost_per_year=8760", "--json").json()
    assert out["tco_per_gpu_hour"] == base["tco_per_gpu_hour"]
    assert out["site_costs_not_included"]["site_fixed_cost_per_year"] == pytest.approx(8760)
    text = run_cli("tco", "H200", "--set", "finance.site_fixed_cost_per_year=8760").out
    assert "Not included: the site's 8,760 USD a year" in text


def test_tco_lists_rentals_in_the_reporting_currency(run_cli):
    out = run_cli("tco", "H200", "--json").json()
    assert out["capex_source"] == "h200-purchase-usd"
    rentals = {r["offer"]: r for r in out["rentals"]}
    # seed 000's neocloud: $2.00/h against a 4-year TCO of 1.756 -> margin 1 - 1.756/2 = 12.2%
    assert rentals["h200-on-demand-usd"]["price_per_gpu_hour"] == pytest.approx(2.0)
    assert rentals["h200-on-demand-usd"]["margin_over_tco"] == pytest.approx(0.122, abs=5e-4)
    # seed 001's reserved H200 at 15,000 CNY/month: 15000 x 0.1389 / 730 = 2.854 USD/h
    assert rentals["h200-reserved-1y-cny"]["price_per_gpu_hour"] == pytest.approx(2.854, abs=5e-4)
    assert rentals["h200-reserved-1y-cny"]["currency"] == "USD"


def test_tco_in_cny_uses_the_cny_purchase_offer(run_cli):
    out = run_cli("tco", "H200", "--currency", "CNY", "--json").json()
    assert out["currency"] == "CNY"
    assert out["capex_source"] == "h200-purchase-cny"
    # 300000 x (1 + 0.133 x 4) / 35040 = 13.116 CNY/h; colocation 0.178082 / 0.1389 = 1.2821
    assert out["capex_per_gpu_hour"] == pytest.approx(13.116, abs=5e-4)
    assert out["colocation_per_gpu_hour"] == pytest.approx(1.2821, abs=5e-4)


def test_tco_set_overrides_finance(run_cli):
    out = run_cli("tco", "H200", "--set", "finance.cost_of_capital=0",
                  "--set", "finance.electricity_per_kwh=0.1", "--json").json()
    # no interest: 34698 / (4 x 8760) = 0.99024; electricity 0.7 x 0.1 = 0.07
    assert out["capex_per_gpu_hour"] == pytest.approx(0.99024, abs=1e-5)
    assert out["electricity_per_gpu_hour"] == pytest.approx(0.07)
    assert {o["path"] for o in out["overrides"]} == {"finance.cost_of_capital",
                                                      "finance.electricity_per_kwh"}


def test_tco_text_output(run_cli):
    result = run_cli("tco", "H200", "--capex", "34698", "--years", "3")
    assert result.code == 0
    assert "1.847" in result.out and "2.086" in result.out


@pytest.mark.parametrize("args", [
    ["tco", "NOPE"],                                  # unknown GPU
    ["tco", "MI300X"],                                # no purchase offer and no --capex
    ["tco", "H200", "--capex", "-5"],                 # negative price
    ["tco", "H200", "--years", "0"],
    ["tco", "H200", "--method", "sum_of_digits"],     # argparse choice
    ["tco", "H200", "--currency", "XYZ"],             # no FX rate
    ["breakeven", "--currency", "XYZ"],
    ["compare", "--input-tokens-per-month", "1e6", "--output-tokens-per-month", "1e6",
     "--currency", "EUR"],
])
def test_bad_inputs_exit_2(run_cli, args):
    result = run_cli(*args)
    assert result.code == 2
    assert "Traceback" not in result.err


def test_unknown_currency_message_names_the_fix(run_cli):
    result = run_cli("tco", "H200", "--currency", "XYZ")
    assert "has no exchange rate" in result.err and "finance.fx.XYZ=RATE" in result.err


# --------------------------------------------------------------------------- compare


SEED_001 = {  # 240M input + 120M output tokens a month, CNY (seed 001's 月度API费用估算)
    "deepseek-v4-flash": 98.4, "qwen-plus": 432, "deepseek-v3": 1440, "deepseek-v4-pro": 1440,
    "qwen3-max": 4320, "gpt-4o": 12960, "claude-sonnet-4.6": 17640,
}


def test_compare_reproduces_seed_001(run_cli):
    result = run_cli("compare", "--input-tokens-per-month", "240000000",
                     "--output-tokens-per-month", "120000000", "--currency", "CNY", "--json")
    assert result.code == 0, result.err
    rows = {r["option"]: r for r in result.json()["rows"]}
    for api, monthly in SEED_001.items():
        assert rows[api]["monthly_cost"] == pytest.approx(monthly), api
        assert rows[api]["kind"] == "api" and rows[api]["currency"] == "CNY"
    # 98.4 / 360 Mtok = 0.27333 per Mtok
    assert rows["deepseek-v4-flash"]["cost_per_mtok"] == pytest.approx(0.273333, abs=1e-6)
    costs = [r["monthly_cost"] for r in result.json()["rows"]]
    assert costs == sorted(costs)


def test_compare_converts_to_usd(run_cli):
    out = run_cli("compare", "--input-tokens-per-month", "240e6", "--output-tokens-per-month",
                  "120e6", "--json").json()
    rows = {r["option"]: r for r in out["rows"]}
    # 98.4 CNY x 0.1389 = 13.668 USD
    assert out["currency"] == "USD"
    assert rows["deepseek-v4-flash"]["monthly_cost"] == pytest.approx(98.4 * USD_PER_CNY)


def test_compare_cached_input_cannot_exceed_input(run_cli):
    result = run_cli("compare", "--input-tokens-per-month", "1e6", "--output-tokens-per-month",
                     "1e6", "--cached-input-tokens-per-month", "2e6")
    assert result.code == 2


def test_compare_self_host_rows(run_cli):
    out = run_cli("compare", "--input-tokens-per-month", "240e6", "--output-tokens-per-month",
                  "120e6", "--model", "qwen3-8b", "--utilization", "0.75", "--json").json()
    assert out["request_input_tokens"] == 1000 and out["request_output_tokens"] == 500
    rows = {r["option"]: r for r in out["rows"] if r["kind"] != "api"}
    row = rows["h200-on-demand-usd"]
    assert row["kind"] == "on_demand" and row["gpu"] == "H200"
    # GPUs = ceil(360e6 / (tokens per GPU-hour x 730 x 0.75)) in whole groups of tp
    exact = 360e6 / (row["tokens_per_gpu_hour"] * 730 * 0.75)
    assert row["gpus"] % row["tp"] == 0 and row["gpus"] - row["tp"] < exact <= row["gpus"]
    # on-demand: 2.00 $/h x 730 h x GPUs; per Mtok over the 360 Mtok
    assert row["monthly_cost"] == pytest.approx(2.0 * 730 * row["gpus"])
    assert row["cost_per_mtok"] == pytest.approx(row["monthly_cost"] / 360)
    # seed 003's formula at 75%: 2.00 / (tokens per GPU-hour x 0.75) x 1e6
    assert row["cost_per_mtok_at_utilization"] == pytest.approx(
        2.0 / (row["tokens_per_gpu_hour"] * 0.75) * 1e6)
    # reserved is per month: 15000 CNY x 0.1389 x GPUs
    reserved = rows["h200-reserved-1y-cny"]
    assert reserved["monthly_cost"] == pytest.approx(15000 * USD_PER_CNY * reserved["gpus"])
    # a purchase costs the owned TCO: 1.517047 + 0.178082 + 0.0609 = 1.756030 $/h x 730 x GPUs
    owned = rows["h200-purchase-usd"]
    assert owned["monthly_cost"] == pytest.approx(1.756030 * 730 * owned["gpus"], rel=1e-6)


def test_compare_unknown_model_exit_2(run_cli):
    result = run_cli("compare", "--input-tokens-per-month", "1e6", "--output-tokens-per-month",
                     "1e6", "--model", "gpt-5")
    assert result.code == 2


@pytest.mark.parametrize(("option", "value", "names"), [
    ("--precision", "fp3", "unknown precision 'fp3'"),
    ("--tpot-ms", "-1", "--tpot-ms must be a positive number"),
    ("--ttft-ms", "0", "--ttft-ms must be a positive number"),
    ("--request-output", "0", "--request-output must be positive"),
])
def test_compare_bad_self_host_options_exit_2_not_every_gpu_skipped(run_cli, option, value,
                                                                    names):
    # Wrong options were once taken as "does not fit on any GPU" (exit 0), and
    # --request-output 0 as "not given" (500).
    result = run_cli("compare", "--input-tokens-per-month", "240e6", "--output-tokens-per-month",
                     "120e6", "--model", "qwen3-8b", option, value)
    assert result.code == 2 and names in result.err and "Traceback" not in result.err


# --------------------------------------------------------------------------- breakeven


def test_breakeven_reproduces_seed_001(run_cli):
    result = run_cli("breakeven", "--currency", "CNY", "--json")
    assert result.code == 0, result.err
    out = result.json()
    assert out["workloads"] == []
    rows = {(r["purchase_offer"], r["rental_offer"]): r for r in out["gpus"]}
    a100 = rows[("a100-80gb-purchase-cny", "a100-80gb-reserved-1y-cny")]
    h100 = rows[("h100-purchase-cny", "h100-reserved-1y-cny")]
    h200 = rows[("h200-purchase-cny", "h200-reserved-1y-cny")]
    # seed 001: 100,000/6,500 = 15.4; 220,000/11,500 = 19.1; 300,000/15,000 = 20.0
    assert a100["simple_payback_months"] == pytest.approx(15.38, abs=0.005)
    assert h100["simple_payback_months"] == pytest.approx(19.13, abs=0.005)
    assert h200["simple_payback_months"] == pytest.approx(20.0)
    # A100 with opex and capital, in CNY: opex (130 + 0.4 x 0.087 x 730) $ / 0.1389 = 1118.82,
    # interest 100000 x 0.133 / 12 = 1108.33; 100000 / (6500 - 2227.15) = 23.4 -> month 24
    assert a100["monthly_opex"] == pytest.approx(1118.82, abs=0.01)
    assert a100["breakeven_months"] == 24
    # H100: opex (130 + 0.7 x 0.087 x 730) / 0.1389 = 1255.99, interest 2438.33;
    # 220000 / (11500 - 3694.33) = 28.2 -> 29
    assert h100["breakeven_months"] == 29
    # H200: interest 3325; 300000 / (15000 - 4580.99) = 28.8 -> 29
    assert h200["breakeven_months"] == 29
    # A100 against spot (5.6 x 730 = 4088/month): 100000 / (4088 - 2227.15) = 53.7 > 48 -> null
    assert rows[("a100-80gb-purchase-cny", "a100-80gb-spot-cny")]["breakeven_months"] is None


def test_breakeven_text_output(run_cli):
    result = run_cli("breakeven", "--currency", "CNY")
    assert result.code == 0
    assert "15.4" in result.out and "never" in result.out


SCENARIO = """\
name: tiny
start: 2026-01
months: 12
currency: USD
offers: [h200-on-demand-usd]
apis: [gpt-4o, deepseek-v4-flash]
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {requests_per_day: 10000}
    self_host: [qwen3-8b]
    apis: [gpt-4o]
  cheap_api:
    input_tokens: 800
    output_tokens: 400
    demand: {requests_per_day: 10000}
    self_host: [qwen3-8b]
    apis: [deepseek-v4-flash, gpt-4o]
  private:
    input_tokens: 800
    output_tokens: 400
    demand: {requests_per_day: 10000}
    self_host: [qwen3-8b]
    api_allowed: false
"""


def test_breakeven_per_workload(run_cli, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(SCENARIO))
    # DeepSeek-V4-Flash made nearly free (0.001 CNY per Mtok in and out) so no GPU can beat it
    result = run_cli("breakeven", str(path), "--json",
                     "--set", "apis.deepseek-v4-flash.input_per_mtok=0.001",
                     "--set", "apis.deepseek-v4-flash.output_per_mtok=0.001")
    assert result.code == 0, result.err
    out = result.json()
    # only the scenario's offer: the USD purchase/rental pairs are gone
    assert out["gpus"] == []
    rows = {w["workload"]: w for w in out["workloads"]}
    chat = rows["chat"]
    # GPT-4o on 800 in + 400 out: (800 x 18 + 400 x 72) / 1200 = 36 CNY/Mtok x 0.1389 = 5.0004
    assert chat["api"] == "gpt-4o"
    assert chat["api_cost_per_mtok"] == pytest.approx(36 * USD_PER_CNY)
    # one H200 (qwen3-8b fits on one) at 2.00 $/h x 730 = 1460 $/month; 1460 / 5.0004 = 292 Mtok
    assert chat["gpus"] == 1 and chat["offer"] == "h200-on-demand-usd"
    assert chat["breakeven_tokens_per_month"] == pytest.approx(1460 / (36 * USD_PER_CNY) * 1e6)
    # demand now: 10,000 requests x 1200 tokens x 30.4167 days = 365 M tokens a month
    assert chat["tokens_per_month_at_start"] == pytest.approx(365e6)
    # DeepSeek-V4-Flash at 0.001 CNY = 0.0001389 $/Mtok: 1460 / 0.0001389 = 1.05e13 tokens a
    # month = 4.0 M tokens/s, far more than one H200 serves -> null
    cheap = rows["cheap_api"]
    assert cheap["api"] == "deepseek-v4-flash"
    assert cheap["breakeven_tokens_per_month"] is None and "reason" in cheap
    private = rows["private"]
    assert private["api"] is None and private["breakeven_tokens_per_month"] is None


def test_breakeven_and_the_plan_price_an_api_alike() -> None:
    """One price per Mtok (finance.api_price_per_mtok): a deferrable workload with a 0.5 batch
    discount pays half the list mix in the plan's coefficients and in breakeven alike (they
    disagreed before: 0.1367 vs 0.2733 CNY/Mtok)."""
    from planner.inputs import build_inputs
    from planner.loading import load
    from planner.studies.unit_costs import breakeven

    loaded = load(ROOT / "scenarios" / "seed001_medium.yaml", sets=[
        "workloads.chat.deferrable=true", "apis.deepseek-v3.batch_discount=0.5",
        "workloads.chat.apis=[deepseek-v3]"])
    api = loaded.catalog.apis["deepseek-v3"]
    # 800 input + 400 output tokens a request at the list prices, halved, per million tokens.
    by_hand = (800 * api.input_per_mtok + 400 * api.output_per_mtok) / 1200 * 0.5
    prices = build_inputs(loaded).apis
    plan_price = prices.loc[(prices["api"] == "deepseek-v3") & (prices["month"] == 0),
                            "price_per_mtok"].iloc[0]
    row = next(r for r in breakeven(loaded)["workloads"] if r["workload"] == "chat")
    assert row["api"] == "deepseek-v3"
    assert row["api_cost_per_mtok"] == pytest.approx(by_hand, rel=1e-12)
    assert plan_price == pytest.approx(by_hand, rel=1e-12)
