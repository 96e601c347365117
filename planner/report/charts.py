"""Charts as PNG bytes (matplotlib, Agg canvas, no pyplot so a notebook's backend is never
touched); one colour per cost channel in every chart."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# One colour per cost channel, the same in every chart (and in the HTML legend swatches).
CHANNEL_COLORS = {
    "capex": "#1f4e79",
    "purchase": "#1f4e79",
    "opex": "#6a9bd1",
    "site": "#9dbbd9",
    "reserved": "#2e8b57",
    "on_demand": "#e08a1e",
    "spot": "#e6c229",
    "api": "#7b4fa0",
}
# Order of the stacked bars: owned money first (bottom), APIs last (top).
CHANNEL_ORDER = ("capex", "purchase", "opex", "site", "reserved", "on_demand", "spot", "api")
ALTERNATIVE_COLORS = {"plan": "#c0392b", "api_only": "#7b4fa0", "rent_only": "#e08a1e"}
ALTERNATIVE_LABELS = {"plan": "this plan", "api_only": "API only", "rent_only": "rent only"}
FIG_SIZE_IN = (9.0, 4.2)
FIG_DPI = 110


def _new_figure(size: tuple[float, float] = FIG_SIZE_IN) -> Figure:
    # matplotlib is imported when a chart is drawn: a plan printed or saved as JSON never
    # draws one, and the import is about a third of such a run's time.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=FIG_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # A user's name may hold glyphs DejaVu lacks (e.g. CJK): draw boxes, do not fail the report.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _style_axes(ax: Any, ylabel: str) -> None:
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.yaxis.set_major_formatter(_thousands)


def _thousands_fn(value: float, _pos: int | None = None) -> str:
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:,.1f}B"
    if magnitude >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}" if magnitude >= 10 or value == 0 else f"{value:,.2f}"


_thousands = _thousands_fn  # axis formatters: matplotlib wraps a function in a FuncFormatter


def _plain(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}"


def _whole_ticks(axis) -> None:
    """Ticks at whole numbers only (counts: GPUs, samples)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def channel_sort_key(channel: str) -> tuple[int, str]:
    return (CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else len(CHANNEL_ORDER),
            channel)


