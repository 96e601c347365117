"""Report: tables, charts and one self-contained HTML file, from results only (SPEC 9 `--out`).

Data flows one way: a solved plan (planner.results.PlanResult) or a stress result -> tidy tables
(view) -> PNG charts (charts) -> report.html (html); the terminal summary is text. This package
never imports pulp or matplotlib.pyplot. Output folders are built by planner.atomic: they appear
complete or not at all, and an existing folder is refused (exit 2) unless `force`.

charts, html < view < text < plan, stress."""

from planner.report.charts import (
    chart_cost_per_mtok,
    chart_distribution,
    chart_gpus_over_time,
    chart_utilization,
    chart_yearly_budget,
    crossover_month,
)
from planner.report.html import fmt_amount, render_html
from planner.report.plan import (
    build_plan_report,
    render_plan_summary,
    view_from_result,
    write_plan_report,
    write_plan_result_report,
)
from planner.report.stress import build_stress_report, write_stress_report
from planner.report.text import render_summary
from planner.report.view import PlanView, cumulative_frame, yearly_table

__all__ = [
    "PlanView", "build_plan_report", "build_stress_report", "chart_cost_per_mtok",
    "chart_distribution", "chart_gpus_over_time", "chart_utilization", "chart_yearly_budget",
    "crossover_month", "cumulative_frame", "fmt_amount", "render_html", "render_plan_summary",
    "render_summary", "view_from_result", "write_plan_report", "write_plan_result_report",
    "write_stress_report", "yearly_table",
]
