"""The plan as a PuLP problem (SPEC section 8): one add_* function per constraint family.

Stages (PyPSA style): `build(inputs)` creates the variables, the objective and every constraint
family from the coefficient tables of planner.inputs; planner.optimize.solve runs the solver;
`decision_values(model)` reads the solution back as tidy tables. Only this module and
planner/solve.py import PuLP. The formulation is written out in docs/plan.md.

Variables (all >= 0; whole numbers unless relaxed):
  buy[offer, month]            units (servers) bought at the start of a period
  reserve[offer, month]        units reserved from the start of a period for the offer's term
  rent[gpu, channel, p, s]     on-demand / spot units held during slice s of period p (one
                               variable for every slice of a period when billed by the month)
  replicas[dep, pool, p, s]    whole replicas of a deployment (gpu, model, precision, tp), each
                               holding tp GPUs of the pool, shared by the workloads using it
  assign[w, gpu, pool, p, s]   GPUs of a pool ('fleet' = owned + reserved + on-demand, 'spot')
                               serving workload w in slice s of period p (continuous)
  api[w, api, p, s]            Mtok per hour sent to an API
  site[p]                      1 once the owned site exists (binary unless relaxed)
Demand is met as a rate (Mtok per hour of each slice); money is scaled by `money_scale` so the
solver sees coefficients below about 1e4.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd
import pulp

from planner.errors import InputError
from planner.inputs import PlanInputs, costs
from planner.schemas import HOURLY_CHANNELS
from planner.units import HOURS_PER_MONTH, month_index

FLEET, SPOT = "fleet", "spot"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]")


_SAFE: dict = {}  # part -> sanitized text: ids and labels repeat thousands of times


def _name(*parts: object) -> str:
    """A constraint or variable name PuLP and LP files accept: family_part_part..."""
    out = []
    for part in parts:
        safe = _SAFE.get(part)
        if safe is None:
            if len(_SAFE) > 200_000:
                _SAFE.clear()
            safe = _SAFE[part] = _UNSAFE.sub("_", str(part))
        out.append(safe)
    return "_".join(out)


def _expr(terms: dict) -> pulp.LpAffineExpression:
    """An expression from {variable: coefficient} (built in one go, not term by term)."""
    if 0 in terms.values():
        terms = {v: c for v, c in terms.items() if c != 0}
    expr = pulp.LpAffineExpression()
    expr.update(terms)  # a dict's update: 3-4x faster than the constructor on items
    return expr


class _SizedProblem:
    """Counts reported by the plan and the bench, for any model holding a `problem`."""

    problem: pulp.LpProblem

    @property
    def variables(self) -> int:
        return self.problem.numVariables()

    @property
    def constraints(self) -> int:
        return self.problem.numConstraints()


@dataclass
class PlanModel(_SizedProblem):
    """The built problem plus the variable maps needed to read the solution back."""

    problem: pulp.LpProblem
    inputs: PlanInputs
    relax: bool
    money_scale: float
    prune: bool = True  # drop dominated reservations and GPU types (exact: see _prune)
    dominated_gpus: dict[str, str] = field(default_factory=dict)  # dropped GPU -> a dominator
    gpu_bound: dict[str, float] = field(default_factory=dict)  # most GPUs of a type ever useful
    buy: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    reserve: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    # (gpu, channel, period, slice) -> {units rented: its offer}; an offer billed by the month
    # has one variable in every slice of the period
    rent: dict[tuple[str, str, int, str], dict[pulp.LpVariable, Rental]] = field(
        default_factory=dict)
    # (gpu, channel, period) -> the offers kept, cheapest first (spot: one availability)
    rent_offer: dict[tuple[str, str, int], list[Rental]] = field(default_factory=dict)
    reserve_unit: dict[str, int] = field(default_factory=dict)  # reserved offer -> unit_gpus
    # (gpu, model, precision, tp, pool, period, slice) -> whole replicas
    replicas: dict[tuple, pulp.LpVariable] = field(default_factory=dict)
    # On-demand backup of spot serving work that cannot wait, (gpu, period, slice) ->
    # {units of an on-demand offer: the offer}
    backup: dict[tuple[str, int, str], dict[pulp.LpVariable, Rental]] = field(
        default_factory=dict)
    # (gpu, model, precision, tp, period, slice) -> whole replicas of that backup
    backup_replicas: dict[tuple, pulp.LpVariable] = field(default_factory=dict)
    assign: dict[tuple[str, str, str, int, str], pulp.LpVariable] = field(default_factory=dict)
    api: dict[tuple[str, str, int, str], pulp.LpVariable] = field(default_factory=dict)
    site: dict[int, pulp.LpVariable] = field(default_factory=dict)
    unmet: dict[tuple[str, int, str], pulp.LpVariable] = field(default_factory=dict)
    limits: dict[str, list[tuple[str, int, pulp.LpConstraint]]] = field(default_factory=dict)
    # Derived coefficients kept for results and for fixing commitments.
    serve_period: dict[tuple[str, int], int | None] = field(default_factory=dict)
    active_periods: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    # The plan split by period (planner.optimize.periods): the period of every column but
    # purchases, reservations and the site, and per period the on-demand stand-ins of the
    # commitments it holds, [(commitment, on-demand column, units per commitment unit)] (None:
    # some commitment has none).
    column_period: dict[pulp.LpVariable, int] = field(default_factory=dict)
    stand_in: dict[int, list | None] = field(default_factory=dict)

    # PuLP's addConstraint registers every variable of a row with the problem again (a lookup
    # per nonzero, a quarter of building); here each variable is registered once, when
    # created, and rows go straight into the problem's table (PuLP 3's private fields).
    def column(self, name: str, low: float | None = 0, high: float | None = None,
               category: str = pulp.LpContinuous, period: int | None = None
               ) -> pulp.LpVariable:
        """A new variable of the problem; `period`: the one it belongs to, if any."""
        var = self.problem.add_variable(name, low, high, category)
        self.problem._register_variable(var)
        if period is not None:
            self.column_period[var] = period
        return var

    def row(self, terms: dict, sense: int, name: str, rhs: float) -> pulp.LpConstraint:
        """A new constraint sum(coef x var) <sense> rhs, from {variable: coef}."""
        if name in self.problem._constraints:
            raise ValueError(f"two constraints named {name}")  # a bug, not an input error
        con = pulp.LpConstraint(_expr(terms), sense, name, rhs)
        self.problem._constraints[name] = con
        return con


@dataclass(frozen=True)
class _Frame:
    """Index helpers shared by the add_* functions."""

    periods: list[int]
    first: dict[int, int]
    length: dict[int, int]
    slices: list[str]
    fraction: dict[str, float]  # share of a day's hours in each slice
    horizon: int
    discount: list[float]  # per month offset, long enough for reserved terms past the horizon
    period_of: dict[int, int]  # month offset in the horizon -> period
    label: dict[int, str]  # period -> its first month 'YYYY-MM' (names)

    def months(self, p: int) -> range:
        return range(self.first[p], self.first[p] + self.length[p])

    def slice_hours(self, p: int, s: str) -> float:
        """Hours of slice s in period p."""
        return self.fraction[s] * HOURS_PER_MONTH * self.length[p]

    def period_from(self, month: int) -> int | None:
        """The first period starting at or after `month` (None: after the horizon)."""
        for p in self.periods:
            if self.first[p] >= month:
                return p
        return None


def _frame(inputs: PlanInputs) -> _Frame:
    periods = [int(p) for p in inputs.periods.index]
    first = {int(p): int(m) for p, m in inputs.periods["first"].items()}
    longest = int(inputs.reserved["term_months"].max()) if len(inputs.reserved) else 0
    return _Frame(
        periods=periods,
        first=first,
        length={int(p): int(n) for p, n in inputs.periods["months"].items()},
        slices=list(inputs.slices.index),
        fraction={s: float(h) / 24 for s, h in inputs.slices["hours_per_day"].items()},
        horizon=inputs.months,
        discount=[inputs.discount(m) for m in range(inputs.months + longest + 1)],
        period_of=inputs.period_of_month(),
        label={p: inputs.month_label(first[p]) for p in periods})


# --------------------------------------------------------------------------- build


def build(inputs: PlanInputs, *, relax: bool = False, fixed_commitments: pd.DataFrame | None = None,
          unmet_penalty: float | None = None, prune: bool = True,
          gpu_bound: dict[str, float] | None = None) -> PlanModel:
    """The plan's PuLP problem. `fixed_commitments` (columns kind 'purchase'|'reserved', offer,
    month 'YYYY-MM', gpus) fixes every first-stage decision (absent ones at 0) so the rest can
    be re-optimised; `unmet_penalty` (money per Mtok) adds unmet-demand slack, a diagnosis aid.
    `gpu_bound` replaces the most GPUs of each type the fleet may hold (two-stage programs pass
    the largest over their futures)."""
    frame = _frame(inputs)
    scale = _money_scale(inputs)
    need = _need_mtok(inputs, frame)  # computed once: bounds, demand rows and gates share them
    peak = _peak_rates(inputs, frame, need)  # busiest hour of each slice
    bound = dict(gpu_bound) if gpu_bound is not None else _peak_gpus(inputs, frame, peak)
    if fixed_commitments is not None:
        # Commitments sized for another future may exceed this one's need: let them be held.
        for gpu, gpus in _committed_gpus(inputs, fixed_commitments).items():
            bound[gpu] = max(bound.get(gpu, 0.0), gpus)
    # Fixed commitments may name a contract another scenario's prices chose: keep them all.
    model = PlanModel(pulp.LpProblem(_name("plan", inputs.name), pulp.LpMinimize), inputs, relax,
                      scale, prune=prune and fixed_commitments is None, gpu_bound=bound)
    objective: dict = defaultdict(float)
    options = _options(model, frame)
    if model.prune:
        options = _prune(model, options)
    owned, reserved = add_fleet(model, frame, options, objective)
    add_site(model, frame, objective)
    add_rentals(model, frame, options, objective)
    add_assignments(model, frame)
    add_apis(model, frame, objective)
    add_demand(model, frame, objective, unmet_penalty, need)
    add_gpu_capacity(model, frame, owned, reserved, peak)
    add_spot_backup(model, frame, objective, peak)
    add_whole_gpus(model, frame, owned, reserved, peak)
    add_min_replicas(model, frame, peak)
    add_api_rate_limits(model, frame)
    add_capex_budget(model, frame)
    add_power_cap(model, frame, owned)
    add_gpu_caps(model, frame, owned, reserved)
    add_spot_share(model, frame, owned, reserved)
    if fixed_commitments is not None:
        fix_commitments(model, fixed_commitments)
    model.problem.setObjective(_expr({v: c / scale for v, c in objective.items()}))
    return model


def _money_scale(inputs: PlanInputs) -> float:
    """A power of ten that brings the largest price (a server, a month of a big fleet) to <1e4."""
    biggest = 1.0
    if len(inputs.purchases):
        biggest = max(biggest, float((inputs.purchases["price_per_gpu"]
                                      * inputs.purchases["unit_gpus"]).max()))
    if len(inputs.reserved):
        biggest = max(biggest, float((inputs.reserved["price_per_gpu_month"]
                                      * inputs.reserved["term_months"]).max()))
    return float(10 ** max(0, math.floor(math.log10(biggest)) - 3))


def _committed_gpus(inputs: PlanInputs, commitments: pd.DataFrame) -> dict[str, float]:
    """GPUs per type named by fixed commitments (summed over months: an upper bound)."""
    gpu_of = {**dict(zip(inputs.purchases["offer"], inputs.purchases["gpu"], strict=False)),
              **dict(zip(inputs.reserved["offer"], inputs.reserved["gpu"], strict=False))}
    total: dict[str, float] = defaultdict(float)
    for offer, gpus in zip(commitments["offer"], commitments["gpus"], strict=True):
        if offer in gpu_of:
            total[gpu_of[offer]] += float(gpus)
    return total


def _need_mtok(inputs: PlanInputs, frame: _Frame) -> dict[tuple[str, int, str], float]:
    """Mtok each workload asks of each (period, slice)."""
    need: dict = defaultdict(float)
    demand = inputs.demand
    for w, m, s, mtok in zip(demand["workload"], demand["month"], demand["slice"],
                             demand["mtok"], strict=True):
        need[(w, frame.period_of[int(m)], s)] += mtok
    return need


def _busiest(inputs: PlanInputs) -> dict[tuple[str, str], float]:
    """(workload, slice) -> the slice's busiest hour over its mean hour (1 when not given)."""
    demand = inputs.demand
    if "busiest" not in demand.columns:
        return {}
    return {(w, s): float(b) for w, s, b in zip(demand["workload"], demand["slice"],
                                                demand["busiest"], strict=True) if b != 1}


