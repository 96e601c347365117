"""The stress report: the distribution of outcomes, the regret table and every variant."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.atomic import atomic_directory
from planner.jsonio import json_ready
from planner.report.charts import chart_bars, chart_distribution
from planner.report.html import Chart, Report, Section, Table, generated_at, write_report_files
from planner.results.result import CATEGORIES, COMMITMENT_COLUMNS


def _frame(value: Any) -> pd.DataFrame:
    """A list of records, a mapping of name -> record, or a DataFrame, as a DataFrame."""
    if value is None:
        return pd.DataFrame()
    if isinstance(value, pd.DataFrame):
        return value.reset_index() if value.index.name or any(value.index.names) else value
    if isinstance(value, Mapping):
        if all(isinstance(v, Mapping) for v in value.values()):
            return pd.DataFrame([{"name": k, **v} for k, v in value.items()])
        return pd.DataFrame([value])
    return pd.DataFrame(list(value))


def _scalar_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop nested columns (lists, dicts) a CSV cell cannot hold."""
    keep = [c for c in frame.columns
            if not frame[c].map(lambda v: isinstance(v, list | dict | tuple)).any()]
    return frame[keep]


def _samples(monte_carlo: Any) -> tuple[list[float], str]:
    """The sampled outcomes of a Monte Carlo result and what they measure."""
    if monte_carlo is None:
        return [], ""
    if isinstance(monte_carlo, pd.DataFrame):
        # The outcome (npv) first; a stress result's samples also hold the drawn multipliers.
        for col in sorted(monte_carlo.columns, key=lambda c: c != "npv"):
            if pd.api.types.is_numeric_dtype(monte_carlo[col]) and col not in ("sample", "seed"):
                return [float(v) for v in monte_carlo[col]], str(col)
        return [], ""
    if isinstance(monte_carlo, Mapping):
        for key in ("samples", "outcomes", "npv", "costs", "values", "total_cost"):
            value = monte_carlo.get(key)
            if isinstance(value, list | tuple | np.ndarray | pd.Series) and len(value):
                first = value[0]
                if isinstance(first, Mapping):
                    frame = pd.DataFrame(list(value))
                    return _samples(frame)
                return [float(v) for v in value], key
    return [], ""


def build_stress_report(stress: Mapping[str, Any], *, scenario: str, currency: str,
                        description: str | None = None, made_at: str | None = None,
                        meta: Sequence[tuple[str, str]] = ()) -> Report:
    """The stress report from a stress result's dict (`variants`, `regret`, `monte_carlo`,
    `hedged`): the distribution of outcomes, the regret table and every variant's cost."""
    made_at = made_at or generated_at()
    report = Report(title=f"Stress test: {scenario}", subtitle=description or "",
                    meta=[("Scenario", scenario)] + ([("Description", description)]
                                                     if description else [])
                    + list(meta) + [("Currency", currency), ("Generated", made_at)])
    cur = currency.lower()

    samples, measure = _samples(stress.get("monte_carlo"))
    dist = Section("Distribution of outcomes (Monte Carlo on the base plan)")
    if samples:
        data = np.asarray(samples, dtype=float)
        marks = {"median": float(np.median(data)), "p90": float(np.percentile(data, 90))}
        dist.charts.append(Chart("distribution", "Distribution of outcomes",
                                 chart_distribution(samples, currency, label=measure,
                                                    marks=marks),
                                 f"{len(samples)} samples of {measure}."))
        quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
        dist.tables.append(Table("distribution_summary", f"Outcome percentiles ({currency})",
                                 pd.DataFrame({"percentile": [f"p{int(q * 100)}" for q in
                                                              quantiles] + ["mean"],
                                               f"{measure}": [float(np.quantile(data, q))
                                                              for q in quantiles]
                                               + [float(data.mean())]})))
        dist.tables.append(Table("samples", "Samples", pd.DataFrame({
            "sample": range(len(samples)), measure: samples}), show=False))
    else:
        dist.notes.append("No Monte Carlo samples in this result.")
    report.sections.append(dist)

    regret = _scalar_columns(_frame(stress.get("regret")))
    section = Section("Regret table")
    section.notes.append("Regret: what a plan made for one variant costs under another, minus "
                         "the best plan for that other variant.")
    if len(regret):
        section.tables.append(Table("regret", f"Regret ({currency})", regret, max_rows=100))
    report.sections.append(section)

    variants = _scalar_columns(_frame(stress.get("variants")))
    var_section = Section("Variants")
    if len(variants):
        label = next((c for c in ("variant", "name") if c in variants.columns), None)
        value = next((c for c in ("npv", "total_cost", f"npv_{cur}", f"total_cost_{cur}")
                      if c in variants.columns), None)
        if label and value:
            var_section.charts.append(Chart(
                "variants", "Net present cost of each variant's own plan",
                chart_bars(variants, label, value, title="Cost of each variant's best plan",
                           xlabel=f"{value} ({currency})")))
        var_section.tables.append(Table("variants", "Variants", variants, max_rows=100))
    report.sections.append(var_section)

    hedged = stress.get("hedged")
    if hedged:
        flat = {k: v for k, v in (hedged.items() if isinstance(hedged, Mapping) else [])
                if not isinstance(v, list | dict | tuple)}
        if flat:
            report.sections.append(Section("Hedged plan", tables=[Table(
                "hedged", "Hedged plan", pd.DataFrame([flat]))]))
    return report


