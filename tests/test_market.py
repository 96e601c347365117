"""Market offers: providers and seed offers in scenarios, input warnings, currency restating."""

import pytest
from conftest import SCENARIO_DIR

from planner.inputs import build_inputs
from planner.loading import load
from planner.loading.market import input_warnings, scenario_offers
from planner.studies.unit_costs import allowed_offers

SCENARIO = """\
name: market
start: 2027-01
months: 12
workloads:
  chat:
    input_tokens: 1000
    output_tokens: 250
    demand: {requests_per_day: 2e5}
    slo: {ttft_ms: 2000, tpot_ms: 50}
    self_host: [llama-3.1-70b]
    apis: [together-llama-3.1-70b]
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "market.yaml"
    path.write_text(SCENARIO)
    return path


def test_providers_keep_only_their_offers(scenario):
    loaded = load(scenario, sets=["providers=[aws, lambda]"])
    offers = scenario_offers(loaded.catalog.offers, loaded.scenario)
    assert {o.provider for o in offers.values()} == {"aws", "lambda"}
    assert "h100-aws-on-demand" in offers and "h100-lambda-on-demand" in offers
    assert "h100-gcp-on-demand" not in offers
    # the plan's rental table and the money commands use the same offers
    inputs = build_inputs(loaded)
    assert set(inputs.rentals["offer"]) <= set(offers)
    assert {"h100-aws-on-demand", "h100-lambda-on-demand"} <= set(inputs.rentals["offer"])
    assert allowed_offers(loaded) == offers


def test_without_offers_or_providers_seed_offers_are_left_out(scenario):
    loaded = load(scenario)
    offers = scenario_offers(loaded.catalog.offers, loaded.scenario)
    assert not any(o.provider.startswith("seed") for o in offers.values())
    assert "h200-on-demand-usd" not in offers and "h200-aws-on-demand" in offers
    # naming a seed provider (or a seed offer id) brings them back
    seed = load(scenario, sets=["providers=[seed000]"])
    assert set(scenario_offers(seed.catalog.offers, seed.scenario)) == {
        "h200-purchase-usd", "h200-on-demand-usd", "h200-spot-usd"}
    # without a scenario (tco, compare, breakeven) every offer is listed
    assert "h200-on-demand-usd" in scenario_offers(loaded.catalog.offers, None)


def test_seed_scenarios_use_only_seed_offers():
    for path in SCENARIO_DIR.glob("seed*.yaml"):
        loaded = load(path)
        providers = {o.provider for o in allowed_offers(loaded).values()}
        assert providers == {f"seed{path.stem[4:7]}"}, path.name


def test_unknown_provider_is_exit_2_listing_the_known_ones(run_cli, scenario):
    result = run_cli("plan", scenario, "--set", "providers=[aws, nope]")
    assert result.code == 2
    assert "providers[1]: unknown provider 'nope'; allowed: aws, azure, civo, coreweave" in \
        result.err


def test_offers_and_providers_together_warn_about_offers_filtered_out(scenario):
    loaded = load(scenario, sets=["scenario.offers=[h100-aws-on-demand, h100-gcp-on-demand]",
                                  "providers=[aws]"])
    assert set(scenario_offers(loaded.catalog.offers, loaded.scenario)) == {"h100-aws-on-demand"}
    assert input_warnings(loaded.catalog, loaded.scenario) == [
        "offers[1] 'h100-gcp-on-demand' has no effect: its provider 'gcp' is not in providers "
        "(aws)"]


CODING = """\
name: coding
start: 2027-01
months: 12
workloads:
  agent:
    input_tokens: 20000
    output_tokens: 500
    cached_input_fraction: 0.9
    demand: {requests_per_day: 1e4}
    self_host: [qwen3-235b-a22b]
    apis: [anthropic-claude-sonnet-4.6]