def _deployments(inputs: PlanInputs) -> dict[tuple[str, str], tuple]:
    """(workload, gpu) -> its deployment (gpu, model, precision, tp): workloads with the same
    deployment share its replicas."""
    cap = inputs.capacity
    return {(w, g): (g, str(m), str(pr), int(tp)) for w, g, m, pr, tp in zip(
        cap["workload"], cap["gpu"], cap["model"], cap["precision"], cap["tp"], strict=True)}


def _peak_rates(inputs: PlanInputs, frame: _Frame, need: dict[tuple[str, int, str], float]
                ) -> dict[tuple[str, int, str], float]:
    """Most Mtok per hour workload w can ask of slice s in period p (`need`: _need_mtok): its
    demand rate at the slice's busiest hour, or for a deferrable workload its whole period's
    tokens served in that slice alone."""
    deferrable = inputs.workloads["deferrable"].to_dict()
    busiest = _busiest(inputs)
    peak: dict[tuple[str, int, str], float] = {}
    for w in inputs.workloads.index:
        for p in frame.periods:
            whole = sum(need[(w, p, t)] for t in frame.slices)
            for s in frame.slices:
                peak[(w, p, s)] = (whole if deferrable[w] else
                                   need[(w, p, s)] * busiest.get((w, s), 1.0)) / \
                    frame.slice_hours(p, s)
    return peak


def _capacity_rates(inputs: PlanInputs) -> dict[tuple[str, str], float]:
    """Mtok per GPU-hour of each (workload, gpu) deployment."""
    cap = inputs.capacity
    return {(w, g): r for w, g, r in zip(cap["workload"], cap["gpu"], cap["mtok_per_gpu_hour"],
                                         strict=True)}


def _peak_gpus(inputs: PlanInputs, frame: _Frame,
               peak: dict[tuple[str, int, str], float] | None = None) -> dict[str, float]:
    """Most GPUs of each type that can ever be useful: the peak of all demand served on it, in
    whole replicas of each deployment (at least min_replicas of each workload's; `peak`:
    _peak_rates, computed when not given). Bounds purchases (owning more only adds cost) and
    links them to the site binary."""
    rate = _capacity_rates(inputs)
    deps = _deployments(inputs)
    least = _min_replicas(inputs)
    if peak is None:
        peak = _peak_rates(inputs, frame, _need_mtok(inputs, frame))
    bound: dict[str, float] = {}
    for g in inputs.gpus.index:
        served = [w for w in inputs.workloads.index if rate.get((w, g))]
        groups: dict = defaultdict(list)
        for w in served:
            groups[deps[(w, g)]].append(w)

        def held(p: int, s: str, g: str = g, groups: dict = groups) -> float:
            total = 0.0
            for dep, ws in groups.items():
                tp = dep[3]
                need = math.ceil(sum(peak[(w, p, s)] / rate[(w, g)] for w in ws) / tp - 1e-9)
                total += tp * max(need, max(least.get(w, 0) for w in ws))
            return total

        best = max((held(p, s) for p in frame.periods for s in frame.slices), default=0.0)
        if g in inputs.limits.max_gpus:
            best = min(best, inputs.limits.max_gpus[g])
        bound[g] = best
    return bound


