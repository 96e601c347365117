"""Money: pure functions of SPEC section 7. No YAML, no PuLP; amounts in one currency per call.

Conventions: rates are yearly fractions (0.133 = 13.3%); a year is 8760 hours, a month 730.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from planner.errors import InputError
from planner.schemas import Api, Finance, Gpu, Offer, Workload
from planner.units import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    MONTHS_PER_YEAR,
    TOKENS_PER_MTOK,
    month_index,
)


def capital_per_gpu_hour(capex: float, cost_of_capital: float, years: float,
                         method: str = "straight_line") -> float:
    """Capital cost of one owned GPU per hour of its depreciation life.

    straight_line (seed 000): capex x (1 + r x years) / (years x 8760), simple interest.
    annuity: the level yearly payment capex x r(1+r)^n / ((1+r)^n - 1), spread over 8760 h.

    >>> round(capital_per_gpu_hour(34698, 0.133, 4), 3)
    1.517
    """
    if years <= 0:
        raise ValueError("years must be positive")
    if method == "straight_line":
        return capex * (1 + cost_of_capital * years) / (years * HOURS_PER_YEAR)
    if method == "annuity":
        return capex * annuity_factor(cost_of_capital, years) / HOURS_PER_YEAR
    raise ValueError(f"unknown depreciation method {method!r}")


def annuity_factor(rate: float, years: float) -> float:
    """Yearly payment per unit of capital: r(1+r)^n / ((1+r)^n - 1); 1/n when r = 0.

    >>> annuity_factor(0.0, 4)
    0.25
    """
    if rate == 0:
        return 1.0 / years
    # (1+r)^n - 1 as expm1(n log1p r): exact for tiny r, where (1 + 1e-30) ** 4 - 1 is 0.
    gain = math.expm1(years * math.log1p(rate))
    return rate * (1 + gain) / gain


def colocation_per_gpu_hour(colocation_per_kw_month: float, provisioned_kw_per_gpu: float) -> float:
    """Colocation billed per provisioned kW per month, per GPU-hour: x kW x 12 / 8760."""
    return colocation_per_kw_month * provisioned_kw_per_gpu * MONTHS_PER_YEAR / HOURS_PER_YEAR


def electricity_per_gpu_hour(power_kw: float, pue: float, electricity_per_kwh: float) -> float:
    """Energy of one GPU at board power for one hour, with facility overhead (PUE)."""
    return power_kw * pue * electricity_per_kwh


def staff_per_gpu_hour(staff_cost_per_year: float, gpus_per_staff: float | None) -> float:
    """Operations staff cost spread over the GPUs one person runs; 0 when not set."""
    if not staff_cost_per_year or not gpus_per_staff:
        return 0.0
    return staff_cost_per_year / gpus_per_staff / HOURS_PER_YEAR


def owned_opex_per_gpu_hour(gpu: Gpu, finance: Finance) -> float:
    """Running cost of one owned GPU per hour (colocation, electricity, staff, other opex),
    in finance.currency."""
    return (colocation_per_gpu_hour(finance.colocation_per_kw_month, finance.provisioned_kw_per_gpu)
            + electricity_per_gpu_hour(gpu.power_kw, finance.pue, finance.electricity_per_kwh)
            + staff_per_gpu_hour(finance.staff_cost_per_year, finance.gpus_per_staff)
            + finance.other_opex_per_gpu_year / HOURS_PER_YEAR)


def cost_per_mtok(price_per_gpu_hour: float, tokens_per_gpu_hour: float,
                  utilization: float = 1.0) -> float:
    """Seed 003: price per GPU-hour / (tokens per GPU-hour x utilization), per million tokens.

    >>> round(cost_per_mtok(2.00, 442 * 3600, 0.75), 3)
    1.676
    """
    if tokens_per_gpu_hour <= 0 or utilization <= 0:
        raise ValueError("tokens per GPU-hour and utilization must be positive")
    return price_per_gpu_hour / (tokens_per_gpu_hour * utilization) * 1e6


def discount_factor(month_offset: float, yearly_rate: float) -> float:
    """Present value of 1 paid `month_offset` months after the start: (1 + r)^(-m/12)."""
    return (1 + yearly_rate) ** (-month_offset / MONTHS_PER_YEAR)


def book_value(price: float, age_months: float, depreciation_years: float) -> float:
    """Straight-line book value after `age_months`, never below zero."""
    remaining = 1 - age_months / (depreciation_years * MONTHS_PER_YEAR)
    return price * max(remaining, 0.0)


def months_between(start: date | str, month: str) -> int:
    """Whole months from `start` (a date or 'YYYY-MM') to `month` ('YYYY-MM')."""
    start_text = start if isinstance(start, str) else f"{start.year:04d}-{start.month:02d}"
    return month_index(month) - month_index(start_text)


def trended_price(price: float, as_of: date | str, month: str, change_per_year: float) -> float:
    """A price that moves by `change_per_year` (e.g. -0.15) compounding from its as_of date."""
    return price * (1 + change_per_year) ** (months_between(as_of, month) / MONTHS_PER_YEAR)


def monthly_rental_price(offer: Offer) -> float:
    """Price of renting one GPU for a whole month (730 h for hourly prices)."""
    if offer.price_per_gpu_month is not None:
        return offer.price_per_gpu_month
    if offer.price_per_gpu_hour is not None:
        return offer.price_per_gpu_hour * HOURS_PER_MONTH
    raise ValueError("a purchase offer has no rental price")


def hourly_rental_price(offer: Offer) -> float:
    """Price of one GPU-hour on a rental offer (monthly prices spread over 730 h)."""
    if offer.price_per_gpu_hour is not None:
        return offer.price_per_gpu_hour
    return monthly_rental_price(offer) / HOURS_PER_MONTH


def simple_payback_months(purchase_price: float, monthly_rental: float) -> float:
    """Seed 001's breakeven: months of rent that add up to the purchase price.

    >>> round(simple_payback_months(100000, 6500), 1)
    15.4
    """
    return purchase_price / monthly_rental


def no_fx_rate(currency: str, reporting: str, rates: list[str]) -> str:
    """The one message for a currency that finance.fx cannot convert into `reporting`."""
    known = ", ".join(sorted(rates)) or "none"
    return (f"currency {currency!r} has no exchange rate into the reporting currency "
            f"{reporting!r}; allowed: {reporting} or a currency in finance.fx ({known}); add "
            f"fx.{currency} to finance.yaml or --set finance.fx.{currency}=RATE (units of "
            f"{reporting} per {currency})")


def fx_rate(from_currency: str, to_currency: str, finance: Finance) -> float:
    """Units of `to_currency` per unit of `from_currency`, through finance.fx.

    finance.fx holds units of finance.currency per unit of each other currency.
    """
    def in_base(currency: str) -> float:
        if currency == finance.currency:
            return 1.0
        if currency not in finance.fx:
            raise InputError(no_fx_rate(currency, finance.currency, list(finance.fx)))
        return finance.fx[currency]

    return in_base(from_currency) / in_base(to_currency)


def convert(amount: float, from_currency: str, to_currency: str, finance: Finance) -> float:
    """Convert an amount between currencies through the FX table."""
    if from_currency == to_currency:
        return amount
    return amount * fx_rate(from_currency, to_currency, finance)


# Fields of finance.yaml that are amounts of money (in finance.currency); the rest are rates,
# counts, kW or choices and do not change with the currency.
FINANCE_MONEY_FIELDS = ("colocation_per_kw_month", "electricity_per_kwh", "staff_cost_per_year",
                        "other_opex_per_gpu_year", "site_setup_cost", "site_fixed_cost_per_year")


def restate_finance(finance: Mapping[str, Any], currency: str,
                    keep: Iterable[str] = ()) -> dict[str, Any] | None:
    """finance.yaml (a raw mapping) restated in `currency` through its own fx: every money field
    times the rate, fx rebased on the new currency, `currency` set. Fields named in `keep` (set by
    the scenario itself) are left out. Returns the changed fields, or None when finance.fx has no
    rate for `currency`. Malformed values are skipped (the schema reports them).

    >>> restate_finance({"currency": "USD", "fx": {"CNY": 0.125}, "electricity_per_kwh": 0.1,
    ...                  "site_setup_cost": 1000}, "CNY", keep=["site_setup_cost"])
    {'currency': 'CNY', 'fx': {'USD': 8.0}, 'electricity_per_kwh': 0.8}
    """
    base = finance.get("currency")
    if currency == base:
        return {}
    fx = finance.get("fx") if isinstance(finance.get("fx"), Mapping) else {}
    rate = fx.get(currency)
    if not _is_amount(rate) or rate <= 0:
        return None
    keep = set(keep)
    changed: dict[str, Any] = {}
    if "currency" not in keep:
        changed["currency"] = currency
    if "fx" not in keep:  # units of `currency` per unit of each other currency
        rebased = {base: 1 / rate} if isinstance(base, str) else {}
        rebased.update({c: r / rate for c, r in fx.items()
                        if c != currency and _is_amount(r)})
        changed["fx"] = rebased
    for name in FINANCE_MONEY_FIELDS:
        value = finance.get(name)
        if name not in keep and _is_amount(value):
            changed[name] = value / rate
    return changed


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- owned TCO


@dataclass(frozen=True)
class OwnedCostPerHour:
    """Cost of one owned GPU per GPU-hour, by part, in one currency (SPEC section 7)."""

    capital: float
    colocation: float
    electricity: float
    staff: float
    other: float

    @property
    def opex(self) -> float:
        """Everything but capital: colocation, electricity, staff and other opex."""
        return self.colocation + self.electricity + self.staff + self.other

    @property
    def total(self) -> float:
        return self.capital + self.opex


def owned_cost_per_gpu_hour(capex: float, power_kw: float, finance: Finance, *,
                            years: float | None = None,
                            method: str | None = None) -> OwnedCostPerHour:
    """Seed 000's TCO chain for one GPU bought at `capex` (in finance.currency).

    `years` and `method` default to finance.depreciation_years and finance.depreciation_method.
    """
    years = finance.depreciation_years if years is None else years
    method = finance.depreciation_method if method is None else method
    return OwnedCostPerHour(
        capital=capital_per_gpu_hour(capex, finance.cost_of_capital, years, method),
        colocation=colocation_per_gpu_hour(finance.colocation_per_kw_month,
                                           finance.provisioned_kw_per_gpu),
        electricity=electricity_per_gpu_hour(power_kw, finance.pue, finance.electricity_per_kwh),
        staff=staff_per_gpu_hour(finance.staff_cost_per_year, finance.gpus_per_staff),
        other=finance.other_opex_per_gpu_year / HOURS_PER_YEAR,
    )


# --------------------------------------------------------------------------- buy vs rent


def capital_cost_to_month(capex: float, cost_of_capital: float, months: float,
                          method: str = "straight_line") -> float:
    """Cost of capital accrued on a price paid at month 0, after `months` months.

    straight_line: simple interest on the whole price, capex x r x m/12 (seed 000's convention,
    the same interest that capex x (1 + r x years) spreads over the life);
    annuity: compound interest, capex x ((1 + r)^(m/12) - 1) (the time value the annuity uses).

    >>> capital_cost_to_month(1200, 0.12, 6)
    72.0
    """
    if method == "straight_line":
        return capex * cost_of_capital * months / MONTHS_PER_YEAR
    if method == "annuity":
        return capex * ((1 + cost_of_capital) ** (months / MONTHS_PER_YEAR) - 1)
    raise ValueError(f"unknown depreciation method {method!r}")


def breakeven_months(purchase_price: float, monthly_rent: float, monthly_opex: float,
                     cost_of_capital: float, depreciation_years: float,
                     method: str = "straight_line") -> int | None:
    """First whole month m (1-based) in which owning has cost strictly less than renting so far.

    owning(m)  = purchase_price + capital_cost_to_month(m) + monthly_opex x m
    renting(m) = monthly_rent x m
    No resale or book value is credited (the purchase is sunk: with the book value counted both
    sides grow at a constant rate and there is no crossing month). None when owning does not
    win within depreciation_years x 12 months.

    >>> breakeven_months(1200, 150, 20, 0.12, 4)  # 1200 + 12m + 20m < 150m from m = 11
    11
    """
    last_month = math.ceil(depreciation_years * MONTHS_PER_YEAR - 1e-9)
    for month in range(1, last_month + 1):
        owning = (purchase_price + capital_cost_to_month(purchase_price, cost_of_capital, month,
                                                         method) + monthly_opex * month)
        if owning < monthly_rent * month:
            return month
    return None


# --------------------------------------------------------------------------- API vs self-host


def api_cost(input_tokens: float, output_tokens: float, input_per_mtok: float,
             output_per_mtok: float, cached_input_tokens: float = 0.0,
             cached_input_per_mtok: float | None = None) -> float:
    """Bill of an API for a token volume, in the API's currency.

    `cached_input_tokens` are part of `input_tokens` and billed at the cached-input price (at the
    input price when the API has none).

    >>> round(api_cost(240e6, 120e6, 0.20, 0.42), 2)  # seed 001: 240 x 0.20 + 120 x 0.42
    98.4
    """
    if cached_input_tokens > input_tokens:
        raise ValueError("cached input tokens are part of the input tokens and cannot exceed them")
    cached_price = input_per_mtok if cached_input_per_mtok is None else cached_input_per_mtok
    return ((input_tokens - cached_input_tokens) * input_per_mtok
            + cached_input_tokens * cached_price
            + output_tokens * output_per_mtok) / TOKENS_PER_MTOK


def api_price_per_mtok(api: Api, workload: Workload) -> float:
    """Price of one million tokens of the workload's mix on an API, in the API's currency, with
    the cached-input share and (for deferrable work) the batch discount."""
    inp, out = workload.input_tokens, workload.output_tokens
    per_request = api_cost(inp, out, api.input_per_mtok, api.output_per_mtok,
                               inp * workload.cached_input_fraction, api.cached_input_per_mtok)
    if workload.deferrable and api.batch_discount:
        per_request *= 1 - api.batch_discount
    return per_request / (inp + out) * TOKENS_PER_MTOK


def gpus_needed(tokens_per_month: float, tokens_per_gpu_hour: float, utilization: float = 1.0,
                tp: int = 1) -> int:
    """Whole GPUs, in whole tensor-parallel groups of `tp`, that serve a monthly volume:
    ceil(tokens / (tokens per GPU-hour x 730 x utilization)) rounded up to a multiple of tp.

    >>> gpus_needed(1e9, 1e6, 0.5, tp=2)  # 1e9 / (1e6 x 730 x 0.5) = 2.74 -> 3 -> 4
    4
    """
    if tokens_per_gpu_hour <= 0 or utilization <= 0:
        raise ValueError("tokens per GPU-hour and utilization must be positive")
    if tokens_per_month <= 0:
        return 0
    exact = tokens_per_month / (tokens_per_gpu_hour * HOURS_PER_MONTH * utilization)
    gpus = math.ceil(exact - 1e-9)
    return max(tp, math.ceil(gpus / tp) * tp)


def breakeven_tokens_per_month(monthly_cost: float, api_cost_per_mtok: float,
                               capacity_tokens_per_month: float) -> float | None:
    """Monthly volume above which a fixed-cost deployment beats an API: cost / API price,
    or None when the deployment is full before it gets there (or the API is free).

    >>> breakeven_tokens_per_month(1000.0, 2.0, 1e9)  # 1000 / 2 per Mtok = 500 Mtok
    500000000.0
    """
    if api_cost_per_mtok <= 0:
        return None
    volume = monthly_cost / api_cost_per_mtok * TOKENS_PER_MTOK
    return volume if volume <= capacity_tokens_per_month else None
