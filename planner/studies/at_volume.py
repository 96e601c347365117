"""Which channel serves a workload's volume cheapest (`planner breakeven SCENARIO`, issue 17
item 8): each single channel priced the way the plan prices it.

The plan's own coefficient tables (planner.inputs.tables.build_inputs: its deployments,
utilization, prices per month, time slices with their busiest hour, book values) and the plan's
money (planner.inputs.costs: the flows and the horizon's-end rule its objective and results
use) price, for every workload alone, a fleet that serves its first month's demand for the
whole horizon on one channel:

- sized as the plan sizes it: whole replicas of the deployment's tp-GPU group covering each
  slice's busiest hour (at least min_replicas), in whole units of the offer (unit_gpus);
- on demand billed by the hour follows the day (GPUs per slice); billed by the month, and
  reserved or owned GPUs, hold the busiest slice's GPUs all day;
- spot for work that cannot wait pays on-demand backup of the same GPU for the (1 - a) of the
  hours it is away, in whole replicas and whole offer units as the plan's backup; deferrable
  work on spot needs 1/a as many replicas, paid a of the hours;
- a reservation is signed in month 0 and again at each term's end; only months inside the
  horizon count; a purchase is bought in month 0, serves after its lead time (on-demand of the
  same GPU covers the lead time), pays owned opex, is credited its book value at the end, and
  pays the site's setup and fixed cost;
- the API pays its price per Mtok each month (rate limits are not applied).

The figure reported is the net present cost over the horizon and the level monthly payment
with the same present value. The plan itself may mix channels, share replicas between
workloads and follow demand growth; with one workload and flat demand its cost equals the
cheapest single channel's here when one channel serves everything (tests/test_breakeven_plan.py).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from planner.inputs import costs
from planner.inputs.tables import PlanInputs, mtok_per_hour


def _replicas(rate: float, per_replica: float, least: int) -> int:
    whole = math.ceil(rate / per_replica - 1e-9) if rate > 0 else 0
    return max(whole, least)


def _whole_units(gpus: int, unit: int) -> int:
    return math.ceil(gpus / unit) * unit


def _price_path(table: pd.DataFrame, column: str, months: int) -> dict[str, dict[int, float]]:
    """offer -> {month: price} for offers priced in every month of the horizon."""
    out: dict[str, dict[int, float]] = {}
    for offer, rows in table.groupby("offer", sort=True):
        prices = {int(m): float(p) for m, p in zip(rows["month"], rows[column], strict=True)}
        if all(m in prices for m in range(months)):
            out[str(offer)] = prices
    return out


def channel_options(inputs: PlanInputs, workload: str) -> list[dict[str, Any]]:
    """Every single-channel way to serve `workload`'s first-month volume for the horizon, each
    with its net present cost (`npv`) and level monthly cost, cheapest first."""
    horizon = inputs.months
    disc = [inputs.discount(m) for m in range(horizon + 1)]
    annuity = sum(disc[:horizon])

    def pv(flows: list, credit: float = 0.0) -> float:
        return costs.present_cost(flows, disc.__getitem__, horizon, credit=credit)

    demand = inputs.demand[(inputs.demand["workload"] == workload)
                           & (inputs.demand["month"] == 0)]
    hours = inputs.slices["hours_per_day"].astype(float).to_dict()
    busiest = (demand["busiest"] if "busiest" in demand.columns
               else pd.Series(1.0, index=demand.index))
    # Mtok per hour of each slice's busiest hour: what the GPUs held in the slice must serve.
    peak = {s: mtok_per_hour(float(mt), hours[s], 1) * float(b)
            for s, mt, b in zip(demand["slice"], demand["mtok"], busiest, strict=True)}
    fraction = {s: hours[s] / 24 for s in hours}
    mtok_month = float(demand["mtok"].sum())
    wl = inputs.workloads.loc[workload]
    least = int(wl.get("min_replicas", 0) or 0)
    deferrable, spot_ok = bool(wl["deferrable"]), bool(wl["spot_allowed"])
    options: list[dict[str, Any]] = []

    def add(channel: str, offer: str, npv: float, **detail: Any) -> None:
        options.append({"workload": workload, "channel": channel, "offer": offer, **detail,
                        "npv": npv, "monthly_cost": npv / annuity if annuity else 0.0})

    apis = inputs.apis[inputs.apis["workload"] == workload]
    for api, prices in _price_path(apis.rename(columns={"api": "offer"}), "price_per_mtok",
                                   horizon).items():
        add("api", api, pv(costs.api_flows(prices.__getitem__, range(horizon), mtok_month)),
            gpu=None, model=None, tp=None, gpus=0)

    rentals = inputs.rentals
    for unit_col, default in (("unit_gpus", 1), ("billing", "hour")):
        if unit_col not in rentals.columns:
            rentals = rentals.assign(**{unit_col: default})
    reserved = inputs.reserved if "unit_gpus" in inputs.reserved.columns else \
        inputs.reserved.assign(unit_gpus=1)
    opex = inputs.gpus["opex_per_gpu_hour"].astype(float).to_dict()

    for dep in inputs.capacity[inputs.capacity["workload"] == workload].itertuples(index=False):
        g, tp = dep.gpu, int(dep.tp)
        per_replica = float(dep.mtok_per_gpu_hour) * tp

        def held(unit: int, derate: float = 1.0, tp: int = tp,
                 per_replica: float = per_replica) -> dict[str, int]:
            return {s: _whole_units(_replicas(r, per_replica * derate, least) * tp, unit)
                    for s, r in peak.items()}

        detail = {"gpu": g, "model": dep.model, "tp": tp}
        on_gpu = rentals[rentals["gpu"] == g]
        hourly: dict[str, dict[int, float]] = {}  # on-demand offer -> price path
        od_pv: dict[str, float] = {}  # on-demand offer -> pv of one GPU for every hour
        for channel in ("on_demand", "spot"):
            rows = on_gpu[on_gpu["channel"] == channel]
            for offer, prices in _price_path(rows, "price_per_gpu_hour", horizon).items():
                first = rows[rows["offer"] == offer].iloc[0]
                unit, billing = int(first["unit_gpus"]), str(first["billing"])
                a = float(first["availability"])

                def one_gpu(share: float, months: range = range(horizon),
                            prices: dict = prices, channel: str = channel) -> float:
                    return pv(costs.rental_flows(channel, prices.__getitem__, months, share))

                if channel == "on_demand":
                    hourly[offer], od_pv[offer] = prices, one_gpu(1.0)
                    gpus = held(unit)
                    if billing == "month":
                        most = max(gpus.values())
                        npv = most * one_gpu(1.0)
                    else:
                        npv = sum(n * one_gpu(fraction[s]) for s, n in gpus.items())
                    add(channel, offer, npv, **detail, gpus=max(gpus.values()))
                    continue
                if not spot_ok:
                    continue
                if deferrable:
                    gpus = held(unit, derate=a)
                    npv = sum(n * one_gpu(fraction[s] * a) for s, n in gpus.items())
                    add(channel, offer, npv, **detail, gpus=max(gpus.values()))
                    continue
                backup = _cheapest_on_demand(on_gpu, od_pv)
                if backup is None:
                    continue  # no firm capacity of this GPU for the hours spot is away
                b_unit, b_billing, b_pv = backup
                # As the plan's backup (add_spot_backup): whole replicas of the same
                # deployment hosting the work (min_replicas binds spot only), in whole units
                # of the on-demand offer.
                gpus = held(unit)
                backed = {s: _whole_units(_replicas(r, per_replica, 0) * tp, b_unit)
                          for s, r in peak.items()}
                npv = sum(n * one_gpu(fraction[s] * a) for s, n in gpus.items())
                npv += sum(n * b_pv * fraction[s] * (1.0 if b_billing == "month" else 1 - a)
                           for s, n in backed.items())
                add(channel, offer, npv, **detail, gpus=max(gpus.values()))

        for offer, rows in reserved[reserved["gpu"] == g].groupby("offer", sort=True):
            term = int(rows["term_months"].iloc[0])
            price = {int(m): float(p) for m, p in zip(rows["month"], rows["price_per_gpu_month"],
                                                      strict=True)}
            signed = range(0, horizon, term)
            if any(m not in price for m in signed):
                continue
            gpus = max(held(int(rows["unit_gpus"].iloc[0])).values())
            npv = gpus * sum(pv(costs.reservation_flows(price[m], m, term)) for m in signed)
            add("reserved", str(offer), npv, **detail, gpus=gpus, term_months=term)

        bought = inputs.purchases[(inputs.purchases["gpu"] == g)
                                  & (inputs.purchases["month"] == 0)]
        for row in bought.itertuples(index=False):
            lead = int(row.lead_time_months)
            serves = _first_period_from(inputs, lead)
            if serves is None:
                continue
            if serves and not od_pv:
                continue  # nothing serves the lead time on this GPU
            gpus_by_slice = held(int(row.unit_gpus))
            gpus = max(gpus_by_slice.values())
            flows = costs.purchase_flows(float(row.price_per_gpu), 0, serves, horizon,
                                         opex.get(g, 0.0))
            npv = gpus * pv(flows, credit=float(row.residual_per_gpu))
            npv += inputs.site_setup_cost + pv(
                [(m, "opex", inputs.site_fixed_cost_per_month) for m in range(horizon)])
            if serves:
                c_unit, c_prices = _cheapest_on_demand_path(on_gpu, od_pv, hourly)
                npv += sum(n * pv(costs.rental_flows(
                    "on_demand", c_prices.__getitem__, range(serves), fraction[s]))
                    for s, n in held(c_unit).items())
            add("purchase", row.offer, npv, **detail, gpus=gpus, lead_time_months=lead)
    options.sort(key=lambda o: (o["npv"], o["channel"], o["offer"]))
    return options


def _cheapest_on_demand(on_gpu: pd.DataFrame, od_pv: dict[str, float]
                        ) -> tuple[int, str, float] | None:
    """(unit_gpus, billing, pv of one GPU every hour) of the GPU's cheapest on-demand offer."""
    if not od_pv:
        return None
    offer = min(od_pv, key=lambda o: (od_pv[o], o))
    first = on_gpu[on_gpu["offer"] == offer].iloc[0]
    return int(first["unit_gpus"]), str(first["billing"]), od_pv[offer]


