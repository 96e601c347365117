"""Command-level money: catalog + finance (+ roofline) -> the tables of `tco`, `compare` and
`breakeven` (SPEC sections 7 and 9; definitions in docs/finance.md).

finance.py holds the pure formulas in one currency; this module picks the offers, converts every
amount into one reporting currency through finance.fx and labels it. Results are plain dicts
(JSON-ready) plus a `render_*` text table for the terminal.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

from planner import finance as fin
from planner import roofline
from planner.errors import InfeasibleError, InputError
from planner.loading import Loaded, market
from planner.schemas import Api, Offer, Workload
from planner.schemas.base import MAX_AMOUNT
from planner.units import (
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    SECONDS_PER_HOUR,
    TOKENS_PER_MTOK,
)

DEPRECIATION_METHODS = ("straight_line", "annuity")
# Request shape assumed by `compare` when only monthly volumes are given: this many output tokens
# per request, input tokens in the ratio of the monthly volumes (seed 001: 800 in / 400 out).
DEFAULT_REQUEST_OUTPUT_TOKENS = 500


# --------------------------------------------------------------------------- currency


@dataclass(frozen=True)
class Money:
    """Converts amounts into the reporting `currency` through the loaded finance.fx."""

    loaded: Loaded
    currency: str

    def of(self, amount: float, from_currency: str) -> float:
        return fin.convert(amount, from_currency, self.currency, self.loaded.finance)

    def from_finance(self, amount: float) -> float:
        """Amounts of finance.yaml (colocation, electricity, staff) are in finance.currency."""
        return self.of(amount, self.loaded.finance.currency)


def reporting_currency(loaded: Loaded, requested: str | None = None) -> str:
    """--currency if given, else the scenario's currency, else finance.currency; it must have an
    FX rate (or be finance.currency)."""
    finance = loaded.finance
    currency = (requested or loaded.currency).strip().upper()
    known = sorted({finance.currency, *finance.fx})
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InputError(f"--currency {requested!r}: not a currency code; allowed: "
                         f"{', '.join(known)} (3-letter ISO codes with an FX rate)")
    if currency != finance.currency and currency not in finance.fx:
        raise InputError(f"--currency {currency}: "
                         + fin.no_fx_rate(currency, finance.currency, list(finance.fx)))
    return currency


# --------------------------------------------------------------------------- offers


def allowed_offers(loaded: Loaded) -> dict[str, Offer]:
    """Offers of the catalog the scenario may use (its offers and providers; every offer
    without a scenario)."""
    return market.scenario_offers(loaded.catalog.offers, loaded.scenario)


def allowed_apis(loaded: Loaded) -> dict[str, Api]:
    """APIs of the catalog the scenario may use (every API without a scenario)."""
    return market.scenario_apis(loaded.catalog.apis, loaded.scenario)


def _check_gpu(loaded: Loaded, gpu_id: str) -> None:
    if gpu_id not in loaded.catalog.gpus:
        raise InputError(f"gpu {gpu_id!r} is not in {loaded.catalog_dir / 'gpus.yaml'}; known "
                         f"gpus: {', '.join(loaded.catalog.gpus)}")


def _check_method(method: str) -> None:
    if method not in DEPRECIATION_METHODS:
        raise InputError(f"--method {method!r}: allowed: {', '.join(DEPRECIATION_METHODS)}")


def owned_cost(loaded: Loaded, money: Money, gpu_id: str, capex: float, *,
               years: float | None = None, method: str | None = None) -> fin.OwnedCostPerHour:
    """Owned cost per GPU-hour in the reporting currency; `capex` is in the reporting currency.

    The formulas are linear in money, so computing in finance.currency and converting the parts
    is the same as converting the inputs first.
    """
    finance = loaded.finance
    capex_fin = fin.convert(capex, money.currency, finance.currency, finance)
    parts = fin.owned_cost_per_gpu_hour(capex_fin, loaded.catalog.gpus[gpu_id].power_kw, finance,
                                        years=years, method=method)
    return fin.OwnedCostPerHour(*(money.from_finance(v) for v in (
        parts.capital, parts.colocation, parts.electricity, parts.staff, parts.other)))


def offer_price_per_gpu_hour(loaded: Loaded, money: Money, offer: Offer) -> float:
    """What one GPU-hour of an offer costs in the reporting currency: the rental price per hour
    (monthly prices over 730 h), or for a purchase the owned TCO per hour."""
    if offer.channel == "purchase":
        return owned_cost(loaded, money, offer.gpu, money.of(offer.price_per_gpu,
                                                              offer.currency)).total
    return money.of(fin.hourly_rental_price(offer), offer.currency)


def _overrides(loaded: Loaded) -> list[dict[str, Any]]:
    return [o.as_dict() for o in loaded.overrides]


# --------------------------------------------------------------------------- tco


def default_purchase(loaded: Loaded, gpu_id: str, currency: str) -> tuple[str, Offer] | None:
    """The GPU's purchase offer priced in the reporting currency, else its first one."""
    purchases = [(oid, o) for oid, o in allowed_offers(loaded).items()
                 if o.gpu == gpu_id and o.channel == "purchase"]
    same = [(oid, o) for oid, o in purchases if o.currency == currency]
    return (same or purchases or [None])[0]


