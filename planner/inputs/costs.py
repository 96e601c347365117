"""The money of each channel (SPEC section 7): one definition for the plan's objective
(planner.optimize.build prices each option per GPU with these) and for the cash its results report
(planner.results multiplies the same flows by the GPUs chosen). Pure functions, no PuLP.

A flow is (month offset, category, amount): cash paid at the start of that month, undiscounted.
Categories are those of the yearly budget: capex, opex, reserved, on_demand, spot, api.

The horizon's end, one rule for every commitment: only the cost of service inside the horizon
counts in the net present cost. Owned GPUs are credited their straight-line book value at the
end (the unexpired share of the price); a reservation's payments after the end are its unexpired
share and are not counted (they are still reported as cash in the years they are paid, and
listed in the commitments as what stays committed after the horizon). With a 12-month life and
no discounting, a GPU bought for 12 x P and a 12-month reservation at P a month both cost 8 x P
over an 8-month horizon (tests/test_orderable.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from planner.units import HOURS_PER_MONTH

Flow = tuple[int, str, float]


def purchase_flows(price_per_gpu: float, month: int, serves_from: int | None, horizon: int,
                   opex_per_gpu_hour: float) -> list[Flow]:
    """One GPU bought in `month`: its price then, and owned opex every month it serves (from
    the first month of the period it serves from to the horizon's end)."""
    flows: list[Flow] = [(month, "capex", price_per_gpu)]
    if serves_from is not None:
        monthly = opex_per_gpu_hour * HOURS_PER_MONTH
        flows += [(m, "opex", monthly) for m in range(serves_from, horizon)]
    return flows


def reservation_flows(price_per_gpu_month: float, month: int, term_months: int) -> list[Flow]:
    """One GPU reserved from `month`: its monthly price every month of the term, also past the
    horizon's end (cash; present_cost counts only the months inside the horizon)."""
    return [(m, "reserved", price_per_gpu_month) for m in range(month, month + term_months)]


def rental_flows(channel: str, price_per_gpu_hour: Callable[[int], float], months: Iterable[int],
                 share_of_hours: float) -> list[Flow]:
    """One GPU rented on demand or on spot for `share_of_hours` of every hour of `months`
    (a slice's share of the day, times availability for spot or the hours spot is away for
    on-demand backup)."""
    return [(m, channel, price_per_gpu_hour(m) * HOURS_PER_MONTH * share_of_hours)
            for m in months]


def api_flows(price_per_mtok: Callable[[int], float], months: Iterable[int],
              mtok_per_month: float) -> list[Flow]:
    """`mtok_per_month` million tokens sent to an API in every one of `months`."""
    return [(m, "api", price_per_mtok(m) * mtok_per_month) for m in months]


def counts(month: int, horizon: int) -> bool:
    """Whether cash of this month counts in the net present cost (the horizon's end rule)."""
    return month < horizon


def present_cost(flows: Iterable[Flow], discount: Callable[[int], float], horizon: int,
                 credit: float = 0.0) -> float:
    """Net present cost of flows: cash inside the horizon discounted to the start, less a
    book-value `credit` discounted from the horizon's end."""
    total = sum(amount * discount(m) for m, _, amount in flows if counts(m, horizon))
    return total - credit * discount(horizon) if credit else total


__all__ = ["Flow", "api_flows", "counts", "present_cost", "purchase_flows", "rental_flows",
           "reservation_flows"]
