"""Loading: override precedence, stress multipliers, path rules, currency rule."""

import shutil

import pytest
from conftest import CATALOG_DIR

from planner.errors import InputError
from planner.loading import load, load_catalog, read_yaml

SCENARIO = """\
name: precedence
start: 2026-07
months: 12
finance: {cost_of_capital: 0.10}
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {requests_per_day: 1e4}
    self_host: [qwen3-8b]
    apis: [qwen-plus]
variants:
  cheap: {finance.cost_of_capital: 0.08, demand_multiplier: 2}
  spot_scarce: {spot_availability: 0.5}
  api_half: {api_price_multiplier: 0.5}
  faster: {workloads.chat.demand.growth_per_year: 1.0}
"""


@pytest.fixture
def catalog(tmp_path):
    """A private copy of the shipped catalog with cost_of_capital 0.133 (seed 000)."""
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, directory)
    assert read_yaml(directory / "finance.yaml")["cost_of_capital"] == 0.133
    return directory


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return path


def test_precedence_catalog_scenario_variant_set(catalog, scenario):
    assert load_catalog(catalog).finance.cost_of_capital == 0.133           # finance.yaml
    assert load(scenario, catalog_dir=catalog).finance.cost_of_capital == 0.10   # scenario
    varied = load(scenario, catalog_dir=catalog, variant="cheap")
    assert varied.finance.cost_of_capital == 0.08                              # variant
    both = load(scenario, catalog_dir=catalog, variant="cheap",
                sets=["finance.cost_of_capital=0.05"])
    assert both.finance.cost_of_capital == 0.05                                # --set wins
    # What was applied is recorded, lowest precedence first.
    assert [(o.origin.split()[-1], o.path, o.value) for o in both.overrides] == [
        ("scenario", "finance.cost_of_capital", 0.10),
        ("'cheap'", "finance.cost_of_capital", 0.08),
        ("'cheap'", "demand_multiplier", 2),
        ("--set", "finance.cost_of_capital", 0.05),
    ]
    assert both.overrides[-1].as_dict() == {"origin": "--set", "path": "finance.cost_of_capital",
                                            "value": 0.05}


def test_demand_multiplier_and_set_replaces_rather_than_compounds(catalog, scenario):
    # 1e4 is read as a number (YAML 1.1 would read text). Variant x2: 20,000 requests a day.
    base = load(scenario, catalog_dir=catalog)
    assert base.scenario.workloads["chat"].demand.requests_per_day == 10_000
    doubled = load(scenario, catalog_dir=catalog, variant="cheap")
    assert doubled.scenario.workloads["chat"].demand.requests_per_day == 20_000
    # --set demand_multiplier=3 beats the variant's 2: 30,000, not 60,000.
    tripled = load(scenario, catalog_dir=catalog, variant="cheap", sets=["demand_multiplier=3"])
    assert tripled.scenario.workloads["chat"].demand.requests_per_day == 30_000


def test_price_and_spot_stress(catalog, scenario):
    halved = load(scenario, catalog_dir=catalog, variant="api_half")
    assert halved.catalog.apis["qwen-plus"].input_per_mtok == pytest.approx(0.4)   # 0.8 x 0.5
    assert halved.catalog.apis["qwen-plus"].output_per_mtok == pytest.approx(1.0)  # 2 x 0.5
    scarce = load(scenario, catalog_dir=catalog, variant="spot_scarce")
    spot = [o for o in scarce.catalog.offers.values() if o.channel == "spot"]
    assert spot and all(o.availability == 0.5 for o in spot)
    dearer = load(scenario, catalog_dir=catalog, sets=["gpu_price_multiplier=1.3"])
    assert dearer.catalog.offers["h200-purchase-usd"].price_per_gpu == pytest.approx(45107.4)


def test_dotted_paths(catalog, scenario):
    loaded = load(scenario, catalog_dir=catalog, variant="faster", sets=[
        "workloads.chat.slo.ttft_ms=1500",            # an optional section left out is created
        "scenario.offers=[h200-on-demand-cny]",       # the scenario's allow-list
        "offers.h200-on-demand-cny.price_per_gpu_hour=30",   # the catalog entry
        "limits.capex_budget_per_year.2027=1000000",  # a year key (int in the schema)
        "gpus.H200.power_kw=0.7",
    ])
    workload = loaded.scenario.workloads["chat"]
    assert workload.demand.growth_per_year == 1.0 and workload.slo.ttft_ms == 1500
    assert loaded.scenario.offers == ["h200-on-demand-cny"]
    assert loaded.catalog.offers["h200-on-demand-cny"].price_per_gpu_hour == 30
    assert loaded.scenario.limits.capex_budget_per_year == {2027: 1_000_000}
    assert loaded.catalog.gpus["H200"].power_kw == 0.7