"""


def test_cached_input_and_batch_change_the_api_price_in_plan_and_breakeven(tmp_path, run_cli):
    path = tmp_path / "coding.yaml"
    path.write_text(CODING)
    # Sonnet 4.6: $3 input, $0.30 cached, $15 output. 20,000 in (90% cached) + 500 out:
    # 2,000 x 3 + 18,000 x 0.3 + 500 x 15 = 18,900 $ per million requests = 18,900 / 20,500
    # = 0.92195 $/Mtok; without the cache (0) 67,500 / 20,500 = 3.29268; deferrable (batch 50%)
    # halves it: 0.46098.
    expected = {0.9: 18900 / 20500, 0.0: 67500 / 20500}
    for fraction, price in expected.items():
        loaded = load(path, sets=[f"workloads.agent.cached_input_fraction={fraction}"])
        apis = build_inputs(loaded).apis
        first = apis[apis["month"] == 0]["price_per_mtok"].iloc[0]
        # the plan trends API prices from as_of (2026-11-01) to 2027-01 at -30%/yr
        assert first == pytest.approx(price * 0.7 ** (2 / 12))
        out = run_cli("breakeven", path, "--json", "--set",
                      f"workloads.agent.cached_input_fraction={fraction}").json()
        assert out["workloads"][0]["api_cost_per_mtok"] == pytest.approx(price)
    out = run_cli("breakeven", path, "--json", "--set", "workloads.agent.deferrable=true").json()
    assert out["workloads"][0]["api_cost_per_mtok"] == pytest.approx(18900 / 20500 / 2)


def test_a_cny_scenario_on_usd_finance_plans_the_same_as_in_usd(scenario, run_cli):
    # Restating finance.yaml in CNY through its fx and converting every price the same way gives
    # the USD plan's net present cost divided by 0.1389 USD per CNY.
    usd = run_cli("plan", scenario, "--json").json()
    cny = run_cli("plan", scenario, "--json", "--set", "currency=CNY").json()
    assert usd["currency"] == "USD" and cny["currency"] == "CNY"
    assert cny["npv"] == pytest.approx(usd["npv"] / 0.1389, rel=1e-6)
    restated = [o["path"] for o in cny["overrides"] if o["origin"] == "currency USD -> CNY "
                "(finance.fx)"]
    assert restated == ["finance.currency", "finance.fx", "finance.colocation_per_kw_month",
                        "finance.electricity_per_kwh", "finance.staff_cost_per_year",
                        "finance.other_opex_per_gpu_year", "finance.site_setup_cost",
                        "finance.site_fixed_cost_per_year"]
    # validate says which fields were restated
    result = run_cli("validate", scenario, "--json", "--set", "currency=CNY",
                     "--set", "finance.site_setup_cost=100000")
    assert result.code == 0
    note = result.json()["notes"][0]
    assert "currency USD -> CNY (finance.fx): restated finance.currency" in note
    assert "finance.colocation_per_kw_month" in note and "site_setup_cost" not in note


def test_inputs_with_no_effect_are_warned_in_validate_and_plan(scenario, run_cli):
    sets = ["--set", "workloads.chat.cached_input_fraction=0.6", "--set",
            "limits.max_gpus.Gaudi3=8", "--set", "providers=[lambda]", "--set",
            "workloads.chat.spot_allowed=true"]
    expected = [
        "workloads.chat.spot_allowed has no effect: the scenario has no spot offer",
        "workloads.chat.cached_input_fraction 0.6 has no effect on api 'together-llama-3.1-70b': "
        "it publishes no cached-input price (cached_input_per_mtok), so all input is billed at the "
        "input price",
        "limits.max_gpus.Gaudi3 has no effect: the scenario has no offer of Gaudi3"]
    checked = run_cli("validate", scenario, "--json", *sets)
    assert checked.code == 0
    assert checked.json()["warnings"] == [f"{scenario}: {w}" for w in expected]
    planned = run_cli("plan", scenario, "--json", "--relax", "--channels", "api,spot,on_demand",
                      *sets)
    assert planned.code == 0
    assert planned.json()["warnings"] == [
        "--channels spot has no effect: the scenario has no spot offer", *expected]
    assert "planner: warning: limits.max_gpus.Gaudi3 has no effect" in planned.err
    # none when every input counts
    clean = run_cli("plan", scenario, "--json", "--relax")
    assert clean.json()["warnings"] == [] and "warning" not in clean.err


@pytest.mark.parametrize("value", ["0.04", "0", "1e9"])
def test_an_slo_outside_milliseconds_is_exit_2_saying_what_is_allowed(scenario, run_cli, value):
    result = run_cli("validate", scenario, "--set", f"workloads.chat.slo.tpot_ms={value}")
    assert result.code == 2
    assert "workloads.chat.slo.tpot_ms: not a latency in milliseconds" in result.out
    assert "allowed: 1 to 600000 ms" in result.out


def test_the_report_header_lists_the_warnings(scenario, run_cli, tmp_path):
    out = tmp_path / "report"
    result = run_cli("plan", scenario, "--relax", "--channels", "api,on_demand", "--out", out,
                     "--set", "limits.max_gpus.Gaudi3=8")
    assert result.code == 0
    html = (out / "report.html").read_text()
    assert "Warnings" in html
    assert "limits.max_gpus.Gaudi3 has no effect: the scenario has no offer of Gaudi3" in html


def test_a_reserved_rate_given_per_hour_is_priced_per_month(scenario):
    # The schema allows price_per_gpu_hour on a reserved offer (AWS publishes hourly rates);
    # the plan reads it as 730 h a month: $4.045/h -> 2,952.85 a month.
    loaded = load(scenario, sets=["scenario.offers=[h100-aws-savings-1y]",
                                  "offers.h100-aws-savings-1y.price_per_gpu_month=null",
                                  "offers.h100-aws-savings-1y.price_per_gpu_hour=4.045",
                                  "finance.rental_price_change_per_year=0"])
    reserved = build_inputs(loaded).reserved
    assert reserved["price_per_gpu_month"].iloc[0] == pytest.approx(4.045 * 730)
