"""Which catalog offers a scenario uses (its `offers:` and `providers:`), and which of its inputs
have no effect on the plan (warnings of `validate` and `plan`; docs/inputs.md).

Pure functions of validated objects: no YAML, no solver.
"""

from __future__ import annotations

from collections.abc import Iterable

from planner import roofline
from planner.schemas import GPU_CHANNELS, Api, Catalog, Offer, Scenario

# Offers of these providers are the seeds' own figures (catalogs/offers.yaml), not market prices:
# a scenario uses them only when it names them (offers: ids, or providers:).
SEED_PROVIDER_PREFIX = "seed"


def is_seed_offer(offer: Offer) -> bool:
    return bool(offer.provider) and offer.provider.startswith(SEED_PROVIDER_PREFIX)


def scenario_offers(offers: dict[str, Offer], scenario: Scenario | None) -> dict[str, Offer]:
    """The offers a scenario may use: its `offers:` ids (in that order) or every offer, then only
    those of its `providers:`. With neither, seed offers are left out. No scenario: every offer."""
    if scenario is None:
        return dict(offers)
    if scenario.offers is not None:
        pool = {oid: offers[oid] for oid in scenario.offers if oid in offers}
    else:
        pool = dict(offers)
    if scenario.providers is not None:
        allowed = set(scenario.providers)
        return {oid: o for oid, o in pool.items() if o.provider in allowed}
    if scenario.offers is None:
        return {oid: o for oid, o in pool.items() if not is_seed_offer(o)}
    return pool


def scenario_apis(apis: dict[str, Api], scenario: Scenario | None) -> dict[str, Api]:
    """APIs of the catalog the scenario may use (its `apis` list; every API without one)."""
    if scenario is None or scenario.apis is None:
        return dict(apis)
    return {aid: apis[aid] for aid in scenario.apis if aid in apis}


def input_warnings(catalog: Catalog, scenario: Scenario,
                   channels: Iterable[str] | None = None) -> list[str]:
    """Inputs of a scenario that change nothing, one sentence each (field path first):
    a cached-input share on an API without a cached price, a channel or spot allowed with no
    offer, a GPU limit with no offer, an offer id its providers filter out; and workloads whose
    SLO no deployment on the scenario's GPUs meets (with the best TTFT and TPOT reachable)."""
    warnings: list[str] = []
    offers = scenario_offers(catalog.offers, scenario)
    channels_with_offers = {o.channel for o in offers.values()}
    gpus_with_offers = {o.gpu for o in offers.values()}
    if scenario.offers is not None and scenario.providers is not None:
        for i, oid in enumerate(scenario.offers):
            offer = catalog.offers.get(oid)
            if offer is not None and offer.provider not in scenario.providers:
                warnings.append(f"offers[{i}] {oid!r} has no effect: its provider "
                                f"{offer.provider!r} is not in providers "
                                f"({', '.join(scenario.providers)})")
    if scenario.providers is not None:
        for provider in scenario.providers:
            if not any(o.provider == provider for o in offers.values()):
                warnings.append(f"providers: {provider!r} has no effect: none of its offers is "
                                "in the scenario's offers")
    if channels is not None:
        for channel in channels:
            if channel in GPU_CHANNELS and channel not in channels_with_offers:
                warnings.append(f"--channels {channel} has no effect: the scenario has no "
                                f"{channel} offer")
    apis = catalog.apis if scenario.apis is None else {
        aid: catalog.apis[aid] for aid in scenario.apis if aid in catalog.apis}
    for name, wl in scenario.workloads.items():
        if wl.spot_allowed and "spot" not in channels_with_offers and wl.self_host:
            warnings.append(f"workloads.{name}.spot_allowed has no effect: the scenario has no "
                            "spot offer")
        if wl.cached_input_fraction > 0 and wl.api_allowed:
            for aid in wl.apis:
                api = apis.get(aid)
                if api is not None and api.cached_input_per_mtok is None:
                    warnings.append(
                        f"workloads.{name}.cached_input_fraction {wl.cached_input_fraction:g} "
                        f"has no effect on api {aid!r}: it publishes no cached-input price "
                        "(cached_input_per_mtok), so all input is billed at the input price")
    for gpu in scenario.limits.max_gpus:
        if gpu not in gpus_with_offers:
            warnings.append(f"limits.max_gpus.{gpu} has no effect: the scenario has no offer of "
                            f"{gpu}")
    # The model fits but no deployment meets the SLO: the workload can only go to an API.
    return warnings + roofline.slo_warnings(catalog, scenario.workloads, sorted(gpus_with_offers))


__all__ = ["SEED_PROVIDER_PREFIX", "input_warnings", "is_seed_offer", "scenario_apis",
           "scenario_offers"]