def _cheapest_on_demand_path(on_gpu: pd.DataFrame, od_pv: dict[str, float],
                             hourly: dict[str, dict[int, float]]
                             ) -> tuple[int, dict[int, float]]:
    """(unit_gpus, price path) of the GPU's cheapest on-demand offer."""
    unit, _, _ = _cheapest_on_demand(on_gpu, od_pv)
    return unit, hourly[min(od_pv, key=lambda o: (od_pv[o], o))]


def _first_period_from(inputs: PlanInputs, month: int) -> int | None:
    """The first month of the first period starting at or after `month` (the plan's rule for
    when a purchase starts serving); None after the horizon."""
    for first in inputs.periods["first"]:
        if int(first) >= month:
            return int(first)
    return None


def cheapest_channels(inputs: PlanInputs) -> list[dict[str, Any]]:
    """Per workload, the cheapest option of each channel (cheapest first): the rows of
    `breakeven`'s at-volume table; `wins` marks the cheapest of all."""
    rows = []
    for workload in inputs.workloads.index:
        seen: set[str] = set()
        for option in channel_options(inputs, str(workload)):
            if option["channel"] in seen:
                continue
            rows.append({**option, "wins": not seen})
            seen.add(option["channel"])
    return rows


__all__ = ["channel_options", "cheapest_channels"]