def tco(loaded: Loaded, gpu_id: str, *, currency: str | None = None, capex: float | None = None,
        years: float | None = None, method: str | None = None) -> dict[str, Any]:
    """Owned cost per GPU-hour of one GPU, by part, next to its rental offers (SPEC 9 `tco`).

    `capex` is in the reporting currency; without it the GPU's purchase offer is used (the one
    priced in the reporting currency, else the first, converted).
    """
    _check_gpu(loaded, gpu_id)
    finance = loaded.finance
    money = Money(loaded, reporting_currency(loaded, currency))
    years = finance.depreciation_years if years is None else years
    method = finance.depreciation_method if method is None else method
    _check_method(method)
    if not (isinstance(years, int | float) and 0 < years <= 30):
        raise InputError(f"--years {years!r}: must be a number of years in (0, 30]")
    if capex is not None:
        if not (math.isfinite(capex) and 0 < capex <= MAX_AMOUNT):  # the schemas' price bound
            raise InputError(f"--capex {capex!r}: must be a positive amount in {money.currency}"
                             f", at most {MAX_AMOUNT:g}")
        capex_source = "--capex"
        capex_original = {"amount": capex, "currency": money.currency}
    else:
        found = default_purchase(loaded, gpu_id, money.currency)
        if found is None:
            raise InputError(f"gpu {gpu_id!r} has no purchase offer in offers.yaml; give "
                             f"--capex AMOUNT (price of one GPU in {money.currency})")
        capex_source, offer = found
        capex = money.of(offer.price_per_gpu, offer.currency)
        capex_original = {"amount": offer.price_per_gpu, "currency": offer.currency}
    parts = owned_cost(loaded, money, gpu_id, capex, years=years, method=method)

    rentals = []
    for oid, offer in allowed_offers(loaded).items():
        if offer.gpu != gpu_id or offer.channel == "purchase":
            continue
        hourly = money.of(fin.hourly_rental_price(offer), offer.currency)
        rentals.append({
            "offer": oid, "channel": offer.channel, "price_per_gpu_hour": hourly,
            "price_per_gpu_month": hourly * HOURS_PER_MONTH, "currency": money.currency,
            "offer_currency": offer.currency, "term_months": offer.term_months,
            "availability": offer.availability,
            # Seed 000's neocloud margin: share of the rent left after the owner's TCO.
            "margin_over_tco": 1 - parts.total / hourly,
        })
    gpu = loaded.catalog.gpus[gpu_id]
    return {
        "gpu": gpu_id, "currency": money.currency,
        "capex": capex, "capex_source": capex_source, "capex_original": capex_original,
        "years": years, "method": method, "cost_of_capital": finance.cost_of_capital,
        "capex_per_gpu_hour": parts.capital,
        "capex_per_year": parts.capital * HOURS_PER_YEAR,
        "colocation_per_gpu_hour": parts.colocation,
        "electricity_per_gpu_hour": parts.electricity,
        "staff_per_gpu_hour": parts.staff,
        "other_opex_per_gpu_hour": parts.other,
        "opex_per_gpu_hour": parts.opex,
        "tco_per_gpu_hour": parts.total,
        "tco_per_gpu_month": parts.total * HOURS_PER_MONTH,
        "rentals": rentals,
        "inputs": {
            "finance_currency": finance.currency,
            "fx_rate_to_reporting": fin.fx_rate(finance.currency, money.currency, finance),
            "power_kw": gpu.power_kw, "pue": finance.pue,
            "electricity_per_kwh": finance.electricity_per_kwh,
            "colocation_per_kw_month": finance.colocation_per_kw_month,
            "provisioned_kw_per_gpu": finance.provisioned_kw_per_gpu,
            "staff_cost_per_year": finance.staff_cost_per_year,
            "gpus_per_staff": finance.gpus_per_staff,
            "other_opex_per_gpu_year": finance.other_opex_per_gpu_year,
        },
        # per site, not per GPU: a TCO of one GPU cannot hold them (the plan and
        # `breakeven SCENARIO` share them over the fleet)
        "site_costs_not_included": {
            "site_fixed_cost_per_year": money.of(finance.site_fixed_cost_per_year,
                                                 finance.currency),
            "site_setup_cost": money.of(finance.site_setup_cost, finance.currency)},
        "overrides": _overrides(loaded),
    }


