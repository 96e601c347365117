"""Market offers: providers and seed offers in scenarios, input warnings, currency restating."""

import pytest
from conftest import SCENARIO_DIR

from planner.economics import allowed_offers
from planner.inputs import build_inputs
from planner.loading import load
from planner.market import input_warnings, scenario_offers

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
