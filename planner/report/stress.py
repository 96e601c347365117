"""The stress report (issue 21, items 5 and 8): what the base plan's costs look like over the
sampled futures (percentiles with their intervals, each year's cash as a fan), the regret
matrix, the hedged plan in words, every variant, and the solver's statistics in a details
section. Built from a typed planner.studies.stress.StressResult: no guessing at keys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.atomic import atomic_directory
from planner.jsonio import json_ready
from planner.report.charts import (
    _new_figure,
    _png,
    _thousands,
    _whole_ticks,
    chart_bars,
    chart_distribution,
)
from planner.report.html import Chart, Report, Section, Table, generated_at, write_report_files
from planner.results.result import CATEGORIES, COMMITMENT_COLUMNS, DIFFERENCE_COLUMNS

if TYPE_CHECKING:  # the report reads results only: importing the study would load the solver
    from planner.studies.stress import StressResult


def chart_year_fan(years: pd.DataFrame, currency: str) -> bytes:
    """Each calendar year's cash over the samples: the p10-p90 band and the median."""
    fig = _new_figure()
    ax = fig.add_subplot()
    x = years["year"].astype(int).to_numpy()
    ax.fill_between(x, years["p10"], years["p90"], color="#6a9bd1", alpha=0.35,
                    label="p10 to p90")
    ax.plot(x, years["p50"], color="#1f4e79", marker="o", linewidth=2, label="median (p50)")
    _whole_ticks(ax.xaxis)
    ax.yaxis.set_major_formatter(_thousands)
    ax.set_ylabel(f"cash in the year ({currency})")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.set_title("Budget ranges: cash per calendar year over the sampled futures", loc="left",
                 fontsize=11)
    return _png(fig)


def _interval(low: float | None, high: float | None) -> tuple[Any, Any]:
    return (np.nan if low is None else low, np.nan if high is None else high)


def percentile_frame(result: StressResult) -> pd.DataFrame:
    """p10/p50/p90/p99 of the npv with their confidence intervals, and the mean."""
    mc = result.monte_carlo or {}
    cur = result.currency.lower()
    rows = []
    for key in ("p10", "p50", "p90", "p99"):
        low, high = _interval(*mc["intervals"][key])
        rows.append({"percentile": key, f"npv_{cur}": mc[key], f"interval_low_{cur}": low,
                     f"interval_high_{cur}": high})
    rows.append({"percentile": "mean", f"npv_{cur}": mc["mean"],
                 f"interval_low_{cur}": np.nan, f"interval_high_{cur}": np.nan})
    return pd.DataFrame(rows)


def year_frame(result: StressResult) -> pd.DataFrame:
    """Per calendar year: p10/p50/p90 and mean of the cash (the npv's percentiles are in
    percentile_frame: present cost is not a year's cash)."""
    mc = result.monte_carlo or {}
    cur = result.currency.lower()
    keys = ("p10", "p50", "p90", "mean")
    return pd.DataFrame([{"year": int(y["year"]), **{f"{k}_{cur}": y[k] for k in keys}}
                         for y in mc.get("years", [])],
                        columns=["year", *(f"{k}_{cur}" for k in keys)])


def variants_frame(result: StressResult) -> pd.DataFrame:
    """Each variant's own plan: npv, cash over the horizon, status."""
    cur = result.currency.lower()
    return pd.DataFrame([{"variant": v["name"], f"npv_{cur}": v["npv"],
                          f"total_cash_{cur}": v["total_cost"], "status": v["status"]}
                         for v in result.variants],
                        columns=["variant", f"npv_{cur}", f"total_cash_{cur}", "status"])