def render_tco(result: dict[str, Any]) -> str:
    cur = result["currency"]
    years = result["years"]
    lines = [
        f"Owned {result['gpu']}: capex {result['capex']:,.0f} {cur} ({result['capex_source']}), "
        f"{years:g} years {result['method']}, cost of capital {result['cost_of_capital']:.1%}",
        f"  capital      {result['capex_per_gpu_hour']:10.3f} {cur}/GPU-hour",
        f"  colocation   {result['colocation_per_gpu_hour']:10.3f}",
        f"  electricity  {result['electricity_per_gpu_hour']:10.3f}",
    ]
    if result["staff_per_gpu_hour"]:
        lines.append(f"  staff        {result['staff_per_gpu_hour']:10.3f}")
    if result["other_opex_per_gpu_hour"]:
        lines.append(f"  other opex   {result['other_opex_per_gpu_hour']:10.3f}")
    lines += [f"  opex         {result['opex_per_gpu_hour']:10.3f}",
              f"  TCO          {result['tco_per_gpu_hour']:10.3f} {cur}/GPU-hour "
              f"({result['tco_per_gpu_month']:,.0f} per GPU-month)"]
    site = result["site_costs_not_included"]
    if any(site.values()):
        lines += [f"  Not included: the site's {site['site_fixed_cost_per_year']:,.0f} {cur} a "
                  f"year and {site['site_setup_cost']:,.0f} setup,",
                  "    per site, not per GPU (`plan` and `breakeven SCENARIO` share them over "
                  "the fleet)"]
    if result["rentals"]:
        lines.append("Rental offers (per GPU-hour, margin = 1 - TCO/rent):")
        for r in result["rentals"]:
            lines.append(f"  {r['offer']:28s} {r['channel']:10s} {r['price_per_gpu_hour']:10.3f} "
                         f"{cur}   margin {r['margin_over_tco']:+.1%}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- compare


def _api_row(money: Money, api_id: str, api: Api, input_tokens: float, output_tokens: float,
             cached_input_tokens: float) -> dict[str, Any]:
    monthly = money.of(fin.api_cost(input_tokens, output_tokens, api.input_per_mtok,
                                    api.output_per_mtok, cached_input_tokens,
                                    api.cached_input_per_mtok), api.currency)
    total = input_tokens + output_tokens
    return {
        "option": api_id, "kind": "api", "provider": api.provider, "model": api.model,
        "monthly_cost": monthly,
        "cost_per_mtok": monthly / total * TOKENS_PER_MTOK if total else None,
        "currency": money.currency,
        "input_per_mtok": money.of(api.input_per_mtok, api.currency),
        "output_per_mtok": money.of(api.output_per_mtok, api.currency),
        "cached_input_per_mtok": (None if api.cached_input_per_mtok is None
                                  else money.of(api.cached_input_per_mtok, api.currency)),
    }


def _gpus_with_offers(offers: dict[str, Offer]) -> list[str]:
    return list(dict.fromkeys(o.gpu for o in offers.values()))


def deployments(loaded: Loaded, model: str, gpu_id: str, *, input_tokens: int,
                output_tokens: int, ttft_ms: float | None = None, tpot_ms: float | None = None,
                precision: str | None = None) -> list[roofline.Throughput]:
    """The roofline's best deployment at every tensor-parallel degree that fits and meets the
    SLO. best_deployment keeps only the most tokens per GPU, but at a small volume a narrower
    group (fewer GPUs) is the cheaper one, so money needs them all."""
    catalog = loaded.catalog
    model_spec, gpu = catalog.models[model], catalog.gpus[gpu_id]
    chosen = precision or roofline.default_precision(gpu)
    found = []
    for tp in (n for n in roofline.TP_CHOICES if n <= gpu.gpus_per_node):
        try:
            found.append(roofline.evaluate(
                model_spec, gpu, precision=chosen, input_tokens=input_tokens,
                output_tokens=output_tokens, tp=tp, ttft_ms=ttft_ms, tpot_ms=tpot_ms,
                model_id=model, gpu_id=gpu_id))
        except (InfeasibleError, InputError):
            continue
    return found


def compare(loaded: Loaded, *, input_tokens_per_month: float, output_tokens_per_month: float,
            cached_input_tokens_per_month: float = 0.0, model: str | None = None,
            utilization: float | None = None, currency: str | None = None,
            request_input_tokens: int | None = None, request_output_tokens: int | None = None,
            ttft_ms: float | None = None, tpot_ms: float | None = None,
            precision: str | None = None) -> dict[str, Any]:
    """Monthly cost of a token volume on every API and, with `model`, self-hosted on every GPU
    offer (SPEC 9 `compare`); rows sorted by monthly cost."""
    money = Money(loaded, reporting_currency(loaded, currency))
    for name, value in (("--input-tokens-per-month", input_tokens_per_month),
                        ("--output-tokens-per-month", output_tokens_per_month),
                        ("--cached-input-tokens-per-month", cached_input_tokens_per_month)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} {value!r}: must be a token count of 0 or more")
    if cached_input_tokens_per_month > input_tokens_per_month:
        raise InputError("--cached-input-tokens-per-month: cached input tokens are part of the "
                         "input tokens and cannot exceed --input-tokens-per-month")
    total = input_tokens_per_month + output_tokens_per_month
    if total <= 0:
        raise InputError("--input-tokens-per-month and --output-tokens-per-month: give a "
                         "positive token volume")
    rows = [_api_row(money, aid, api, input_tokens_per_month, output_tokens_per_month,
                     cached_input_tokens_per_month) for aid, api in allowed_apis(loaded).items()]
    result: dict[str, Any] = {
        "currency": money.currency,
        "input_tokens_per_month": input_tokens_per_month,
        "output_tokens_per_month": output_tokens_per_month,
        "cached_input_tokens_per_month": cached_input_tokens_per_month,
        "model": model,
    }
    if model is not None:
        self_rows, info = _self_host_rows(
            loaded, money, model, total, input_tokens_per_month, output_tokens_per_month,
            utilization=utilization, request_input_tokens=request_input_tokens,
            request_output_tokens=request_output_tokens, ttft_ms=ttft_ms, tpot_ms=tpot_ms,
            precision=precision)
        rows += self_rows
        result.update(info)
    rows.sort(key=lambda r: (r["monthly_cost"], r["option"]))
    result["rows"] = rows
    result["overrides"] = _overrides(loaded)
    return result


def request_shape(input_tokens_per_month: float, output_tokens_per_month: float,
                  request_input_tokens: int | None,
                  request_output_tokens: int | None) -> tuple[int, int]:
    """(input, output) tokens per request for the roofline; by default 500 output tokens and
    input in the ratio of the monthly volumes."""
    out = DEFAULT_REQUEST_OUTPUT_TOKENS if request_output_tokens is None \
        else request_output_tokens
    if request_input_tokens is not None:
        inp = request_input_tokens
    elif output_tokens_per_month > 0:
        inp = max(1, round(out * input_tokens_per_month / output_tokens_per_month))
    else:
        raise InputError("--model needs --output-tokens-per-month above 0 (self-hosting is "
                         "sized by decode), or give --request-input/--request-output")
    if inp <= 0 or out <= 0:
        raise InputError("--request-input and --request-output must be positive token counts")
    return int(inp), int(out)


def _check_utilization(loaded: Loaded, utilization: float | None) -> float:
    value = loaded.finance.utilization if utilization is None else utilization
    if not (math.isfinite(value) and 0 < value <= 1):
        raise InputError(f"--utilization {value!r}: must be a fraction in (0, 1]")
    return value


def _self_host_rows(loaded: Loaded, money: Money, model: str, total_tokens: float,
                    input_tokens_per_month: float, output_tokens_per_month: float, *,
                    utilization: float | None, request_input_tokens: int | None,
                    request_output_tokens: int | None, ttft_ms: float | None,
                    tpot_ms: float | None,
                    precision: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    catalog = loaded.catalog
    if model not in catalog.models:
        raise InputError(f"--model {model!r} is not in {loaded.catalog_dir / 'models.yaml'}; "
                         f"known models: {', '.join(catalog.models)}")
    util = _check_utilization(loaded, utilization)
    inp, out = request_shape(input_tokens_per_month, output_tokens_per_month,
                             request_input_tokens, request_output_tokens)
    # wrong options are an error, not every GPU skipped
    roofline.check_request(catalog.models[model], inp, out, precision=precision,
                           ttft_ms=ttft_ms, tpot_ms=tpot_ms, model_id=model)
    offers = allowed_offers(loaded)
    rows, skipped = [], []
    for gpu_id in _gpus_with_offers(offers):
        options = deployments(loaded, model, gpu_id, input_tokens=inp, output_tokens=out,
                              ttft_ms=ttft_ms, tpot_ms=tpot_ms, precision=precision)
        if not options:
            skipped.append({"gpu": gpu_id, "reason": f"{model} does not fit on {gpu_id} or misses "
                            "the SLO (see `planner throughput`)"})
            continue
        # Every offer of a GPU has one price per GPU, so the fewest GPUs is the cheapest
        # deployment; ties go to the one with the most headroom.
        gpus, thr = min(((fin.gpus_needed(total_tokens, t.total_tokens_per_gpu_hour, util, t.tp),
                          t) for t in options),
                        key=lambda pair: (pair[0], -pair[1].total_tokens_per_s_per_gpu))
        tokens_per_gpu_hour = thr.total_tokens_per_gpu_hour
        for oid, offer in offers.items():
            if offer.gpu != gpu_id:
                continue
            hourly = offer_price_per_gpu_hour(loaded, money, offer)
            unit = offer.unit_gpus or 1
            paid = math.ceil(gpus / unit) * unit  # whole units of the offer, as the plan buys
            monthly = hourly * HOURS_PER_MONTH * paid
            rows.append({
                "option": oid, "kind": offer.channel, "gpu": gpu_id, "model": model,
                "monthly_cost": monthly,
                "cost_per_mtok": monthly / total_tokens * TOKENS_PER_MTOK,
                "currency": money.currency,
                "gpus": paid, "tp": thr.tp, "precision": thr.precision, "batch": thr.batch,
                "tokens_per_gpu_hour": tokens_per_gpu_hour,
                "price_per_gpu_hour": hourly,
                # Seed 003: price / (tokens per GPU-hour x utilization), GPUs not rounded up.
                "cost_per_mtok_at_utilization": fin.cost_per_mtok(hourly, tokens_per_gpu_hour,
                                                                  util),
                "gpu_load": total_tokens / (paid * tokens_per_gpu_hour * HOURS_PER_MONTH),
                "availability": offer.availability,
            })
    info = {"utilization": util, "request_input_tokens": inp, "request_output_tokens": out,
            "skipped": skipped}
    return rows, info


def render_compare(result: dict[str, Any]) -> str:
    cur = result["currency"]
    lines = [f"Monthly cost of {result['input_tokens_per_month']:,.0f} input + "
             f"{result['output_tokens_per_month']:,.0f} output tokens ({cur}):",
             f"  {'option':30s} {'kind':10s} {'monthly':>14s} {'per Mtok':>10s}  detail"]
    for r in result["rows"]:
        detail = ""
        if r["kind"] != "api":
            detail = (f"{r['gpus']} x {r['gpu']} (tp {r['tp']}, {r['precision']}, "
                      f"load {r['gpu_load']:.0%})")
        lines.append(f"  {r['option']:30s} {r['kind']:10s} {r['monthly_cost']:14,.2f} "
                     f"{r['cost_per_mtok']:10.4f}  {detail}")
    for s in result.get("skipped", []):
        lines.append(f"  skipped {s['gpu']}: {s['reason']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- breakeven


def gpu_breakeven(loaded: Loaded, money: Money) -> list[dict[str, Any]]:
    """Buy vs rent for every GPU with a purchase offer, against each of its rental offers."""
    finance = loaded.finance
    offers = allowed_offers(loaded)
    rows = []
    for gpu_id in _gpus_with_offers(offers):
        purchases = [(oid, o) for oid, o in offers.items()
                     if o.gpu == gpu_id and o.channel == "purchase"]
        rentals = [(oid, o) for oid, o in offers.items()
                   if o.gpu == gpu_id and o.channel != "purchase"]
        for pid, purchase in purchases:
            price = money.of(purchase.price_per_gpu, purchase.currency)
            monthly_opex = owned_cost(loaded, money, gpu_id, price).opex * HOURS_PER_MONTH
            for rid, rental in rentals:
                rent = money.of(fin.monthly_rental_price(rental), rental.currency)
                rows.append({
                    "gpu": gpu_id, "purchase_offer": pid, "rental_offer": rid,
                    "rental_channel": rental.channel, "currency": money.currency,
                    "purchase_price": price, "monthly_rent": rent,
                    "monthly_opex": monthly_opex,
                    "simple_payback_months": fin.simple_payback_months(price, rent),
                    "breakeven_months": fin.breakeven_months(
                        price, rent, monthly_opex, finance.cost_of_capital,
                        finance.depreciation_years, finance.depreciation_method),
                })
    return rows


def _api_cost_per_mtok(money: Money, api: Api, workload: Workload) -> float:
    """finance.api_price_per_mtok (the plan's price) in the reporting currency."""
    return money.of(fin.api_price_per_mtok(api, workload), api.currency)


def _tokens_per_month_at_start(workload: Workload) -> float:
    demand = workload.demand
    per_day = (demand.requests_per_day if demand.requests_per_day is not None
               else demand.series[0].requests_per_day)
    return per_day * DAYS_PER_MONTH * (workload.input_tokens + workload.output_tokens)


def workload_breakeven(loaded: Loaded, money: Money) -> list[dict[str, Any]]:
    """Per workload: the monthly volume above which its cheapest self-host deployment of minimum
    size costs less than its cheapest allowed API, sized and priced as the plan does
    (docs/plan.md): whole replicas of the tp-GPU group in whole units of the offer (an 8-GPU
    server or node contract pays 8 GPUs and serves 8 / tp replicas), paid for the whole month;
    a purchase adds the site's fixed cost and its setup spread over the depreciation years;
    spot serves work that cannot wait only with on-demand backup of the same GPU for the
    (1 - availability) of the hours it is away. Capacity is at finance.utilization."""
    scenario = loaded.scenario
    if scenario is None:
        return []
    catalog, util = loaded.catalog, loaded.finance.utilization
    offers = allowed_offers(loaded)
    rows = []
    for name, workload in scenario.workloads.items():
        row: dict[str, Any] = {"workload": name, "api": None, "api_cost_per_mtok": None,
                               "breakeven_tokens_per_month": None, "currency": money.currency,
                               "tokens_per_month_at_start": _tokens_per_month_at_start(workload)}
        rows.append(row)
        apis = {aid: catalog.apis[aid] for aid in workload.apis} if workload.api_allowed else {}
        if not apis:
            row["reason"] = "no API allowed for this workload: self-hosting is the only option"
            continue
        api_id = min(apis, key=lambda a: _api_cost_per_mtok(money, apis[a], workload))
        api_per_mtok = _api_cost_per_mtok(money, apis[api_id], workload)
        row.update(api=api_id, api_cost_per_mtok=api_per_mtok)
        best: dict[str, Any] | None = None
        finance = loaded.finance
        site_monthly = (money.of(finance.site_fixed_cost_per_year, finance.currency) / 12
                        + money.of(finance.site_setup_cost, finance.currency)
                        / (12 * finance.depreciation_years))
        on_demand = {}
        for offer in offers.values():
            if offer.channel == "on_demand":
                hourly = offer_price_per_gpu_hour(loaded, money, offer)
                on_demand[offer.gpu] = min(hourly, on_demand.get(offer.gpu, hourly))
        for model in workload.self_host:
            for gpu_id in _gpus_with_offers(offers):
                options = deployments(
                    loaded, model, gpu_id, input_tokens=workload.input_tokens,
                    output_tokens=workload.output_tokens, ttft_ms=workload.slo.ttft_ms,
                    tpot_ms=workload.slo.tpot_ms, precision=workload.precision)
                for thr, (oid, offer) in itertools.product(options, offers.items()):
                    # Spot is missing (1 - availability) of the hours: work that can wait
                    # loses that throughput; other work needs on-demand backup meanwhile.
                    if offer.gpu != gpu_id or (offer.channel == "spot" and not (
                            workload.spot_allowed and (workload.deferrable
                                                       or gpu_id in on_demand))):
                        continue
                    unit = offer.unit_gpus or 1
                    gpus = math.ceil(thr.tp / unit) * unit  # whole units of the offer
                    serving = gpus // thr.tp * thr.tp  # GPUs in whole replicas
                    hourly = offer_price_per_gpu_hour(loaded, money, offer)
                    hours = HOURS_PER_MONTH
                    if offer.channel == "spot":
                        a = offer.availability
                        if workload.deferrable:
                            hours = HOURS_PER_MONTH * a  # paid and present a of the hours
                        else:
                            hourly = a * hourly + (1 - a) * on_demand[gpu_id]
                    monthly = hourly * hours * gpus
                    if offer.channel == "purchase":
                        monthly += site_monthly
                    capacity = (thr.total_tokens_per_s_per_gpu * SECONDS_PER_HOUR * hours
                                * serving * util)
                    volume = fin.breakeven_tokens_per_month(monthly, api_per_mtok, capacity)
                    if volume is None or (best is not None
                                          and volume >= best["breakeven_tokens_per_month"]):
                        continue
                    best = {"breakeven_tokens_per_month": volume, "model": model,
                            "gpu": gpu_id, "offer": oid, "channel": offer.channel,
                            "tp": thr.tp, "gpus": gpus, "precision": thr.precision,
                            "deployment_monthly_cost": monthly,
                            "capacity_tokens_per_month": capacity,
                            "self_host_cost_per_mtok": monthly / capacity * TOKENS_PER_MTOK}
        if best is None:
            row["reason"] = ("no self-host deployment beats the API even when full "
                             "(or none fits the SLO)")
        else:
            row.update(best)
    return rows


def breakeven(loaded: Loaded, *, currency: str | None = None) -> dict[str, Any]:
    """SPEC 9 `breakeven`: buy-vs-rent months per GPU; with a scenario, per-workload volumes."""
    money = Money(loaded, reporting_currency(loaded, currency))
    finance = loaded.finance
    return {
        "currency": money.currency,
        "depreciation_years": finance.depreciation_years,
        "depreciation_method": finance.depreciation_method,
        "cost_of_capital": finance.cost_of_capital,
        "utilization": finance.utilization,
        "gpus": gpu_breakeven(loaded, money),
        "workloads": workload_breakeven(loaded, money),
        "at_volume": at_volume(loaded, money),
        "overrides": _overrides(loaded),
    }


def at_volume(loaded: Loaded, money: Money) -> list[dict[str, Any]]:
    """Per workload and channel, the cheapest way to serve its first month's volume for the
    scenario's horizon, sized and priced as the plan does (planner.studies.at_volume); `wins`
    marks the channel the plan should choose for that workload alone."""
    if loaded.scenario is None:
        return []
    from planner.inputs.tables import build_inputs
    from planner.studies.at_volume import cheapest_channels

    inputs = build_inputs(loaded, check=False)
    rows = []
    for row in cheapest_channels(inputs):
        row = dict(row)
        for key in ("npv", "monthly_cost"):
            row[key] = fin.convert(row[key], inputs.currency, money.currency, loaded.finance)
        row["currency"] = money.currency
        rows.append(row)
    return rows


def render_breakeven(result: dict[str, Any]) -> str:
    cur = result["currency"]
    years = result["depreciation_years"]
    lines = [f"Buy vs rent ({cur}; breakeven counts opex and {result['cost_of_capital']:.1%} cost "
             f"of capital, {result['depreciation_method']}, within "
             f"{years:g} year{'' if years == 1 else 's'}):"]
    # columns as wide as their longest id (offer ids run past 30 characters)
    gpu_w = max([10, *(len(r["gpu"]) for r in result["gpus"])])
    buy_w = max([24, *(len(r["purchase_offer"]) for r in result["gpus"])])
    rent_w = max([26, *(len(r["rental_offer"]) for r in result["gpus"])])
    if result["gpus"]:
        lines.append(f"  {'gpu':{gpu_w}s} {'purchase':{buy_w}s} {'rental':{rent_w}s} "
                     f"{'price':>12s} {'rent/month':>11s} {'payback':>8s} {'breakeven':>9s}")
    else:
        lines.append("  no GPU with both a purchase and a rental offer in the scenario")
    for r in result["gpus"]:
        be = "never" if r["breakeven_months"] is None else str(r["breakeven_months"])
        lines.append(f"  {r['gpu']:{gpu_w}s} {r['purchase_offer']:{buy_w}s} "
                     f"{r['rental_offer']:{rent_w}s} {r['purchase_price']:12,.0f} "
                     f"{r['monthly_rent']:11,.0f} {r['simple_payback_months']:8.1f} {be:>9s}")
    if result["workloads"]:
        lines.append("API vs self-host (monthly tokens above which self-hosting is cheaper):")
        for w in result["workloads"]:
            if w["breakeven_tokens_per_month"] is None:
                lines.append(f"  {w['workload']}: {w.get('reason', '')}")
                continue
            lines.append(
                f"  {w['workload']}: {w['breakeven_tokens_per_month']:,.0f} tokens/month vs "
                f"{w['api']} ({w['api_cost_per_mtok']:.4f} {cur}/Mtok) with {w['gpus']} x "
                f"{w['gpu']} {w['offer']} serving {w['model']} "
                f"(now {w['tokens_per_month_at_start']:,.0f}/month)")
    if result.get("at_volume"):
        lines.append("At each workload's volume now, one channel for the whole horizon, sized and "
                     "priced as the plan does (level monthly cost; cheapest first):")
        for r in result["at_volume"]:
            what = (f"{r['gpus']} x {r['gpu']} ({r['model']}, tp {r['tp']})" if r["gpu"]
                    else "tokens")
            mark = "  <- cheapest" if r["wins"] else ""
            lines.append(f"  {r['workload']:12s} {r['channel']:10s} {r['monthly_cost']:14,.0f} "
                         f"{cur}/month  {r['offer']}: {what}{mark}")
    return "\n".join(lines)