@pytest.mark.parametrize(("option", "words"), [
    ("gpus.H200.memroy_gb=1", "--set: gpus.H200.memroy_gb: unknown field 'memroy_gb'"),
    ("workloads.chats.demand.growth_per_year=1", "unknown id 'chats' at workloads.chats"),
    ("workloads.chat.slo.ttft=1", "unknown field 'ttft'; allowed: ttft_ms, tpot_ms"),
    ("spot_availability=1.5", "allowed: a number above 0 and at most 1"),
    ("scenario.offers=[no-such-offer]", "--set: offers[0]: unknown offer 'no-such-offer'"),
])
def test_bad_overrides_name_the_path(catalog, scenario, option, words):
    with pytest.raises(InputError) as caught:
        load(scenario, catalog_dir=catalog, sets=[option])
    assert any(words in p for p in caught.value.problems), caught.value.problems


def test_scenario_path_without_scenario(catalog):
    with pytest.raises(InputError, match="no scenario is loaded"):
        load_catalog(catalog, sets=["workloads.chat.input_tokens=1"])


def test_unknown_variant_lists_the_known_ones(catalog, scenario):
    with pytest.raises(InputError, match="unknown variant 'nope'; allowed: cheap, spot_scarce"):
        load(scenario, catalog_dir=catalog, variant="nope")


def test_currency_rule(catalog, tmp_path):
    # A CNY scenario on USD finance: finance.yaml's money fields are restated in CNY through
    # finance.fx (1 CNY = 0.1389 USD), except the ones the scenario sets itself.
    path = tmp_path / "cny.yaml"
    path.write_text(SCENARIO.replace("finance: {cost_of_capital: 0.10}",
                                     "currency: CNY\nfinance: {electricity_per_kwh: 0.63}"))
    loaded = load(path, catalog_dir=catalog)
    finance = loaded.finance
    assert loaded.currency == finance.currency == "CNY"
    assert finance.colocation_per_kw_month == pytest.approx(130 / 0.1389)   # 935.93 CNY
    assert finance.electricity_per_kwh == 0.63                              # the scenario's
    assert finance.fx == pytest.approx({"USD": 1 / 0.1389})                 # 7.1994 CNY per USD
    assert finance.cost_of_capital == 0.133                                 # a rate: unchanged
    restated = {o.path for o in loaded.overrides if o.origin.startswith("currency USD -> CNY")}
    assert "finance.colocation_per_kw_month" in restated
    assert "finance.electricity_per_kwh" not in restated
    # A currency finance.fx has no rate for is refused, naming the known ones.
    path.write_text(SCENARIO.replace("name: precedence", "name: c\ncurrency: EUR"))
    with pytest.raises(InputError, match="'EUR' differs from finance.currency 'USD': finance.fx "
                       "has no rate to restate finance in 'EUR'; allowed: USD, or a currency of "
                       "finance.fx \\(CNY\\)"):
        load(path, catalog_dir=catalog)
    # Restated by the scenario itself it loads as written; without the USD rate the USD offers
    # are refused.
    path.write_text(SCENARIO.replace(
        "finance: {cost_of_capital: 0.10}",
        "currency: CNY\nfinance: {currency: CNY, fx: {USD: 7.2}, electricity_per_kwh: 0.63}"))
    assert load(path, catalog_dir=catalog).finance.fx == {"USD": 7.2}
    path.write_text(SCENARIO.replace("finance: {cost_of_capital: 0.10}",
                                     "finance: {currency: CNY, fx: {EUR: 7.8}}"))
    with pytest.raises(InputError) as caught:
        load(path, catalog_dir=catalog)
    assert any("offers.h200-purchase-usd.currency: currency 'USD' has no exchange rate" in p
               for p in caught.value.problems)


def test_unknown_finance_field_in_scenario(catalog, tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(SCENARIO.replace("cost_of_capital: 0.10", "cost_of_capitol: 0.10"))
    with pytest.raises(InputError, match=r"f.yaml: finance.cost_of_capitol: unknown field"):
        load(path, catalog_dir=catalog)


@pytest.mark.parametrize("path", [
    "models.llama-3.1-70b.max_context",        # plain: the joined parts name the id
    'models."llama-3.1-70b".max_context',      # quoted
    "models[llama-3.1-70b].max_context",       # in brackets
    'models["llama-3.1-70b"].max_context',     # in brackets and quoted, as in Python
])
def test_set_reaches_an_id_with_dots(path: str) -> None:
    loaded = load_catalog(sets=[f"{path}=4096"])
    assert loaded.catalog.models["llama-3.1-70b"].max_context == 4096
    assert loaded.catalog.models["llama-3.1-8b"].max_context != 4096


def test_set_reaches_an_api_id_with_dots() -> None:
    loaded = load_catalog(sets=["apis.claude-sonnet-4.6.output_per_mtok=1.5"])
    assert loaded.catalog.apis["claude-sonnet-4.6"].output_per_mtok == 1.5


def test_unknown_id_lists_the_nearest_ids() -> None:
    with pytest.raises(InputError) as caught:
        load_catalog(sets=["models.llama-3.max_context=1"])
    assert "unknown id 'llama-3' at models.llama-3; nearest: llama-3.1-8b" \
        in str(caught.value)


def test_a_bad_value_under_an_id_with_dots_names_its_origin() -> None:
    with pytest.raises(InputError) as caught:
        load_catalog(sets=['models."llama-3.1-70b".max_context=-1'])
    assert str(caught.value).startswith("--set: models.llama-3.1-70b.max_context: out of range")
