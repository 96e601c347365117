"""One self-contained HTML file: every chart embedded as a base64 data URI and no external CSS,
JS or fonts, so it opens without a network; user text is escaped."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.atomic import write_bytes_atomic, write_text_atomic

REPORT_FILE = "report.html"


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
