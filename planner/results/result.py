"""The plan's result: tidy DataFrames + provenance; JSON dict, terminal text, CSV writer.

Pure pandas over the coefficient tables (planner.inputs) and the decision values
(planner.optimize.build.decision_values): every amount is recomputed from the decisions in
plain floats, so the money reported never depends on the solver's scaling. No PuLP here.

Money is in PlanResult.currency. Cash is undiscounted and booked at the start of its month; the
npv discounts it (SPEC section 7) and credits the owned fleet's book value at the horizon end.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.atomic import atomic_directory
from planner.inputs import PlanInputs, costs
from planner.jsonio import json_ready
from planner.results import statistics
from planner.results.workbook import WORKBOOK_FILE, write_workbook
from planner.schemas import GPU_CHANNELS, SERVED_CHANNELS
from planner.units import HOURS_PER_MONTH, month_index

# The columns that identify a first-stage commitment (stress compares plans by them).
COMMITMENT_COLUMNS = ["kind", "offer", "month", "gpus"]
# what a hedged plan commits differently from the base plan (planner.studies.hedge)
DIFFERENCE_COLUMNS = ["kind", "offer", "month", "base_gpus", "hedged_gpus", "change"]
CATEGORIES = ("capex", "opex", "reserved", "on_demand", "spot", "api")
ORDER_COLUMNS = ["month", "action", "offer", "provider", "gpu", "units", "gpus", "term_months",
                 "price_per_gpu"]
CHANNEL_WORDS = {"api": "API", "purchase": "owned GPUs", "reserved": "reserved GPUs",
                 "on_demand": "on-demand GPUs", "spot": "spot GPUs"}


@dataclass
class PlanResult:
    """A solved plan. DataFrames (for notebooks):

    years:       year -> capex, opex, reserved, on_demand, spot, api, total (cash, undiscounted)
    cash:        month, year, category, item (gpu, api or 'site'), workload, signed (month
                 offset the spend was decided: purchase, reservation or site opening; the month
                 itself for rentals and APIs), amount, pv
    fleet:       month, gpu, channel (purchase|reserved|on_demand|spot), gpus (peak over the
                 slices), avg_gpus (hour-weighted), gpu_hours (paid)
    served:      month, workload, channel, resource (gpu or api), mtok
    workloads:   workload -> mtok, npv, cost_per_mtok (levelized), shares by channel
    orders:      what to order, by month: month, action (buy | reserve | release: a reservation
                 ending inside the horizon), offer, provider, gpu, units, gpus, term_months,
                 price_per_gpu (locked when signed: per GPU for a purchase, per GPU-month for
                 a reservation)
    commitments: the first-stage decisions: kind, offer, gpu, month, gpus, servers, term_months,
                 price_per_gpu, serves_from, ends (last month of a reservation), after_horizon
                 (what stays committed after the horizon: a reservation's payments after its
                 end, an owned GPU's book value; not in the npv)
    """

    status: str
    currency: str
    npv: float
    total_cost: float
    residual_value: float
    years: pd.DataFrame
    cash: pd.DataFrame
    fleet: pd.DataFrame
    served: pd.DataFrame
    workloads: pd.DataFrame
    commitments: pd.DataFrame
    solver: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    orders: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORDER_COLUMNS))
    inputs: PlanInputs | None = None
    build_seconds: float = 0.0
    # Shadow prices of binding limits (planner.optimize.duals): limit, key, year,
    # value_per_unit (net present cost saved by one more unit).
    limits_value: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ views

    def periods(self) -> list[dict[str, Any]]:
        """Per period: GPUs held per channel and type, tokens served by API and self-hosted,
        and the period's cash."""
        inputs = self.inputs
        cash_by_month = self.cash.groupby("month")["amount"].sum().to_dict()
        # One pass over each frame (a filter per period and channel took 0.5 s on 48 periods).
        held: dict = defaultdict(lambda: defaultdict(dict))  # month -> channel -> {gpu: gpus}
        for month, channel, gpu, gpus in zip(self.fleet["month"], self.fleet["channel"],
                                             self.fleet["gpu"], self.fleet["gpus"], strict=True):
            held[month][channel][gpu] = float(gpus)
        mtok: dict = defaultdict(lambda: [0.0, 0.0])  # month -> [api, self-hosted]
        for month, channel, served in zip(self.served["month"], self.served["channel"],
                                          self.served["mtok"], strict=True):
            mtok[month][channel != "api"] += float(served)
        rows = []
        for p, label, first, count in zip(inputs.periods.index, inputs.periods["month"],
                                          inputs.periods["first"], inputs.periods["months"],
                                          strict=True):
            row: dict[str, Any] = {"month": label, "period": int(p)}
            for channel in GPU_CHANNELS:
                key = "owned" if channel == "purchase" else channel
                gpus = held[label][channel]
                row[f"{key}_gpus"] = float(sum(gpus.values()))
                row[key] = gpus
            row["api_mtok"], row["self_hosted_mtok"] = mtok[label]
            row["cash"] = float(sum(cash_by_month.get(m, 0.0)
                                    for m in range(int(first), int(first) + int(count))))
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `planner plan --json` (SPEC section 9)."""
        split = statistics.committed_by_year(self)
        years = [{"year": int(y), **{c: float(r[c]) for c in (*CATEGORIES, "total")},
                  "committed": float(split.loc[y, "committed"]),
                  "variable": float(split.loc[y, "variable"])}
                 for y, r in self.years.iterrows()]
        workloads = [{"workload": w, **{k: (None if isinstance(v, float) and math.isnan(v)
                                            else v) for k, v in r.items()}}
                     for w, r in self.workloads.iterrows()]
        return {
            "status": self.status, "currency": self.currency, "npv": self.npv,
            "total_cost": self.total_cost, "residual_value": self.residual_value,
            "years": years, "periods": self.periods(), "workloads": workloads,
            "commitments": self.commitments.to_dict(orient="records"),
            "orders": self.orders.to_dict(orient="records"),
            "mix": self.mix(), "next_year_locked": statistics.next_year_locked(self),
            "limits_value": statistics.limit_rows(self.limits_value, self.currency),
            "workload_years": statistics.workload_cost_by_year(self).to_dict(orient="records"),
            "accounting": statistics.accounting_by_year(self).reset_index().to_dict(
                orient="records"),
            "solver": self.solver, **self.provenance,
        }

    @property
    def statistics(self) -> statistics.Statistics:
        """Every statistic of the plan by name (committed, accounting, workload_costs,
        utilization, next_year_locked), computed by planner.results.statistics."""
        return statistics.Statistics(self)

    def mix(self) -> dict[str, float]:
        """Share of all tokens served by each channel."""
        total = float(self.served["mtok"].sum())
        by = self.served.groupby("channel")["mtok"].sum()
        return {c: float(by.get(c, 0.0)) / total if total else 0.0 for c in SERVED_CHANNELS}

    def mix_words(self) -> str:
        """The mix in one sentence: channels by share, with what each used."""
        mix = self.mix()
        parts = []
        for channel in sorted(mix, key=lambda c: -mix[c]):
            if mix[channel] < 0.0005:
                continue
            used = self.served[self.served["channel"] == channel]
            resources = used.groupby("resource")["mtok"].sum().sort_values(ascending=False)
            names = ", ".join(resources.index[:3])
            detail = f" ({names})" if names else ""
            if channel == "purchase" and len(self.commitments):
                bought = self.commitments[self.commitments["kind"] == "purchase"]
                if len(bought):
                    first = bought.sort_values("month").iloc[0]
                    detail = (f" ({int(bought['gpus'].sum()):,} {names} bought, first "
                              f"{first['month']})")
            parts.append(f"{mix[channel]:.0%} {CHANNEL_WORDS[channel]}{detail}")
        total = float(self.served["mtok"].sum())
        return (f"{format_number(total)} million tokens: " + ", ".join(parts)) if parts else \
            "no demand to serve"

    def order_lines(self, most: int = 12) -> list[str]:
        """The order schedule for the terminal: one line per order, the first `most`."""
        if not len(self.orders):
            return []
        lines = ["", f"Orders ({self.currency}; price locked per GPU, reserved per GPU-month)"]
        for row in self.orders.head(most).itertuples(index=False):
            term = f", {int(row.term_months)} months" if row.action == "reserve" else ""
            price = "" if row.action == "release" else f" at {format_number(row.price_per_gpu)}"
            per = row.gpus / row.units if row.units else 0
            gpus = f"{row.gpus:g} {row.gpu} GPU{'' if row.gpus == 1 else 's'}"
            if per != 1:  # offers in nodes: the units ordered, then the GPUs they hold
                gpus = f"{row.units:g} x {per:g}-GPU unit {row.gpu} = {row.gpus:g} GPUs"
            lines.append(f"  {row.month}  {row.action:<8} {gpus} ({row.offer}{term}){price}")
        if len(self.orders) > most:
            lines.append(f"  ... {len(self.orders) - most} more in orders.csv / --json")
        return lines

    def converted(self, currency: str, rate: float) -> PlanResult:
        """The same plan with every amount in another currency (rate: units of `currency` per
        unit of this result's currency)."""
        cur = self.currency
        years = self.years * rate
        cash = self.cash.assign(amount=self.cash["amount"] * rate, pv=self.cash["pv"] * rate)
        workloads = self.workloads.assign(npv=self.workloads["npv"] * rate,
                                          cost_per_mtok=self.workloads["cost_per_mtok"] * rate)
        commitments = self.commitments.assign(
            price_per_gpu=self.commitments["price_per_gpu"] * rate,
            after_horizon=self.commitments["after_horizon"] * rate)
        provenance = {**self.provenance, "converted_from": cur, "fx_rate": rate}
        # Per unit of money (capex budget) the value is a ratio; per MW, GPU or point it scales.
        limits_value = [{**r, "value_per_unit": r["value_per_unit"] * (
            1.0 if r["limit"] == "capex_budget_per_year" else rate)} for r in self.limits_value]
        orders = self.orders.assign(price_per_gpu=self.orders["price_per_gpu"] * rate)
        return replace(self, currency=currency, npv=self.npv * rate, limits_value=limits_value,
                       total_cost=self.total_cost * rate,
                       residual_value=self.residual_value * rate, years=years, cash=cash,
                       workloads=workloads, commitments=commitments, provenance=provenance,
                       orders=orders)

    # ------------------------------------------------------------------ files

    def write(self, directory: Path | str, *, force: bool = False) -> Path:
        """Tidy CSVs and plan.json into a new folder `directory`, written in a temporary folder
        and renamed into place (planner.report adds charts and HTML the same way)."""
        directory = Path(directory)
        with atomic_directory(directory, force=force) as temp:
            self.write_files(temp)
        return directory

    def write_files(self, folder: Path) -> None:
        """Tidy CSVs (unit-suffixed columns), the same tables as sheets of plan.xlsx, and
        plan.json into an existing `folder`."""
        for name, table in self.tables().items():
            table.to_csv(folder / f"{name}.csv", index=False)
        (folder / "plan.json").write_text(json.dumps(json_ready(self.to_dict()), indent=2),
                                          encoding="utf-8")
        write_workbook(self.tables(), folder / WORKBOOK_FILE)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables, columns suffixed with their unit (currency code, mtok, gpus)."""
        cur = self.currency.lower()
        split = statistics.committed_by_year(self)[["committed", "variable"]]
        years = self.years.join(split).reset_index().rename(
            columns={c: f"{c}_{cur}" for c in (*CATEGORIES, "total", "committed", "variable")})
        workload_years = statistics.workload_cost_by_year(self).rename(
            columns={c: f"{c}_{cur}" for c in ("api", "self_hosted", "total")})
        accounting = statistics.accounting_by_year(self).reset_index()
        accounting.columns = ["year", *(f"{c}_{cur}" for c in accounting.columns[1:])]
        cash = self.cash.rename(columns={"amount": f"amount_{cur}", "pv": f"pv_{cur}"})
        workloads = self.workloads.reset_index().rename(columns={
            "npv": f"npv_{cur}", "cost_per_mtok": f"cost_per_mtok_{cur}"})
        commitments = self.commitments.rename(columns={"price_per_gpu": f"price_per_gpu_{cur}",
                                                       "after_horizon": f"after_horizon_{cur}"})
        orders = self.orders.rename(columns={"price_per_gpu": f"price_per_gpu_{cur}"})
        return {"years": years, "cash": cash, "fleet": self.fleet, "served": self.served,
                "workloads": workloads, "commitments": commitments, "orders": orders,
                "workload_years": workload_years, "accounting": accounting}


def format_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) < 0.005:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


# --------------------------------------------------------------------------- compute


def compute_result(inputs: PlanInputs, values: dict[str, pd.DataFrame], solver: dict[str, Any],
                   provenance: dict[str, Any]) -> PlanResult:
    """Cash flows, fleet, tokens served and per-workload costs from the decision values."""
    first = inputs.periods["first"].astype(int).to_dict()
    length = inputs.periods["months"].astype(int).to_dict()
    label = inputs.periods["month"].to_dict()
    fraction = (inputs.slices["hours_per_day"] / 24).to_dict()
    horizon = inputs.months

    def months(p: int) -> range:
        return range(first[p], first[p] + length[p])

    def serve_period(month: int) -> int | None:
        return next((p for p in sorted(first) if first[p] >= month), None)

    cash: list[tuple] = []  # (month, category, item, workload, signed, amount)
    fleet: dict = defaultdict(lambda: [0.0, 0.0, 0.0])  # (p, gpu, channel) -> peak, avg, hours
    residual = 0.0
    residual_by_gpu: dict[str, float] = defaultdict(float)
    commitments = []

    # Purchases: price when bought, opex from the first period they serve, book value credited.
    purchases = _rows_by_offer_month(inputs.purchases)
    opex = inputs.gpus["opex_per_gpu_hour"].to_dict()
    for offer, m0, servers in values["buy"].itertuples(index=False):
        row = purchases[(offer, m0)]
        gpus = servers * int(row["unit_gpus"])
        serve = serve_period(m0 + int(row["lead_time_months"]))
        for m, category, amount in costs.purchase_flows(
                float(row["price_per_gpu"]), m0, first[serve] if serve is not None else None,
                horizon, opex[row["gpu"]]):
            cash.append((m, category, row["gpu"], None, m0, gpus * amount))
        if serve is not None:
            for p in first:
                if p >= serve:
                    slot = fleet[(p, row["gpu"], "purchase")]
                    slot[0] += gpus
                    slot[1] += gpus
                    slot[2] += gpus * HOURS_PER_MONTH * length[p]
        value = gpus * float(row["residual_per_gpu"])
        residual += value
        residual_by_gpu[row["gpu"]] += value
        commitments.append({"kind": "purchase", "offer": offer, "gpu": row["gpu"],
                            "month": inputs.month_label(m0), "gpus": gpus, "servers": servers,
                            "term_months": None, "price_per_gpu": float(row["price_per_gpu"]),
                            "serves_from": label[serve] if serve is not None else None,
                            "ends": None, "after_horizon": value})

    # Site: setup once when it opens, fixed cost every month it exists.
    previous = 0.0
    opened_at = 0  # the site's fixed cost is committed from the month it opened
    for p, on in values["site"].sort_values("period").itertuples(index=False):
        opened = max(on - previous, 0.0)
        if opened:
            opened_at = first[p]
            cash.append((first[p], "capex", "site", None, first[p],
                         opened * inputs.site_setup_cost))
        for m in months(p):
            if on:
                cash.append((m, "opex", "site", None, opened_at,
                             on * inputs.site_fixed_cost_per_month))
        previous = on

    # Reservations: every month of the term, also past the horizon.
    reserved = _rows_by_offer_month(inputs.reserved)
    for offer, m0, gpus in values["reserve"].itertuples(index=False):
        row = reserved[(offer, m0)]
        term = int(row["term_months"])
        flows = costs.reservation_flows(float(row["price_per_gpu_month"]), m0, term)
        for m, category, amount in flows:
            cash.append((m, category, row["gpu"], None, m0, gpus * amount))
        active = [p for p in first if first[p] >= m0 and first[p] + length[p] <= m0 + term]
        for p in active:
            slot = fleet[(p, row["gpu"], "reserved")]
            slot[0] += gpus
            slot[1] += gpus
            slot[2] += gpus * HOURS_PER_MONTH * length[p]
        commitments.append({"kind": "reserved", "offer": offer, "gpu": row["gpu"],
                            "month": inputs.month_label(m0), "gpus": gpus, "servers": None,
                            "term_months": term, "price_per_gpu": float(row["price_per_gpu_month"]),
                            "serves_from": label[active[0]] if active else None,
                            "ends": inputs.month_label(m0 + term - 1),
                            # The unexpired share: payments after the horizon (not in the npv).
                            "after_horizon": sum(gpus * amount for m, _, amount in flows
                                                 if not costs.counts(m, horizon))})

    # Rentals: paid per hour held (spot: the hours it is there). The peak sums the offers of
    # a slice (and on-demand backup with them).
    held_in_slice: dict = defaultdict(float)  # (p, gpu, channel, slice) -> GPUs
    prices = {(o, int(m)): float(pr) for o, m, pr in zip(
        inputs.rentals["offer"], inputs.rentals["month"], inputs.rentals["price_per_gpu_hour"],
        strict=True)}
    for g, channel, p, s, offer, availability, gpus in values["rent"].itertuples(index=False):
        hours_per_month = gpus * fraction[s] * HOURS_PER_MONTH * availability
        for m, category, amount in costs.rental_flows(
                channel, lambda m, o=offer: prices[(o, m)], months(p), fraction[s] * availability):
            cash.append((m, category, g, None, m, gpus * amount))
        slot = fleet[(p, g, channel)]
        held_in_slice[(p, g, channel, s)] += gpus
        slot[0] = max(slot[0], held_in_slice[(p, g, channel, s)])
        slot[1] += gpus * fraction[s]
        slot[2] += hours_per_month * length[p]

    # On-demand backup of spot for work that cannot wait: paid the hours spot is away (all
    # hours when billed by the month).
    for g, p, s, offer, away, billing, gpus in values.get(
            "backup", pd.DataFrame(columns=range(7))).itertuples(index=False):
        share = 1.0 if billing == "month" else away
        hours_per_month = gpus * fraction[s] * HOURS_PER_MONTH * share
        for m, category, amount in costs.rental_flows(
                "on_demand", lambda m, o=offer: prices[(o, m)], months(p), fraction[s] * share):
            cash.append((m, category, g, None, m, gpus * amount))
        slot = fleet[(p, g, "on_demand")]
        held_in_slice[(p, g, "on_demand", s)] += gpus
        slot[0] = max(slot[0], held_in_slice[(p, g, "on_demand", s)])
        slot[1] += gpus * fraction[s] * share
        slot[2] += hours_per_month * length[p]

    # APIs: per token at the month's price.
    api_price = {(w, a, int(m)): float(pr) for w, a, m, pr in zip(
        inputs.apis["workload"], inputs.apis["api"], inputs.apis["month"],
        inputs.apis["price_per_mtok"], strict=True)}
    served: list[tuple] = []  # (p, workload, channel, resource, mtok)
    for w, a, p, s, rate in values["api"].itertuples(index=False):
        mtok_per_month = rate * fraction[s] * HOURS_PER_MONTH
        for m, category, amount in costs.api_flows(
                lambda m, w=w, a=a: api_price[(w, a, m)], months(p), mtok_per_month):
            cash.append((m, category, a, w, m, amount))
        served.append((p, w, "api", a, mtok_per_month * length[p]))

    # Self-hosted tokens, split between the channels of the fleet pool: owned first, then
    # reserved, then on-demand (on-demand is only held when the others are full). Work that
    # cannot wait, served on spot, is served by on-demand backup the (1 - a) of the hours spot
    # is away.
    capacity = {(w, g): r for w, g, r in zip(inputs.capacity["workload"], inputs.capacity["gpu"],
                                             inputs.capacity["mtok_per_gpu_hour"], strict=True)}
    busiest = {}
    if "busiest" in inputs.demand.columns:
        busiest = {(w, sl): float(b) for w, sl, b in zip(
            inputs.demand["workload"], inputs.demand["slice"], inputs.demand["busiest"],
            strict=True)}
    deferrable = inputs.workloads["deferrable"].to_dict()
    spot_availability = {(g, p): a for g, c, p, a in zip(
        values["rent"]["gpu"], values["rent"]["channel"], values["rent"]["period"],
        values["rent"]["availability"], strict=True) if c == "spot"}
    assign = values["assign"]
    gpu_hours: dict = defaultdict(float)  # (workload, gpu) -> GPU-hours used
    # (workload, gpu, period, slice, fleet GPUs, spot GPUs, backup GPUs, Mtok per GPU-hour)
    uses: list[tuple] = []
    for w, g, pool, p, s, gpus in assign.itertuples(index=False):
        per_hour = capacity[(w, g)] / busiest.get((w, s), 1.0)
        if pool == "fleet":
            uses.append((w, g, p, s, gpus, 0.0, 0.0, per_hour))
        elif deferrable[w]:
            uses.append((w, g, p, s, 0.0, gpus, 0.0, per_hour))
        else:
            a = spot_availability.get((g, p), 1.0)
            uses.append((w, g, p, s, 0.0, a * gpus, (1 - a) * gpus, per_hour))
    used: dict = defaultdict(float)
    for _, g, p, s, in_fleet, _, _, _ in uses:
        used[(g, p, s)] += in_fleet
    for w, g, p, s, in_fleet, on_spot, on_backup, per_hour in uses:
        hours_per_gpu = fraction[s] * HOURS_PER_MONTH * length[p]
        gpu_hours[(w, g)] += (in_fleet + on_spot + on_backup) * hours_per_gpu
        if on_spot:
            served.append((p, w, "spot", g, on_spot * hours_per_gpu * per_hour))
        if on_backup:
            served.append((p, w, "on_demand", g, on_backup * hours_per_gpu * per_hour))
        if in_fleet:
            mtok = in_fleet * hours_per_gpu * per_hour
            total = used[(g, p, s)]
            owned = min(fleet[(p, g, "purchase")][0], total) if (p, g, "purchase") in fleet \
                else 0.0
            res = min(fleet[(p, g, "reserved")][0], total - owned) if (p, g, "reserved") in \
                fleet else 0.0
            for channel, n in (("purchase", owned), ("reserved", res),
                               ("on_demand", total - owned - res)):
                if n > 1e-12:
                    served.append((p, w, channel, g, mtok * n / total))

    cash_df = pd.DataFrame(_summed(cash),
                           columns=["month", "category", "item", "workload", "signed",
                                    "amount"])
    # The horizon's end rule (planner.inputs.costs): cash after the horizon is not in the npv.
    cash_df["pv"] = [a * inputs.discount(m) if costs.counts(m, horizon) else 0.0
                     for m, a in zip(cash_df["month"], cash_df["amount"], strict=True)]
    start = month_index(inputs.start)
    cash_df["year"] = [(start + int(m)) // 12 for m in cash_df["month"]]
    cash_df.insert(0, "month_label", [inputs.month_label(int(m)) for m in cash_df["month"]])
    end_discount = inputs.discount(horizon)
    npv = float(cash_df["pv"].sum()) - residual * end_discount

    years = cash_df.groupby(["year", "category"])["amount"].sum().unstack(fill_value=0.0)
    all_years = range(start // 12, (start + horizon - 1) // 12 + 1)
    years = years.reindex(index=sorted(set(all_years) | set(years.index)),
                          columns=list(CATEGORIES), fill_value=0.0)
    years.index.name = "year"
    years["total"] = years[list(CATEGORIES)].sum(axis=1)

    fleet_df = pd.DataFrame(
        [(label[p], g, c, v[0], v[1], v[2]) for (p, g, c), v in sorted(fleet.items())],
        columns=["month", "gpu", "channel", "gpus", "avg_gpus", "gpu_hours"])
    served_df = pd.DataFrame(_summed([(label[p], w, c, r, mtok) for p, w, c, r, mtok in served]),
                             columns=["month", "workload", "channel", "resource", "mtok"])

    workloads = _workload_costs(inputs, cash_df, served_df, gpu_hours, residual_by_gpu,
                                end_discount)
    commitments_df = pd.DataFrame(commitments, columns=[
        "kind", "offer", "gpu", "month", "gpus", "servers", "term_months", "price_per_gpu",
        "serves_from", "ends", "after_horizon"])
    orders = _orders(inputs, commitments_df)
    return PlanResult(
        orders=orders,
        status=solver["status"], currency=inputs.currency, npv=npv,
        total_cost=float(cash_df["amount"].sum()), residual_value=residual, years=years,
        cash=cash_df, fleet=fleet_df, served=served_df, workloads=workloads,
        commitments=commitments_df, solver=solver, provenance=provenance, inputs=inputs)


def _orders(inputs: PlanInputs, commitments: pd.DataFrame) -> pd.DataFrame:
    """The order schedule from the commitments: buy and reserve in their month (whole units of
    the offer), and release where a reservation ends inside the horizon (the month after its
    last)."""
    unit: dict[str, int] = {}
    provider: dict[str, Any] = {}
    for table in (inputs.purchases, inputs.reserved):
        units = table["unit_gpus"] if "unit_gpus" in table.columns else [1] * len(table)
        names = table["provider"] if "provider" in table.columns else [None] * len(table)
        for offer, u, name in zip(table["offer"], units, names, strict=True):
            unit[offer] = int(u)
            provider[offer] = None if name is None or name != name else name
    start = month_index(inputs.start)
    rows = []
    for c in commitments.itertuples(index=False):
        units = c.gpus / unit[c.offer]
        action = "buy" if c.kind == "purchase" else "reserve"
        term = None if c.kind == "purchase" else int(c.term_months)
        rows.append((c.month, action, c.offer, provider[c.offer], c.gpu, units, c.gpus, term,
                     c.price_per_gpu))
        if term is not None and month_index(c.month) - start + term < inputs.months:
            ends = inputs.month_label(month_index(c.month) - start + term)
            rows.append((ends, "release", c.offer, provider[c.offer], c.gpu, units, c.gpus,
                         term, c.price_per_gpu))
    rank = {"release": 0, "buy": 1, "reserve": 2}
    rows.sort(key=lambda r: (r[0], rank[r[1]], r[2]))
    orders = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    # Whole counts as whole numbers (1, not 1.0) in CSV, JSON and HTML; a relaxed plan keeps
    # its fractions. A purchase has no term.
    for column in ("units", "gpus"):
        if ((orders[column] - orders[column].round()).abs() < 1e-9).all():
            orders[column] = orders[column].round().astype(int)
    orders["term_months"] = pd.Series([None if t is None or t != t else int(t)
                                       for t in orders["term_months"]], dtype=object)
    return orders


def _summed(rows: list[tuple]) -> list[tuple]:
    """Rows (key..., value) with equal keys summed, sorted by key with None last (what a pandas
    groupby(dropna=False) gives, 3-5x faster on these few thousand rows)."""
    total: dict[tuple, float] = defaultdict(float)
    for *key, value in rows:
        total[tuple(key)] += value
    order = sorted(total, key=lambda key: tuple((part is None, "" if part is None else part)
                                                for part in key))
    return [(*key, total[key]) for key in order]


def _rows_by_offer_month(table: pd.DataFrame) -> dict[tuple[str, int], dict]:
    """Rows of a purchases or reserved table as dicts keyed by (offer, month). Columns as lists
    first: to_dict("records") reads pandas string columns element by element, 4x slower."""
    names = list(table.columns)
    columns = [table[name].tolist() for name in names]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return {(row["offer"], int(row["month"])): row for row in rows}


def _workload_costs(inputs: PlanInputs, cash: pd.DataFrame, served: pd.DataFrame,
                    gpu_hours: dict, residual_by_gpu: dict[str, float],
                    end_discount: float) -> pd.DataFrame:
    """Levelized cost per million tokens of each workload: the present value of the costs it
    causes over the present value of its tokens. API spend is its own; each GPU type's costs
    (purchase net of book value, opex, reservations, rentals) are shared by GPU-hours used;
    site costs by all self-hosted GPU-hours."""
    demand = inputs.demand
    discounted = defaultdict(float)
    total = defaultdict(float)
    for w, m, mtok in zip(demand["workload"], demand["month"], demand["mtok"], strict=True):
        discounted[w] += mtok * inputs.discount(int(m))
        total[w] += mtok
    # Plain loops: these frames have hundreds of rows, where a pandas groupby costs more.
    pv: dict[str, float] = defaultdict(float)
    by_gpu: dict[str, float] = defaultdict(float)
    site = 0.0
    for category, item, w, value in zip(cash["category"], cash["item"], cash["workload"],
                                        cash["pv"], strict=True):
        if category == "api":
            pv[w] += value
        elif item == "site":
            site += value
        else:
            by_gpu[item] += value
    for g, value in residual_by_gpu.items():
        by_gpu[g] = by_gpu.get(g, 0.0) - value * end_discount
    for w, value in statistics.allocate_by_gpu_hours(by_gpu, site, gpu_hours).items():
        pv[w] += value
    shares: dict[tuple[str, str], float] = defaultdict(float)
    for w, channel, mtok in zip(served["workload"], served["channel"], served["mtok"],
                                strict=True):
        shares[(w, channel)] += mtok
    rows = []
    for w in inputs.workloads.index:
        row = {"workload": w, "mtok": total[w], "npv": pv[w],
               "cost_per_mtok": pv[w] / discounted[w] if discounted[w] > 0 else float("nan")}
        for c in SERVED_CHANNELS:
            row[f"{c}_share"] = shares[(w, c)] / total[w] if total[w] else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("workload")


__all__ = ["CATEGORIES", "ORDER_COLUMNS", "PlanResult", "compute_result"]
