"""What the report needs from one solved plan, as tidy tables (PlanView), and the tables built
from it (yearly budget, cumulative cost)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from planner.report.charts import channel_sort_key


def override_text(value: Any) -> str:
    """An override's value as the user would write it in YAML or --set ({USD: 7.2}, [a, b]),
    not as Python prints it."""
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return str(value)


@dataclass
class PlanView:
    """What the report needs from one solved plan, as tidy tables (amounts in `currency`).

    yearly: `year`, `channel`, `cost`  (cash per calendar year and channel, undiscounted)
    monthly: `month`, `cost`           (cash per month, all channels; for cumulative cost)
    gpus: `month`, `channel`, `gpu`, `gpus`          (GPUs in service: held at the busiest
          slice), optional `avg_gpus` (held, hour-weighted), `paid_gpus` (paid GPU-hours
          over the period's hours)
    utilization: `month`, `channel`, `gpu`, `utilization`  (owned and reserved only, 0..1)
    workloads: `workload`, `cost_per_mtok` (+ optional `tokens`, `cost`)
    sources: `kind`, `id`, `source`, `as_of`  (catalog entries the plan uses)
    """

    scenario: str
    currency: str
    months: list[str]  # period labels (a quarter: its first month)
    yearly: pd.DataFrame
    monthly: pd.DataFrame
    gpus: pd.DataFrame
    utilization: pd.DataFrame
    workloads: pd.DataFrame
    description: str | None = None
    horizon: str | None = None  # e.g. '2026-01 to 2026-06 (6 months, 2 quarters)'
    variant: str | None = None
    overrides: list[dict[str, Any]] = field(default_factory=list)
    channels: list[str] | None = None
    solver: dict[str, Any] = field(default_factory=dict)
    npv: float | None = None
    total_cost: float | None = None
    sources: pd.DataFrame | None = None
    mix: list[str] = field(default_factory=list)  # the mix in words, one sentence each
    order_lines: list[str] = field(default_factory=list)  # the order schedule, for the terminal
    orders: pd.DataFrame | None = None  # the order schedule (PlanResult.orders)
    warnings: list[str] = field(default_factory=list)  # inputs with no effect
    # Budget statistics (planner.results.statistics); None for views built without a result.
    committed: pd.DataFrame | None = None       # index year: committed, variable, share
    locked: dict[str, Any] | None = None        # next year's committed cash (next_year_locked)
    accounting: pd.DataFrame | None = None      # index year: depreciation ... expense, cash
    workload_years: pd.DataFrame | None = None  # year, workload, api, self_hosted, total
    limits_value: list[dict[str, Any]] = field(default_factory=list)  # shadow prices, words


def horizon_words(view: PlanView) -> str:
    """The horizon in words: its first and last month and how many (periods are labelled by
    their first month, so the last label is not the last month of a quarter)."""
    if view.horizon:
        return view.horizon
    if not view.months:
        return "empty"
    return f"{view.months[0]} to {view.months[-1]} ({len(view.months)} periods)"


def yearly_table(view: PlanView) -> pd.DataFrame:
    """Wide yearly budget: one row per year, one column per channel, a total column and a
    `total` row; columns suffixed with the currency (e.g. `api_cny`)."""
    wide = view.yearly.pivot_table(index="year", columns="channel", values="cost",
                                   aggfunc="sum", fill_value=0.0).sort_index()
    channels = sorted([c for c in wide.columns if (wide[c].abs() > 1e-9).any()],
                      key=channel_sort_key)
    wide = wide[channels].copy()
    wide["total"] = wide.sum(axis=1)
    cur = view.currency.lower()
    wide.columns = [f"{c}_{cur}" for c in wide.columns]
    out = wide.reset_index()
    out["year"] = out["year"].astype(str)
    total = {"year": "total", **{c: float(wide[c].sum()) for c in wide.columns}}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def cumulative_frame(plans: Mapping[str, PlanView]) -> pd.DataFrame:
    """Tidy cumulative cash by month for each plan (`month`, `plan`, `cost_X`,
    `cumulative_cost_X`), over the months of the first plan."""
    first = next(iter(plans.values()))
    cur = first.currency.lower()
    frames = []
    for name, view in plans.items():
        monthly = (view.monthly.groupby("month")["cost"].sum()
                   .reindex(first.months, fill_value=0.0))
        frames.append(pd.DataFrame({"month": first.months, "plan": name,
                                    f"cost_{cur}": monthly.to_numpy(dtype=float),
                                    f"cumulative_cost_{cur}": monthly.cumsum().to_numpy(
                                        dtype=float)}))
    return pd.concat(frames, ignore_index=True)
