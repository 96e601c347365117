"""Report: tables, charts and one self-contained HTML file, from results only (SPEC 9 `--out`).

Data flows one way: a solved plan (planner.results.PlanResult) or a stress result -> tidy tables
(pandas, unit-suffixed columns) -> PNG charts (matplotlib, Agg canvas, no pyplot so a notebook's
backend is never touched) -> report.html with every chart embedded as a base64 data URI and no
external CSS, JS or fonts, so it opens without a network. This module never imports pulp.

The output folder is built by planner.atomic.atomic_directory: it appears complete or not at all,
and an existing folder is refused (exit 2) unless `force`.
"""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from planner.atomic import atomic_directory, write_bytes_atomic, write_text_atomic

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
REPORT_FILE = "report.html"


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True)
class Chart:
    """One chart: `name` is its file stem (`name`.png), `png` its bytes."""

    name: str
    title: str
    png: bytes
    caption: str = ""

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Table:
    """One tidy table: written as `name`.csv and shown in the HTML (first `max_rows` rows)."""

    name: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    max_rows: int = 60
    show: bool = True  # False: CSV only (long tidy tables nobody reads in a browser)


@dataclass
class Section:
    title: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain text, escaped when rendered


@dataclass
class Report:
    """Everything report.html shows; `meta` is (label, plain text) pairs, escaped on output."""

    title: str
    subtitle: str = ""
    meta: list[tuple[str, str]] = field(default_factory=list)
    sources: pd.DataFrame | None = None
    sections: list[Section] = field(default_factory=list)
    appendix: list[Table] = field(default_factory=list)  # shown after the catalog sources

    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables] + self.appendix


