"""Report: tables, charts and one self-contained HTML file, from results only (SPEC 9 `--out`).

Data flows one way: a solved plan (planner.results.PlanResult) or a stress result -> tidy tables
(pandas, unit-suffixed columns) -> PNG charts (matplotlib, Agg canvas, no pyplot so a notebook's
backend is never touched) -> report.html with every chart embedded as a base64 data URI and no
external CSS, JS or fonts, so it opens without a network. This module never imports pulp.

The output folder is built by planner.atomic.atomic_directory: it appears complete or not at all,
and an existing folder is refused (exit 2) unless `force`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from planner.atomic import atomic_directory
from planner.report.charts import (
    ALTERNATIVE_LABELS,
    chart_accounting,
    chart_committed,
    chart_cost_per_mtok,
    chart_cumulative_cost,
    chart_fleet_held_paid,
    chart_gpus_over_time,
    chart_utilization,
    chart_yearly_budget,
    crossover_month,
)
from planner.report.html import (
    Chart,
    Report,
    Section,
    Table,
    fmt_amount,
    generated_at,
    write_report_files,
)
from planner.report.text import mix_in_words, render_summary
from planner.report.view import (
    PlanView,
    cumulative_frame,
    horizon_words,
    override_text,
    yearly_table,
)
from planner.results import statistics
from planner.schemas import CHANNELS
from planner.units import HOURS_PER_MONTH


def _meta(view: PlanView, made_at: str) -> list[tuple[str, str]]:
    solver = view.solver or {}
    gap = solver.get("gap")
    seconds = solver.get("seconds")
    status = str(solver.get("status", "unknown"))
    solver_text = status
    if solver.get("name"):
        solver_text += f" ({solver['name']})"
    if gap is not None and math.isfinite(float(gap)):
        solver_text += f", gap {float(gap):.2%}"
    if seconds is not None:
        solver_text += f", {float(seconds):.1f} s"
    added = [o for o in view.overrides if o.get("origin") != "scenario"]
    from_scenario = len(view.overrides) - len(added)
    overrides = "; ".join(f"{o.get('path')} = {override_text(o.get('value'))} ({o.get('origin')})"
                          for o in added) or "none"
    if from_scenario:
        overrides += (f"; plus {from_scenario} finance setting(s) of the scenario file "
                      "(overrides.csv)")
    rows = [("Scenario", view.scenario)]
    if view.description:
        rows.append(("Description", view.description))
    rows += [
        ("Variant", view.variant or "base (no variant)"),
        ("Overrides applied", overrides),
        ("Channels", ", ".join(view.channels) if view.channels else "all"),
        ("Horizon", horizon_words(view)),
        ("Currency", view.currency),
    ]
    if view.npv is not None:
        rows.append(("Net present cost", f"{fmt_amount(view.npv)} {view.currency}"))
    if view.total_cost is not None:
        rows.append(("Total cash (undiscounted)", f"{fmt_amount(view.total_cost)} "
                     f"{view.currency}"))
    rows += [("Solver", solver_text), ("Generated", made_at)]
    if view.warnings:
        rows.append(("Warnings", "; ".join(view.warnings)))
    return rows


def build_plan_report(view: PlanView, alternatives: Mapping[str, PlanView | None] | None = None,
                      *, skipped: Mapping[str, str] | None = None,
                      made_at: str | None = None) -> Report:
    """The plan report (charts + tables) from a PlanView and optional alternative plans.

    `alternatives`: name (`api_only`, `rent_only`) -> its PlanView, or None when it could not be
    planned; `skipped`: name -> why (said in the report)."""
    made_at = made_at or generated_at()
    cur = view.currency
    skipped = dict(skipped or {})
    alts: dict[str, PlanView] = {}
    for name, alt in (alternatives or {}).items():
        if alt is None:
            skipped.setdefault(name, "could not be planned")
        else:
            alts[name] = alt
    report = Report(title=f"Plan: {view.scenario}", subtitle=view.description or "",
                    meta=_meta(view, made_at), sources=view.sources)
    if view.overrides:
        report.appendix.append(Table(
            "overrides", "Overrides applied (lowest precedence first)",
            pd.DataFrame([{"origin": o.get("origin"), "path": o.get("path"),
                           "value": override_text(o.get("value"))} for o in view.overrides]),
            max_rows=200))

    budget = Section("Yearly budget by channel")
    budget.charts.append(Chart("yearly_budget", "Yearly budget by channel",
                               chart_yearly_budget(view.yearly, cur),
                               f"Cash paid in each calendar year, {cur}, undiscounted."))
    budget.tables.append(Table("yearly_budget", f"Yearly budget ({cur})", yearly_table(view)))
    budget.notes.extend(view.mix)
    report.sections.append(budget)
    _budget_sections(report, view)

    fleet = Section("GPUs by channel and type")
    fleet.charts.append(Chart("gpus", "GPUs in service by channel and type",
                              chart_gpus_over_time(view.gpus, view.months)))
    if {"avg_gpus", "paid_gpus"} <= set(view.gpus.columns) and len(view.gpus):
        fleet.charts.append(Chart(
            "fleet_held_paid", "GPUs held and paid for, by channel",
            chart_fleet_held_paid(view.gpus, view.months),
            "Per channel: GPUs held at the busiest slice of each period (solid line), held on "
            "average over the day's hours (dotted, where it differs) and paid for on average "
            "(area: paid GPU-hours over the period's hours, by GPU type). Owned and reserved "
            "GPUs are held and paid all day in whole units; hourly on-demand follows the daily "
            "profile; spot is paid only the hours it is there."))
    gpus_table = view.gpus.rename(columns={"gpus": "gpus"}).sort_values(
        ["month", "channel", "gpu"]).reset_index(drop=True)
    fleet.tables.append(Table("gpus", "GPUs in service by month", gpus_table, show=False))
    if view.orders is not None and len(view.orders):
        fleet.tables.append(Table("order_schedule", f"Orders (price locked per GPU, reserved per "
                                  f"GPU-month, {cur})", view.orders, max_rows=100))
    report.sections.append(fleet)

    plans = {"plan": view, **alts}
    cumulative = cumulative_frame(plans)
    col = f"cumulative_cost_{cur.lower()}"
    wide = cumulative.pivot_table(index="month", columns="plan", values=col).reindex(view.months)
    breakevens = {name: crossover_month(wide["plan"], wide[name]) for name in alts}
    compare = Section("Cumulative cost against API-only and rent-only")
    if alts:
        compare.charts.append(Chart(
            "cumulative_cost", "Cumulative cost of the plan and its alternatives",
            chart_cumulative_cost(cumulative.rename(columns={col: "cumulative_cost"}),
                                  view.months, cur, breakevens),
            "Dots mark the month from which this plan stays cheaper for good."))
    rows = []
    for name, alt in alts.items():
        plan_total = float(wide["plan"].iloc[-1]) if len(wide) else 0.0
        alt_total = float(wide[name].iloc[-1]) if len(wide) else 0.0
        rows.append({"alternative": ALTERNATIVE_LABELS.get(name, name),
                     f"total_cost_{cur.lower()}": alt_total,
                     f"plan_total_cost_{cur.lower()}": plan_total,
                     f"saving_{cur.lower()}": alt_total - plan_total,
                     f"npv_{cur.lower()}": alt.npv, f"plan_npv_{cur.lower()}": view.npv,
                     "crossover_month": breakevens[name] or "never",
                     "cheaper_from_start": breakevens[name] == view.months[0]})
        if breakevens[name] is None:
            label = ALTERNATIVE_LABELS.get(name, name)
            compare.notes.append(f"This plan is not cheaper than {label} by the end of the "
                                 "horizon (cumulative cash).")
    for name, why in skipped.items():
        compare.notes.append(f"{ALTERNATIVE_LABELS.get(name, name)} left out: {why}.")
    if rows:
        compare.tables.append(Table("alternatives", "This plan against the alternatives",
                                    pd.DataFrame(rows)))
    compare.tables.append(Table("cumulative_cost", "Cumulative cost by month", cumulative,
                                show=False))
    report.sections.append(compare)

    unit = Section("Cost per million tokens")
    unit.charts.append(Chart("cost_per_mtok", "Cost per million tokens by workload",
                             chart_cost_per_mtok(view.workloads, cur)))
    wl = view.workloads.rename(columns={"cost_per_mtok": f"cost_{cur.lower()}_per_mtok",
                                        "cost": f"cost_{cur.lower()}"})
    unit.tables.append(Table("cost_per_mtok", f"Cost per million tokens ({cur})", wl))
    report.sections.append(unit)

    use = Section("Utilization of owned and reserved GPUs")
    use.charts.append(Chart("utilization", "Utilization of owned and reserved GPUs",
                            chart_utilization(view.utilization, view.months),
                            "Share of paid GPU-hours that serve tokens."))
    if len(view.utilization):
        summary = (view.utilization.groupby(["channel", "gpu"])["utilization"]
                   .agg(["mean", "min", "max"]).reset_index()
                   .rename(columns={"mean": "mean_utilization", "min": "min_utilization",
                                    "max": "max_utilization"}))
        use.tables.append(Table("utilization_summary", "Utilization over the horizon", summary))
    use.tables.append(Table("utilization", "Utilization by month", view.utilization, show=False))
    report.sections.append(use)
    return report


def locked_sentence(view: PlanView) -> str | None:
    """How much of next year's cash is committed before it begins, in one sentence."""
    locked = view.locked
    if not locked or locked["total"] <= 0:
        return None
    cur = view.currency
    return (f"{fmt_amount(locked['committed'])} {cur} ({locked['committed_share']:.0%}) of "
            f"{locked['year']}'s cash of {fmt_amount(locked['total'])} {cur} is already locked "
            f"by purchases, reservations and the site decided before {locked['year']}; "
            f"{fmt_amount(locked['variable'])} {cur} is variable (on-demand, spot, API and "
            f"commitments first signed in {locked['year']}).")


