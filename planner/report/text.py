"""The terminal summary of a plan (<= 100 columns)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from planner.report.charts import ALTERNATIVE_LABELS, channel_sort_key, crossover_month
from planner.report.html import fmt_amount
from planner.report.view import (
    PlanView,
    cumulative_frame,
    horizon_words,
    override_text,
    yearly_table,
)

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
        channel_sort_key(kv[0][0]), -float(kv[1]["gpus"].max())))
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
        facts.append(horizon_words(view))
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
        lines += _wrap("Overrides: " + "; ".join(f"{o.get('path')}={override_text(o.get('value'))} "
                                                 f"({o.get('origin')})" for o in added),
                       width, "")

    table = yearly_table(view)
    if view.committed is not None and len(view.committed):
        # Committed and variable split the total column (same rows: the years, then total).
        by_year = {str(y): r for y, r in view.committed.iterrows()}
        for part in ("committed", "variable"):
            values = [float(by_year[y][part]) if y in by_year else 0.0
                      for y in table["year"][:-1]]
            table[f"{part}_{cur.lower()}"] = [*values, sum(values)]
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

    if view.locked and view.locked["total"] > 0:
        locked = view.locked
        lines += _wrap(f"Already locked for {locked['year']}: {fmt_amount(locked['committed'])} "
                       f"{cur} of {fmt_amount(locked['total'])} ({locked['committed_share']:.0%}"
                       f"): purchases, reservations and the site decided before "
                       f"{locked['year']} (committed); {fmt_amount(locked['variable'])} "
                       "(on-demand, spot, API, new contracts) can still be cut (variable).",
                       width)

    if view.limits_value:
        lines += ["", "What the limits cost (net present cost saved by one more unit):"]
        for row in view.limits_value[:5]:
            lines += _wrap(f"{row['words'][0].upper()}{row['words'][1:]}.", width)

    lines += ["", "The mix:"]
    for sentence in view.mix or mix_in_words(view):
        lines += _wrap(sentence, width)
    for line in view.order_lines:  # a long offer id wraps rather than clipping the price
        indent = line[:len(line) - len(line.lstrip())]
        lines += _wrap(line.strip(), width, indent) if len(line) > width else [line]

    if alternatives:
        lines += ["", "Against the alternatives (cumulative cash over the horizon):"]
        plans = {"plan": view, **alternatives}
        cumulative = cumulative_frame(plans)
        col = f"cumulative_cost_{cur.lower()}"
        wide = cumulative.pivot_table(index="month", columns="plan", values=col).reindex(
            view.months)
        for name in alternatives:
            be = crossover_month(wide["plan"], wide[name])
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


def _words(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
