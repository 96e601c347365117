"""`planner sensitivity`: which assumption moves the answer most (SPEC section 9).

For each main assumption the scenario is planned again at a low and a high value (the plan
re-optimised, not just repriced): npv and next year's cash at each end, and the build / rent /
API choice. Where the choice at an end differs from the base plan's, bisection on the assumption
finds the value at which it flips.

How each assumption moves (delta D, 0.2 by default):
- levels (demand, API prices, rental prices, purchase prices, throughput): a factor 1 - D and
  1 + D on the base (`low`, `high` are those factors);
- cost of capital: the discount rate x (1 - D) and x (1 + D) (`low`, `high` are the rates);
- utilization: x (1 - D), x (1 + D) capped at 1 (the rates);
- yearly changes (demand growth, API and rental price trends): the base rate - D and + D, in
  points a year (0.2: 20 points), never at or below -100% a year (`low`, `high` are the rates;
  for growth, what is added to each workload's growth_per_year).
All but throughput are `--set` overrides on the loaded scenario (recorded in each plan); the
throughput factor scales the plan's tokens per GPU-hour, measured or modelled alike.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.inputs import PlanInputs, build_inputs
from planner.loading import Loaded, load
from planner.optimize.plan import optimize
from planner.results import PlanResult
from planner.units import MONTHS_PER_YEAR, month_index

DEFAULT_DELTA = 0.2
BISECTION_STEPS = 6  # the flip is found within 1/64 of the bracket
LOWEST_RATE = -0.95  # a yearly change at or below -100% has no meaning
CHOICES = {"purchase": "build", "reserved": "rent", "on_demand": "rent", "spot": "rent",
           "api": "api"}


@dataclass(frozen=True)
class Assumption:
    """One assumption: `name`, what `low`/`high` mean (`unit`), its base value and how a value
    becomes a plan input: extra `--set` strings, and a factor on tokens per GPU-hour."""

    name: str
    unit: str
    base: float
    low: float
    high: float
    sets: Callable[[float], list[str]]
    throughput: Callable[[float], float] = lambda _value: 1.0


@dataclass
class SensitivityResult:
    """Rows (one per assumption, largest npv swing first) and the base plan's figures.

    rows: assumption, unit, base, low, high, npv_low, npv_high, swing (|npv_high - npv_low|),
    next_year_cash_low, next_year_cash_high, choice_low, choice_high, flips_at (the value at
    which the build/rent/API choice leaves the base plan's, or None within [low, high])."""

    scenario: str
    currency: str
    delta: float
    next_year: int
    base: dict[str, Any]
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in row.items()} for row in self.rows.to_dict(orient="records")]
        return {"scenario": self.scenario, "currency": self.currency, "delta": self.delta,
                "next_year": self.next_year, "base": self.base, "rows": rows,
                "notes": self.notes}


def choice(result: PlanResult) -> str:
    """build, rent or api: the class of channels serving the most tokens."""
    shares: dict[str, float] = {}
    for channel, share in result.mix().items():
        shares[CHOICES[channel]] = shares.get(CHOICES[channel], 0.0) + share
    return max(sorted(shares), key=lambda c: shares[c])


def next_year_cash(result: PlanResult, year: int) -> float:
    return float(result.years["total"].get(year, 0.0))


