"""Budget statistics of a plan (planner.results.statistics), on tiny plans worked by hand."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from test_plan import solve, tiny

from planner.results import statistics as st

REL = 1e-6


def owned_plan(method: str = "straight_line"):
    """24 months from 2026-01; buying (2,400, 2-year life, opex 0.10/h = 73 a month, site
    setup 2,000 and 50 a month) costs 2000 + 2400 + 24 x (73 + 50) = 7,352 < 24 x 365 = 8,760
    on demand at 0.50/h, so the plan buys one GPU in 2026-01."""
    inputs = tiny(24, on_demand=0.5, purchase={"price": 2400.0}, opex_per_gpu_hour=0.1,
                  site_setup=2000.0, depreciation_years=2)
    inputs = replace(inputs, site_fixed_cost_per_month=50.0, cost_of_capital=0.1,
                     depreciation_method=method)
    return solve(inputs)


def test_committed_is_what_was_signed_before_the_year():
    # 2026: the purchase (2,400), site setup (2,000), opex 12 x 73 and site 12 x 50, all decided
    # in 2026: variable. 2027: opex and site cost of the fleet bought in 2026: committed.
    result = owned_plan()
    split = st.committed_by_year(result)
    assert split.loc[2026, "committed"] == pytest.approx(0.0)
    assert split.loc[2026, "variable"] == pytest.approx(4400 + 12 * 123, rel=REL)
    assert split.loc[2027, "committed"] == pytest.approx(12 * 123, rel=REL)
    assert split.loc[2027, "variable"] == pytest.approx(0.0, abs=1e-9)
    locked = st.next_year_locked(result)
    assert locked["year"] == 2027 and locked["committed_share"] == pytest.approx(1.0)
    years = result.to_dict()["years"]
    assert [y["committed"] for y in years] == pytest.approx([0.0, 1476.0], rel=REL)


def test_a_reservation_signed_earlier_is_committed_and_rentals_are_variable():
    # A 24-month reservation at 500 a month (12,000) beats 24 x 730 on demand: signed in
    # 2026-01, its 2027 payments (6,000) are committed when 2027 begins.
    result = solve(tiny(24, on_demand=1.0, reserved=(500.0, 24)))
    split = st.committed_by_year(result)
    assert split.loc[2026].tolist()[:2] == pytest.approx([0.0, 6000.0], rel=REL)
    assert split.loc[2027].tolist()[:2] == pytest.approx([6000.0, 0.0], rel=REL)
    # An API-only plan has nothing committed in any year.
    api = st.committed_by_year(solve(tiny(24, api_price=2.0)))
    assert api["committed"].tolist() == [0.0, 0.0]
    assert api["variable"].tolist() == pytest.approx([17520.0, 17520.0], rel=REL)


def test_workload_cost_per_year_shares_gpu_cash_by_gpu_hours():
    # On demand at 1.00/h. w: 730 Mtok a month at 1 Mtok per GPU-hour = 730 GPU-hours;
    # v: 365 Mtok at 2 Mtok per GPU-hour = 182.5 GPU-hours. Both share one deployment, so the
    # plan rents 2 whole GPUs (1,460 a month) for 1.25 GPUs of work, shared by GPU-hours used:
    # w 730/912.5 = 80% (1,168 a month), v 20% (292 a month), 3 months each.
    inputs = tiny(3, on_demand=1.0)
    workloads = pd.DataFrame({"workload": ["w", "v"], "deferrable": False,
                              "spot_allowed": True}).set_index("workload")
    inputs = replace(
        inputs, workloads=workloads,
        demand=pd.concat([inputs.demand, inputs.demand.assign(workload="v", mtok=365.0)]),
        capacity=pd.concat([inputs.capacity, inputs.capacity.assign(workload="v",
                                                                    mtok_per_gpu_hour=2.0)]))
    result = solve(inputs)
    table = st.workload_cost_by_year(result).set_index("workload")
    assert table.loc["w", "self_hosted"] == pytest.approx(3 * 1168, rel=REL)
    assert table.loc["v", "self_hosted"] == pytest.approx(3 * 292, rel=REL)
    assert table["api"].sum() == 0.0
    # The same rule as the levelized cost: undiscounted, no book value, they agree.
    assert result.workloads.loc["v", "npv"] == pytest.approx(3 * 292, rel=REL)


def test_workload_costs_add_up_to_each_year_and_api_is_its_own():
    result = owned_plan()
    table = st.workload_cost_by_year(result)
    by_year = table.groupby("year")["total"].sum()
    assert by_year.tolist() == pytest.approx(result.years["total"].tolist(), rel=REL)
    api = st.workload_cost_by_year(solve(tiny(12, api_price=2.0)))
    assert api[["api", "self_hosted"]].iloc[0].tolist() == pytest.approx([17520.0, 0.0])


def test_accounting_straight_line_by_hand():
    # GPU 2,400 over 24 months: 100 a month depreciation, interest 2400 x 10% / 12 = 20;
    # site setup 2,000: 83.33 a month, interest 16.67. Opex 73 + 50 a month.
    result = owned_plan()
    view = st.accounting_by_year(result)
    for year, cash in ((2026, 4400 + 12 * 123), (2027, 12 * 123)):
        row = view.loc[year]
        assert row["depreciation"] == pytest.approx(1200 + 1000, rel=REL)
        assert row["cost_of_capital"] == pytest.approx(240 + 200, rel=REL)
        assert row["opex"] == pytest.approx(12 * 123, rel=REL)
        assert row["expense"] == pytest.approx(2200 + 12 * 123, rel=REL)
        assert row["cash"] == pytest.approx(cash, rel=REL)


def test_accounting_annuity_by_hand():
    # Annuity at 10% over 2 years: payment 1000 x 0.1 x 1.21 / 0.21 = 576.19 a year per 1,000;
    # year 1 interest 100 -> depreciation 476.19; year 2 balance 523.81 -> depreciation 523.81.
    rows = st.capital_charge_by_month(1000.0, 0, 24, 2, 0.1, "annuity")
    first = sum(d for m, d, _ in rows if m < 12)
    second = sum(d for m, d, _ in rows if m >= 12)
    assert first == pytest.approx(1000 * 0.1 / 0.21, rel=REL)  # 476.19
    assert second == pytest.approx(1000 - 1000 * 0.1 / 0.21, rel=REL)
    assert sum(i for _, _, i in rows) == pytest.approx(2 * 1000 * 0.121 / 0.21 - 1000, rel=REL)
    # Depreciation stops at the end of the life (or of the horizon) and starts in service.
    assert len(st.capital_charge_by_month(1000.0, 5, 100, 2, 0.1, "annuity")) == 24
    assert st.capital_charge_by_month(1000.0, 5, 8, 2, 0.1, "annuity")[0][0] == 5
    view = st.accounting_by_year(owned_plan("annuity"))
    assert view["depreciation"].sum() == pytest.approx(4400.0, rel=REL)


def test_plan_tables_carry_the_new_columns():
    tables = owned_plan().tables()
    assert {"committed_usd", "variable_usd"} <= set(tables["years"].columns)
    assert list(tables["accounting"].columns) == [
        "year", "depreciation_usd", "opex_usd", "rentals_usd", "api_usd", "expense_usd",
        "cost_of_capital_usd", "cash_usd"]
    assert set(tables["workload_years"].columns) == {"year", "workload", "api_usd",
                                                      "self_hosted_usd", "total_usd"}


def test_plan_summary_and_report_say_how_much_of_next_year_is_locked(run_cli, tmp_path):
    # seed001_medium reserves an H100 for 3 years from 2026-07 at 7,847.50 CNY a GPU-month: in
    # 2027 its 12 payments were signed in 2026, so they are committed.
    out = tmp_path / "plan"
    result = run_cli("plan", "scenarios/seed001_medium.yaml", "--out", out)
    assert result.code == 0, result.err
    data = run_cli("plan", "scenarios/seed001_medium.yaml", "--json").json()
    reserved = [c for c in data["commitments"] if c["kind"] == "reserved"]
    assert [(c["month"], c["term_months"]) for c in reserved] == [("2026-07", 36)]
    payments_2027 = 12 * 7847.5 * sum(c["gpus"] for c in reserved)
    assert f"Already locked for 2027: {payments_2027:,.0f} CNY of" in result.out
    for name in ("committed_variable.png", "accounting.png", "accounting.csv",
                 "workload_years.csv", "committed_variable.csv"):
        assert (out / name).stat().st_size > 0
    assert "is already locked" in (out / "report.html").read_text(encoding="utf-8")
    y2027 = next(y for y in data["years"] if y["year"] == 2027)
    assert y2027["committed"] == pytest.approx(payments_2027, rel=1e-6)
    assert y2027["committed"] + y2027["variable"] == pytest.approx(y2027["total"], rel=1e-9)
    assert data["next_year_locked"]["year"] == 2027


def test_utilization_is_the_share_of_paid_gpu_hours_that_served():
    # 365 Mtok a month at 1 Mtok per GPU-hour: half of one whole reserved GPU's 730 hours.
    result = solve(tiny(2, mtok_per_month=365.0, reserved=(100.0, 12)))
    table = st.utilization(result)
    assert table[["channel", "gpu"]].drop_duplicates().values.tolist() == [["reserved", "G"]]
    assert table["gpu_hours"].tolist() == pytest.approx([730.0, 730.0])
    assert table["utilization"].tolist() == pytest.approx([0.5, 0.5])
    by_month = st.utilization(result, by=("month",))
    assert by_month["utilization"].tolist() == pytest.approx([0.5, 0.5])


def test_plan_result_statistics_names_each_statistic():
    result = solve(tiny(2, mtok_per_month=365.0, reserved=(100.0, 12)))
    assert result.statistics.utilization(by=("month",))["utilization"].tolist() == \
        pytest.approx([0.5, 0.5])
    assert result.statistics.committed().equals(st.committed_by_year(result))