def esc(value: Any) -> str:
    """User text -> HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_amount(value: Any) -> str:
    """Money for people: thousands separators, no decimals above 100, two below."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    number = float(value)
    if abs(number) >= 100 or number == 0:
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def fmt_cell(value: Any, column: str = "") -> str:
    """A table cell as text: shares as %, money-ish floats via fmt_amount, rest as is."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return ""
        if column.endswith(("_share", "_fraction", "utilization")) or column == "gap":
            return f"{float(value):.1%}"
        if column.endswith(("_per_mtok", "_per_gpu_hour")):
            return f"{float(value):,.4f}"
        if column.endswith(("gpus", "_months")) and float(value).is_integer():
            return f"{int(value):,d}"
        return fmt_amount(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value)) if column in ("year", "month_index") else f"{int(value):,d}"
    return str(value)


# --------------------------------------------------------------------------- charts


def _new_figure(size: tuple[float, float] = FIG_SIZE_IN) -> Figure:
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


_thousands = FuncFormatter(_thousands_fn)
_plain = FuncFormatter(lambda value, _pos=None: f"{value:,.0f}")


def _channel_sort_key(channel: str) -> tuple[int, str]:
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
                      key=_channel_sort_key)
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
    order = sorted(wide.columns, key=lambda s: (_channel_sort_key(s.split(" ", 1)[0]), s))
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
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("GPUs by channel and type", loc="left", fontsize=11)
    return _png(fig)


def _series_colors(series: Sequence[str]) -> list[str]:
    """Channel hue, lightened per GPU type so bands of one channel stay distinguishable."""
    from matplotlib.colors import to_hex, to_rgb

    seen: dict[str, int] = {}
    colors = []
    for name in series:
        channel = name.split(" ", 1)[0]
        k = seen.get(channel, 0)
        seen[channel] = k + 1
        base = np.array(to_rgb(CHANNEL_COLORS.get(channel, "#888888")))
        mix = min(0.6, 0.22 * k)
        colors.append(to_hex(base + (1 - base) * mix))
    return colors


def breakeven_month(plan: pd.Series, alternative: pd.Series) -> str | None:
    """First month from which the plan's cumulative cost stays below the alternative's to the
    end of the horizon; None if it never does. Both series are indexed by month (same index).

    >>> idx = ["2026-01", "2026-02", "2026-03", "2026-04"]
    >>> breakeven_month(pd.Series([10, 12, 14, 16], idx), pd.Series([4, 8, 12, 16.5], idx))
    '2026-04'
    >>> breakeven_month(pd.Series([1, 2], idx[:2]), pd.Series([3, 1], idx[:2])) is None
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
    series = sorted(wide.columns, key=lambda s: (_channel_sort_key(s.split(" ", 1)[0]), s))
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


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",
"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 8px;padding-top:12px;
border-top:1px solid #e3e6ea}h3{font-size:15px;margin:18px 0 6px}
.subtitle{color:#555;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e6e6;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.nw{white-space:nowrap}
table.meta th{background:none;width:170px;color:#555;font-weight:500}
figure{margin:10px 0 18px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:13px;margin-top:4px}
.note{color:#555;font-size:13px;margin:4px 0}
.status-ok{color:#1e7a3c;font-weight:600}.status-bad{color:#b03020;font-weight:600}
.files{font-size:12px;color:#666}
tr.total td{font-weight:600;border-top:2px solid #bbb}
.scroll{overflow-x:auto}
"""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)


def table_html(table: Table) -> str:
    """A DataFrame as an HTML table; every header and cell is escaped."""
    frame = table.frame
    shown = frame.head(table.max_rows)
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in shown.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            cls = ' class="num"' if _is_number(value) else ""
            text = fmt_cell(value, str(column))
            if not cls and len(text) <= 24:
                cls = ' class="nw"'  # ids and dates stay on one line; long sources wrap
            cells.append(f"<td{cls}>{esc(text)}</td>")
        total = ' class="total"' if str(record[0]).lower() == "total" else ""
        rows.append(f"<tr{total}>{''.join(cells)}</tr>")
    more = ""
    if len(frame) > len(shown):
        more = (f'<p class="note">First {len(shown)} of {len(frame)} rows; all in '
                f"{esc(table.name)}.csv.</p>")
    caption = f'<p class="caption">{esc(table.caption)}</p>' if table.caption else ""
    return (f"<h3>{esc(table.title)}</h3>{caption}<div class=\"scroll\"><table>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}"
            f'<p class="files">{esc(table.name)}.csv</p>')


def chart_html(chart: Chart) -> str:
    caption = f"{esc(chart.title)}" + (f". {esc(chart.caption)}" if chart.caption else "")
    return (f'<figure><img src="{chart.data_uri()}" alt="{esc(chart.title)}">'
            f'<figcaption>{caption} <span class="files">({esc(chart.name)}.png)</span>'
            "</figcaption></figure>")


def render_html(report: Report) -> str:
    """The whole report as one HTML document (UTF-8, no external resources)."""
    meta_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in report.meta)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{esc(report.title)}</h1>",
    ]
    if report.subtitle:
        parts.append(f'<p class="subtitle">{esc(report.subtitle)}</p>')
    parts.append(f'<table class="meta">{meta_rows}</table>')
    for section in report.sections:
        parts.append(f"<h2>{esc(section.title)}</h2>")
        for note in section.notes:
            parts.append(f'<p class="note">{esc(note)}</p>')
        for chart in section.charts:
            parts.append(chart_html(chart))
        for table in section.tables:
            if table.show:
                parts.append(table_html(table))
    if report.sources is not None and len(report.sources):
        parts.append("<h2>Catalog sources used</h2>")
        parts.append(table_html(Table("sources", "Where the figures of this plan came from",
                                      report.sources, max_rows=200)))
    for table in report.appendix:
        parts.append(table_html(table))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def write_report_files(folder: Path, report: Report) -> list[Path]:
    """Write every chart (PNG), every table (CSV) and report.html into `folder` (which exists)."""
    written = []
    for chart in report.charts():
        written.append(write_bytes_atomic(folder / f"{chart.name}.png", chart.png))
    for table in report.tables():
        written.append(write_text_atomic(folder / f"{table.name}.csv",
                                         table.frame.to_csv(index=False)))
    if report.sources is not None:
        written.append(write_text_atomic(folder / "sources.csv",
                                         report.sources.to_csv(index=False)))
    written.append(write_text_atomic(folder / REPORT_FILE, render_html(report)))
    return written


def generated_at() -> str:
    """When the report was made, in UTC to the second (ISO 8601)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _words(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- plan report


@dataclass
class PlanView:
    """What the report needs from one solved plan, as tidy tables (amounts in `currency`).

    yearly: `year`, `channel`, `cost`  (cash per calendar year and channel, undiscounted)
    monthly: `month`, `cost`           (cash per month, all channels; for cumulative cost)
    gpus: `month`, `channel`, `gpu`, `gpus`          (GPUs in service)
    utilization: `month`, `channel`, `gpu`, `utilization`  (owned and reserved only, 0..1)
    workloads: `workload`, `cost_per_mtok` (+ optional `tokens`, `cost`)
    sources: `kind`, `id`, `source`, `as_of`  (catalog entries the plan uses)
    """

    scenario: str
    currency: str
    months: list[str]
    yearly: pd.DataFrame
    monthly: pd.DataFrame
    gpus: pd.DataFrame
    utilization: pd.DataFrame
    workloads: pd.DataFrame
    description: str | None = None
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


def yearly_table(view: PlanView) -> pd.DataFrame:
    """Wide yearly budget: one row per year, one column per channel, a total column and a
    `total` row; columns suffixed with the currency (e.g. `api_cny`)."""
    wide = view.yearly.pivot_table(index="year", columns="channel", values="cost",
                                   aggfunc="sum", fill_value=0.0).sort_index()
    channels = sorted([c for c in wide.columns if (wide[c].abs() > 1e-9).any()],
                      key=_channel_sort_key)
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
    overrides = "; ".join(f"{o.get('path')} = {o.get('value')} ({o.get('origin')})"
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
        ("Horizon", f"{view.months[0]} to {view.months[-1]} ({len(view.months)} months)"
         if view.months else "empty"),
        ("Currency", view.currency),
    ]
    if view.npv is not None:
        rows.append(("Net present cost", f"{fmt_amount(view.npv)} {view.currency}"))
    if view.total_cost is not None:
        rows.append(("Total cash (undiscounted)", f"{fmt_amount(view.total_cost)} "
                     f"{view.currency}"))
    rows += [("Solver", solver_text), ("Generated", made_at)]
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
                           "value": str(o.get("value"))} for o in view.overrides]),
            max_rows=200))

    budget = Section("Yearly budget by channel")
    budget.charts.append(Chart("yearly_budget", "Yearly budget by channel",
                               chart_yearly_budget(view.yearly, cur),
                               f"Cash paid in each calendar year, {cur}, undiscounted."))
    budget.tables.append(Table("yearly_budget", f"Yearly budget ({cur})", yearly_table(view)))
    budget.notes.extend(view.mix)
    report.sections.append(budget)

    fleet = Section("GPUs by channel and type")
    fleet.charts.append(Chart("gpus", "GPUs in service by channel and type",
                              chart_gpus_over_time(view.gpus, view.months)))
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
    breakevens = {name: breakeven_month(wide["plan"], wide[name]) for name in alts}
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
                     "breakeven_month": breakevens[name] or "never",
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


# --------------------------------------------------------------------------- terminal summary

SUMMARY_WIDTH = 100
_CHANNEL_WORDS = {"capex": "purchases", "purchase": "owned GPUs", "opex": "running owned GPUs",
                  "site": "the site", "reserved": "reserved rentals",
                  "on_demand": "on-demand rentals", "spot": "spot rentals", "api": "APIs"}


def mix_in_words(view: PlanView) -> list[str]:
    """The plan's mix as short sentences: where the money goes and which GPUs serve."""
    sentences = []
    spend = view.yearly.groupby("channel")["cost"].sum()
    total = float(spend[spend > 0].sum())
    if total > 0:
        shares = [(c, float(v) / total) for c, v in spend.items() if v > 0]
        shares.sort(key=lambda cs: -cs[1])
        sentences.append("Spend: " + _words(
            (f"{share:.0%}" if share >= 0.005 else "<1%") + f" {_CHANNEL_WORDS.get(c, c)}"
            for c, share in shares) + ".")
    gpus = view.gpus[view.gpus["gpus"] > 1e-6]
    groups = sorted(gpus.groupby(["channel", "gpu"]), key=lambda kv: (
        _channel_sort_key(kv[0][0]), -float(kv[1]["gpus"].max())))
    for (channel, gpu), rows in groups:
        counts = rows.set_index("month")["gpus"].reindex(view.months, fill_value=0.0)
        active = counts[counts > 1e-6]
        peak = float(counts.max())
        first, last = str(active.index[0]), str(active.index[-1])
        span = f"{first} to {last}" if (first, last) != (view.months[0], view.months[-1]) \
            else "the whole horizon"
        if channel == "purchase":
            verb = "Owns"
        elif channel == "reserved":
            verb = "Reserves"
        else:
            verb = f"Rents {channel.replace('_', '-')}"
        if counts.loc[active.index].round(3).nunique() == 1:
            amount = f"{_count(peak)} {gpu}"
        else:
            average = _count(float(active.mean()))
            amount = f"up to {_count(peak)} {gpu} (average {average} while in use)"
        sentences.append(f"{verb} {amount}, {span}.")
    if gpus.empty:
        sentences.append("No GPUs: every token goes to APIs.")
    return sentences


def _count(value: float) -> str:
    whole = abs(value - round(value)) < 1e-6 or abs(value) >= 100
    return f"{value:,.0f}" if whole else f"{value:,.1f}"


def _wrap(text: str, width: int, indent: str = "  ") -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ") or [indent]


def render_summary(view: PlanView, alternatives: Mapping[str, PlanView] | None = None,
                   width: int = SUMMARY_WIDTH) -> str:
    """The readable terminal summary of a plan: header, yearly budget, mix, cost per Mtok.

    Every line fits in `width` columns (amounts switch to thousands when the table is wide)."""
    cur = view.currency
    solver = view.solver or {}
    status = str(solver.get("status", "unknown"))
    gap = solver.get("gap")
    head = [f"Plan for {view.scenario}" + (f" (variant {view.variant})" if view.variant else "")
            + (f", channels {','.join(view.channels)}" if view.channels else "")]
    facts = []
    if view.months:
        facts.append(f"{view.months[0]} to {view.months[-1]} ({len(view.months)} months)")
    facts.append(f"solver {status}" + (f", gap {float(gap):.2%}" if gap is not None
                                        and math.isfinite(float(gap)) else "")
                 + (f", {float(solver['seconds']):.1f} s" if solver.get("seconds") is not None
                    else ""))
    if view.npv is not None:
        facts.append(f"net present cost {fmt_amount(view.npv)} {cur}")
    lines = _wrap(head[0], width, "")
    lines += _wrap("; ".join(facts), width, "")
    # The scenario's own finance keys are part of the scenario; name what the user added.
    added = [o for o in view.overrides if o.get("origin") != "scenario"]
    if added:
        lines += _wrap("Overrides: " + "; ".join(f"{o.get('path')}={o.get('value')} "
                                                 f"({o.get('origin')})" for o in added),
                       width, "")

    table = yearly_table(view)
    columns = [c for c in table.columns if c != "year"]
    scale, unit = 1.0, cur
    for candidate, label in ((1.0, cur), (1e3, f"thousand {cur}"), (1e6, f"million {cur}")):
        scale, unit = candidate, label
        cells = [[f"{float(v) / scale:,.0f}" for v in table[c]] for c in columns]
        widths = [max(len(c.rsplit("_", 1)[0]), *(len(x) for x in col)) + 2
                  for c, col in zip(columns, cells, strict=True)]
        if 2 + 6 + sum(widths) <= width:
            break
    lines += ["", f"Yearly budget ({unit}):"]
    header = "  " + f"{'year':<6}" + "".join(
        f"{c.rsplit('_', 1)[0]:>{w}}" for c, w in zip(columns, widths, strict=True))
    lines.append(header)
    for i, year in enumerate(table["year"]):
        lines.append("  " + f"{year:<6}" + "".join(
            f"{col[i]:>{w}}" for col, w in zip(cells, widths, strict=True)))

    lines += ["", "The mix:"]
    for sentence in view.mix or mix_in_words(view):
        lines += _wrap(sentence, width)
    lines += view.order_lines

    if alternatives:
        lines += ["", "Against the alternatives (cumulative cash over the horizon):"]
        plans = {"plan": view, **alternatives}
        cumulative = cumulative_frame(plans)
        col = f"cumulative_cost_{cur.lower()}"
        wide = cumulative.pivot_table(index="month", columns="plan", values=col).reindex(
            view.months)
        for name in alternatives:
            be = breakeven_month(wide["plan"], wide[name])
            saving = float(wide[name].iloc[-1] - wide["plan"].iloc[-1])
            label = ALTERNATIVE_LABELS.get(name, name)
            if abs(saving) < 0.5:
                verdict = "the same cash as this plan"
            elif saving > 0:
                verdict = f"this plan saves {fmt_amount(saving)}"
            else:
                verdict = f"this plan costs {fmt_amount(-saving)} more"
            text = (f"{label}: {fmt_amount(float(wide[name].iloc[-1]))} {cur}; {verdict}"
                    + ("" if not be or saving < 0.5 else ", cheaper from the first month"
                       if be == view.months[0] else f", cheaper for good from {be}"))
            lines += _wrap(text, width)

    lines += ["", f"Cost per million tokens ({cur}):"]
    rows = view.workloads
    name_width = min(40, max([len(str(w)) for w in rows["workload"]] + [8]))
    for record in rows.to_dict("records"):
        name = str(record["workload"])
        if len(name) > name_width:
            name = name[: name_width - 1] + "~"
        value = record.get("cost_per_mtok")
        shown = "n/a" if value is None or not math.isfinite(float(value)) else f"{value:,.4f}"
        lines.append(f"  {name:<{name_width}}  {shown:>12}")
    return "\n".join(line[:width] for line in lines)


# --------------------------------------------------------------------------- stress report


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


def _utilization(result: Any) -> pd.DataFrame:
    """Share of paid owned / reserved GPU-hours assigned to serving tokens, per period."""
    columns = ["month", "channel", "gpu", "utilization"]
    fleet = result.fleet[result.fleet["channel"].isin(["purchase", "reserved"])]
    if fleet.empty:
        return pd.DataFrame(columns=columns)
    capacity = result.inputs.capacity
    rate = {(w, g): float(r) for w, g, r in zip(capacity["workload"], capacity["gpu"],
                                                capacity["mtok_per_gpu_hour"], strict=True)}
    served = result.served[result.served["channel"].isin(["purchase", "reserved"])]
    used: dict[tuple[str, str, str], float] = {}
    for month, workload, channel, gpu, mtok in served[
            ["month", "workload", "channel", "resource", "mtok"]].itertuples(index=False):
        per_hour = rate.get((workload, gpu))
        if per_hour:
            key = (str(month), str(channel), str(gpu))
            used[key] = used.get(key, 0.0) + float(mtok) / per_hour
    rows = []
    for month, gpu, channel, hours in fleet[["month", "gpu", "channel", "gpu_hours"]].itertuples(
            index=False):
        if hours > 1e-9:
            share = used.get((str(month), str(channel), str(gpu)), 0.0) / float(hours)
            rows.append((str(month), str(channel), str(gpu), min(share, 1.0)))
    return pd.DataFrame(rows, columns=columns)


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
    all_channels = {"api", "on_demand", "reserved", "spot", "purchase"}
    view = PlanView(
        scenario=str(prov.get("scenario") or result.inputs.name), currency=result.currency,
        months=months, yearly=yearly, monthly=monthly, gpus=gpus,
        utilization=_utilization(result), workloads=workloads,
        description=scenario.description if scenario is not None else None,
        variant=prov.get("variant"), overrides=list(prov.get("overrides") or []),
        channels=None if not channels or set(channels) == all_channels else list(channels),
        solver=solver, npv=float(result.npv), total_cost=float(result.total_cost),
        sources=_sources(result, loaded) if loaded is not None else None)
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
    from planner import results as results_module

    view = view_from_result(result, loaded)
    alts = {k: (view_from_result(v, loaded) if v is not None else None)
            for k, v in (alternatives or {}).items()}
    built = build_plan_report(view, alts, skipped=skipped)

    def writer(_result: Any, folder: Path) -> None:
        write_report_files(folder, built)

    # PlanResult.write builds the folder atomically and calls its registered writers inside it;
    # this writer is registered for this one call only (it carries the alternatives).
    results_module.WRITERS.append(writer)
    try:
        return result.write(out_dir, force=force)
    finally:
        results_module.WRITERS.remove(writer)


# Channels of the alternatives the plan is compared with (SPEC 9 `--channels` names).
ALTERNATIVE_CHANNELS = {"api_only": ("api",), "rent_only": ("on_demand", "reserved", "spot")}


def plan_alternatives(plan_for: Any, channels: Sequence[str] | None = None
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """Plan the API-only and rent-only alternatives with `plan_for(channels) -> PlanResult`
    (the caller's solver options; this module never imports the solver).

    Returns (name -> PlanResult or None, name -> why it was left out). An alternative that
    cannot be planned (e.g. API only when a workload forbids APIs) is left out, not an error;
    one equal to the plan's own channel set is skipped."""
    from planner.errors import PlannerError

    found: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    own = set(channels) if channels else None
    for name, alt_channels in ALTERNATIVE_CHANNELS.items():
        if own is not None and own <= set(alt_channels):
            skipped[name] = "this plan already uses only " + ", ".join(sorted(own))
            continue
        try:
            found[name] = plan_for(list(alt_channels))
        except PlannerError as exc:
            found[name] = None
            skipped[name] = str(exc).split("; ")[0].rstrip(".")
    return found, skipped