def assumptions(loaded: Loaded, delta: float
                ) -> tuple[list[Assumption], list[tuple[str, str]]]:
    """The main assumptions of a loaded scenario, and notes (assumption, text) on those left
    out or capped."""
    fin = loaded.finance
    scenario = loaded.scenario
    notes: list[tuple[str, str]] = []
    out: list[Assumption] = []

    def factor(name: str, sets: Callable[[float], list[str]], **kw: Any) -> None:
        out.append(Assumption(name, "x base", 1.0, 1 - delta, 1 + delta, sets, **kw))

    def rate(value: float) -> float:
        return max(LOWEST_RATE, value)

    # A multiplier the scenario already applies (a variant, --set) is composed, not replaced:
    # the loader lets the last multiplier win and scales offer prices after path overrides.
    demand_m = _multiplier(loaded, "demand_multiplier")
    api_m = _multiplier(loaded, "api_price_multiplier")
    gpu_m = _multiplier(loaded, "gpu_price_multiplier")
    factor("demand level", lambda f: [f"demand_multiplier={demand_m * f!r}"])
    growth = {w: wl.demand.growth_per_year for w, wl in scenario.workloads.items()
              if getattr(wl.demand, "growth_per_year", None) is not None}
    if growth:
        lowest = min(growth.values())
        low_shift = max(-delta, LOWEST_RATE - lowest)
        out.append(Assumption(
            "demand growth", "added to growth per year", 0.0, low_shift, delta,
            lambda s: [f"workloads.{w}.demand.growth_per_year={rate(g + s)!r}"
                       for w, g in growth.items()]))
    else:
        notes.append(("demand growth", "demand growth left out: every workload gives its "
                      "demand as a series"))
    factor("API prices", lambda f: [f"api_price_multiplier={api_m * f!r}"])
    api_trend = fin.api_price_change_per_year
    out.append(Assumption("API price trend", "per year", api_trend, rate(api_trend - delta),
                          api_trend + delta,
                          lambda r: [f"finance.api_price_change_per_year={r!r}"]))
    offers = loaded.catalog.offers
    rentals = {oid: o for oid, o in offers.items() if o.channel != "purchase"}
    bought = {oid: o for oid, o in offers.items() if o.channel == "purchase"}

    def price_sets(pool: dict, f: float) -> list[str]:
        sets = []
        for oid, offer in pool.items():
            for name in ("price_per_gpu", "price_per_gpu_hour", "price_per_gpu_month"):
                value = getattr(offer, name, None)
                if value is not None:  # gpu_price_multiplier applies on top again
                    sets.append(f"offers.{oid}.{name}={value / gpu_m * f!r}")
        return sets

    factor("rental prices", lambda f: price_sets(rentals, f))
    rental_trend = fin.rental_price_change_per_year
    out.append(Assumption("rental price trend", "per year", rental_trend,
                          rate(rental_trend - delta), rental_trend + delta,
                          lambda r: [f"finance.rental_price_change_per_year={r!r}"]))
    factor("purchase prices", lambda f: price_sets(bought, f))
    discount = fin.effective_discount_rate
    out.append(Assumption("cost of capital", "discount rate per year", discount,
                          discount * (1 - delta), discount * (1 + delta),
                          lambda r: [f"finance.discount_rate={r!r}"]))
    if discount == 0:
        notes.append(("cost of capital", "the discount rate is 0, so its low and high are 0 "
                      "too: the row moves nothing"))
    use = fin.utilization
    out.append(Assumption("utilization", "share of paid GPU-hours", use, use * (1 - delta),
                          min(1.0, use * (1 + delta)),
                          lambda u: [f"finance.utilization={u!r}"]))
    if use >= 1.0:
        notes.append(("utilization", "utilization is already 1: its high end stays at 1"))
    factor("throughput", lambda _f: [], throughput=lambda f: f)
    return out, notes


def _multiplier(loaded: Loaded, key: str) -> float:
    """The stress multiplier `key` the loaded scenario applies (the last one wins), or 1."""
    value = 1.0
    for override in loaded.overrides:
        if override.path == key:
            value = float(override.value)
    return value


def sensitivity(scenario: Path | str, *, delta: float = DEFAULT_DELTA,
                catalog_dir: Path | str | None = None, sets: Iterable[str] = (),
                variant: str | None = None, solver: str = "highs",
                time_limit: float | None = None, mip_gap: float | None = None,
                only: Iterable[str] | None = None,
                progress: Callable[[str], None] | None = None) -> SensitivityResult:
    """Plan the scenario at -delta / +delta of each main assumption (module docstring).

    `only`: names of the assumptions to run (default all). Raises InputError for a delta
    outside (0, 1) or an unknown name."""
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise InputError(f"--delta {delta!r}: allowed: a fraction between 0 and 1, e.g. 0.2")
    base_sets = list(sets)
    loaded = load(scenario, catalog_dir=catalog_dir, sets=base_sets, variant=variant)
    chosen, notes = assumptions(loaded, delta)
    if only is not None:
        names = list(dict.fromkeys([a.name for a in chosen] + [name for name, _ in notes]))
        by_lower = {name.lower(): name for name in names}
        unknown = [n for n in only if n.strip().lower() not in by_lower]
        if unknown:
            raise InputError(f"--only {unknown[0]!r}: unknown assumption; allowed: "
                             + ", ".join(names))
        wanted = [by_lower[n.strip().lower()] for n in only]
        chosen = [a for a in chosen if a.name in wanted]
        notes = [(name, text) for name, text in notes if name in wanted]
    say = progress or (lambda _text: None)
    options = {"solver": solver, "time_limit": time_limit}
    if mip_gap is not None:
        options["mip_gap"] = mip_gap

    def run(assumption: Assumption | None, value: float) -> PlanResult:
        extra = assumption.sets(value) if assumption else []
        here = load(scenario, catalog_dir=catalog_dir, sets=[*base_sets, *extra],
                    variant=variant) if extra else loaded
        inputs = build_inputs(here)
        scale = assumption.throughput(value) if assumption else 1.0
        if scale != 1.0:
            inputs = _scaled_throughput(inputs, scale)
        provenance = {"scenario": here.scenario.name, "variant": variant,
                      "overrides": here.overrides_as_dicts()}
        return optimize(inputs, provenance=provenance, **options)

    say("planning the base case ...")
    base = run(None, 0.0)
    start_year = month_index(loaded.scenario.start) // MONTHS_PER_YEAR
    next_year = start_year + 1 if start_year + 1 in base.years.index else start_year
    base_choice = choice(base)
    rows = []
    for assumption in chosen:
        say(f"{assumption.name}: low and high ...")
        low, high = run(assumption, assumption.low), run(assumption, assumption.high)
        flips_at = None
        for end, plan_at_end in ((assumption.low, low), (assumption.high, high)):
            if flips_at is None and choice(plan_at_end) != base_choice:
                say(f"{assumption.name}: the choice flips; bisecting ...")
                flips_at = _bisect(lambda v, a=assumption: choice(run(a, v)) != base_choice,
                                   assumption.base, end)
        rows.append({
            "assumption": assumption.name, "unit": assumption.unit, "base": assumption.base,
            "low": assumption.low, "high": assumption.high,
            "npv_low": low.npv, "npv_high": high.npv,
            "swing": abs(high.npv - low.npv),
            "next_year_cash_low": next_year_cash(low, next_year),
            "next_year_cash_high": next_year_cash(high, next_year),
            "choice_low": choice(low), "choice_high": choice(high), "flips_at": flips_at})
    table = pd.DataFrame(rows, columns=[
        "assumption", "unit", "base", "low", "high", "npv_low", "npv_high", "swing",
        "next_year_cash_low", "next_year_cash_high", "choice_low", "choice_high", "flips_at"])
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    base_figures = {"npv": base.npv, "next_year_cash": next_year_cash(base, next_year),
                    "choice": base_choice, "mix": base.mix()}
    return SensitivityResult(scenario=loaded.scenario.name, currency=base.currency,
                             delta=float(delta), next_year=next_year, base=base_figures,
                             rows=table, notes=[text for _, text in notes])


