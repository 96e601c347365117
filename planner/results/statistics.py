"""Budget statistics of a solved plan, computed once from its tables (PlanResult.cash, served,
commitments, inputs): committed against variable cash, cost per workload per year, and the
accounting view (depreciation next to cash).

Each function takes the result (anything with the PlanResult tables) and returns a tidy
DataFrame; amounts in the result's currency. No PuLP, no report code here.

Rules, stated once:
- committed vs variable: a cash row of calendar year Y is *committed* when it was decided (its
  `signed` month: the purchase, the reservation, the site opening) in a year before Y, so it is
  locked when Y's budget is set; everything else (on-demand, spot, API, and commitments first
  signed inside Y) is *variable*. Owned GPUs' running cost counts as decided with the purchase.
- per workload: API spend is the workload's own; each GPU type's cash is shared by the GPU-hours
  each workload used on that type over the horizon, and site cash by all self-hosted GPU-hours
  (`allocate_by_gpu_hours`, the rule the levelized cost per Mtok uses too).
- accounting: an owned GPU (or the site's setup) is depreciated from the month it serves over
  finance.depreciation_years, straight-line or as the capital part of an annuity
  (finance.depreciation_method); the cost of capital the TCO adds is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pandas as pd

from planner import finance as fin
from planner.schemas import COMMITMENT_CHANNELS
from planner.units import HOURS_PER_MONTH, MONTHS_PER_YEAR, month_index

RENTAL_CATEGORIES = ("reserved", "on_demand", "spot")
UNALLOCATED = "(unallocated)"  # GPU cash of types no workload used (idle capacity)


# --------------------------------------------------------------------------- committed


def committed_by_year(result: Any, years: list[int] | None = None) -> pd.DataFrame:
    """Index `year` -> `committed`, `variable` (cash, undiscounted), and `committed_share`.

    `years` defaults to the years of result.years (every year with cash)."""
    cash = result.cash
    start = month_index(result.inputs.start)
    committed: dict[int, float] = defaultdict(float)
    variable: dict[int, float] = defaultdict(float)
    for year, signed, amount in zip(cash["year"], cash["signed"], cash["amount"], strict=True):
        if (start + int(signed)) // MONTHS_PER_YEAR < int(year):
            committed[int(year)] += float(amount)
        else:
            variable[int(year)] += float(amount)
    years = list(result.years.index) if years is None else years
    out = pd.DataFrame({"committed": [committed[int(y)] for y in years],
                        "variable": [variable[int(y)] for y in years]},
                       index=pd.Index([int(y) for y in years], name="year"))
    total = out["committed"] + out["variable"]
    out["committed_share"] = (out["committed"] / total.where(total > 0)).fillna(0.0)
    return out


def next_year_locked(result: Any) -> dict[str, Any] | None:
    """The first calendar year after the plan's start year, and how much of its cash is
    committed before it begins: `year`, `committed`, `variable`, `total`, `committed_share`.
    None when the horizon ends inside its start year."""
    start_year = month_index(result.inputs.start) // MONTHS_PER_YEAR
    table = committed_by_year(result)
    if start_year + 1 not in table.index:
        return None
    row = table.loc[start_year + 1]
    return {"year": start_year + 1, "committed": float(row["committed"]),
            "variable": float(row["variable"]),
            "total": float(row["committed"] + row["variable"]),
            "committed_share": float(row["committed_share"])}


# --------------------------------------------------------------------------- per workload


def gpu_hours_used(result: Any) -> dict[tuple[str, str], float]:
    """(workload, gpu) -> GPU-hours used over the horizon: self-hosted Mtok over the
    deployment's Mtok per GPU-hour (the plan's capacity table)."""
    capacity = result.inputs.capacity
    rate = {(w, g): float(r) for w, g, r in zip(capacity["workload"], capacity["gpu"],
                                                capacity["mtok_per_gpu_hour"], strict=True)}
    hours: dict[tuple[str, str], float] = defaultdict(float)
    served = result.served
    for w, channel, g, mtok in zip(served["workload"], served["channel"], served["resource"],
                                   served["mtok"], strict=True):
        if channel != "api" and rate.get((w, g)):
            hours[(w, g)] += float(mtok) / rate[(w, g)]
    return dict(hours)


def utilization(result: Any, by: tuple[str, ...] = ("month", "channel", "gpu")
                ) -> pd.DataFrame:
    """Share of the owned and reserved GPU-hours paid for that served tokens (self-hosted Mtok
    over the deployment's Mtok per GPU-hour), grouped `by` any of month, channel and gpu:
    columns `by`, used_gpu_hours, gpu_hours, utilization (0..1). One rule for the report's
    chart and the stress tests' idle capacity."""
    columns = [*by, "used_gpu_hours", "gpu_hours", "utilization"]
    fleet = result.fleet[result.fleet["channel"].isin(COMMITMENT_CHANNELS)]
    if fleet.empty:
        return pd.DataFrame(columns=columns)
    capacity = result.inputs.capacity
    rate = {(w, g): float(r) for w, g, r in zip(capacity["workload"], capacity["gpu"],
                                                capacity["mtok_per_gpu_hour"], strict=True)}
    served = result.served[result.served["channel"].isin(COMMITMENT_CHANNELS)]
    used = pd.DataFrame({
        "month": served["month"].astype(str), "channel": served["channel"].astype(str),
        "gpu": served["resource"].astype(str),
        "used_gpu_hours": [float(m) / rate[(w, g)] if rate.get((w, g)) else 0.0 for w, g, m in
                           zip(served["workload"], served["resource"], served["mtok"],
                               strict=True)]}).groupby(list(by))["used_gpu_hours"].sum()
    held = fleet.assign(month=fleet["month"].astype(str), channel=fleet["channel"].astype(str),
                        gpu=fleet["gpu"].astype(str)).groupby(list(by))["gpu_hours"].sum()
    table = pd.DataFrame({"gpu_hours": held[held > 1e-9]})
    table["used_gpu_hours"] = used.reindex(table.index, fill_value=0.0)
    table["utilization"] = (table["used_gpu_hours"] / table["gpu_hours"]).clip(upper=1.0)
    return table.reset_index()[columns]


def allocate_by_gpu_hours(by_gpu: Mapping[str, float], site: float,
                          gpu_hours: Mapping[tuple[str, str], float]) -> dict[str, float]:
    """Share each GPU type's cost among workloads by the GPU-hours each used on that type, and
    the site's cost by all self-hosted GPU-hours. Cost of a type nobody used goes to
    UNALLOCATED.

    >>> allocate_by_gpu_hours({"H200": 90.0}, 10.0, {("chat", "H200"): 2.0, ("rag", "H200"): 1.0})
    {'chat': 66.66666666666667, 'rag': 33.333333333333336}
    """
    out: dict[str, float] = defaultdict(float)
    for g, value in by_gpu.items():
        hours = {w: h for (w, gg), h in gpu_hours.items() if gg == g and h > 0}
        whole = sum(hours.values())
        if not whole:
            if value:
                out[UNALLOCATED] += value
            continue
        for w, h in hours.items():
            out[w] += value * h / whole
    all_hours = sum(h for h in gpu_hours.values() if h > 0)
    if site and all_hours:
        for (w, _), h in gpu_hours.items():
            if h > 0:
                out[w] += site * h / all_hours
    elif site:
        out[UNALLOCATED] += site
    return dict(out)


def workload_cost_by_year(result: Any) -> pd.DataFrame:
    """Tidy cash per calendar year and workload: `year`, `workload`, `api`, `self_hosted`,
    `total` (undiscounted; each year's GPU and site cash shared by the horizon's GPU-hours, so
    a purchase is charged to the workloads its GPUs serve). A `(unallocated)` row carries GPU
    cash no workload used. The rows of a year add up to that year's cash."""
    shares = gpu_hours_used(result)
    api: dict[tuple[int, str], float] = defaultdict(float)
    by_gpu: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    site: dict[int, float] = defaultdict(float)
    cash = result.cash
    for year, category, item, w, amount in zip(cash["year"], cash["category"], cash["item"],
                                               cash["workload"], cash["amount"], strict=True):
        if category == "api":
            api[(int(year), w)] += float(amount)
        elif item == "site":
            site[int(year)] += float(amount)
        else:
            by_gpu[int(year)][item] += float(amount)
    rows = []
    workloads = list(result.inputs.workloads.index)
    for year in result.years.index:
        hosted = allocate_by_gpu_hours(by_gpu.get(int(year), {}), site.get(int(year), 0.0),
                                       shares)
        for w in [*workloads, UNALLOCATED]:
            a, h = api.get((int(year), w), 0.0), hosted.get(w, 0.0)
            if w == UNALLOCATED and not h:
                continue
            rows.append({"year": int(year), "workload": w, "api": a, "self_hosted": h,
                         "total": a + h})
    return pd.DataFrame(rows, columns=["year", "workload", "api", "self_hosted", "total"])


# --------------------------------------------------------------------------- accounting


def capital_charge_by_month(capex: float, first: int, end: int, years: float, rate: float,
                            method: str) -> list[tuple[int, float, float]]:
    """(month, depreciation, cost_of_capital) for each month in [first, end) of the life of an
    asset bought for `capex` that serves from month `first`. Their sum per month is
    planner.finance.capital_per_gpu_hour x 730 (the TCO's capital charge).

    straight_line: capex / (12 n) a month, plus simple interest capex x r / 12 (seed 000);
    annuity: the level payment capex x annuity_factor / 12 a month, of which interest is r x the
    balance left at the start of the life year, the rest depreciation.

    >>> [(m, round(d, 6), round(i, 6)) for m, d, i in
    ...  capital_charge_by_month(1200.0, 0, 2, 1, 0.12, "straight_line")]
    [(0, 100.0, 12.0), (1, 100.0, 12.0)]
    """
    life = int(round(years * MONTHS_PER_YEAR))
    monthly = fin.capital_per_gpu_hour(capex, rate, years, method) * HOURS_PER_MONTH
    rows = []
    balance = capex
    for age in range(min(life, max(end - first, 0))):
        if method == "straight_line":
            depreciation = capex / life
        else:
            if age and age % MONTHS_PER_YEAR == 0:  # a new life year: the balance paid down
                balance -= (monthly * MONTHS_PER_YEAR - rate * balance)
            depreciation = monthly - rate * balance / MONTHS_PER_YEAR
        rows.append((first + age, depreciation, monthly - depreciation))
    return rows


def accounting_by_year(result: Any) -> pd.DataFrame:
    """The accounting view over the horizon, index `year`: `depreciation` (owned GPUs and the
    site's setup, per finance.depreciation_method), `opex` (owned GPUs and the site), `rentals`
    (reserved, on-demand, spot), `api`, `expense` (their sum), `cost_of_capital` (the interest
    part of the TCO's capital charge, not in `expense`) and `cash` (what is paid in the same
    months). Only months inside the horizon count: the plan says nothing after it."""
    inputs = result.inputs
    horizon = inputs.months
    start = month_index(inputs.start)
    years_life = inputs.depreciation_years
    method = inputs.depreciation_method
    rate = inputs.cost_of_capital
    label_to_offset = {inputs.month_label(m): m for m in range(horizon)}

    def year_of(m: int) -> int:
        return (start + m) // MONTHS_PER_YEAR

    columns = ("depreciation", "opex", "rentals", "api", "cost_of_capital", "cash")
    total = {y: dict.fromkeys(columns, 0.0)
             for y in range(year_of(0), year_of(horizon - 1) + 1)}
    cash = result.cash
    for m, category, item, amount in zip(cash["month"], cash["category"], cash["item"],
                                         cash["amount"], strict=True):
        m = int(m)
        if m >= horizon:
            continue
        row = total[year_of(m)]
        row["cash"] += float(amount)
        if category == "opex":
            row["opex"] += float(amount)
        elif category in RENTAL_CATEGORIES:
            row["rentals"] += float(amount)
        elif category == "api":
            row["api"] += float(amount)
        elif category == "capex" and item == "site":
            _charge(total, float(amount), m, horizon, years_life, rate, method, year_of)
    bought = result.commitments
    bought = bought[bought["kind"] == "purchase"]
    for gpus, price, serves in zip(bought["gpus"], bought["price_per_gpu"], bought["serves_from"],
                                   strict=True):
        if serves is None or serves not in label_to_offset:
            continue  # never in service inside the horizon: nothing to depreciate yet
        _charge(total, float(gpus) * float(price), label_to_offset[serves], horizon, years_life,
                rate, method, year_of)
    out = pd.DataFrame.from_dict(total, orient="index")
    out.index.name = "year"
    out["expense"] = out[["depreciation", "opex", "rentals", "api"]].sum(axis=1)
    return out[["depreciation", "opex", "rentals", "api", "expense", "cost_of_capital", "cash"]]


def _charge(total: dict, capex: float, first: int, horizon: int, years: float, rate: float,
            method: str, year_of: Any) -> None:
    for m, depreciation, interest in capital_charge_by_month(capex, first, horizon, years, rate,
                                                             method):
        total[year_of(m)]["depreciation"] += depreciation
        total[year_of(m)]["cost_of_capital"] += interest


# --------------------------------------------------------------------------- limits

# limit family -> (unit, the step in words); {cur} the currency, {key} the limit's key.
LIMIT_WORDS = {
    "capex_budget_per_year": ("{cur} of capex budget", "each extra {cur} of capex budget"),
    "max_power_kw": ("MW of owned power", "one more MW of power"),
    "max_gpus": ("{key} GPU allowed", "one more {key} allowed"),
    "max_spot_share": ("percentage point of spot share", "one more point of spot share"),
}


def limit_rows(values: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The shadow prices of planner.optimize.duals with their `unit` and a sentence (`words`):
    "one more MW of power in 2028 would save 12,345.00 CNY (net present cost)"."""
    rows = []
    for row in values:
        unit, step = LIMIT_WORDS.get(row["limit"], (row["limit"], f"one more {row['limit']}"))
        value = float(row["value_per_unit"])
        rows.append({**row, "unit": unit.format(cur=currency, key=row["key"]),
                     "words": f"{step.format(cur=currency, key=row['key'])} "
                              + (f"in {row['year']}" if row["year"] is not None
                                 else "over the whole horizon")
                              + f" would save {value:,.2f} {currency} (net present cost)"})
    return rows


class Statistics:
    """Every statistic of one plan by name, as PyPSA's `n.statistics` does: tidy DataFrames from
    the functions above, computed once per call from the PlanResult (`result.statistics`)."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def committed(self) -> pd.DataFrame:
        """Per calendar year: cash committed before the year, variable cash, their share."""
        return committed_by_year(self._result)

    def next_year_locked(self) -> dict[str, Any] | None:
        return next_year_locked(self._result)

    def accounting(self) -> pd.DataFrame:
        """Per year: depreciation, opex, rentals, API and cost of capital next to cash."""
        return accounting_by_year(self._result)

    def workload_costs(self) -> pd.DataFrame:
        """Cash per year and workload (GPU cash shared by GPU-hours used)."""
        return workload_cost_by_year(self._result)

    def utilization(self, by: tuple[str, ...] = ("month", "channel", "gpu")) -> pd.DataFrame:
        """Share of owned and reserved GPU-hours that served tokens, grouped `by`."""
        return utilization(self._result, by)


__all__ = ["LIMIT_WORDS", "UNALLOCATED", "Statistics", "accounting_by_year",
           "allocate_by_gpu_hours", "capital_charge_by_month", "committed_by_year",
           "gpu_hours_used", "limit_rows", "next_year_locked", "utilization",
           "workload_cost_by_year"]