class Rental(NamedTuple):
    """A rental offer as the plan holds it in one period: present cost of a GPU-hour over the
    period (pv_hour), units of unit_gpus GPUs, billed per hour held or for the whole month."""

    offer: str
    availability: float
    pv_hour: float
    unit: int
    billing: str

    def replaces(self, other: Rental) -> bool:
        """Whether this offer can hold any GPUs `other` holds, in the same hours, for no more:
        no dearer per GPU-hour, whole units of it fill other's (its unit divides other's),
        billed as flexibly, and at the same availability (a spot pool has one)."""
        return (self.pv_hour <= other.pv_hour and other.unit % self.unit == 0
                and self.billing in (other.billing, "hour")
                and self.availability == other.availability)


def _undominated_rentals(found: list[Rental], backup_pv_hour: float | None = None
                         ) -> list[Rental]:
    """The rental offers of one GPU, channel and period that no other one replaces
    (Rental.replaces), cheapest per GPU-hour first; of equal ones the first by id.
    A spot pool has one availability (add_gpu_capacity), so spot keeps the offers at one
    availability: that of the offer cheapest per GPU-hour of work, which is its price for work
    that can wait, and a x price + (1 - a) x on-demand price (`backup_pv_hour`, the backup's)
    where work that cannot wait may use spot (docs/plan.md, "Rental offers")."""
    def per_work_hour(r: Rental) -> float:
        if backup_pv_hour is None:
            return r.pv_hour
        return r.availability * r.pv_hour + (1 - r.availability) * backup_pv_hour

    def order(r: Rental) -> tuple:  # at one cost the smaller unit, hourly billing, the id
        return r.unit, r.billing != "hour", r.offer
    availability = min(found, key=lambda r: (per_work_hour(r), *order(r))).availability
    found = sorted((r for r in found if r.availability == availability),
                   key=lambda r: (r.pv_hour, *order(r)))
    kept: list[Rental] = []
    for rental in found:
        if not any(other.replaces(rental) for other in kept):
            kept.append(rental)
    return kept


@dataclass(frozen=True)
class _Options:
    """Every purchase, reservation and rental the plan may use, with its present cost per GPU,
    known before any variable exists so that dominated ones can be dropped first."""

    purchases: list  # (row, serving period, present cost per GPU)
    contracts: list  # (row, active periods, present cost per GPU)
    rentals: dict  # (gpu, channel, period) -> [Rental], cheapest per GPU-hour first


def _options(model: PlanModel, frame: _Frame) -> _Options:
    """The money of each option, from planner.inputs.costs (the definition results report too). A
    purchase pays its price in its month, serves from the first period starting after its lead
    time to the horizon end (opex from then), and is credited its straight-line book value at
    the horizon end. A reservation pays every month of its term; only the months inside the
    horizon count (costs: the horizon's end rule); it serves in every period its term covers
    whole. Per (gpu,
    channel, period) the rental offers available at the period's start that no other one
    replaces (rentals have no capacity limit: a cheaper offer in units as small, billed as
    flexibly, replaces a dearer one); spot pays only `availability` of the hours and delivers
    as much."""
    inputs, disc, bound = model.inputs, frame.discount, model.gpu_bound
    opex = inputs.gpus["opex_per_gpu_hour"].astype(float).to_dict()
    purchases = []
    for row in inputs.purchases.itertuples(index=False):
        m0 = int(row.month)
        serve = frame.period_from(m0 + int(row.lead_time_months))
        model.serve_period[(row.offer, m0)] = serve
        if bound.get(row.gpu, 0.0) <= 0 or serve is None:
            continue  # never useful, or bought too late to serve before the horizon ends
        flows = costs.purchase_flows(row.price_per_gpu, m0, frame.first[serve], frame.horizon,
                                     opex[row.gpu])
        purchases.append((row, serve, costs.present_cost(flows, disc.__getitem__, frame.horizon,
                                                         credit=row.residual_per_gpu)))
    contracts = []
    for row in _with_units(inputs.reserved).itertuples(index=False):
        m0, term = int(row.month), int(row.term_months)
        active = [p for p in frame.periods
                  if frame.first[p] >= m0 and frame.first[p] + frame.length[p] <= m0 + term]
        model.active_periods[(row.offer, m0)] = active
        if active and bound.get(row.gpu, 0.0) > 0:
            flows = costs.reservation_flows(row.price_per_gpu_month, m0, term)
            contracts.append((row, active, costs.present_cost(flows, disc.__getitem__,
                                                              frame.horizon)))
    table = _with_units(inputs.rentals)
    prices = {(o, int(m)): float(pr) for o, m, pr in
              zip(table["offer"], table["month"], table["price_per_gpu_hour"], strict=True)}
    offered: dict[tuple[str, str, int], list] = defaultdict(list)
    for row in table[table["month"].isin(set(frame.first.values()))].itertuples(index=False):
        p = frame.period_of[int(row.month)]
        if any((row.offer, m) not in prices for m in frame.months(p)):
            continue
        flows = costs.rental_flows(row.channel, lambda m, o=row.offer: prices[(o, m)],
                                   frame.months(p), 1.0)
        offered[(row.gpu, row.channel, p)].append(Rental(
            row.offer, float(row.availability),
            costs.present_cost(flows, disc.__getitem__, frame.horizon), int(row.unit_gpus),
            str(row.billing)))
    # GPUs that serve work which cannot wait but may run on spot (with on-demand backup)
    workloads = inputs.workloads
    firm = set(workloads.index[workloads["spot_allowed"] & ~workloads["deferrable"]])
    firm_gpus = set(inputs.capacity.loc[inputs.capacity["workload"].isin(firm), "gpu"])
    rentals = {}
    for (g, channel, p), found in sorted(offered.items()):
        backup = None
        if channel == "spot" and g in firm_gpus and offered.get((g, "on_demand", p)):
            backup = min(r.pv_hour for r in offered[(g, "on_demand", p)])
        rentals[(g, channel, p)] = _undominated_rentals(found, backup)
    return _Options(purchases, contracts, rentals)


def _with_units(table: pd.DataFrame) -> pd.DataFrame:
    """A rentals or reserved table with unit_gpus (default 1) and, for rentals, billing
    (default 'hour'): tables built by hand may leave them out."""
    if "unit_gpus" not in table.columns:
        table = table.assign(unit_gpus=1)
    if "channel" in table.columns and "billing" not in table.columns:
        table = table.assign(billing="hour")
    return table


def _prune(model: PlanModel, options: _Options) -> _Options:
    """Drop dominated reservations and GPU types (both exact: the optimum cannot change).
    A dominated GPU's bound moves to its dominator, which may have to hold its GPUs too."""
    keep = _undominated_contracts(options.contracts)
    contracts = [c for c in options.contracts if (c[0].offer, int(c[0].month)) in keep]
    options = _Options(options.purchases, contracts, options.rentals)
    dominated = _dominated_gpus(model.inputs, options)
    for gpu, by in dominated.items():
        while by in dominated:
            by = dominated[by]
        model.gpu_bound[by] = model.gpu_bound.get(by, 0.0) + model.gpu_bound.get(gpu, 0.0)
        dominated[gpu] = by
    model.dominated_gpus = dominated
    return _Options([c for c in options.purchases if c[0].gpu not in dominated],
                    [c for c in options.contracts if c[0].gpu not in dominated],
                    {k: v for k, v in options.rentals.items() if k[0] not in dominated})