def _budget_sections(report: Report, view: PlanView) -> None:
    """Committed against variable cash, the accounting view and the cost per workload per
    year (planner.results.statistics), when the view carries them."""
    cur = view.currency
    low = cur.lower()
    if view.committed is not None and len(view.committed):
        section = Section("Committed and variable cash")
        sentence = locked_sentence(view)
        if sentence:
            section.notes.append(sentence)
        section.charts.append(Chart(
            "committed_variable", "Committed and variable cash by year",
            chart_committed(view.committed, cur),
            "Committed: decided in an earlier year (purchases and their running cost, "
            "reservations, the site). Variable: on-demand, spot, API and commitments first "
            "signed in the year."))
        table = view.committed.reset_index().rename(columns={
            "committed": f"committed_{low}", "variable": f"variable_{low}"})
        section.tables.append(Table("committed_variable", f"Committed and variable cash ({cur})",
                                    table))
        report.sections.append(section)
    if view.accounting is not None and len(view.accounting):
        section = Section("Accounting view")
        section.notes.append(
            "Expense per year next to cash: owned GPUs and the site's setup depreciated over "
            "finance.depreciation_years from the month they serve (method "
            "finance.depreciation_method); cost of capital is the interest part of the TCO's "
            "capital charge, shown beside the expense, not in it. Months inside the horizon.")
        section.charts.append(Chart("accounting", "Cash and accounting expense by year",
                                    chart_accounting(view.accounting, cur)))
        table = view.accounting.reset_index()
        table.columns = ["year", *(f"{c}_{low}" for c in table.columns[1:])]
        section.tables.append(Table("accounting_view", f"Accounting view ({cur})", table))
        report.sections.append(section)
    if view.limits_value:
        section = Section("What a limit costs")
        section.notes.append(
            "Net present cost saved by one more unit of each binding limit: duals of the plan "
            "as an LP with its yes/no decisions fixed (a marginal rate; whole servers make the "
            "real saving come in steps).")
        section.notes.extend(f"{row['words'][0].upper()}{row['words'][1:]}."
                             for row in view.limits_value[:8])
        table = pd.DataFrame(view.limits_value)[["limit", "key", "year", "value_per_unit",
                                                 "unit"]]
        # Years as text: a number column would print 2,027; null is the whole horizon.
        table["year"] = ["whole horizon" if y is None or pd.isna(y) else str(int(y))
                         for y in table["year"]]
        section.tables.append(Table(
            "limits_value", f"Value of one more unit of each limit ({cur})",
            table.rename(columns={"value_per_unit": f"value_per_unit_{low}"})))
        report.sections.append(section)
    if view.workload_years is not None and len(view.workload_years):
        section = Section("Cost per workload and year")
        section.notes.append(
            "Cash per calendar year: API spend is the workload's own; each GPU type's cash "
            "(purchases, running cost, reservations, rentals) and the site's are shared by the "
            "GPU-hours each workload used over the horizon, as the cost per million tokens is.")
        wide = view.workload_years.pivot_table(index="workload", columns="year", values="total",
                                               aggfunc="sum", sort=False)
        wide.columns = [f"{y}_{low}" for y in wide.columns]
        section.tables.append(Table("cost_by_workload_year",
                                    f"Cost per workload and year ({cur}, cash)",
                                    wide.reset_index()))
        report.sections.append(section)


