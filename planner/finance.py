"""Money: pure functions of SPEC section 7. No YAML, no PuLP; amounts in one currency per call.

Conventions: rates are yearly fractions (0.133 = 13.3%); a year is 8760 hours, a month 730.
"""

from __future__ import annotations

from datetime import date

from planner.errors import InputError
from planner.schemas import Finance, Gpu, Offer
from planner.units import HOURS_PER_MONTH, HOURS_PER_YEAR, MONTHS_PER_YEAR, month_index


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
    growth = (1 + rate) ** years
    return rate * growth / (growth - 1)


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


def fx_rate(from_currency: str, to_currency: str, finance: Finance) -> float:
    """Units of `to_currency` per unit of `from_currency`, through finance.fx.

    finance.fx holds units of finance.currency per unit of each other currency.
    """
    def in_base(currency: str) -> float:
        if currency == finance.currency:
            return 1.0
        if currency not in finance.fx:
            known = ", ".join(sorted({finance.currency, *finance.fx}))
            raise InputError(f"currency {currency!r} has no FX rate in finance.fx "
                             f"(known: {known}); add fx.{currency} to finance.yaml or --set "
                             f"finance.fx.{currency}=RATE")
        return finance.fx[currency]

    return in_base(from_currency) / in_base(to_currency)


def convert(amount: float, from_currency: str, to_currency: str, finance: Finance) -> float:
    """Convert an amount between currencies through the FX table."""
    if from_currency == to_currency:
        return amount
    return amount * fx_rate(from_currency, to_currency, finance)