def _month_ticks(ax: Any, months: Sequence[str]) -> None:
    """Label about a dozen months on an x axis of month positions 0..n-1."""
    n = len(months)
    step = max(1, math.ceil(n / 12))
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([months[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, n - 0.5)


def chart_yearly_budget(yearly: pd.DataFrame, currency: str) -> bytes:
    """Stacked bars: one bar per year, one segment per channel.

    `yearly`: tidy rows of `year`, `channel`, `cost` (in `currency`); zero channels are dropped.
    """
    wide = yearly.pivot_table(index="year", columns="channel", values="cost", aggfunc="sum",
                              fill_value=0.0).sort_index()
    channels = sorted([c for c in wide.columns if (wide[c].abs() > 1e-9).any()],
                      key=channel_sort_key)
    fig = _new_figure()
    ax = fig.add_subplot()
    x = np.arange(len(wide.index))
    bottom_pos = np.zeros(len(x))
    bottom_neg = np.zeros(len(x))
    for channel in channels:
        values = wide[channel].to_numpy(dtype=float)
        base = np.where(values >= 0, bottom_pos, bottom_neg)
        ax.bar(x, values, 0.6, bottom=base, label=channel,
               color=CHANNEL_COLORS.get(channel, "#888888"))
        bottom_pos += np.where(values >= 0, values, 0.0)
        bottom_neg += np.where(values < 0, values, 0.0)
    totals = wide[channels].sum(axis=1).to_numpy(dtype=float) if channels else bottom_pos
    for xi, top, total in zip(x, bottom_pos, totals, strict=True):
        ax.annotate(_thousands_fn(total), (xi, top), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([str(y) for y in wide.index])
    _style_axes(ax, f"{currency} per year")
    ax.set_title("Yearly budget by channel", loc="left", fontsize=11)
    if channels:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _png(fig)


def chart_gpus_over_time(gpus: pd.DataFrame, months: Sequence[str]) -> bytes:
    """Stacked area: GPUs in service each month, one band per (channel, GPU type).

    `gpus`: tidy rows of `month`, `channel`, `gpu`, `gpus` (count, may be fractional for rentals).
    """
    fig = _new_figure()
    ax = fig.add_subplot()
    frame = gpus.copy()
    frame["series"] = frame["channel"] + " " + frame["gpu"]
    wide = frame.pivot_table(index="month", columns="series", values="gpus", aggfunc="sum",
                             fill_value=0.0).reindex(list(months), fill_value=0.0)
    order = sorted(wide.columns, key=lambda s: (channel_sort_key(s.split(" ", 1)[0]), s))
    order = [s for s in order if (wide[s] > 1e-9).any()]
    if order:
        colors = _series_colors(order)
        # Steps, not ramps: a fleet changes at the start of a period and holds through it.
        # Period i covers [i - 0.5, i + 0.5]: repeat the last value to close the final step.
        edges = np.arange(len(months) + 1) - 0.5
        ax.stackplot(edges, *[np.append(wide[s].to_numpy(dtype=float), wide[s].iloc[-1])
                              for s in order], labels=order, colors=colors, alpha=0.9,
                     step="post")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no GPUs in this plan (APIs only)", transform=ax.transAxes,
                ha="center", va="center", color="#666666")
    _month_ticks(ax, months)
    _style_axes(ax, "GPUs")
    ax.yaxis.set_major_formatter(_plain)
    _whole_ticks(ax.yaxis)
    ax.set_title("GPUs by channel and type", loc="left", fontsize=11)
    return _png(fig)


FLEET_CHANNEL_TITLES = {"purchase": "owned", "reserved": "reserved", "on_demand": "on demand",
                        "spot": "spot"}


def chart_fleet_held_paid(gpus: pd.DataFrame, months: Sequence[str]) -> bytes:
    """One panel per GPU channel: GPUs held at the busiest slice (solid step line), held on
    average over the hours (dotted) and paid for on average (area, stacked by GPU type).

    `gpus`: tidy rows of `month`, `channel`, `gpu`, `gpus` (held at the peak slice), `avg_gpus`
    (held, hour-weighted) and `paid_gpus` (paid GPU-hours / hours of the period). Owned and
    reserved GPUs are paid all day in whole units: the three coincide. Hourly on-demand follows
    the daily profile (peak above average); spot is paid only the hours it is there.
    """
    frame = gpus[gpus["gpus"] > 1e-9]
    channels = sorted(set(frame["channel"]), key=channel_sort_key)
    if not channels:
        fig = _new_figure()
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no GPUs in this plan (APIs only)", transform=ax.transAxes,
                ha="center", va="center", color="#666666")
        ax.set_axis_off()
        return _png(fig)
    width, height = FIG_SIZE_IN
    fig = _new_figure((width, max(height, 1.9 * len(channels) + 0.8)))
    axes = fig.subplots(len(channels), 1, sharex=True, squeeze=False)[:, 0]
    edges = np.arange(len(months) + 1) - 0.5
    x_of = {m: i for i, m in enumerate(months)}

    def steps(series: pd.Series) -> np.ndarray:
        values = series.reindex(list(months), fill_value=0.0).to_numpy(dtype=float)
        return np.append(values, values[-1])  # close the final step

    for ax, channel in zip(axes, channels, strict=True):
        part = frame[(frame["channel"] == channel) & frame["month"].isin(x_of)]
        types = sorted(set(part["gpu"]))
        paid = part.pivot_table(index="month", columns="gpu", values="paid_gpus",
                                aggfunc="sum", fill_value=0.0)
        colors = _series_colors([f"{channel} {g}" for g in types])
        ax.stackplot(edges, *[steps(paid[g]) for g in types], colors=colors, alpha=0.55,
                     step="post", labels=[f"{g} paid (average)" for g in types])
        peak = part.groupby("month")["gpus"].sum()
        average = part.groupby("month")["avg_gpus"].sum()
        ax.step(edges, steps(peak), where="post", color="#222222", linewidth=1.4,
                label="held, busiest slice")
        if ((average - peak).abs() > 1e-6).any():
            ax.step(edges, steps(average), where="post", color="#222222", linewidth=1.0,
                    linestyle=":", label="held, average over the hours")
        _style_axes(ax, "GPUs")
        ax.yaxis.set_major_formatter(_plain)
        _whole_ticks(ax.yaxis)
        ax.set_ylim(bottom=0)
        ax.set_title(FLEET_CHANNEL_TITLES.get(channel, channel), loc="left", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
    _month_ticks(axes[-1], months)
    fig.suptitle("GPUs held and paid for, by channel", x=0.02, ha="left", fontsize=11)
    return _png(fig)


def _series_colors(series: Sequence[str]) -> list[str]:
    """Channel hue, darkened and lightened in turn per GPU type so bands of one channel stay
    apart (a 0.22 step of lightening alone left two spot types nearly the same yellow)."""
    from matplotlib.colors import to_hex, to_rgb

    shades = (0.0, -0.45, 0.45, -0.7, 0.7)  # < 0: towards black, > 0: towards white
    seen: dict[str, int] = {}
    colors = []
    for name in series:
        channel = name.split(" ", 1)[0]
        k = seen.get(channel, 0)
        seen[channel] = k + 1
        base = np.array(to_rgb(CHANNEL_COLORS.get(channel, "#888888")))
        shade = shades[k % len(shades)]
        colors.append(to_hex(base * (1 + shade) if shade < 0 else base + (1 - base) * shade))
    return colors


def crossover_month(plan: pd.Series, alternative: pd.Series) -> str | None:
    """First month from which the plan's cumulative cost stays below the alternative's to the
    end of the horizon; None if it never does. Both series are indexed by month (same index).

    >>> idx = ["2026-01", "2026-02", "2026-03", "2026-04"]
    >>> crossover_month(pd.Series([10, 12, 14, 16], idx), pd.Series([4, 8, 12, 16.5], idx))
    '2026-04'
    >>> crossover_month(pd.Series([1, 2], idx[:2]), pd.Series([3, 1], idx[:2])) is None
    True
    """
    below = (plan < alternative - 1e-9 * np.maximum(1.0, alternative.abs())).to_numpy()
    if len(below) == 0 or not below[-1]:
        return None
    # Walk back from the end to the start of the final run of `below`.
    start = len(below)
    while start > 0 and below[start - 1]:
        start -= 1
    return str(plan.index[start])


def chart_cumulative_cost(cumulative: pd.DataFrame, months: Sequence[str], currency: str,
                          breakevens: Mapping[str, str | None]) -> bytes:
    """Lines: cumulative cost of the plan and of each alternative, breakeven months marked.

    `cumulative`: tidy rows of `month`, `plan` (plan / api_only / rent_only), `cumulative_cost`.
    `breakevens`: alternative -> month where the plan gets cheaper for good (or None).
    """
    fig = _new_figure()
    ax = fig.add_subplot()
    wide = cumulative.pivot_table(index="month", columns="plan", values="cumulative_cost",
                                  aggfunc="sum").reindex(list(months))
    x = np.arange(len(months))
    order = ["plan"] + sorted(c for c in wide.columns if c != "plan")
    for name in order:
        if name not in wide.columns:
            continue
        ax.plot(x, wide[name].to_numpy(dtype=float), label=ALTERNATIVE_LABELS.get(name, name),
                color=ALTERNATIVE_COLORS.get(name, "#555555"),
                linewidth=2.4 if name == "plan" else 1.6,
                linestyle="-" if name == "plan" else "--")
    position = {m: i for i, m in enumerate(months)}
    marked = 0
    for name, month in breakevens.items():
        # Cheaper from the first month is no crossing: nothing to mark (the table says so).
        if month is None or not position.get(month) or name not in wide.columns:
            continue
        xi = position[month]
        yi = float(wide.loc[month, "plan"])
        ax.plot([xi], [yi], marker="o", markersize=8, color=ALTERNATIVE_COLORS.get(name, "#555"),
                markeredgecolor="black", zorder=5)
        ax.annotate(f"cheaper than {ALTERNATIVE_LABELS.get(name, name)}\nfrom {month}", (xi, yi),
                    xytext=(8, -24 - 26 * marked), textcoords="offset points", fontsize=8)
        marked += 1
    _month_ticks(ax, months)
    _style_axes(ax, f"cumulative {currency}")
    ax.set_title("Cumulative cost: this plan against the alternatives", loc="left", fontsize=11)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return _png(fig)


def chart_cost_per_mtok(workloads: pd.DataFrame, currency: str) -> bytes:
    """Horizontal bars: cost per million tokens of each workload over the horizon.

    `workloads`: rows of `workload`, `cost_per_mtok`.
    """
    rows = workloads.dropna(subset=["cost_per_mtok"])
    height = 1.5 + 0.4 * len(rows)
    fig = _new_figure((FIG_SIZE_IN[0], height))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    values = rows["cost_per_mtok"].to_numpy(dtype=float)
    ax.barh(y, values, 0.55, color="#1f4e79")
    for yi, value in zip(y, values, strict=True):
        ax.annotate(f"{value:,.3f}", (value, yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([str(w) for w in rows["workload"]])
    ax.invert_yaxis()
    ax.set_xlabel(f"{currency} per million tokens (input + output)")
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(values):
        ax.set_xlim(0, float(np.nanmax(values)) * 1.18 or 1.0)
    ax.set_title("Cost per million tokens by workload", loc="left", fontsize=11)
    return _png(fig)


def chart_utilization(utilization: pd.DataFrame, months: Sequence[str]) -> bytes:
    """Lines: share of owned and reserved GPU-hours doing work, per (channel, GPU) and month.

    `utilization`: tidy rows of `month`, `channel`, `gpu`, `utilization` (0..1).
    """
    fig = _new_figure()
    ax = fig.add_subplot()
    frame = utilization.copy()
    frame["series"] = frame["channel"] + " " + frame["gpu"]
    wide = frame.pivot_table(index="month", columns="series", values="utilization",
                             aggfunc="mean").reindex(list(months))
    x = np.arange(len(months))
    series = sorted(wide.columns, key=lambda s: (channel_sort_key(s.split(" ", 1)[0]), s))
    for name, color in zip(series, _series_colors(series), strict=True):
        ax.plot(x, 100 * wide[name].to_numpy(dtype=float), label=name, color=color,
                linewidth=1.8, marker="." if len(months) <= 24 else None)
    if not series:
        ax.text(0.5, 0.5, "no owned or reserved GPUs in this plan", transform=ax.transAxes,
                ha="center", va="center", color="#666666")
    _month_ticks(ax, months)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of paid GPU-hours used")
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.set_title("Utilization of owned and reserved GPUs", loc="left", fontsize=11)
    return _png(fig)


def chart_distribution(values: Sequence[float], currency: str, *, label: str,
                       marks: Mapping[str, float] | None = None) -> bytes:
    """Histogram of sampled outcomes (e.g. Monte Carlo NPV), with named values marked."""
    fig = _new_figure()
    ax = fig.add_subplot()
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(data):
        ax.hist(data, bins=min(40, max(5, int(math.sqrt(len(data))) + 1)), color="#6a9bd1",
                edgecolor="white")
    for (name, value), color in zip((marks or {}).items(), ("#c0392b", "#2e8b57", "#7b4fa0",
                                                            "#e08a1e", "#555555"), strict=False):
        ax.axvline(value, color=color, linestyle="--", linewidth=1.5,
                   label=f"{name}: {_thousands_fn(value)}")
    ax.xaxis.set_major_formatter(_thousands)
    _whole_ticks(ax.yaxis)  # samples are counted whole
    ax.set_xlabel(f"{label} ({currency})")
    ax.set_ylabel("samples")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if marks:
        ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.set_title(f"Distribution of outcomes: {label}", loc="left", fontsize=11)
    return _png(fig)


def chart_bars(frame: pd.DataFrame, label_col: str, value_col: str, *, title: str,
               xlabel: str, color: str = "#1f4e79") -> bytes:
    """Generic horizontal bars (one per row), e.g. the cost of each stress variant."""
    height = max(2.2, 0.4 * len(frame) + 1.2)
    fig = _new_figure((FIG_SIZE_IN[0], height))
    ax = fig.add_subplot()
    y = np.arange(len(frame))
    values = frame[value_col].to_numpy(dtype=float)
    ax.barh(y, values, 0.6, color=color)
    ax.set_yticks(y)
    ax.set_yticklabels([str(v) for v in frame[label_col]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_thousands)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)


# Expense parts of the accounting view, bottom to top.
ACCOUNTING_PARTS = (("depreciation", "#1f4e79"), ("opex", "#6a9bd1"), ("rentals", "#2e8b57"),
                    ("api", "#7b4fa0"))


def chart_accounting(accounting: pd.DataFrame, currency: str) -> bytes:
    """Per year, two bars: cash paid (grey) and the accounting expense (depreciation, opex,
    rentals, API stacked). `accounting`: index `year`, those columns plus `cash`."""
    fig = _new_figure((FIG_SIZE_IN[0], 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(accounting.index))
    ax.bar(x - 0.2, accounting["cash"].to_numpy(dtype=float), 0.38, color="#9a9a9a",
           label="cash")
    bottom = np.zeros(len(x))
    for part, color in ACCOUNTING_PARTS:
        values = accounting[part].to_numpy(dtype=float)
        if (np.abs(values) > 1e-9).any():
            ax.bar(x + 0.2, values, 0.38, bottom=bottom, color=color, label=part)
            bottom += values
    ax.set_xticks(x)
    ax.set_xticklabels([str(y) for y in accounting.index])
    _style_axes(ax, f"{currency} per year")
    ax.set_title("Cash (left) and accounting expense (right)", loc="left", fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _png(fig)


def chart_committed(committed: pd.DataFrame, currency: str) -> bytes:
    """Per year, cash committed before the year begins (dark) and still variable (light).
    `committed`: index `year`, columns `committed`, `variable`."""
    fig = _new_figure((FIG_SIZE_IN[0], 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(committed.index))
    locked = committed["committed"].to_numpy(dtype=float)
    free = committed["variable"].to_numpy(dtype=float)
    ax.bar(x, locked, 0.6, color="#1f4e79", label="committed before the year")
    ax.bar(x, free, 0.6, bottom=locked, color="#e6c229", label="variable (can still be cut)")
    ax.set_xticks(x)
    ax.set_xticklabels([str(y) for y in committed.index])
    _style_axes(ax, f"{currency} per year")
    ax.set_title("Committed and variable cash by year", loc="left", fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _png(fig)


def chart_tornado(rows: pd.DataFrame, base_npv: float, currency: str) -> bytes:
    """Tornado: one bar per assumption (largest swing on top) from the base npv to the npv at
    the low end (blue) and at the high end (orange). `rows`: `assumption`, `low`, `high`,
    `npv_low`, `npv_high`."""
    height = max(2.4, 0.42 * len(rows) + 1.4)
    fig = _new_figure((FIG_SIZE_IN[0], height))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for column, color, label in (("npv_low", "#1f4e79", "low end"),
                                 ("npv_high", "#e08a1e", "high end")):
        values = rows[column].to_numpy(dtype=float) - base_npv
        ax.barh(y, values, 0.6, left=base_npv, color=color, label=label)
    ax.axvline(base_npv, color="#333333", linewidth=1.0)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{a} ({lo:.3g} .. {hi:.3g})" for a, lo, hi in zip(
        rows["assumption"], rows["low"], rows["high"], strict=True)], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_thousands)
    ax.set_xlabel(f"net present cost ({currency}); line: base plan {_thousands_fn(base_npv)}")
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.set_title("What moves the net present cost most (plans re-optimised)", loc="left",
                 fontsize=11)
    return _png(fig)