def write_plan_report(out_dir: Path | str, view: PlanView,
                      alternatives: Mapping[str, PlanView | None] | None = None, *,
                      force: bool = False, skipped: Mapping[str, str] | None = None,
                      extra: Any = None) -> Path:
    """Write the plan report into a new folder `out_dir`, atomically.

    `extra(folder)` (optional) writes more files into the folder first (the plan's own CSVs).
    Raises InputError if `out_dir` exists and not `force`; on any failure nothing is left."""
    out = Path(out_dir)
    with atomic_directory(out, force=force) as folder:
        if extra is not None:
            extra(folder)
        write_report_files(folder, build_plan_report(view, alternatives, skipped=skipped))
    return out



# --------------------------------------------------------------------------- from a PlanResult


def _period_months(result: Any) -> tuple[list[str], dict[int, str]]:
    """Period labels (x axis) and month offset -> its period's label; cash after the horizon
    (reservations running past it) is booked in the last period."""
    inputs = result.inputs
    labels = [str(m) for m in inputs.periods["month"]]
    of_month: dict[int, str] = {}
    for _, row in inputs.periods.iterrows():
        for m in range(int(row["first"]), int(row["first"]) + int(row["months"])):
            of_month[m] = str(row["month"])
    return labels, of_month


def _horizon(inputs: Any) -> str:
    """'2026-01 to 2026-06 (6 months, 2 quarters)': first and last month, how many."""
    months = int(inputs.months)
    periods = len(inputs.periods)
    count = f"{months} month{'s' if months != 1 else ''}"
    if periods != months:
        count += f", {periods} quarter{'s' if periods != 1 else ''}"
    return f"{inputs.month_label(0)} to {inputs.month_label(months - 1)} ({count})"


