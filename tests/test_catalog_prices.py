"""Price sanity of the shipped catalogs: the rules a buyer would check before trusting them."""

from collections import defaultdict

import pytest
from conftest import SCENARIO_DIR

from planner import finance as fin
from planner.loading import load, load_catalog, read_yaml
from planner.loading.market import input_warnings, is_seed_offer
from planner.studies.unit_costs import allowed_offers

CATALOG = load_catalog().catalog
HYPERSCALERS = {"aws", "gcp", "azure", "oracle"}
MARKET_GPUS = ("A100-80GB", "H100-SXM", "H200", "B200", "L40S", "MI300X")


def _hourly(offer) -> float:
    return fin.hourly_rental_price(offer)


def _by_provider_and_gpu():
    groups = defaultdict(list)
    for oid, offer in CATALOG.offers.items():
        groups[(offer.provider, offer.gpu, offer.currency)].append((oid, offer))
    return groups


def test_every_offer_and_api_names_provider_source_and_date():
    for oid, offer in CATALOG.offers.items():
        assert offer.provider and offer.region, oid
        assert offer.source.strip() and offer.as_of, oid
    for aid, api in CATALOG.apis.items():
        assert api.provider and api.source.strip() and api.as_of, aid


def test_no_reserved_rate_below_the_same_providers_spot_or_above_its_on_demand():
    checked = 0
    for offers in _by_provider_and_gpu().values():
        reserved = [(oid, _hourly(o)) for oid, o in offers if o.channel == "reserved"]
        spot = [_hourly(o) for _, o in offers if o.channel == "spot"]
        on_demand = [_hourly(o) for _, o in offers if o.channel == "on_demand"]
        for oid, rate in reserved:
            if spot:
                checked += 1
                assert rate >= max(spot), (oid, rate, spot)
            if on_demand:  # a commitment is a discount on the provider's own on-demand price
                assert rate < min(on_demand), (oid, rate, on_demand)
    assert checked >= 6  # seed 001's 8 reservations and AWS's H100 and H200


def test_no_3_year_rate_above_the_1_year_rate_of_the_same_provider():
    pairs = 0
    for key, offers in _by_provider_and_gpu().items():
        by_term = defaultdict(list)
        for _, o in offers:
            if o.channel == "reserved":
                by_term[o.term_months].append(_hourly(o))
        if 12 in by_term and 36 in by_term:
            pairs += 1
            assert max(by_term[36]) <= min(by_term[12]), key
    assert pairs >= 6  # seed 001's four GPUs, AWS and GCP H100


@pytest.mark.parametrize("gpu", MARKET_GPUS)
def test_each_market_gpu_has_on_demand_from_a_hyperscaler_and_two_gpu_clouds(gpu):
    providers = {o.provider for o in CATALOG.offers.values()
                 if o.gpu == gpu and o.channel == "on_demand" and not is_seed_offer(o)
                 and o.currency == "USD"}
    assert providers & HYPERSCALERS, gpu
    assert len(providers - HYPERSCALERS) >= 2, gpu


def test_spot_offers_cite_the_interruption_data():
    for oid, offer in CATALOG.offers.items():
        if offer.channel == "spot" and not is_seed_offer(offer):
            assert "band" in offer.source, oid
            assert offer.availability in (0.9, 0.8, 0.75), oid


def test_purchases_say_where_a_price_is_an_estimate():
    data = read_yaml(load_catalog().catalog_dir / "offers.yaml")
    for oid, offer in CATALOG.offers.items():
        if offer.channel == "purchase" and not is_seed_offer(offer):
            assert "estimate" in offer.source or "quote" in offer.source, oid
            assert data[oid]["unit_gpus"] == 8, oid


def test_every_gpu_of_a_shipped_scenario_has_an_offer_and_no_input_is_idle():
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        raw = read_yaml(path)
        for variant in [None, *raw.get("variants", {})]:
            loaded = load(path, variant=variant)
            offers = allowed_offers(loaded)
            gpus = {o.gpu for o in offers.values()}
            assert gpus, (path.name, variant)
            assert set(loaded.scenario.limits.max_gpus) <= gpus, (path.name, variant)
            assert input_warnings(loaded.catalog, loaded.scenario) == [], (path.name, variant)