def _dominated_gpus(inputs: PlanInputs, options: _Options) -> dict[str, str]:
    """GPU types another type beats in every respect: {dominated: dominator}.

    GPU a dominates b when a is not capped by max_gpus, draws no more power, serves every
    workload b serves at least as fast, and matches each of b's options: a rental in the same
    channel and period costing no more per GPU-hour with no lower availability; a purchase in
    the same month, of the same server size, serving from the same period, costing no more
    (present cost and capex); a reservation covering every period b's covers for no more.
    Replacing each GPU of b by one of a then keeps every constraint (the same GPU counts per
    channel, fewer GPU-hours per token, whole-GPU pools merged) and costs no more, so dropping
    b never changes the optimum. Of two equivalent types the first by id is kept."""
    served: dict[str, dict[str, float]] = defaultdict(dict)
    for (w, g), r in _capacity_rates(inputs).items():
        served[g][w] = r
    # A replica of b becomes tp_b / tp_a replicas of a on the same GPUs when every workload
    # runs the same model at the same precision on both, and a's group divides b's: the
    # sharing of replicas and whole groups are kept.
    shape = {k: dep[1:] for k, dep in _deployments(inputs).items()}

    def _replaces(on_a: tuple, on_b: tuple) -> bool:
        return on_a[:2] == on_b[:2] and on_b[2] % on_a[2] == 0

    def _matches(ra: Rental, rb: Rental) -> bool:  # a's offer rents GPU for GPU as b's does
        return (ra.availability >= rb.availability and ra.unit == rb.unit
                and ra.pv_hour * ra.availability <= rb.pv_hour * rb.availability
                and ra.billing in (rb.billing, "hour"))
    buys: dict[str, list] = defaultdict(list)
    for row, serve, cost in options.purchases:
        buys[row.gpu].append((int(row.month), int(row.unit_gpus), serve, cost,
                              float(row.price_per_gpu)))
    contracts: dict[str, list] = defaultdict(list)
    for row, active, cost in options.contracts:
        contracts[row.gpu].append((frozenset(active), cost, int(getattr(row, "unit_gpus", 1))))
    rents: dict[str, dict] = defaultdict(dict)
    for (g, channel, p), offers in options.rentals.items():
        rents[g][(channel, p)] = offers
    power = inputs.gpus["power_kw"].to_dict()
    capped = inputs.limits.max_gpus

    def dominates(a: str, b: str) -> bool:
        return (a not in capped and power[a] <= power[b]
                and all(served[a].get(w, 0.0) >= r and _replaces(shape[(w, a)], shape[(w, b)])
                        for w, r in served[b].items())
                and all(key in rents[a] and all(any(_matches(ra, rb) for ra in rents[a][key])
                                                for rb in offers)
                        for key, offers in rents[b].items())
                and all(any(m2 == m and u2 == u and s2 == s and c2 <= c and pr2 <= pr
                            for m2, u2, s2, c2, pr2 in buys[a]) for m, u, s, c, pr in buys[b])
                and all(any(act <= act2 and c2 <= c and u2 == u for act2, c2, u2 in contracts[a])
                        for act, c, u in contracts[b]))

    gpus = sorted(served)
    dominated: dict[str, str] = {}
    for b in gpus:
        for a in gpus:
            if a != b and dominates(a, b) and (a < b or not dominates(b, a)):
                dominated[b] = a
                break
    return dominated


def add_fleet(model: PlanModel, frame: _Frame, options: _Options, objective: dict
              ) -> tuple[dict[tuple[str, int], dict], dict[tuple[str, int], dict]]:
    """Purchases (whole servers, at most the GPU bound) and reserved contracts (whole units):
    the first-stage decisions, paid as `_options` says. Returns owned and reserved GPUs per
    (gpu, period) as {variable: GPUs per unit}."""
    inputs = model.inputs
    owned: dict[tuple[str, int], dict] = defaultdict(dict)
    reserved: dict[tuple[str, int], dict] = defaultdict(dict)
    category = pulp.LpContinuous if model.relax else pulp.LpInteger
    for row, serve, cost in options.purchases:
        unit, m0 = int(row.unit_gpus), int(row.month)
        servers = math.ceil(model.gpu_bound[row.gpu] / unit - 1e-9)
        var = model.column(_name("buy", row.offer, inputs.month_label(m0)), 0,
                           servers, category)
        model.buy[(row.offer, m0)] = var
        objective[var] += unit * cost
        for p in frame.periods:
            if p >= serve:
                owned[(row.gpu, p)][var] = unit
    for row, active, cost in options.contracts:
        m0, unit = int(row.month), int(row.unit_gpus)
        var = model.column(_name("reserve", row.offer, inputs.month_label(m0)), 0, None,
                           category)
        model.reserve[(row.offer, m0)] = var
        model.reserve_unit[row.offer] = unit
        objective[var] += unit * cost
        for p in active:
            reserved[(row.gpu, p)][var] = float(unit)
    return owned, reserved


def _undominated_contracts(contracts: list) -> set[tuple[str, int]]:
    """Reservations (offer, month) not dominated by another of the same GPU that serves in every
    period the first serves (and maybe more) for no more money. Swapping one for the other GPU
    for GPU keeps every constraint (same GPU: same caps, power, spot share, whole-GPU rule) and
    costs no more, so dropping the dominated one never changes the optimum. Ties keep the first
    by (cost, offer, month)."""
    by_gpu: dict[tuple[str, int], list] = defaultdict(list)  # same GPU and unit
    for row, active, cost in contracts:
        by_gpu[(row.gpu, int(row.unit_gpus))].append((cost, row.offer, int(row.month),
                                                      frozenset(active)))
    keep: set[tuple[str, int]] = set()
    for items in by_gpu.values():
        items.sort(key=lambda c: (c[0], -len(c[3]), c[1], c[2]))
        kept: list = []
        for _, offer, m0, active in items:
            # Anything earlier in the order costs no more; it dominates if it covers as much.
            if not any(active <= other for other in kept):
                kept.append(active)
                keep.add((offer, m0))
    return keep


def add_site(model: PlanModel, frame: _Frame, objective: dict) -> None:
    """The owned site: setup cost once in the period of the first purchase, fixed cost every
    month from then on. site[p] is monotone; setup x (site[p] - site[p-1]) telescopes into
    setup x site[p] x (d(p) - d(p+1))."""
    inputs = model.inputs
    setup, fixed = inputs.site_setup_cost, inputs.site_fixed_cost_per_month
    if not model.buy or (setup <= 0 and fixed <= 0):
        return
    category = pulp.LpContinuous if model.relax else pulp.LpBinary
    disc, periods = frame.discount, frame.periods
    for i, p in enumerate(periods):
        var = model.column(_name("site", frame.label[p]), 0, 1, category)
        model.site[p] = var
        following = disc[frame.first[periods[i + 1]]] if i + 1 < len(periods) else 0.0
        objective[var] += (fixed * sum(disc[m] for m in frame.months(p))
                           + setup * (disc[frame.first[p]] - following))
        if i:
            model.row({model.site[periods[i - 1]]: 1, var: -1}, pulp.LpConstraintLE,
                      _name("site_monotone", frame.label[p]), 0)
    for (offer, m0), var in model.buy.items():
        p = frame.period_of[m0]
        model.row({var: 1, model.site[p]: -var.upBound}, pulp.LpConstraintLE,
                  _name("site_needed", offer, inputs.month_label(m0)), 0)


