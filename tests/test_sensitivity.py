"""planner sensitivity (planner.studies.sensitivity) on the shipped seed001_medium scenario
(the plan rents one reserved L40S and on-demand L40S; all its cash is rental)."""

from __future__ import annotations

import pytest

from planner.loading import load
from planner.optimize.plan import plan
from planner.studies.sensitivity import sensitivity

MEDIUM = "scenarios/seed001_medium.yaml"


def test_rental_prices_scale_an_all_rental_plan_and_nothing_flips(run_cli, tmp_path):
    # Every yuan of the base plan is rent, so at x0.95 and x1.05 the same plan is cheapest and
    # its npv moves by exactly 5%; throughput up can only make it cheaper.
    out = tmp_path / "sens"
    done = run_cli("sensitivity", MEDIUM, "--delta", "0.05", "--only",
                   "rental prices,throughput", "--json", "--out", out)
    assert done.code == 0, done.err
    data = done.json()
    base = data["base"]["npv"]
    rows = {r["assumption"]: r for r in data["rows"]}
    assert set(rows) == {"rental prices", "throughput"}
    rent = rows["rental prices"]
    assert (rent["low"], rent["high"]) == pytest.approx((0.95, 1.05))
    assert rent["npv_low"] == pytest.approx(0.95 * base, rel=1e-6)
    assert rent["npv_high"] == pytest.approx(1.05 * base, rel=1e-6)
    assert rent["flips_at"] is None and rent["choice_low"] == "rent"
    assert data["next_year"] == 2027
    assert rent["next_year_cash_low"] == pytest.approx(0.95 * data["base"]["next_year_cash"])
    speed = rows["throughput"]
    assert speed["npv_low"] >= base - 1e-6 >= speed["npv_high"] - 2e-6
    assert list(data["rows"][0]) == ["assumption", "unit", "base", "low", "high", "npv_low",
                                     "npv_high", "swing", "next_year_cash_low",
                                     "next_year_cash_high", "choice_low", "choice_high",
                                     "flips_at"]
    assert (out / "tornado.png").read_bytes().startswith(b"\x89PNG")
    assert "rental prices" in (out / "report.html").read_text(encoding="utf-8")


def test_api_prices_flip_the_plan_to_api_below_the_breakeven_factor():
    # API-only costs A at today's prices; the base plan (rent) costs B. Below a factor B / A
    # API-only is cheaper than the base plan, so the main channel must have left rent by then
    # (a mix of rent and API can keep rent ahead a little lower). At x0.1 the plan is API
    # only: 0.1 x A. Dearer APIs change nothing.
    loaded = load(MEDIUM)
    api_only = plan(loaded, channels="api").npv
    result = sensitivity(MEDIUM, delta=0.9, only=["api prices"])  # any case
    base = result.base["npv"]
    row = result.rows.iloc[0]
    assert row["npv_low"] == pytest.approx(0.1 * api_only, rel=1e-6)
    assert row["npv_high"] == pytest.approx(base, rel=1e-9)
    assert (row["choice_low"], row["choice_high"], result.base["choice"]) == ("api", "rent",
                                                                                "rent")
    assert 0.1 < row["flips_at"] <= base / api_only + 0.9 / 64


def test_bad_delta_and_unknown_assumption_are_bad_input(run_cli):
    bad = run_cli("sensitivity", MEDIUM, "--delta", "1.5")
    assert bad.code == 2 and "--delta 1.5" in bad.err
    unknown = run_cli("sensitivity", MEDIUM, "--only", "weather")
    assert unknown.code == 2 and "'weather'" in unknown.err and "demand level" in unknown.err
    assert "--only 'weather'" in unknown.err
    allowed = unknown.err.split("allowed: ")[1].strip().split(", ")
    assert len(allowed) == len(set(allowed))  # each assumption named once


def test_sensitivity_report_escapes_user_text():
    import pandas as pd

    from planner.report.html import render_html
    from planner.report.sensitivity import build_sensitivity_report
    from planner.studies.sensitivity import SensitivityResult

    rows = pd.DataFrame([{"assumption": "demand level", "unit": "x base", "base": 1.0,
                          "low": 0.8, "high": 1.2, "npv_low": 80.0, "npv_high": 120.0,
                          "swing": 40.0, "next_year_cash_low": 8.0, "next_year_cash_high": 12.0,
                          "choice_low": "api", "choice_high": "rent", "flips_at": 0.9}])
    result = SensitivityResult("<script>x</script>", "CNY", 0.2, 2027,
                               {"npv": 100.0, "next_year_cash": 10.0, "choice": "rent"}, rows)
    html = render_html(build_sensitivity_report(result, made_at="now"))
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "leaves rent at 0.9 (x base)" in html


def test_a_multiplier_already_set_is_composed_not_replaced():
    # Demand doubled by --set; the low end at delta 0.5 is x0.5 of that: demand as shipped.
    # Rental prices x1.3 by --set; their low end x(1 - 0.5) of that: 0.65 of the catalog's
    # (compared with every GPU price at 0.65: the plan buys nothing either way).
    result = sensitivity(MEDIUM, delta=0.5, sets=["demand_multiplier=2",
                                                  "gpu_price_multiplier=1.3"],
                         only=["demand level", "rental prices"])
    rows = result.rows.set_index("assumption")
    assert rows.loc["demand level", "npv_low"] == pytest.approx(
        plan(load(MEDIUM, sets=["gpu_price_multiplier=1.3"])).npv, rel=1e-6)
    assert rows.loc["rental prices", "npv_low"] == pytest.approx(
        plan(load(MEDIUM, sets=["demand_multiplier=2", "gpu_price_multiplier=0.65"])).npv,
        rel=1e-6)


def test_a_zero_discount_rate_is_said_to_move_nothing():
    result = sensitivity(MEDIUM, only=["cost of capital"],
                         sets=["finance.discount_rate=0"])
    row = result.rows.iloc[0]
    assert (row["low"], row["high"]) == (0.0, 0.0)
    assert row["npv_low"] == pytest.approx(result.base["npv"], rel=1e-9)
    assert any("discount rate is 0" in note for note in result.notes)