def hedged_words(result: StressResult) -> list[str]:
    """The hedged plan in sentences: what to commit differently, and what it changes."""
    h = result.hedged
    if not h:
        return []
    if h.get("expected_npv") is None:
        return [f"No hedged plan: {h.get('error') or h.get('status')}."]
    det, det90 = h.get("deterministic_expected_npv"), h.get("deterministic_p90_npv")

    def change(new: float | None, old: float | None) -> str:
        return "-" if new is None or not old else f"{(new - old) / old * 100:+.1f}%"

    effect = (f"expected cost {change(h['expected_npv'], det)}, "
              f"p90 {change(h.get('p90_npv'), det90)} against the base plan's commitments "
              f"on the same {h['futures']} futures")
    if h.get("kept_base") or not h.get("changes"):
        lines = [f"Commit as the base plan does ({effect})."]
    else:
        lines = [f"{text[0].upper()}{text[1:]}." for text in h["changes"]]
        lines.append(f"Together: {effect}.")
        if h.get("kept_plan"):  # a variant's own plan beat the program's on these futures
            lines.append(f"These are the commitments of the plan made for variant "
                         f"{h['kept_plan']}, the best of the plans tried.")
    if h.get("gap_to_bound") is not None:
        lines.append(f"No commitments can do better than {h['gap_to_bound']:.1%} below this "
                     "(the bound of perfect information: each future's own plan, fractional).")
    return lines


def details_frame(result: StressResult) -> pd.DataFrame:
    """Solver statistics: how the run went, not what it found."""
    rows: list[tuple[str, Any]] = [("engine", result.engine), ("seconds", result.seconds)]
    rows += [(f"seconds: {k}", v) for k, v in result.timings.items()]
    rows += [(f"solves: {k}", v) for k, v in result.solves.items()]
    mc = result.monte_carlo
    if mc:
        rows += [("Monte Carlo: LP relaxation whole (no branch and bound)", mc["lp_whole"]),
                 ("Monte Carlo: largest MIP gap", mc["largest_gap"])]
    h = result.hedged
    if h:
        program = h.get("program") or {}
        rows += [("hedged plan: method", h.get("method")),
                 ("hedged plan: program status", program.get("status")),
                 ("hedged plan: program MIP gap", program.get("mip_gap")),
                 ("hedged plan: program variables", program.get("variables")),
                 ("hedged plan: program constraints", program.get("constraints")),
                 ("hedged plan: futures in the program", h.get("clusters"))]
    return pd.DataFrame([{"statistic": k, "value": "-" if v is None else str(v)}
                         for k, v in rows])


def build_stress_report(result: StressResult, *, description: str | None = None,
                        made_at: str | None = None, meta: Sequence[tuple[str, str]] = ()
                        ) -> Report:
    """The stress report of a StressResult."""
    made_at = made_at or generated_at()
    currency = result.currency
    report = Report(title=f"Stress test: {result.scenario}", subtitle=description or "",
                    meta=[("Scenario", result.scenario)] + ([("Description", description)]
                                                            if description else [])
                    + list(meta) + [("Currency", currency), ("Seed", str(result.seed)),
                                    ("Generated", made_at)])
    mc = result.monte_carlo
    dist = Section("Distribution of outcomes (Monte Carlo on the base plan's commitments)")
    samples = [s["npv"] for s in mc["samples"] if s["npv"] is not None] if mc else []
    if samples:
        marks = {"median": float(mc["p50"]), "p90": float(mc["p90"])}
        dist.charts.append(Chart("distribution", "Distribution of outcomes",
                                 chart_distribution(samples, currency, label="npv", marks=marks),
                                 f"{len(samples)} feasible samples of the net present cost "
                                 f"(seed {result.seed}); {mc['infeasible']} infeasible."))
        dist.tables.append(Table(
            "distribution_summary",
            f"Percentiles of the net present cost ({currency}) with their "
            f"{mc['confidence']:.0%} confidence intervals (order statistics)",
            percentile_frame(result)))
        years = pd.DataFrame(mc["years"])
        if len(years):
            dist.charts.append(Chart("budget_fan", "Budget ranges per year",
                                     chart_year_fan(years, currency),
                                     "The band holds 80% of the sampled futures' cash for "
                                     "that calendar year; the line is the median."))
        dist.tables.append(Table("budget_ranges", f"Cash per calendar year over the samples "
                                 f"({currency}): what a budget must cover",
                                 year_frame(result)))
    else:
        dist.notes.append("No Monte Carlo samples in this result.")
    report.sections.append(dist)

    section = Section("Regret")
    if result.regret:
        section.notes.append("Regret: what a plan's commitments cost under a future (the rest "
                             "re-optimised there, the commitments at the prices they were "
                             "signed at), minus the best cost known for that future. Rows: "
                             "whose commitments; columns: the future; empty: cannot serve it.")
        matrix = result.regret_matrix().reset_index()
        section.tables.append(Table("regret_matrix", f"Regret ({currency})", matrix,
                                    max_rows=100))
    else:
        section.notes.append("Regret was not computed (--no-regret).")
    report.sections.append(section)

    if result.hedged:
        h = result.hedged
        hedge = Section("Hedged plan")
        hedge.notes.extend(hedged_words(result))
        if h.get("differences"):
            hedge.tables.append(Table("hedged_differences", "What the hedged plan commits "
                                      "differently (GPUs)",
                                      pd.DataFrame(h["differences"], columns=DIFFERENCE_COLUMNS)))
        report.sections.append(hedge)

    variants = variants_frame(result)
    npv = f"npv_{currency.lower()}"
    var_section = Section("Variants")
    plotted = variants.dropna(subset=[npv])
    if len(plotted):
        var_section.charts.append(Chart(
            "variants", "Net present cost of each variant's own plan",
            chart_bars(plotted, "variant", npv, title="Cost of each variant's best plan",
                       xlabel=f"npv ({currency})")))
    var_section.tables.append(Table("variants", "Variants", variants, max_rows=100))
    report.sections.append(var_section)

    report.sections.append(Section("Details: how the run went", tables=[Table(
        "solver_statistics", "Solver statistics", details_frame(result))]))
    return report