def add_rentals(model: PlanModel, frame: _Frame, options: _Options, objective: dict) -> None:
    """On-demand and spot units (unit_gpus GPUs each, whole) of each offer kept, held per slice,
    paid per hour held (spot: `availability` of the hours are there and paid). An offer billed
    by the month holds its units all month: one variable stands in every slice of the period."""
    category = pulp.LpContinuous if model.relax else pulp.LpInteger
    for (g, channel, p), offers in options.rentals.items():
        model.rent_offer[(g, channel, p)] = offers
        for i, rental in enumerate(offers):
            # the cheapest offer's columns keep the names they had when it was the only one
            own = () if i == 0 else (rental.offer,)
            monthly = None
            if rental.billing == "month":
                monthly = model.column(_name(channel, g, frame.label[p], "month", *own), 0,
                                       None, category, p)
            for s in frame.slices:
                var = monthly if monthly is not None else model.column(
                    _name(channel, g, frame.label[p], s, *own), 0, None, category, p)
                model.rent.setdefault((g, channel, p, s), {})[var] = rental
                objective[var] += rental.unit * rental.pv_hour * frame.fraction[s] * \
                    rental.availability


def _spot_availability(model: PlanModel, g: str, p: int) -> float:
    """The availability of spot GPUs of type g in period p (one per pool: _undominated_rentals)."""
    return model.rent_offer[(g, "spot", p)][0].availability


def add_assignments(model: PlanModel, frame: _Frame) -> None:
    """GPUs of each pool serving each workload: the fleet pool on every GPU type the workload has
    a deployment on; the spot pool only for spot-allowed workloads where spot is rented."""
    inputs = model.inputs
    spot_ok = inputs.workloads["spot_allowed"].to_dict()
    deferrable = inputs.workloads["deferrable"].to_dict()
    fleet_gpus = {k[0] for k in model.rent if k[1] == "on_demand"}
    fleet_gpus |= set(inputs.purchases.loc[inputs.purchases["offer"].isin(
        {o for o, _ in model.buy}), "gpu"])
    fleet_gpus |= set(inputs.reserved.loc[inputs.reserved["offer"].isin(
        {o for o, _ in model.reserve}), "gpu"])
    spot_gpus = {k[0] for k in model.rent if k[1] == "spot"}
    for w, g in zip(inputs.capacity["workload"], inputs.capacity["gpu"], strict=True):
        for pool, present in ((FLEET, g in fleet_gpus), (SPOT, g in spot_gpus and spot_ok[w])):
            if not present:
                continue
            for p in frame.periods:
                if pool == SPOT and (g, "spot", p) not in model.rent_offer:
                    continue
                # Work that cannot wait needs on-demand GPUs of the same type as backup for
                # the hours spot is away (add_spot_backup): no spot without an offer for them.
                if pool == SPOT and not deferrable[w] and \
                        (g, "on_demand", p) not in model.rent_offer:
                    continue
                for s in frame.slices:
                    model.assign[(w, g, pool, p, s)] = model.column(
                        _name("assign", w, g, pool, frame.label[p], s), 0, period=p)


def add_apis(model: PlanModel, frame: _Frame, objective: dict) -> None:
    """Mtok per hour sent to each API a workload may use, paid per token at its month's price."""
    inputs, disc = model.inputs, frame.discount
    apis = inputs.apis
    if not len(apis):
        return
    price = {(w, a, int(m)): float(pr) for w, a, m, pr in
             zip(apis["workload"], apis["api"], apis["month"], apis["price_per_mtok"],
                 strict=True)}
    for w, a in dict.fromkeys(zip(apis["workload"], apis["api"], strict=True)):
        for p in frame.periods:
            # Mtok per hour held all month: HOURS_PER_MONTH Mtok a month.
            pv_hour = costs.present_cost(costs.api_flows(
                lambda m, w=w, a=a: price[(w, a, m)], frame.months(p), HOURS_PER_MONTH),
                disc.__getitem__, frame.horizon)
            for s in frame.slices:
                var = model.column(
                    _name("api", w, a, frame.label[p], s), 0, period=p)
                model.api[(w, a, p, s)] = var
                objective[var] += pv_hour * frame.fraction[s]


def add_demand(model: PlanModel, frame: _Frame, objective: dict,
               unmet_penalty: float | None, need: dict[tuple[str, int, str], float]) -> None:
    """Every workload's demand (`need`: _need_mtok) met in every slice (a rate, Mtok per hour),
    deferrable workloads over their whole period (the slices weighted by their hours)."""
    inputs = model.inputs
    rate = _capacity_rates(inputs)
    busiest = _busiest(inputs)
    supply: dict = defaultdict(dict)  # (w, p, s) -> {var: Mtok per hour per unit}
    for (w, g, _, p, s), var in model.assign.items():
        # GPUs held for the slice's busiest hour serve its mean hour's tokens.
        supply[(w, p, s)][var] = rate[(w, g)] / busiest.get((w, s), 1.0)
    for (w, _, p, s), var in model.api.items():
        supply[(w, p, s)][var] = 1.0
    deferrable = inputs.workloads["deferrable"].to_dict()
    for w in inputs.workloads.index:
        for p in frame.periods:
            label = frame.label[p]
            groups = [[s] for s in frame.slices] if not deferrable[w] else [frame.slices]
            for group in groups:
                terms: dict = {}
                for s in group:
                    weight = 1.0 if len(group) == 1 else frame.fraction[s]
                    for var, coef in supply[(w, p, s)].items():
                        terms[var] = coef * weight
                # Slice fractions sum to 1, so a deferrable workload's rate is its period's
                # Mtok over all the period's hours.
                hours = sum(frame.slice_hours(p, s) for s in group)
                rhs = sum(need[(w, p, s)] for s in group) / hours
                key = group[0] if len(group) == 1 else "all"
                if unmet_penalty is not None:
                    slack = model.column(_name("unmet", w, label, key), 0, period=p)
                    model.unmet[(w, p, key)] = slack
                    terms[slack] = 1.0
                    objective[slack] += unmet_penalty * hours
                # Equality: capacity has slack (whole GPUs), tokens served are exactly demand.
                model.row(terms, pulp.LpConstraintEQ, _name("demand", w, label, key), rhs)


