"""The Python API at the package top level (planner/api.py): tidy frames and to_dict()."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

import planner

MEDIUM = str(ROOT / "scenarios" / "seed001_medium.yaml")


def test_import_planner_loads_no_solver_and_names_are_lazy():
    code = ("import sys, planner; assert 'pulp' not in sys.modules and 'planner.api' not in "
            "sys.modules; planner.plan; assert 'planner.api' in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.stdout.strip() == "ok", done.stderr
    assert {"load", "throughput", "tco", "compare", "breakeven", "plan", "stress",
            "sensitivity"} <= set(planner.__all__)


def test_a_plan_printed_as_json_draws_no_chart_and_loads_no_matplotlib():
    # matplotlib was a third of a small plan's time (docs/bench.md, "Startup"): it is loaded
    # when a chart is drawn (--out), not by a plan printed on the terminal or as JSON.
    code = ("import contextlib, io, sys; from planner.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['plan', 'scenarios/seed001_light.yaml', '--json'])\n"
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.stdout.strip() == "False", done.stderr


def test_plan_returns_tidy_years_with_the_committed_split():
    # seed001_medium reserves an H100 for 3 years from 2026-07 at 7,847.50 CNY a GPU-month.
    result = planner.plan(MEDIUM)
    years = result.years
    assert list(years["year"]) == [2026, 2027, 2028, 2029]  # a column, not the index
    row = years.set_index("year").loc[2027]
    reserved = result.commitments[result.commitments["kind"] == "reserved"]
    assert list(reserved["month"]) == ["2026-07"] and list(reserved["term_months"]) == [36]
    payments_2027 = 12 * 7847.5 * float(reserved["gpus"].sum())
    assert row["reserved_cny"] == pytest.approx(payments_2027)
    assert row["committed_cny"] == pytest.approx(payments_2027)
    doc = result.to_dict()
    assert doc["npv"] == pytest.approx(result.npv) == pytest.approx(result.raw.npv)
    assert [y["year"] for y in doc["years"]] == list(years["year"])
    assert {"cash", "fleet", "served", "workloads", "commitments", "accounting",
            "workload_years"} <= set(result.frames)
    with pytest.raises(AttributeError, match="tables: years"):
        result.no_such_table  # noqa: B018


def test_plan_takes_a_loaded_scenario_and_sets():
    # One H100 carries up to about three times the demand; four times needs more.
    loaded = planner.load(MEDIUM, sets=["demand_multiplier=4"])
    assert loaded.tables()["workloads"].loc[0, "workload"] == "chat"
    assert "demand_multiplier" in set(loaded.tables()["overrides"]["path"])
    assert loaded.to_dict()["scenario"]["name"] == "seed001-medium"
    bigger = planner.plan(loaded)
    assert bigger.npv > planner.plan(MEDIUM).npv


def test_tco_parts_add_up_and_match_seed_000():
    # Seed 000: 34,698 x (1 + 0.133 x 4) / (4 x 8760) = 1.517 a GPU-hour of capital.
    result = planner.tco("H200")
    parts = result.parts.set_index("part")["per_gpu_hour"]
    assert parts["capex"] == pytest.approx(1.517, abs=5e-4)
    assert parts.drop("tco").sum() == pytest.approx(parts["tco"])
    assert result.to_dict()["tco_per_gpu_hour"] == pytest.approx(parts["tco"])
    assert len(result.rentals) >= 1 and set(result.rentals["channel"]) <= {
        "reserved", "on_demand", "spot"}


def test_compare_breakeven_and_throughput_frames_are_the_json_rows():
    # One million input and one million output tokens: the bill is the two prices added.
    rows = planner.compare(1e6, 1e6).rows
    first = rows.iloc[0]
    assert first["monthly_cost"] == pytest.approx(first["input_per_mtok"]
                                                  + first["output_per_mtok"])
    even = planner.breakeven()
    assert len(even.gpus) == len(even.to_dict()["gpus"])
    # Seed 001's H200: purchase / monthly rental = about 20 months.
    assert 20.0 in set(even.gpus.loc[even.gpus["gpu"] == "H200", "simple_payback_months"]
                       .round(6))
    fig = planner.throughput("qwen3-32b", "H200", input_tokens=800, output_tokens=400)
    assert len(fig.figures) == 1
    assert fig.figures.loc[0, "output_tokens_per_s_per_gpu"] == pytest.approx(
        fig.to_dict()["output_tokens_per_s_per_gpu"])


def test_sensitivity_and_stress_frames():
    sens = planner.sensitivity(MEDIUM, delta=0.05, only=["rental prices"])
    assert list(sens.rows["assumption"]) == ["rental prices"]
    assert sens.to_dict()["rows"][0]["npv_low"] == pytest.approx(0.95 * sens.base["npv"])
    light = str(ROOT / "scenarios" / "seed001_light.yaml")
    stress = planner.stress(light, samples=3, workers=1, regret=False, hedge=False)
    assert "base" in set(stress.variants["name"])
    assert len(stress.monte_carlo_samples) == 3