def _sources(result: Any, loaded: Any) -> pd.DataFrame:
    """source and as_of of every catalog entry the plan uses (GPUs, offers, APIs, models)."""
    catalog = loaded.catalog
    used: dict[str, set[str]] = {"gpu": set(), "offer": set(), "api": set(), "model": set()}
    fleet = result.fleet[result.fleet["gpus"] > 1e-9]
    used["gpu"].update(str(g) for g in fleet["gpu"])
    used["offer"].update(str(o) for o in result.commitments.get("offer", []))
    rentals = result.inputs.rentals
    for gpu, channel in fleet[fleet["channel"].isin(["on_demand", "spot"])][
            ["gpu", "channel"]].drop_duplicates().itertuples(index=False):
        # The plan keeps the GPU and channel of a rental; name every offer that could be it.
        match = rentals[(rentals["gpu"] == gpu) & (rentals["channel"] == channel)]
        used["offer"].update(str(o) for o in match["offer"].unique())
    served = result.served[result.served["mtok"] > 1e-9]
    used["api"].update(str(a) for a in served.loc[served["channel"] == "api", "resource"])
    hosted = served[served["channel"] != "api"][["workload", "resource"]].drop_duplicates()
    capacity = result.inputs.capacity
    for workload, gpu in hosted.itertuples(index=False):
        match = capacity[(capacity["workload"] == workload) & (capacity["gpu"] == gpu)]
        used["model"].update(str(m) for m in match["model"])
    pools = {"gpu": catalog.gpus, "offer": catalog.offers, "api": catalog.apis,
             "model": catalog.models}
    rows = []
    for kind, ids in used.items():
        for ident in sorted(ids):
            entry = pools[kind].get(ident)
            if entry is not None:
                rows.append({"kind": kind, "id": ident, "source": entry.source,
                             "as_of": str(entry.as_of)})
    for name, source in sorted(catalog.finance.sources.items()):
        rows.append({"kind": "finance", "id": name, "source": source, "as_of": ""})
    return pd.DataFrame(rows, columns=["kind", "id", "source", "as_of"])