def write_stress_report(out_dir: Path | str, stress: Mapping[str, Any], *, scenario: str,
                        currency: str, description: str | None = None, force: bool = False,
                        meta: Sequence[tuple[str, str]] = (), extra: Any = None) -> Path:
    """Write the stress report into a new folder `out_dir`, atomically (see write_plan_report)."""
    out = Path(out_dir)
    with atomic_directory(out, force=force) as folder:
        if extra is not None:
            extra(folder)
        write_report_files(folder, build_stress_report(
            stress, scenario=scenario, currency=currency, description=description, meta=meta))
    return out


def stress_tables(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The CSV tables of --out (money columns suffixed with the currency)."""
    cur = result["currency"].lower()
    rows = []
    for v in result["variants"]:
        base = {"variant": v["name"], f"npv_{cur}": v["npv"],
                f"total_cost_{cur}": v["total_cost"], "status": v["status"]}
        rows.append(base)
    years = [{"variant": v["name"], "year": y["year"],
              **{f"{c}_{cur}": y[c] for c in (*CATEGORIES, "total")}}
             for v in result["variants"] for y in v["years"]]
    out = {"variants": pd.DataFrame(rows), "variant_years": pd.DataFrame(years),
           "variant_commitments": pd.DataFrame([{"variant": v["name"], **c}
                                                for v in result["variants"]
                                                for c in v["commitments"]])}
    if result["regret"]:
        out["regret"] = pd.DataFrame(result["regret"]).rename(columns={
            "npv": f"npv_{cur}", "best_npv": f"best_npv_{cur}", "regret": f"regret_{cur}"})
        out["regret_summary"] = pd.DataFrame(result["regret_summary"])
    if result["monte_carlo"]:
        out["monte_carlo_samples"] = pd.DataFrame(result["monte_carlo"]["samples"]).rename(
            columns={"npv": f"npv_{cur}"})
    h = result["hedged"]
    if h and h.get("commitments") is not None:
        out["hedged_commitments"] = pd.DataFrame(h.get("commitments") or [],
                                                 columns=COMMITMENT_COLUMNS)
        out["hedged_differences"] = pd.DataFrame(h.get("differences") or [])
        if h.get("npvs"):
            out["hedged_futures"] = pd.DataFrame({"future": h["future_names"],
                                                  f"hedged_npv_{cur}": h["npvs"]})
    return out


def write_stress_result(result: dict[str, Any], directory: Path | str, *,
                        force: bool = False) -> Path:
    """--out DIR: the stress report (report.html, charts) plus every table as CSV and
    stress.json, written atomically."""
    def extra(folder: Path) -> None:
        for name, frame in stress_tables(result).items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        (folder / "stress.json").write_text(json.dumps(json_ready(result), indent=2),
                                            encoding="utf-8")

    return write_stress_report(directory, result, scenario=result["scenario"],
                               currency=result["currency"], force=force, extra=extra)