def add_gpu_capacity(model: PlanModel, frame: _Frame, owned: dict, reserved: dict,
                     peak: dict[tuple[str, int, str], float]) -> None:
    """Whole replicas, and a GPU-hour used at most once. Per deployment d (gpu, model,
    precision, tp), pool, period and slice, the workloads using it fit its replicas:
        fleet: sum assign[w]                                  <= tp x replicas
        spot:  sum assign[w] (deferrable) + a x sum assign[v] <= a x tp x replicas
    where v are workloads that are not deferrable: their spot GPUs serve whenever present (a
    of the hours; on-demand backup serves the rest, add_spot_backup) while deferrable work only
    gets the derated a (spot risk, docs/plan.md). Per GPU type, pool, period and slice the
    replicas fit the GPUs held:
        sum tp x replicas <= owned + reserved + on-demand (fleet) | spot (spot pool).
    The replicas a deployment can need are data: at most its workloads' busiest hours over a
    replica's capacity (min_replicas aside), the upper bound of each variable."""
    inputs = model.inputs
    deps = _deployments(inputs)
    rate = _capacity_rates(inputs)
    least = _min_replicas(inputs)
    deferrable = inputs.workloads["deferrable"].to_dict()
    most: dict = defaultdict(float)  # (dep, pool, p, s) -> GPUs its workloads may need at most
    floor: dict = defaultdict(int)  # (dep, pool, p, s) -> min_replicas of its workloads
    for (w, g, pool, p, s), _ in model.assign.items():
        key = (deps[(w, g)], pool, p, s)
        # Deferrable work gets a of a spot replica: 1/a as many replicas for the same work.
        derate = _spot_availability(model, g, p) if pool == SPOT and deferrable[w] else 1
        most[key] += peak[(w, p, s)] / rate[(w, g)] / derate
        floor[key] = max(floor[key], least.get(w, 0))
    category = pulp.LpContinuous if model.relax else pulp.LpInteger
    use: dict = defaultdict(dict)  # (dep, pool, p, s) -> {assign: coefficient}
    for (w, g, pool, p, s), var in model.assign.items():
        dep = deps[(w, g)]
        if pool == FLEET:
            use[(dep, FLEET, p, s)][var] = 1.0
            continue
        availability = _spot_availability(model, g, p)
        use[(dep, SPOT, p, s)][var] = 1.0 if deferrable[w] else availability
    held: dict = defaultdict(dict)  # (g, pool, p, s) -> {replicas: tp}
    for (dep, pool, p, s), terms in sorted(use.items(), key=lambda kv: (
            kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        g, name_model, precision, tp = dep
        name = _name(g, name_model, precision, tp, pool, frame.label[p], s)
        upper = max(math.ceil(most[(dep, pool, p, s)] / tp - 1e-9), floor[(dep, pool, p, s)])
        var = model.column(f"replicas_{name}", 0, upper, category, p)
        model.replicas[(*dep, pool, p, s)] = var
        availability = 1.0 if pool == FLEET else _spot_availability(model, g, p)
        terms = dict(terms)
        terms[var] = -availability * tp
        model.row(terms, pulp.LpConstraintLE, f"replica_{name}", 0)
        held[(g, pool, p, s)][var] = float(tp)
    capped = set(inputs.limits.max_gpus)  # a stand-in rented whole could break the cap
    for (g, pool, p, s), terms in sorted(held.items()):
        terms = dict(terms)
        if pool == FLEET:
            committed = {**owned.get((g, p), {}), **reserved.get((g, p), {})}
            for var, n in committed.items():
                terms[var] = -n
            on_demand = model.rent.get((g, "on_demand", p, s), {})
            for var, rental in on_demand.items():
                terms[var] = -rental.unit
            if not committed or model.relax:
                pass  # stand-ins serve the value rows of integer plans (solve._by_period)
            elif not on_demand or g in capped:
                model.stand_in[p] = None
            elif model.stand_in.get(p, []) is not None:
                # the cheapest offer's units stand in (any offer's would)
                var, rental = next(iter(on_demand.items()))
                model.stand_in.setdefault(p, []).extend(
                    (commitment, var, math.ceil(n / rental.unit - 1e-9))
                    for commitment, n in committed.items())
        else:
            for var, rental in model.rent[(g, "spot", p, s)].items():
                terms[var] = -rental.unit
        model.row(terms, pulp.LpConstraintLE, _name("capacity", g, pool, frame.label[p], s), 0)


def add_spot_backup(model: PlanModel, frame: _Frame, objective: dict,
                    peak: dict[tuple[str, int, str], float]) -> None:
    """Spot risk priced: work which cannot wait, served on spot, is backed up by on-demand GPUs
    of the same type for the (1 - a) of the hours spot is away, paid for those hours (an offer
    billed by the month: all of them). The backup hosts the work it stands in for, so it comes
    in whole replicas of the same deployment d (gpu, model, precision, tp) per period and
    slice, and the replicas in whole units of the on-demand offers o:
        sum assign[v, d, spot, p, s] (v not deferrable) <= tp x backup_replicas[d, p, s]
        sum_d tp x backup_replicas[d, p, s]             <= sum_o unit_o x backup[g, p, s, o]
    assign is already in GPUs (Mtok per GPU-hour enters in the demand rows) and the backup
    carries all of v's work while spot is away, so neither the rate nor a enters: half a GPU
    of work on a tp=4 deployment holds one replica, 4 backup GPUs. Each backup_replicas is
    bounded by data as replicas are (add_gpu_capacity) and, unless relaxed, a workload that
    alone needs less than one replica is served on spot only where a backup replica stands
    (the gate of add_whole_gpus: assign <= most x backup_replicas)."""
    inputs = model.inputs
    deferrable = inputs.workloads["deferrable"].to_dict()
    deps = _deployments(inputs)
    rate = _capacity_rates(inputs)
    served: dict = defaultdict(list)  # (dep, p, s) -> [(workload, assign, most GPUs)]
    for (w, g, pool, p, s), var in model.assign.items():
        if pool == SPOT and not deferrable[w]:
            served[(deps[(w, g)], p, s)].append((w, var, peak[(w, p, s)] / rate[(w, g)]))
    if not served:
        return
    category = pulp.LpContinuous if model.relax else pulp.LpInteger
    held: dict = defaultdict(dict)  # (g, p, s) -> {backup_replicas: tp}
    for (dep, p, s), items in sorted(served.items()):
        g, name_model, precision, tp = dep
        name = _name(g, name_model, precision, tp, "backup", frame.label[p], s)
        upper = math.ceil(sum(most for _, _, most in items) / tp - 1e-9)
        # Named as a replica of pool 'backup': the dive rounds it with the replicas, before
        # the rented units that hold it (planner.optimize.solve._column_kind).
        var = model.column(f"replicas_{name}", 0, upper, category, p)
        model.backup_replicas[(*dep, p, s)] = var
        terms = {assigned: 1.0 for _, assigned, _ in items}
        terms[var] = -float(tp)
        model.row(terms, pulp.LpConstraintLE, f"replica_{name}", 0)
        held[(g, p, s)][var] = float(tp)
        if model.relax:
            continue
        for w, assigned, most in items:
            if most < tp:  # else the replica row binds as tightly
                model.row({assigned: 1, var: -most}, pulp.LpConstraintLE,
                          _name("gate", w, g, "backup", frame.label[p], s), 0)
    for (g, p, s), terms in sorted(held.items()):
        away = 1 - _spot_availability(model, g, p)
        name = _name(g, frame.label[p], s)
        terms = dict(terms)
        model.backup[(g, p, s)] = {}
        for i, rental in enumerate(model.rent_offer[(g, "on_demand", p)]):
            share = 1.0 if rental.billing == "month" else away
            own = () if i == 0 else (rental.offer,)  # names as in add_rentals
            var = model.column(_name("backup", g, frame.label[p], s, *own), 0, None, category,
                               p)
            model.backup[(g, p, s)][var] = rental
            objective[var] += rental.unit * rental.pv_hour * frame.fraction[s] * share
            terms[var] = -float(rental.unit)
        model.row(terms, pulp.LpConstraintLE, f"backup_{name}", 0)


def add_whole_gpus(model: PlanModel, frame: _Frame, owned: dict, reserved: dict,
                   peak: dict[tuple[str, int, str], float]) -> None:
    """Gates that keep the relaxation close to whole replicas: a workload that alone needs
    less than one replica of its deployment (most: GPUs its busiest hour needs, below tp) is
    served only where a replica stands:
        assign[w, g, pool, p, s] <= most[w, p, s] x replicas[dep, pool, p, s]
    Valid for whole replicas (assign never exceeds most), and in the relaxation a workload
    needing 0.05 GPU served on g forces a whole replica, so HiGHS branches little. Skipped when
    relaxed (docs/plan.md, "Whole replicas")."""
    if model.relax:
        return
    rate = _capacity_rates(model.inputs)
    deps = _deployments(model.inputs)
    for (w, g, pool, p, s), var in model.assign.items():
        dep = deps[(w, g)]
        most = peak[(w, p, s)] / rate[(w, g)]
        if most >= dep[3]:
            continue  # the replica row binds as tightly
        replicas = model.replicas[(*dep, pool, p, s)]
        model.row({var: 1, replicas: -most}, pulp.LpConstraintLE,
                  _name("gate", w, g, pool, frame.label[p], s), 0)


def _min_replicas(inputs: PlanInputs) -> dict[str, int]:
    if "min_replicas" not in inputs.workloads.columns:
        return {}
    return {w: int(n) for w, n in inputs.workloads["min_replicas"].items() if n}


def add_min_replicas(model: PlanModel, frame: _Frame,
                     peak: dict[tuple[str, int, str], float]) -> None:
    """A workload with min_replicas k keeps at least k replicas of its deployments (shared
    ones count) in every slice of a period in which it is self-hosted at all: a binary
    hosted[w, p] gates its GPUs (assign <= most x hosted) and lifts the replicas."""
    least = _min_replicas(model.inputs)
    if not least:
        return
    rate = _capacity_rates(model.inputs)
    deps = _deployments(model.inputs)
    category = pulp.LpContinuous if model.relax else pulp.LpBinary
    by: dict = defaultdict(list)
    for (w, g, pool, p, s), var in model.assign.items():
        if w in least:
            by[(w, p)].append((g, pool, s, var))
    for (w, p), items in sorted(by.items()):
        name = _name(w, frame.label[p])
        hosted = model.column(f"hosted_{name}", 0, 1, category, p)
        for g, pool, s, var in items:
            most = max(peak[(w, p, s)] / rate[(w, g)], 1e-9)
            model.row({var: 1, hosted: -most}, pulp.LpConstraintLE,
                      _name("hosted", w, g, pool, frame.label[p], s), 0)
        for s in frame.slices:
            terms = {model.replicas[(*deps[(w, g)], pool, p, s)]: 1.0
                     for g, pool, t, _ in items if t == s}
            terms[hosted] = -float(least[w])
            model.row(terms, pulp.LpConstraintGE, _name("min_replicas", w, frame.label[p], s),
                      0)


def add_api_rate_limits(model: PlanModel, frame: _Frame) -> None:
    """Rate-limited APIs: all workloads together at most the limit, Mtok per hour."""
    inputs = model.inputs
    sent: dict = defaultdict(dict)
    for (_, a, p, s), var in model.api.items():
        if a in inputs.api_limits:
            sent[(a, p, s)][var] = 1.0
    for (a, p, s), terms in sorted(sent.items()):
        model.row(terms, pulp.LpConstraintLE, _name("rate_limit", a, frame.label[p], s),
                  inputs.api_limits[a])


def _add_limit(model: PlanModel, family: str, key: str, period: int, terms: dict,
               rhs: float, name: str) -> None:
    con = model.row(terms, pulp.LpConstraintLE, name, rhs)
    model.limits.setdefault(family, []).append((key, period, con))


def add_capex_budget(model: PlanModel, frame: _Frame) -> None:
    """Purchases plus site setup paid in a calendar year at most its capex budget."""
    inputs = model.inputs
    budget = inputs.limits.capex_budget_per_year
    if not budget:
        return
    price = {(o, int(m)): (float(pr), int(u)) for o, m, pr, u in zip(
        inputs.purchases["offer"], inputs.purchases["month"], inputs.purchases["price_per_gpu"],
        inputs.purchases["unit_gpus"], strict=True)}
    spent: dict = defaultdict(dict)
    for (o, m0), var in model.buy.items():
        pr, unit = price[(o, m0)]
        spent[_year(inputs, m0)][var] = pr * unit
    periods = frame.periods
    for i, p in enumerate(periods):
        if p in model.site and inputs.site_setup_cost > 0:
            year = spent[_year(inputs, frame.first[p])]
            year[model.site[p]] = year.get(model.site[p], 0.0) + inputs.site_setup_cost
            if i:
                prev = model.site[periods[i - 1]]
                year[prev] = year.get(prev, 0.0) - inputs.site_setup_cost
    for year, terms in sorted(spent.items()):
        if year in budget:
            # Binds from the year's first month on (for the diagnosis of shortfalls).
            first = min(m for (_, m) in model.buy if _year(inputs, m) == year)
            _add_limit(model, "capex_budget_per_year", str(year),
                       frame.period_of[first], terms, budget[year],
                       _name("capex_budget", year))


def _year(inputs: PlanInputs, month: int) -> int:
    return (month_index(inputs.start) + month) // 12


def add_power_cap(model: PlanModel, frame: _Frame, owned: dict) -> None:
    """The owned fleet in service draws at most max_power_kw (board power)."""
    inputs = model.inputs
    cap = inputs.limits.max_power_kw
    if cap is None or not model.buy:
        return
    for p in frame.periods:
        terms: dict = defaultdict(float)
        for g in inputs.gpus.index:
            for var, n in owned.get((g, p), {}).items():
                terms[var] += n * float(inputs.gpus.loc[g, "power_kw"])
        if terms:
            _add_limit(model, "max_power_kw", "owned fleet", p, terms, cap,
                       _name("power_cap", frame.label[p]))


def add_gpu_caps(model: PlanModel, frame: _Frame, owned: dict, reserved: dict) -> None:
    """GPUs of one type held at once, all channels, at most max_gpus (spot counted whole)."""
    inputs = model.inputs
    for g, cap in sorted(inputs.limits.max_gpus.items()):
        if g not in inputs.gpus.index:
            continue
        for p in frame.periods:
            for s in frame.slices:
                terms = {**owned.get((g, p), {}), **reserved.get((g, p), {})}
                for channel in HOURLY_CHANNELS:
                    for var, rental in model.rent.get((g, channel, p, s), {}).items():
                        terms[var] = float(rental.unit)
                if terms:
                    _add_limit(model, "max_gpus", g, p, terms, cap,
                               _name("gpu_cap", g, frame.label[p], s))


def add_spot_share(model: PlanModel, frame: _Frame, owned: dict, reserved: dict) -> None:
    """Spot GPUs at most max_spot_share of all GPUs held in a slice:
    (1 - share) x spot - share x (owned + reserved + on-demand) <= 0."""
    inputs = model.inputs
    share = inputs.limits.max_spot_share
    if share is None or not any(k[1] == "spot" for k in model.rent):
        return
    for p in frame.periods:
        for s in frame.slices:
            terms: dict = defaultdict(float)
            for g in inputs.gpus.index:
                for var, n in {**owned.get((g, p), {}), **reserved.get((g, p), {})}.items():
                    terms[var] -= share * n
                for var, rental in model.rent.get((g, "on_demand", p, s), {}).items():
                    terms[var] -= share * rental.unit
                for var, rental in model.rent.get((g, "spot", p, s), {}).items():
                    terms[var] += (1 - share) * rental.unit
            _add_limit(model, "max_spot_share", "spot", p, terms, 0.0,
                       _name("spot_share", frame.label[p], s))


def fix_commitments(model: PlanModel, commitments: pd.DataFrame) -> None:
    """Fix purchases and reservations to given GPUs (absent ones to 0): the second stage."""
    inputs = model.inputs
    wanted: dict = defaultdict(float)
    for kind, offer, month, gpus in commitments[["kind", "offer", "month", "gpus"]].itertuples(
            index=False):
        wanted[(kind, offer, month_index(month) - month_index(inputs.start))] += float(gpus)
    unit = dict(zip(inputs.purchases["offer"], inputs.purchases["unit_gpus"], strict=False))
    for (kind, offer, m), gpus in wanted.items():
        pool = model.buy if kind == "purchase" else model.reserve
        if (offer, m) not in pool and gpus > 1e-9:
            raise InputError(f"fixed commitment {kind} {offer} {inputs.month_label(m)} "
                             f"({gpus:g} GPUs) is not a decision of this plan (offer not allowed, "
                             "not available that month, or its channel excluded)")
    for (offer, m), var in model.buy.items():
        value = wanted.get(("purchase", offer, m), 0.0) / unit[offer]
        var.lowBound = var.upBound = value
    for (offer, m), var in model.reserve.items():
        value = wanted.get(("reserved", offer, m), 0.0) / model.reserve_unit[offer]
        var.lowBound = var.upBound = value


# --------------------------------------------------------------------------- read back


def _value(var: pulp.LpVariable) -> float:
    value = var.varValue
    if value is None or abs(value) < 1e-9:
        return 0.0
    if var.cat == pulp.LpInteger:
        return float(round(value))  # HiGHS returns 3.9999999999999996 for a whole 4
    return float(value)


def decision_values(model: PlanModel) -> dict[str, pd.DataFrame]:
    """The solution as tidy tables (only nonzero rows), keyed by decision family:
    buy (offer, month, servers), reserve (offer, month, gpus), rent (gpu, channel, period,
    slice, offer, availability, gpus), backup (gpu, period, slice, offer, away, billing, gpus),
    replicas (gpu, model, precision, tp, pool, period, slice, replicas; pool 'backup': the
    on-demand backup's), assign (workload, gpu, pool, period, slice, gpus),
    api (workload, api, period, slice, mtok_per_hour), site (period, on), unmet (workload,
    period, slice, mtok_per_hour)."""
    tables = {
        "buy": pd.DataFrame([(o, m, _value(v)) for (o, m), v in model.buy.items()
                             if _value(v)], columns=["offer", "month", "servers"]),
        "reserve": pd.DataFrame([(o, m, _value(v) * model.reserve_unit[o])
                                 for (o, m), v in model.reserve.items() if _value(v)],
                                columns=["offer", "month", "gpus"]),
        "rent": pd.DataFrame([(g, c, p, s, r.offer, r.availability, _value(v) * r.unit)
                              for (g, c, p, s), held in model.rent.items()
                              for v, r in held.items() if _value(v)],
                             columns=["gpu", "channel", "period", "slice", "offer",
                                      "availability", "gpus"]),
        "backup": pd.DataFrame([(g, p, s, r.offer, 1 - _spot_availability(model, g, p),
                                 r.billing, _value(v) * r.unit)
                                for (g, p, s), held in model.backup.items()
                                for v, r in held.items() if _value(v)],
                               columns=["gpu", "period", "slice", "offer", "away", "billing",
                                        "gpus"]),
        "replicas": pd.DataFrame([(*k, _value(v)) for k, v in model.replicas.items()
                                  if _value(v)]
                                 + [(g, m, pr, tp, "backup", p, s, _value(v)) for
                                    (g, m, pr, tp, p, s), v in model.backup_replicas.items()
                                    if _value(v)],
                                 columns=["gpu", "model", "precision", "tp", "pool", "period",
                                          "slice", "replicas"]),
        "assign": pd.DataFrame([(*k, _value(v)) for k, v in model.assign.items() if _value(v)],
                               columns=["workload", "gpu", "pool", "period", "slice", "gpus"]),
        "api": pd.DataFrame([(*k, _value(v)) for k, v in model.api.items() if _value(v)],
                            columns=["workload", "api", "period", "slice", "mtok_per_hour"]),
        "site": pd.DataFrame([(p, _value(v)) for p, v in model.site.items()],
                             columns=["period", "on"]),
        "unmet": pd.DataFrame([(*k, _value(v)) for k, v in model.unmet.items() if _value(v)],
                              columns=["workload", "period", "slice", "mtok_per_hour"]),
    }
    return tables


def tight_limits(model: PlanModel, period: int, tolerance: float = 1e-6) -> list[str]:
    """Limits holding with equality at or before `period` (what stops demand being met)."""
    found = []
    for family, rows in model.limits.items():
        for key, p, con in rows:
            value = con.value()
            if p <= period and value is not None and value >= -tolerance * max(
                    1.0, abs(con.constant)):
                label = f"{family} ({key})" if key else family
                if label not in found:
                    found.append(label)
    return found


def objective_value(model: PlanModel) -> float:
    """Objective in money (undoing the scale)."""
    return float(pulp.value(model.problem.objective) or 0.0) * model.money_scale


def write_model(model: PlanModel, path: str) -> None:
    """Write the problem as an MPS file (for HiGHS alone, `planner bench`) when the path ends
    in .mps, else as an LP file for reading."""
    if str(path).endswith(".mps"):
        model.problem.writeMPS(str(path))
    else:
        model.problem.writeLP(str(path))


__all__ = ["FLEET", "SPOT", "PlanModel", "build", "decision_values", "fix_commitments",
           "objective_value", "tight_limits", "write_model"]


# --------------------------------------------------------------------------- two-stage


@dataclass
class TwoStageModel(_SizedProblem):
    """A two-stage stochastic program: one PlanModel per future (its variables renamed
    `f{k}_...`), their first-stage decisions tied to shared ones, and the weighted objective."""

    problem: pulp.LpProblem
    futures: list[PlanModel]
    weights: list[float]
    money_scale: float
    first_stage: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)


def build_two_stage(futures: list[PlanInputs], weights: list[float], *, relax: bool = False,
                    cvar_weight: float = 0.0, cvar_alpha: float = 0.9) -> TwoStageModel:
    """One set of purchases and reservations for all `futures` (each its own demand, prices and
    availability), recourse (on-demand, spot, APIs, assignments) per future; minimizes
    (1 - cvar_weight) x E[cost] + cvar_weight x CVaR_alpha[cost] with E over `weights`.

    Every future is built by `build` with the same GPU bounds (the largest over the futures, so
    no future caps what the shared fleet may hold), its variables and constraints renamed with
    `f{k}_` and moved into one problem. A first-stage decision missing from some future (its
    offer not there) is held at 0 in all. docs/stress.md writes it out."""
    bounds = [_peak_gpus(inputs, _frame(inputs)) for inputs in futures]
    shared = {g: max(b.get(g, 0.0) for b in bounds) for b in bounds for g in b}
    # No pruning: what is dominated in one future may be the best commitment in another.
    built = [build(inputs, relax=relax, gpu_bound=shared, prune=False) for inputs in futures]
    scale = max(b.money_scale for b in built)
    problem = pulp.LpProblem("two_stage", pulp.LpMinimize)
    costs: list[dict] = []
    for k, b in enumerate(built):
        for var in b.problem.variables():
            var.name = f"f{k}_{var.name}"
        for name, con in list(b.problem._constraints.items()):  # PuLP 3: no public dict
            problem.addConstraint(con, f"f{k}_{name}")
        costs.append({v: c * b.money_scale / scale for v, c in b.problem.objective.items()})
    model = TwoStageModel(problem, built, list(weights), scale)
    keys: dict[tuple[str, str, int], list] = defaultdict(list)
    for b in built:
        for (offer, m), var in b.buy.items():
            keys[("purchase", offer, m)].append(var)
        for (offer, m), var in b.reserve.items():
            keys[("reserved", offer, m)].append(var)
    for (kind, offer, m), owned in sorted(keys.items()):
        first = built[0].inputs
        integer = not relax  # whole servers and whole reserved units
        shared_var = problem.add_variable(
            _name("x", kind, offer, first.month_label(m)), 0,
            0 if len(owned) < len(built) else None,
            pulp.LpInteger if integer else pulp.LpContinuous)
        model.first_stage[(kind, offer, m)] = shared_var
        for i, var in enumerate(owned):
            problem.addConstraint(pulp.LpConstraint(
                _expr({var: 1, shared_var: -1}), pulp.LpConstraintEQ,
                _name("link", i, kind, offer, first.month_label(m)), 0))
    objective: dict = defaultdict(float)
    for w, cost in zip(weights, costs, strict=True):
        for var, c in cost.items():
            objective[var] += (1 - cvar_weight) * w * c
    if cvar_weight > 0:
        # Rockafellar-Uryasev: CVaR = min eta + E[(cost - eta)+] / (1 - alpha).
        eta = problem.add_variable("cvar_eta", None, None)
        objective[eta] += cvar_weight
        for k, (w, cost) in enumerate(zip(weights, costs, strict=True)):
            excess = problem.add_variable(f"cvar_excess_{k}", 0)
            objective[excess] += cvar_weight * w / (1 - cvar_alpha)
            terms = {var: -c for var, c in cost.items()}
            terms[excess] = terms.get(excess, 0.0) + 1.0
            terms[eta] = 1.0
            problem.addConstraint(pulp.LpConstraint(_expr(terms), pulp.LpConstraintGE,
                                                    f"cvar_{k}", 0))
    problem.setObjective(_expr(objective))
    return model