def view_from_result(result: Any, loaded: Any = None) -> PlanView:
    """The report's view of a planner.results.PlanResult (`loaded`, the planner.loading.Loaded
    it was planned from, adds the scenario description and the catalog sources)."""
    prov = result.provenance or {}
    months, of_month = _period_months(result)
    last = months[-1] if months else ""
    cash = result.cash
    label = [of_month.get(int(m), last) for m in cash["month"]]
    monthly = (pd.DataFrame({"month": label, "cost": cash["amount"].astype(float)})
               .groupby("month", as_index=False, sort=False)["cost"].sum())
    years = result.years.reset_index()
    yearly = years.melt(id_vars="year", value_vars=[c for c in years.columns
                                                    if c not in ("year", "total")],
                        var_name="channel", value_name="cost")
    fleet = result.fleet[result.fleet["gpus"] > 1e-9]
    gpus = fleet[["month", "channel", "gpu", "gpus"]].astype({"gpus": float}).reset_index(
        drop=True)
    # Held on average and paid for (GPU-hours over the period's hours): on demand follows the
    # day, spot is paid the hours it is there; owned and reserved: all three the same.
    length = dict(zip(result.inputs.periods["month"].astype(str),
                      result.inputs.periods["months"].astype(int), strict=True))
    hours = [HOURS_PER_MONTH * length.get(str(m), 1) for m in fleet["month"]]
    gpus["avg_gpus"] = fleet["avg_gpus"].astype(float).to_numpy()
    gpus["paid_gpus"] = fleet["gpu_hours"].astype(float).to_numpy() / hours
    workloads = result.workloads.reset_index()
    keep = ["workload", "cost_per_mtok", "mtok", "npv"] + [c for c in workloads.columns
                                                          if c.endswith("_share")]
    workloads = workloads[[c for c in keep if c in workloads.columns
                           and not (c.endswith("_share") and (workloads[c] == 0).all())]]
    workloads = workloads.rename(columns={"npv": "cost_pv"})
    if loaded is not None and loaded.scenario is not None:
        described = loaded.scenario.workloads
        workloads.insert(1, "description", [
            described[w].description if w in described else None for w in workloads["workload"]])
    solver = dict(result.solver or {})
    solver.setdefault("gap", solver.get("mip_gap"))
    scenario = loaded.scenario if loaded is not None else None
    channels = prov.get("channels")
    all_channels = set(CHANNELS)
    view = PlanView(
        scenario=str(prov.get("scenario") or result.inputs.name), currency=result.currency,
        months=months, yearly=yearly, monthly=monthly, gpus=gpus,
        utilization=statistics.utilization(result)[
            ["month", "channel", "gpu", "utilization"]], workloads=workloads,
        description=scenario.description if scenario is not None else None,
        horizon=_horizon(result.inputs),
        variant=prov.get("variant"), overrides=list(prov.get("overrides") or []),
        channels=None if not channels or set(channels) == all_channels else list(channels),
        solver=solver, npv=float(result.npv), total_cost=float(result.total_cost),
        sources=_sources(result, loaded) if loaded is not None else None,
        warnings=list(prov.get("warnings") or []))
    if hasattr(result, "cash") and "signed" in result.cash.columns:
        view.committed = statistics.committed_by_year(result)
        view.locked = statistics.next_year_locked(result)
        view.accounting = statistics.accounting_by_year(result)
        view.workload_years = statistics.workload_cost_by_year(result)
        view.limits_value = statistics.limit_rows(getattr(result, "limits_value", []),
                                                  result.currency)
    words = result.mix_words() if hasattr(result, "mix_words") else ""
    view.mix = ([f"Tokens: {words}."] if words else []) + mix_in_words(view)
    view.orders = getattr(result, "orders", None)
    view.order_lines = result.order_lines() if hasattr(result, "order_lines") else []
    return view


def render_plan_summary(result: Any, alternatives: Mapping[str, Any] | None = None,
                        loaded: Any = None) -> str:
    """Terminal summary of a PlanResult (<= 100 columns); `alternatives`: name -> PlanResult
    (None entries are skipped)."""
    alts = {k: view_from_result(v, loaded) for k, v in (alternatives or {}).items()
            if v is not None}
    return render_summary(view_from_result(result, loaded), alts)


def write_plan_result_report(out_dir: Path | str, result: Any, *,
                             alternatives: Mapping[str, Any] | None = None,
                             skipped: Mapping[str, str] | None = None, loaded: Any = None,
                             force: bool = False) -> Path:
    """`planner plan --out DIR`: the plan's own CSVs and plan.json (PlanResult.write) plus the
    charts, report tables and report.html, all in one atomic folder.

    `alternatives`: `api_only` / `rent_only` -> PlanResult, or None when it could not be planned
    (`skipped` says why). An existing folder is refused (exit 2) unless `force`."""
    view = view_from_result(result, loaded)
    alts = {k: (view_from_result(v, loaded) if v is not None else None)
            for k, v in (alternatives or {}).items()}
    built = build_plan_report(view, alts, skipped=skipped)

    out = Path(out_dir)
    with atomic_directory(out, force=force) as folder:
        result.write_files(folder)
        write_report_files(folder, built)
    return out