def write_stress_report(out_dir: Path | str, result: StressResult, *,
                        description: str | None = None, force: bool = False,
                        meta: Sequence[tuple[str, str]] = (), extra: Any = None) -> Path:
    """Write the stress report into a new folder `out_dir`, atomically (see write_plan_report)."""
    out = Path(out_dir)
    with atomic_directory(out, force=force) as folder:
        if extra is not None:
            extra(folder)
        write_report_files(folder, build_stress_report(result, description=description,
                                                       meta=meta))
    return out


def stress_tables(result: StressResult) -> dict[str, pd.DataFrame]:
    """The CSV tables of --out (money columns suffixed with the currency)."""
    cur = result.currency.lower()
    years = [{"variant": v["name"], "year": y["year"],
              **{f"{c}_{cur}": y[c] for c in (*CATEGORIES, "total")}}
             for v in result.variants for y in v["years"]]
    out = {"variants": variants_frame(result), "variant_years": pd.DataFrame(years),
           "variant_commitments": pd.DataFrame([{"variant": v["name"], **c}
                                                for v in result.variants
                                                for c in v["commitments"]],
                                               columns=["variant", *COMMITMENT_COLUMNS,
                                                        "price_per_gpu", "price_unit"])}
    if result.regret:
        out["regret"] = pd.DataFrame(result.regret).rename(columns={
            "npv": f"npv_{cur}", "best_npv": f"best_npv_{cur}", "regret": f"regret_{cur}"})
        out["regret_summary"] = pd.DataFrame(result.regret_summary).rename(columns={
            "max_regret": f"max_regret_{cur}", "mean_regret": f"mean_regret_{cur}"})
    if result.monte_carlo:
        samples = result.samples_frame()
        out["monte_carlo_samples"] = samples.rename(columns={
            c: f"{c}_{cur}" for c in samples.columns if c == "npv" or c.startswith("cash_")})
    h = result.hedged
    if h and h.get("commitments") is not None:
        out["hedged_commitments"] = pd.DataFrame(h.get("commitments") or [],
                                                 columns=COMMITMENT_COLUMNS)
        out["hedged_differences"] = pd.DataFrame(h.get("differences") or [],
                                                 columns=DIFFERENCE_COLUMNS)
        if h.get("npvs"):
            out["hedged_futures"] = pd.DataFrame({"future": h["future_names"],
                                                  f"hedged_npv_{cur}": h["npvs"]})
    return out


def write_stress_result(result: StressResult, directory: Path | str, *,
                        force: bool = False) -> Path:
    """--out DIR: the stress report (report.html, charts) plus every table as CSV and
    stress.json (the --json document), written atomically."""
    def extra(folder: Path) -> None:
        for name, frame in stress_tables(result).items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        (folder / "stress.json").write_text(json.dumps(json_ready(result.to_dict()), indent=2),
                                            encoding="utf-8")

    return write_stress_report(directory, result, force=force, extra=extra)
