"""Coefficient tables of the plan (SPEC sections 5, 7, 8): Loaded + roofline -> PlanInputs.

Everything the linear program needs, as tidy pandas tables in one reporting currency, computed
once here so that model.py only arranges numbers (and tests can build a PlanInputs by hand for
plans solvable on paper). No PuLP here. Choices are documented in docs/plan.md.

Units: money in `PlanInputs.currency`; tokens in millions (Mtok, input + output of a workload's
request mix); time in hours and months (730 h a month); GPUs as counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from planner import finance as fin
from planner import roofline
from planner.errors import InfeasibleError, InputError
from planner.loading import Loaded, market
from planner.schemas import CHANNELS, Limits, Workload
from planner.units import (
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    MONTHS_PER_YEAR,
    SECONDS_PER_HOUR,
    TOKENS_PER_MTOK,
    month_index,
    month_name,
)

# A workload given by peak_to_average has a peak block of PEAK_HOURS hours a day at p x its
# average rate and the other hours share the rest (docs/plan.md, "Time slices").
PEAK_HOURS = (10, 11, 12, 13)
# More distinct hourly patterns than this are grouped into this many slices by aggregate load.
MAX_SLICES = 6


@dataclass(frozen=True)
class PlanInputs:
    """The tidy coefficient tables the LP is built from.

    periods:    period (int, 0-based) -> month (first month 'YYYY-MM'), first (month offset from
                the start), months (1 or 3)
    slices:     slice -> hours_per_day (the hours of a day the slice covers; they sum to 24), hours
    workloads:  workload -> deferrable, spot_allowed, min_replicas (optional, default 0)
    demand:     rows (workload, month (offset), slice, mtok, busiest (optional, default 1)):
                tokens to serve in that month-slice; `busiest` is the slice's busiest hour over
                its mean hour for that workload (capacity covers that hour, docs/plan.md)
    capacity:   rows (workload, gpu, model, precision, tp, mtok_per_gpu_hour): the best
                deployment of the workload on that GPU (utilization applied); a replica holds
                `tp` GPUs (pipeline parallelism is not modelled: pp = 1)
    purchases:  rows (offer, gpu, month (offset the price is paid), price_per_gpu, unit_gpus,
                lead_time_months, residual_per_gpu (book value at the horizon end))
    reserved:   rows (offer, gpu, month (start offset), term_months, price_per_gpu_month,
                unit_gpus (optional, default 1))
    rentals:    rows (offer, gpu, channel ('on_demand'|'spot'), month, price_per_gpu_hour,
                availability, unit_gpus (optional, default 1), billing (optional, 'hour' or
                'month', default 'hour')): every available rental offer per month
    apis:       rows (workload, api, month, price_per_mtok): the workload's request mix on that
                API (cached-input share and batch discount applied), only APIs that can matter
    api_limits: api -> Mtok per hour (rate_limit_tokens_per_minute), for rate-limited APIs
    gpus:       gpu -> opex_per_gpu_hour (owned), power_kw
    """

    name: str
    currency: str
    start: str
    months: int
    discount_rate: float
    depreciation_years: float
    periods: pd.DataFrame
    slices: pd.DataFrame
    workloads: pd.DataFrame
    demand: pd.DataFrame
    capacity: pd.DataFrame
    purchases: pd.DataFrame
    reserved: pd.DataFrame
    rentals: pd.DataFrame
    apis: pd.DataFrame
    gpus: pd.DataFrame
    api_limits: dict[str, float] = field(default_factory=dict)
    site_setup_cost: float = 0.0
    site_fixed_cost_per_month: float = 0.0
    limits: Limits = field(default_factory=Limits)
    channels: tuple[str, ...] = CHANNELS
    # How the accounting view charges owned capital (planner.results.statistics); not the plan.
    cost_of_capital: float = 0.0
    depreciation_method: str = "straight_line"

    def discount(self, month: float) -> float:
        """Present value of 1 paid at the start of month offset `month` (SPEC section 7)."""
        return fin.discount_factor(month, self.discount_rate)

    def month_label(self, month: int) -> str:
        return month_name(month_index(self.start) + month)

    def period_of_month(self) -> dict[int, int]:
        """Month offset -> period, for the months of the horizon."""
        out = {}
        for period, first, months in zip(self.periods.index, self.periods["first"],
                                         self.periods["months"], strict=True):
            for m in range(int(first), int(first) + int(months)):
                out[m] = int(period)
        return out

    def restrict(self, channels: Iterable[str]) -> PlanInputs:
        """The same inputs with only some channels (api, on_demand, reserved, spot, purchase)."""
        chosen = tuple(c for c in CHANNELS if c in set(channels))
        rentals = self.rentals[self.rentals["channel"].isin(chosen)]
        return replace(
            self, channels=chosen,
            purchases=self.purchases if "purchase" in chosen else self.purchases.iloc[0:0],
            reserved=self.reserved if "reserved" in chosen else self.reserved.iloc[0:0],
            rentals=rentals, apis=self.apis if "api" in chosen else self.apis.iloc[0:0])


# --------------------------------------------------------------------------- helpers


def parse_channels(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """'api,on_demand' -> ('api', 'on_demand'); None -> every channel."""
    if text is None:
        return CHANNELS
    items = [c.strip() for c in (text.split(",") if isinstance(text, str) else text)]
    items = [c for c in items if c]
    unknown = [c for c in items if c not in CHANNELS]
    if unknown or not items:
        raise InputError(f"--channels {','.join(items) or text!r}: unknown channel "
                         f"{', '.join(unknown) or '(none given)'}; allowed: a comma-separated "
                         f"list of {', '.join(CHANNELS)}")
    return tuple(c for c in CHANNELS if c in items)


def hourly_levels(workload: Workload) -> list[float]:
    """24 relative demand levels (mean 1) of a workload: flat, peak block, or its profile."""
    if workload.hourly_profile is not None:
        total = sum(workload.hourly_profile)
        return [24 * v / total for v in workload.hourly_profile]
    p = workload.peak_to_average
    if p is None or p == 1.0:
        return [1.0] * 24
    n = len(PEAK_HOURS)
    # The peak block holds p x n/24 of the day's demand, at most all of it (p <= 24/n).
    peak_share = min(p * n / 24, 1.0)
    peak, rest = 24 * peak_share / n, 24 * (1 - peak_share) / (24 - n)
    return [peak if h in PEAK_HOURS else rest for h in range(24)]


def busiest_hour(levels: list[float], hours: tuple[int, ...]) -> float:
    """A slice's busiest hour over its mean hour for one workload (1 where its hours are equal):
    the capacity a slice holds covers that hour (docs/plan.md, "Time slices")."""
    mean = sum(levels[h] for h in hours) / len(hours)
    return max(levels[h] for h in hours) / mean if mean > 0 else 1.0


def time_slices(levels: dict[str, list[float]], weights: dict[str, float]
                ) -> list[tuple[str, tuple[int, ...]]]:
    """Partition the 24 hours into slices shared by every workload: hours whose levels are the
    same for every workload form one slice; beyond MAX_SLICES patterns, hours are grouped by
    aggregate load (weights: a workload's Mtok per day) into MAX_SLICES blocks of 4 hours,
    whose capacity then covers their busiest hour (`busiest_hour`)."""
    patterns: dict[tuple, list[int]] = {}
    for h in range(24):
        key = tuple(round(levels[w][h], 12) for w in sorted(levels))
        patterns.setdefault(key, []).append(h)
    groups = list(patterns.values())
    if len(groups) > MAX_SLICES:
        load = {h: sum(weights[w] * levels[w][h] for w in levels) for h in range(24)}
        ranked = sorted(range(24), key=lambda h: (-load[h], h))
        size = 24 // MAX_SLICES
        groups = [sorted(ranked[i:i + size]) for i in range(0, 24, size)]
    if len(groups) == 1:
        return [("all", tuple(range(24)))]
    if len(groups) == 2 and all(all(lv[h] == max(lv) for h in PEAK_HOURS)
                                for lv in levels.values()) and \
            sorted(groups, key=len)[0] == list(PEAK_HOURS):
        return [("peak", PEAK_HOURS), ("offpeak", tuple(h for h in range(24)
                                                        if h not in PEAK_HOURS))]
    groups.sort(key=lambda g: g[0])
    return [(f"s{i + 1}", tuple(g)) for i, g in enumerate(groups)]


def requests_per_day(workload: Workload, month: int, start: str) -> float:
    """Demand in month offset `month`: growth compounding monthly, or the series interpolated
    linearly between its points (flat before the first and after the last)."""
    demand = workload.demand
    if demand.series is None:
        return demand.requests_per_day * (1 + demand.growth_per_year) ** (month / MONTHS_PER_YEAR)
    at = month_index(start) + month
    points = [(month_index(p.month), p.requests_per_day) for p in demand.series]
    if at <= points[0][0]:
        return points[0][1]
    for (m0, v0), (m1, v1) in zip(points, points[1:], strict=False):
        if at <= m1:
            return v0 + (v1 - v0) * (at - m0) / (m1 - m0)
    return points[-1][1]


# --------------------------------------------------------------------------- build


MIN_MTOK_PER_GPU_HOUR = 1e-6  # one token per GPU-hour: less is no way to serve a workload


def build_inputs(loaded: Loaded, channels: Iterable[str] | None = None, *,
                 check: bool = True) -> PlanInputs:
    """Every coefficient of the plan of `loaded.scenario`, in the scenario's currency.

    Raises InfeasibleError when a workload has no way to be served at all (no deployment fits
    and no API is allowed), naming the workload and the first month with demand; `check=False`
    skips that (plan --diagnose measures the unmet demand instead)."""
    scenario = loaded.scenario
    if scenario is None:
        raise InputError("plan needs a scenario file")
    catalog, finance = loaded.catalog, loaded.finance
    currency = loaded.currency
    chosen = parse_channels(channels)

    def money(amount: float, from_currency: str) -> float:
        return fin.convert(amount, from_currency, currency, finance)

    start, months = scenario.start, scenario.months
    step = 3 if scenario.step == "quarter" else 1
    periods = pd.DataFrame(
        [{"period": p, "month": month_name(month_index(start) + p * step), "first": p * step,
          "months": step}
         for p in range(months // step)]).set_index("period")

    workloads = scenario.workloads
    levels = {w: hourly_levels(wl) for w, wl in workloads.items()}
    weights = {w: requests_per_day(wl, 0, start) * (wl.input_tokens + wl.output_tokens)
               for w, wl in workloads.items()}
    slices = time_slices(levels, weights)
    slice_table = pd.DataFrame([{"slice": s, "hours_per_day": len(hours),
                                 "hours": ",".join(map(str, hours))}
                                for s, hours in slices]).set_index("slice")

    demand_rows = []
    for w, wl in workloads.items():
        mtok_per_request = (wl.input_tokens + wl.output_tokens) / TOKENS_PER_MTOK
        for m in range(months):
            day_mtok = requests_per_day(wl, m, start) * mtok_per_request * DAYS_PER_MONTH
            for s, hours in slices:
                share = sum(levels[w][h] for h in hours) / 24
                # A deferrable workload moves within its month: no hour of it is short.
                busiest = 1.0 if wl.deferrable else busiest_hour(levels[w], hours)
                demand_rows.append({"workload": w, "month": m, "slice": s,
                                    "mtok": day_mtok * share, "busiest": busiest})
    demand = pd.DataFrame(demand_rows, columns=["workload", "month", "slice", "mtok", "busiest"])
    workload_table = pd.DataFrame(
        [{"workload": w, "deferrable": wl.deferrable, "spot_allowed": wl.spot_allowed,
          "min_replicas": wl.min_replicas,
          "input_tokens": wl.input_tokens, "output_tokens": wl.output_tokens}
         for w, wl in workloads.items()]).set_index("workload")

    # Offers the scenario allows, available some time in the horizon.
    offers = market.scenario_offers(catalog.offers, scenario)
    offers = {oid: o for oid, o in offers.items() if o.channel in chosen}
    gpu_ids = sorted({o.gpu for o in offers.values()})

    capacity_rows = []
    utilization = finance.utilization
    for w, wl in workloads.items():
        for g in gpu_ids:
            best = None
            for model in wl.self_host:
                thr = _deployment(catalog, model, g, wl)
                if thr is None:
                    continue
                rate = thr.total_tokens_per_s_per_gpu * SECONDS_PER_HOUR / TOKENS_PER_MTOK
                if best is None or rate > best["mtok_per_gpu_hour"] / utilization + 1e-12:
                    best = {"workload": w, "gpu": g, "model": model, "precision": thr.precision,
                            "tp": thr.tp, "mtok_per_gpu_hour": rate * utilization}
            # Below one token per GPU-hour (an absurd efficiency or utilization such as 1e-30)
            # a deployment serves nothing, and 1/rate would overflow the solver's coefficients.
            if best is not None and best["mtok_per_gpu_hour"] >= MIN_MTOK_PER_GPU_HOUR:
                capacity_rows.append(best)
    capacity = pd.DataFrame(capacity_rows, columns=["workload", "gpu", "model", "precision",
                                                    "tp", "mtok_per_gpu_hour"])
    # A GPU type no workload can run on is never worth an offer (planner/model.py prunes the
    # dominated ones among the rest, exactly).
    deployable = set(capacity["gpu"])
    offers = {oid: o for oid, o in offers.items() if o.gpu in deployable}
    growth = {"purchase": finance.purchase_price_change_per_year,
              "reserved": finance.rental_price_change_per_year,
              "on_demand": finance.rental_price_change_per_year,
              "spot": finance.rental_price_change_per_year}

    def first_month(offer) -> int:
        if offer.available_from is None:
            return 0
        return max(0, fin.months_between(start, offer.available_from))

    purchase_rows, reserved_rows, rental_rows = [], [], []
    for oid, o in sorted(offers.items()):
        for m in range(first_month(o), months):
            label = month_name(month_index(start) + m)
            base = o.price_per_gpu if o.channel == "purchase" else (
                fin.monthly_rental_price(o) if o.channel == "reserved"
                else fin.hourly_rental_price(o))
            price = money(fin.trended_price(base, o.as_of, label, growth[o.channel]), o.currency)
            if o.channel == "purchase":
                if m % step:
                    continue  # bought at the start of a period
                purchase_rows.append({
                    "offer": oid, "gpu": o.gpu, "month": m, "price_per_gpu": price,
                    "unit_gpus": o.unit_gpus or 1, "lead_time_months": o.lead_time_months or 0,
                    "residual_per_gpu": fin.book_value(price, months - m,
                                                       finance.depreciation_years),
                    "provider": o.provider})
            elif o.channel == "reserved":
                if m % step:
                    continue
                reserved_rows.append({"offer": oid, "gpu": o.gpu, "month": m,
                                      "term_months": o.term_months,
                                      "price_per_gpu_month": price,
                                      "unit_gpus": o.unit_gpus or 1, "provider": o.provider})
            else:
                rental_rows.append({"offer": oid, "gpu": o.gpu, "channel": o.channel,
                                    "month": m, "price_per_gpu_hour": price,
                                    "availability": o.availability or 1.0,
                                    "unit_gpus": o.unit_gpus or 1,
                                    "billing": o.billing or "hour"})
    purchases = pd.DataFrame(purchase_rows, columns=[
        "offer", "gpu", "month", "price_per_gpu", "unit_gpus", "lead_time_months",
        "residual_per_gpu", "provider"])
    reserved = pd.DataFrame(reserved_rows, columns=["offer", "gpu", "month", "term_months",
                                                    "price_per_gpu_month", "unit_gpus",
                                                    "provider"])
    rentals = pd.DataFrame(rental_rows, columns=["offer", "gpu", "channel", "month",
                                                 "price_per_gpu_hour", "availability",
                                                 "unit_gpus", "billing"])

    api_rows, api_limits = [], {}
    apis = market.scenario_apis(catalog.apis, scenario) if "api" in chosen else {}
    for w, wl in workloads.items():
        if not wl.api_allowed:
            continue
        candidates = []
        for aid in wl.apis:
            api = apis.get(aid)
            if api is None or (api.context_tokens is not None
                               and api.context_tokens < wl.input_tokens + wl.output_tokens):
                continue
            candidates.append((money(fin.api_price_per_mtok(api, wl), api.currency), aid, api))
        # Without rate limits only the cheapest API can matter; keep rate-limited ones that are
        # cheaper than the first unlimited one (the same price trend applies to every API).
        for price, aid, api in sorted(candidates, key=lambda c: (c[0], c[1])):
            for m in range(months):
                label = month_name(month_index(start) + m)
                api_rows.append({"workload": w, "api": aid, "month": m, "price_per_mtok":
                                 fin.trended_price(price, api.as_of, label,
                                                   finance.api_price_change_per_year)})
            if api.rate_limit_tokens_per_minute is None:
                break
            api_limits[aid] = api.rate_limit_tokens_per_minute * 60 / TOKENS_PER_MTOK
    api_table = pd.DataFrame(api_rows, columns=["workload", "api", "month", "price_per_mtok"])

    gpu_table = pd.DataFrame(
        [{"gpu": g, "opex_per_gpu_hour": money(fin.owned_opex_per_gpu_hour(catalog.gpus[g],
                                                                           finance),
                                               finance.currency),
          "power_kw": catalog.gpus[g].power_kw} for g in sorted(deployable)],
        columns=["gpu", "opex_per_gpu_hour", "power_kw"]).set_index("gpu")

    inputs = PlanInputs(
        name=scenario.name, currency=currency, start=start, months=months,
        discount_rate=finance.effective_discount_rate,
        depreciation_years=finance.depreciation_years, periods=periods, slices=slice_table,
        workloads=workload_table, demand=demand, capacity=capacity, purchases=purchases,
        reserved=reserved, rentals=rentals, apis=api_table, gpus=gpu_table,
        api_limits=api_limits,
        site_setup_cost=money(finance.site_setup_cost, finance.currency),
        site_fixed_cost_per_month=money(finance.site_fixed_cost_per_year, finance.currency)
        / MONTHS_PER_YEAR,
        limits=scenario.limits,
        channels=chosen, cost_of_capital=finance.cost_of_capital,
        depreciation_method=finance.depreciation_method)
    if check:
        check_servable(inputs, _unserved_reasons(catalog, workloads, gpu_ids, capacity))
    return inputs


def _unserved_reasons(catalog, workloads: dict, gpu_ids: list[str], capacity) -> dict[str, str]:
    """For a workload no allowed GPU serves: the SLO failure, when its models do fit, else
    why they do not (context or memory), when that is known."""
    served = set(capacity["workload"])
    reasons = {w: why.removeprefix(f"workload {w!r}: ") + " (on the GPUs with an allowed offer)"
               for w, wl in workloads.items()
               if w not in served for why in roofline.slo_warnings(catalog, {w: wl}, gpu_ids)}
    for w, wl in workloads.items():
        if w in served or w in reasons or not wl.self_host:
            continue
        unfit = roofline.unfit_text(catalog, list(wl.self_host), gpu_ids,
                                    context_tokens=wl.input_tokens + wl.output_tokens,
                                    precision=wl.precision)
        if unfit:
            reasons[w] = f"no self-host deployment fits a GPU with an allowed offer ({unfit})"
    return reasons


_DEPLOYMENTS: dict[tuple, roofline.Throughput | None] = {}


def _deployment(catalog, model: str, gpu: str, wl: Workload) -> roofline.Throughput | None:
    """The roofline's best deployment, cached per catalog entry and request shape."""
    key = (catalog.models[model].model_dump_json(), catalog.gpus[gpu].model_dump_json(), model,
           gpu, wl.input_tokens, wl.output_tokens, wl.slo.ttft_ms, wl.slo.tpot_ms, wl.precision,
           wl.kv_precision)
    if key not in _DEPLOYMENTS:
        if len(_DEPLOYMENTS) > 4096:
            _DEPLOYMENTS.clear()
        _DEPLOYMENTS[key] = roofline.best_deployment(
            catalog, model, gpu, input_tokens=wl.input_tokens, output_tokens=wl.output_tokens,
            ttft_ms=wl.slo.ttft_ms, tpot_ms=wl.slo.tpot_ms, precision=wl.precision,
            kv_precision=wl.kv_precision)
    return _DEPLOYMENTS[key]


def check_servable(inputs: PlanInputs, reasons: dict[str, str] | None = None) -> None:
    """Raise InfeasibleError for a workload with demand and no channel that can serve it;
    reasons[w] replaces "fits no GPU": the SLO a fitting model misses, or why it does not
    fit."""
    gpu_months: dict[str, set[int]] = {}
    for table in (inputs.rentals, inputs.reserved):
        for g, m in zip(table["gpu"], table["month"], strict=True):
            gpu_months.setdefault(g, set()).add(int(m))
    for g, m, lead in zip(inputs.purchases["gpu"], inputs.purchases["month"],
                          inputs.purchases["lead_time_months"], strict=True):
        gpu_months.setdefault(g, set()).add(int(m) + int(lead))
    api_months = inputs.apis.groupby("workload")["month"].min().to_dict()
    need = inputs.demand[inputs.demand["mtok"] > 0].groupby("workload")["month"].min()
    channels = ", ".join(inputs.channels)
    for w, first in need.items():
        gpus = inputs.capacity.loc[inputs.capacity["workload"] == w, "gpu"]
        earliest = [min(gpu_months[g]) for g in gpus if g in gpu_months]
        if w in api_months:
            earliest.append(api_months[w])
        if not earliest or min(earliest) > first:
            label = inputs.month_label(int(first))
            why = ((f"{(reasons or {})[w]}, and no API is allowed"
                    if w in (reasons or {}) else
                    "no self-host deployment fits a GPU with an allowed offer and no API is "
                    "allowed") if not earliest else
                   f"its first channel is available only from {inputs.month_label(min(earliest))}")
            raise InfeasibleError(
                f"workload {w!r} cannot be served in {label}: {why} (channels: {channels}). "
                "Allow an API (workloads.NAME.apis, api_allowed), add self_host models or "
                "offers, or widen --channels.")


def mtok_per_hour(mtok: float, hours_per_day: float, months: float) -> float:
    """Mtok of a period-slice as a rate per hour of that slice."""
    return mtok / (hours_per_day / 24 * HOURS_PER_MONTH * months)


__all__ = ["PlanInputs", "build_inputs", "check_servable", "hourly_levels",
           "parse_channels", "requests_per_day", "time_slices"]
