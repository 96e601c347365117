"""Cross-reference checks the per-file schemas cannot make (dangling ids, currencies).

They run on the merged raw tree (see planner.loading), not on validated objects, so a dangling id
is reported together with schema errors elsewhere: one `planner validate` shows every problem.
Entries that are malformed (not a mapping, an id that is not text) are skipped here; the schema
reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from planner.finance import no_fx_rate

Message = Callable[[tuple, str], str]  # (tree location, what is wrong) -> full message line
MAX_LISTED = 25


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] \
        if isinstance(value, list) else []


def _unknown(kind: str, ident: Any, known: Iterable[Any]) -> str:
    names = sorted(map(str, known))
    listed = ", ".join(names[:MAX_LISTED]) + (", ..." if len(names) > MAX_LISTED else "")
    if not listed:
        return f"unknown {kind} {ident!r}; allowed: none (the catalog has no {kind}s)"
    return f"unknown {kind} {ident!r}; allowed: {listed}"


def _no_fx(currency: str, finance: dict) -> str:
    return no_fx_rate(currency, str(finance.get("currency")),
                      list(map(str, _mapping(finance.get("fx")))))


def reference_problems(tree: dict[str, Any], message: Message) -> list[str]:
    """Every dangling id and unconvertible currency in the merged tree, as message lines."""
    problems: list[str] = []

    def add(loc: tuple, what: str) -> None:
        problems.append(message(loc, what))

    gpus, offers = _mapping(tree.get("gpus")), _mapping(tree.get("offers"))
    apis, models = _mapping(tree.get("apis")), _mapping(tree.get("models"))
    finance = _mapping(tree.get("finance"))
    for offer_id, offer in offers.items():
        gpu = _mapping(offer).get("gpu")
        if isinstance(gpu, str) and gpu not in gpus:
            add(("offers", offer_id, "gpu"), _unknown("gpu", gpu, gpus))
    for model_id, model in models.items():
        measured = _mapping(model).get("measured")
        for i, entry in enumerate(measured if isinstance(measured, list) else []):
            gpu = _mapping(entry).get("gpu")
            if isinstance(gpu, str) and gpu not in gpus:
                add(("models", model_id, "measured", i, "gpu"), _unknown("gpu", gpu, gpus))

    scenario = tree.get("scenario")
    used_offers: Iterable[Any] = offers
    used_apis: Iterable[Any] = apis
    if isinstance(scenario, dict):
        used_offers, used_apis = _scenario_problems(scenario, gpus, offers, apis, models,
                                                    finance, add)
    _currency_problems(offers, used_offers, apis, used_apis, finance, add)
    return problems


def _scenario_problems(scenario: dict, gpus: dict, offers: dict, apis: dict, models: dict,
                       finance: dict, add: Callable[[tuple, str], None]
                       ) -> tuple[list[Any], list[Any]]:
    """Scenario ids against the catalogs; returns the offers and apis the scenario can use."""
    root = ("scenario",)
    allowed = {}
    for key, pool in (("offers", offers), ("apis", apis)):
        listed = scenario.get(key)
        if listed is None:
            allowed[key] = list(pool)
            continue
        allowed[key] = []
        for i, ident in _strings(listed):
            if ident in pool:
                allowed[key].append(ident)
            else:
                add((*root, key, i), _unknown(key[:-1], ident, pool))
    providers = {o.get("provider") for o in offers.values() if isinstance(o, dict)} - {None}
    for i, provider in _strings(scenario.get("providers")):
        if provider not in providers:
            add((*root, "providers", i), _unknown("provider", provider, providers))
    for gpu in _mapping(_mapping(scenario.get("limits")).get("max_gpus")):
        if gpu not in gpus:
            add((*root, "limits", "max_gpus", gpu), _unknown("gpu", gpu, gpus))
    for name, workload in _mapping(scenario.get("workloads")).items():
        workload = _mapping(workload)
        for i, model_id in _strings(workload.get("self_host")):
            if model_id not in models:
                add((*root, "workloads", name, "self_host", i),
                    _unknown("model", model_id, models))
        for i, api_id in _strings(workload.get("apis")):
            if api_id not in apis:
                add((*root, "workloads", name, "apis", i), _unknown("api", api_id, apis))
            elif api_id not in allowed["apis"]:
                add((*root, "workloads", name, "apis", i),
                    f"api {api_id!r} is not in the scenario's apis list; allowed: "
                    + ", ".join(map(str, allowed["apis"])))
    currency = scenario.get("currency")
    reporting = finance.get("currency")
    if isinstance(currency, str) and isinstance(reporting, str) and currency != reporting:
        fx = _mapping(finance.get("fx"))
        rates = ", ".join(sorted(map(str, fx))) or "none"
        why = (f"finance.currency is set to {reporting!r} (a scenario that sets it states "
               "finance in it)" if currency in fx else
               f"finance.fx has no rate to restate finance in {currency!r}")
        add((*root, "currency"),
            f"{currency!r} differs from finance.currency {reporting!r}: {why}; allowed: "
            f"{reporting}, or a currency of finance.fx ({rates}) with finance.currency left "
            "unset (finance.yaml's money fields are then restated; docs/inputs.md)")
    return allowed["offers"], allowed["apis"]


def _currency_problems(offers: dict, used_offers: Iterable[Any], apis: dict,
                       used_apis: Iterable[Any], finance: dict,
                       add: Callable[[tuple, str], None]) -> None:
    """Only the offers and APIs in use must convert into the reporting currency."""
    reporting = finance.get("currency")
    if not isinstance(reporting, str):
        return  # the schema reports a missing or malformed currency
    known = {reporting, *_mapping(finance.get("fx"))}
    for kind, pool, used in (("offers", offers, used_offers), ("apis", apis, used_apis)):
        for ident in used:
            currency = _mapping(pool.get(ident)).get("currency")
            if isinstance(currency, str) and currency not in known:
                add((kind, ident, "currency"), _no_fx(currency, finance))
