"""The report (planner/report.py): charts, tables, escaping, atomic output, terminal summary.

Most tests use a small hand-made PlanView (two years, known amounts) so every number can be checked
by hand; the end-to-end tests at the bottom plan a shipped scenario through the CLI.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner import report
from planner.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)] + [f"2027-{m:02d}" for m in range(1, 13)]
EVIL = "<script>alert('x')</script>"


def make_view(kind: str = "plan", scenario: str = "tiny",
              workload: str = "chat") -> report.PlanView:
    """A 24-month plan with hand-checkable cash.

    plan: buys 2 GPUs for 240,000 in month 0, then pays 10,000 opex and 5,000 API every month.
      2026: capex 240,000, opex 120,000, api 60,000 -> 420,000; 2027: opex 120,000 + api 60,000.
    api_only: 30,000 a month (API). rent_only: 22,000 a month (on-demand).
    """
    monthly, yearly, gpus, util = [], [], [], []
    for i, month in enumerate(MONTHS):
        if kind == "plan":
            cost = (240_000 if i == 0 else 0) + 10_000 + 5_000
            gpus.append({"month": month, "channel": "purchase", "gpu": "H200", "gpus": 2.0})
            util.append({"month": month, "channel": "purchase", "gpu": "H200",
                         "utilization": 0.5 + i / 100})
        elif kind == "api_only":
            cost = 30_000
        else:
            cost = 22_000
            gpus.append({"month": month, "channel": "on_demand", "gpu": "H200", "gpus": 3.0})
        monthly.append({"month": month, "cost": float(cost)})
    for year in (2026, 2027):
        if kind == "plan":
            yearly += [{"year": year, "channel": "capex", "cost": 240_000.0 if year == 2026
                        else 0.0},
                       {"year": year, "channel": "opex", "cost": 120_000.0},
                       {"year": year, "channel": "api", "cost": 60_000.0}]
        elif kind == "api_only":
            yearly.append({"year": year, "channel": "api", "cost": 360_000.0})
        else:
            yearly.append({"year": year, "channel": "on_demand", "cost": 264_000.0})
    return report.PlanView(
        scenario=scenario, description=f"description of {scenario}", currency="CNY",
        months=list(MONTHS), yearly=pd.DataFrame(yearly), monthly=pd.DataFrame(monthly),
        gpus=pd.DataFrame(gpus, columns=["month", "channel", "gpu", "gpus"]),
        utilization=pd.DataFrame(util, columns=["month", "channel", "gpu", "utilization"]),
        workloads=pd.DataFrame([{"workload": workload, "cost_per_mtok": 1.25}]),
        variant=None, overrides=[{"origin": "--set", "path": "finance.cost_of_capital",
                                  "value": 0.1}],
        solver={"status": "optimal", "gap": 0.0, "seconds": 0.5, "name": "highs"},
        npv=700_000.0, total_cost=780_000.0,
        sources=pd.DataFrame([{"kind": "offer", "id": "h200-purchase", "source": "seed 001",
                               "as_of": "2026-06-01"}]))


def alternatives() -> dict[str, report.PlanView]:
    return {"api_only": make_view("api_only"), "rent_only": make_view("rent_only")}


# --------------------------------------------------------------------------- pieces


def test_breakeven_month_is_where_the_plan_stays_cheaper():
    plan = pd.Series([100.0, 110.0, 120.0, 130.0], index=MONTHS[:4])
    # API only: 30 a month. Plan 100, 110, 120, 130 vs 30, 60, 90, 120: never below.
    assert report.crossover_month(plan, pd.Series([30.0, 60, 90, 120], MONTHS[:4])) is None
    # 40 a month: 40, 80, 120, 160 -> the plan is below only in the last month (130 < 160).
    assert report.crossover_month(plan, pd.Series([40.0, 80, 120, 160], MONTHS[:4])) == MONTHS[3]
    # Below at month 1, above at 2, below from 3 on: "for good" means from 3.
    alt = pd.Series([90.0, 120, 110, 140], MONTHS[:4])
    assert report.crossover_month(plan, alt) == MONTHS[3]


def test_yearly_table_has_currency_suffixed_columns_and_a_total_row():
    table = report.yearly_table(make_view())
    assert list(table.columns) == ["year", "capex_cny", "opex_cny", "api_cny", "total_cny"]
    assert list(table["year"]) == ["2026", "2027", "total"]
    # 2026: 240,000 + 120,000 + 60,000 = 420,000; 2027: 180,000; total 600,000.
    assert list(table["total_cny"]) == [420_000.0, 180_000.0, 600_000.0]


def test_cumulative_frame_sums_monthly_cash():
    frame = report.cumulative_frame({"plan": make_view(), **alternatives()})
    plan = frame[frame["plan"] == "plan"]["cumulative_cost_cny"].to_list()
    # Month 0: 240,000 + 15,000 = 255,000; then +15,000 a month: month 23 -> 255,000 + 23 x 15,000.
    assert plan[0] == 255_000.0 and plan[-1] == 255_000.0 + 23 * 15_000
    api = frame[frame["plan"] == "api_only"]["cumulative_cost_cny"].to_list()
    assert api[-1] == 24 * 30_000


def test_charts_are_png():
    view = make_view()
    for png in (report.chart_yearly_budget(view.yearly, "CNY"),
                report.chart_gpus_over_time(view.gpus, view.months),
                report.chart_cost_per_mtok(view.workloads, "CNY"),
                report.chart_utilization(view.utilization, view.months),
                report.chart_distribution([1.0, 2.0, 2.5, 3.0], "CNY", label="npv",
                                          marks={"median": 2.25})):
        assert png.startswith(PNG_MAGIC) and len(png) > 2000


def test_the_report_imports_neither_pyplot_nor_pulp():
    # The report must not switch a notebook's backend (it draws on Figure + Agg canvas only) and
    # reads results only. Checked in a fresh process, where nothing else imported them first.
    code = ("import sys, planner.report, planner.results; "
            "print('matplotlib.pyplot' in sys.modules, 'pulp' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- HTML


def _images(html_text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in
            re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_text)]


def test_html_is_self_contained_with_every_chart_and_the_plan_numbers():
    html_text = report.render_html(report.build_plan_report(
        make_view(), alternatives(), made_at="2026-01-02T03:04:05Z"))
    images = _images(html_text)
    # yearly budget, GPUs, cumulative cost, cost per Mtok, utilization.
    assert len(images) == 5 and all(i.startswith(PNG_MAGIC) for i in images)
    # No network: no external src/href, no script.
    assert not re.search(r'(src|href)="(https?:)?//', html_text)
    assert "<script" not in html_text.lower()
    # The yearly totals as the table shows them: 420,000, 180,000 and 600,000 CNY.
    for amount in ("420,000", "180,000", "600,000"):
        assert f">{amount}<" in html_text
    # Cost per Mtok 1.25 shown to 4 decimals; breakeven vs API only:
    # plan 255,000 + 15,000 m vs 30,000 (m + 1): below when 15,000 m > 225,000, m >= 16 -> 2027-05.
    assert ">1.2500<" in html_text
    assert ">2027-05<" in html_text
    # Rent only (22,000 (m+1)): below when 7,000 m > 233,000, m >= 34: never in 24 months.
    assert "not cheaper than rent only" in html_text
    # Provenance: overrides, solver, sources, timestamp.
    for text in ("finance.cost_of_capital = 0.1 (--set)", "optimal (highs), gap 0.00%",
                 "seed 001", "2026-06-01", "2026-01-02T03:04:05Z"):
        assert text in html_text


def test_user_text_is_escaped():
    view = make_view(scenario=EVIL, workload=f"chat{EVIL}")
    view.description = "<b>bold</b> & more"
    html_text = report.render_html(report.build_plan_report(view))
    assert "<script" not in html_text and "<b>bold" not in html_text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html_text
    assert "chat&lt;script&gt;" in html_text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html_text


def test_an_infeasible_alternative_is_left_out_and_said_so():
    built = report.build_plan_report(make_view(), {"api_only": None, "rent_only":
                                                   make_view("rent_only")},
                                     skipped={"api_only": "workload chat forbids APIs"})
    html_text = report.render_html(built)
    assert "API only left out: workload chat forbids APIs." in html_text
    alt = next(t for t in built.tables() if t.name == "alternatives").frame
    assert list(alt["alternative"]) == ["rent only"]


# --------------------------------------------------------------------------- files


def test_write_plan_report_writes_html_pngs_and_tidy_csvs(tmp_path):
    out = report.write_plan_report(tmp_path / "out", make_view(), alternatives())
    names = {p.name for p in out.iterdir()}
    for name in ("report.html", "yearly_budget.png", "gpus.png", "cumulative_cost.png",
                 "cost_per_mtok.png", "utilization.png", "yearly_budget.csv", "gpus.csv",
                 "cumulative_cost.csv", "cost_per_mtok.csv", "utilization.csv", "sources.csv",
                 "alternatives.csv"):
        assert name in names, name
    yearly = pd.read_csv(out / "yearly_budget.csv")
    assert yearly["total_cny"].to_list() == [420_000.0, 180_000.0, 600_000.0]
    assert (out / "gpus.png").read_bytes().startswith(PNG_MAGIC)
    # Nothing left beside the folder (the temporary build folder was renamed).
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_overrides_read_as_yaml_in_csv_html_and_text(tmp_path):
    """A dict or list override is shown as the user writes it ({USD: 7.2}), not as Python's
    repr ({'USD': 7.2}), in overrides.csv, the HTML and the terminal summary."""
    view = make_view()
    view.overrides = [{"origin": "scenario", "path": "finance.fx", "value": {"USD": 7.2}},
                      {"origin": "--set", "path": "workloads.chat.apis", "value": ["a", "b"]}]
    out = report.write_plan_report(tmp_path / "out", view, alternatives())
    assert pd.read_csv(out / "overrides.csv")["value"].to_list() == ["{USD: 7.2}", "[a, b]"]
    html = (out / "report.html").read_text()
    assert "{USD: 7.2}" in html and "{'USD'" not in html and "&#x27;USD" not in html
    assert "workloads.chat.apis=[a, b] (--set)" in report.render_summary(view)


def test_existing_folder_is_refused_and_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        report.write_plan_report(out, make_view())
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    report.write_plan_report(out, make_view(), force=True)
    assert (out / "report.html").exists() and not (out / "keep.txt").exists()


def test_a_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    old = report.write_plan_report(tmp_path / "old", make_view())
    before = (old / "report.html").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    # report.html is written last: every PNG and CSV is already in the temporary folder.
    monkeypatch.setattr(report.html, "render_html", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        report.write_plan_report(tmp_path / "new", make_view(), alternatives())
    # With --force over an old report, the old one survives intact.
    with pytest.raises(RuntimeError, match="disk on fire"):
        report.write_plan_report(old, make_view(), force=True)
    assert (old / "report.html").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


# --------------------------------------------------------------------------- terminal


def test_summary_fits_100_columns_and_states_budget_mix_and_unit_cost():
    text = report.render_summary(make_view(), alternatives())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "420,000" in text and "600,000" in text  # 2026 and total
    assert "Owns 2 H200, the whole horizon." in text
    # Spend: capex 240,000 / 600,000 = 40%, opex 40%, api 120,000 / 600,000 = 20%.
    assert "Spend: 40% purchases, 40% running owned GPUs and 20% APIs." in text
    assert "1.2500" in text
    assert "cheaper for good from 2027-05" in text


def test_a_long_order_line_wraps_and_keeps_its_price():
    view = make_view()
    view.order_lines = ["", "Orders (CNY; price locked per GPU, reserved per GPU-month)",
                        "  2026-07  reserve  1 A100-80GB GPU (a100-80gb-reserved-1y-cny-with-a-"
                        "long-id-from-a-provider, 12 months) at 6,500"]
    text = report.render_summary(view)
    assert all(len(line) <= 100 for line in text.splitlines())
    # wrapped under its line, not cut to "6,50"
    assert any(line.startswith("    ") and line.endswith("at 6,500") for line in text.splitlines())


def test_summary_switches_to_thousands_when_the_table_is_wide():
    view = make_view()
    extra = [{"year": y, "channel": c, "cost": 123_456_789.0} for y in (2026, 2027)
             for c in ("reserved", "on_demand", "spot", "site", "purchase")]
    view.yearly = pd.concat([view.yearly, pd.DataFrame(extra)], ignore_index=True)
    text = report.render_summary(view)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "thousand CNY" in text or "million CNY" in text


# --------------------------------------------------------------------------- stress


def test_stress_report_has_distribution_and_regret(tmp_path):
    from planner.studies.stress import StressResult

    samples = [90.0, 100.0, 110.0, 120.0, 130.0]
    mc = {"count": 5, "seed": 0, "feasible": 5, "infeasible": 0, "p10": 94.0, "p50": 110.0,
          "p90": 126.0, "p99": 129.6, "mean": 110.0, "confidence": 0.95,
          "intervals": {k: [None, None] for k in ("p10", "p50", "p90", "p99")},
          "years": [{"year": 2026, "p10": 40.0, "p50": 50.0, "p90": 60.0, "mean": 50.0}],
          "lp_whole": 5, "largest_gap": 0.0,
          "samples": [{"sample": i, "npv": v} for i, v in enumerate(samples)]}
    result = StressResult(
        scenario="tiny", scenario_path="tiny.yaml", currency="USD", overrides=[], sets=[],
        seed=0, samples=5,
        variants=[{"name": "base", "npv": 100.0, "total_cost": 100.0, "status": "optimal"},
                  {"name": EVIL, "npv": 150.0, "total_cost": 150.0, "status": "optimal"}],
        regret=[{"plan_from": "base", "evaluated_under": EVIL, "regret": 20.0}],
        regret_summary=[{"plan_from": "base", "max_regret": 20.0}], monte_carlo=mc,
        hedged=None, solves={"variants": 2})
    out = report.write_stress_report(tmp_path / "s", result)
    html_text = (out / "report.html").read_text()
    assert len(_images(html_text)) == 3  # distribution + budget fan + variants
    assert "<script" not in html_text
    summary = pd.read_csv(out / "distribution_summary.csv")
    assert summary.loc[summary["percentile"] == "p50", "npv_usd"].item() == 110.0
    # Money columns carry the currency; the budget ranges hold calendar years only.
    assert list(pd.read_csv(out / "budget_ranges.csv").columns) == [
        "year", "p10_usd", "p50_usd", "p90_usd", "mean_usd"]
    assert list(pd.read_csv(out / "variants.csv").columns) == [
        "variant", "npv_usd", "total_cash_usd", "status"]
    # Plans x futures, full names; the base plan's regret under EVIL is 20.
    matrix = pd.read_csv(out / "regret_matrix.csv")
    assert list(matrix.columns) == ["plan_from", "base", EVIL]
    assert matrix.loc[0, EVIL] == 20.0


# --------------------------------------------------------------------------- a shipped scenario

LIGHT = Path(__file__).resolve().parent.parent / "scenarios" / "seed001_light.yaml"


@pytest.fixture(scope="module")
def light():
    """seed001_light planned with all channels and API only (rent only is slower, left out)."""
    from planner import loading
    from planner.optimize.plan import plan

    loaded = loading.load(LIGHT, sets=["workloads.kb_chat.description=FAQ <script>x</script>"])
    return loaded, plan(loaded), plan(loaded, channels=["api"])


def test_shipped_scenario_report_matches_the_plan(light, tmp_path):
    loaded, result, api_only = light
    out = report.write_plan_result_report(tmp_path / "out", result,
                                          alternatives={"api_only": api_only,
                                                        "rent_only": None},
                                          skipped={"rent_only": "not computed in this test"},
                                          loaded=loaded)
    html_text = (out / "report.html").read_text(encoding="utf-8")
    images = _images(html_text)
    # yearly budget, gpus, cumulative cost, cost per Mtok, utilization, committed/variable,
    # accounting
    assert len(images) == 7 and all(i.startswith(PNG_MAGIC) for i in images)
    # The plan's own CSVs (results.py) and the report's files share the folder.
    for name in ("years.csv", "plan.json", "yearly_budget.csv", "yearly_budget.png",
                 "cumulative_cost.png", "sources.csv"):
        assert (out / name).exists(), name
    # Every yearly total of the plan appears in the HTML as the table prints it.
    for total in result.years["total"]:
        assert f">{report.fmt_amount(float(total))}<" in html_text
    yearly = pd.read_csv(out / "yearly_budget.csv")
    assert yearly["total_cny"].iloc[:-1].to_list() == pytest.approx(
        result.years["total"].to_list())
    assert yearly["total_cny"].iloc[-1] == pytest.approx(result.total_cost)
    # Cost per Mtok of the workload, to 4 decimals as shown.
    cost = float(result.workloads.loc["kb_chat", "cost_per_mtok"])
    assert f">{cost:,.4f}<" in html_text
    # Provenance: scenario, the --set override (escaped), solver status, catalog sources.
    assert "seed001-light" in html_text and result.status in html_text
    # The workload's description (set with <script> in it) is shown escaped, in its table.
    table = html_text[html_text.index("Cost per million tokens (CNY)"):]
    assert "<td class=\"nw\">FAQ &lt;script&gt;x&lt;/script&gt;</td>" in table
    assert "<script" not in html_text
    sources = pd.read_csv(out / "sources.csv")
    used_apis = set(result.served.loc[result.served["channel"] == "api", "resource"])
    assert used_apis <= set(sources.loc[sources["kind"] == "api", "id"])
    assert "rent only left out: not computed in this test." in html_text


def test_shipped_scenario_summary_fits_100_columns(light):
    loaded, result, api_only = light
    text = report.render_plan_summary(result, {"api_only": api_only}, loaded)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Yearly budget (CNY)" in text and "kb_chat" in text
    assert f"{float(result.workloads.loc['kb_chat', 'cost_per_mtok']):,.4f}" in text


# --------------------------------------------------------------------------- CLI


def test_cli_out_writes_the_report_and_refuses_an_existing_folder(run_cli, tmp_path):
    out = tmp_path / "out"
    done = run_cli("plan", LIGHT, "--out", out)
    assert done.code == 0, done.err
    # Every line fits in 100 columns but the last, which names the (long, temporary) folder.
    lines = done.out.splitlines()
    assert max(len(line) for line in lines[:-1]) <= 100 and lines[-1].endswith(str(out))
    assert "Yearly budget (CNY)" in done.out and "Against the alternatives" in done.out
    html_text = (out / "report.html").read_text(encoding="utf-8")
    assert len(_images(html_text)) == 7  # 5 plan charts + committed/variable + accounting
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = run_cli("plan", LIGHT, "--out", out)
    assert again.code == 2 and "already exists" in again.err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