def _bisect(flipped: Callable[[float], bool], inside: float, outside: float) -> float:
    """The value between `inside` (base choice) and `outside` (flipped) where the choice
    changes, to 1/2^BISECTION_STEPS of the bracket: the first value found flipped."""
    for _ in range(BISECTION_STEPS):
        middle = (inside + outside) / 2
        if flipped(middle):
            outside = middle
        else:
            inside = middle
    return outside


def _scaled_throughput(inputs: PlanInputs, factor: float) -> PlanInputs:
    capacity = inputs.capacity.assign(mtok_per_gpu_hour=inputs.capacity["mtok_per_gpu_hour"]
                                      * factor)
    return replace(inputs, capacity=capacity)


def render(result: SensitivityResult, width: int = 100) -> str:
    """The tornado as a table within `width` columns, largest swing first."""
    cur = result.currency
    base = result.base
    lines = [f"Sensitivity of {result.scenario} (delta {result.delta:g}; each plan "
             "re-optimised)",
             f"Base: npv {_money(base['npv'])} {cur}; {result.next_year} cash "
             f"{_money(base['next_year_cash'])} {cur}; choice {base['choice']}", "",
             f"{'assumption':<19}{'low':>8}{'high':>8}{'npv low':>12}{'npv high':>12}"
             f"{'cash low':>12}{'cash high':>12}  flips at"]
    for row in result.rows.to_dict(orient="records"):
        flips = "-"
        if row["flips_at"] is not None and not pd.isna(row["flips_at"]):
            to = row["choice_low"] if row["choice_low"] != base["choice"] else row["choice_high"]
            flips = f"{row['flips_at']:.3g} (to {to})"
        lines.append(f"{row['assumption']:<19}{row['low']:>8.3g}{row['high']:>8.3g}"
                     f"{_money(row['npv_low']):>12}{_money(row['npv_high']):>12}"
                     f"{_money(row['next_year_cash_low']):>12}"
                     f"{_money(row['next_year_cash_high']):>12}  {flips}")
    lines += ["", "low/high: factors on the base for levels; rates for cost of capital, "
              "utilization and trends;", "  for demand growth, what is added to each workload's "
              f"growth_per_year. cash: {result.next_year}'s cash ({cur}).",
              "flips at: the value where the plan's main channel (build, rent or API) leaves "
              "the base plan's."]
    lines += [f"Note: {n}." for n in result.notes]
    return "\n".join(line[:width] for line in lines)


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def stderr_progress(text: str) -> None:
    """Progress on stderr when it is a terminal (SPEC: long work shows progress)."""
    if sys.stderr.isatty():
        print(text, file=sys.stderr)


__all__ = ["DEFAULT_DELTA", "SensitivityResult", "assumptions", "choice", "render",
           "sensitivity"]
