"""The sensitivity report (`planner sensitivity SCENARIO --out DIR`): a tornado chart of the
net present cost, the table of npv and next year's cash at each end, and where the
build/rent/API choice flips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from planner.atomic import atomic_directory
from planner.jsonio import json_ready
from planner.report.charts import chart_tornado
from planner.report.html import (
    Chart,
    Report,
    Section,
    Table,
    fmt_amount,
    generated_at,
    write_report_files,
)


def build_sensitivity_report(result: Any, made_at: str | None = None) -> Report:
    """The report of a planner.studies.sensitivity.SensitivityResult."""
    cur = result.currency
    low = cur.lower()
    base = result.base
    report = Report(
        title=f"Sensitivity: {result.scenario}",
        meta=[("Scenario", str(result.scenario)), ("Delta", f"{result.delta:g}"),
              ("Base plan", f"net present cost {fmt_amount(base['npv'])} {cur}; "
               f"{result.next_year} cash {fmt_amount(base['next_year_cash'])} {cur}; "
               f"main channel {base['choice']}"),
              ("Generated", made_at or generated_at())])
    section = Section("What moves the answer most")
    section.charts.append(Chart(
        "tornado", "Net present cost at the low and high end of each assumption",
        chart_tornado(result.rows, float(base["npv"]), cur),
        "Every plan re-optimised; largest swing on top."))
    table = result.rows.rename(columns={
        "npv_low": f"npv_low_{low}", "npv_high": f"npv_high_{low}", "swing": f"swing_{low}",
        "next_year_cash_low": f"cash_{result.next_year}_low_{low}",
        "next_year_cash_high": f"cash_{result.next_year}_high_{low}"})
    section.tables.append(Table("sensitivity", f"Each assumption at its low and high end ({cur})",
                                table))
    for row in result.rows.to_dict(orient="records"):
        flips = row.get("flips_at")
        if flips is not None and not pd.isna(flips):
            section.notes.append(f"{row['assumption']}: the plan's main channel leaves "
                                 f"{base['choice']} at {flips:.3g} ({row['unit']}).")
    section.notes.extend(f"Note: {n}." for n in result.notes)
    report.sections.append(section)
    return report


def write_sensitivity_report(result: Any, out_dir: Path | str, *, force: bool = False) -> Path:
    """tornado.png, sensitivity.csv, sensitivity.json and report.html in a new folder."""
    out = Path(out_dir)
    with atomic_directory(out, force=force) as folder:
        (folder / "sensitivity.json").write_text(
            json.dumps(json_ready(result.to_dict()), indent=2), encoding="utf-8")
        write_report_files(folder, build_sensitivity_report(result))
    return out


__all__ = ["build_sensitivity_report", "write_sensitivity_report"]
