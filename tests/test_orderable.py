"""A plan you can order (issue 17): whole replicas, sellable units, priced spot risk, the busiest
hour served. Each answer is worked on paper in the test's comment."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from conftest import ROOT
from test_plan import solve, tiny

from planner.loading import load
from planner.plan import plan

REL = 1e-6


def _scenario(tmp_path, body: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _one_model_on_h200(tmp_path, model: str, precision: str | None) -> pd.DataFrame:
    """A small flat chat load of `model` that may only rent H200 on demand: the GPUs held."""
    precision_line = f"    precision: {precision}\n" if precision else ""
    path = _scenario(tmp_path, f"""\
name: one-model
start: 2026-07
months: 2
currency: USD
offers: [h200-on-demand-usd]
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {{requests_per_day: 1000, growth_per_year: 0.0}}
    slo: {{ttft_ms: 5000, tpot_ms: 200}}
    self_host: [{model}]
    api_allowed: false
""" + precision_line)
    result = plan(load(path))
    return result.fleet


def test_llama_70b_in_fp16_holds_two_h200(tmp_path):
    # 70.6e9 parameters x 2 bytes = 141 GB of weights: more than one H200's 141 GB less its
    # reserve, so a replica is a tp=2 group; a sliver of load still holds the whole group.
    fleet = _one_model_on_h200(tmp_path, "llama-3.1-70b", "fp16")
    assert set(fleet["gpus"]) == {2.0}
    assert set(fleet["channel"]) == {"on_demand"}


def test_deepseek_v3_on_h200_holds_a_whole_node(tmp_path):
    # 671e9 parameters at fp8 = 671 GB: only the 8 x 141 GB of a whole H200 node holds them.
    fleet = _one_model_on_h200(tmp_path, "deepseek-v3", None)
    assert set(fleet["gpus"]) == {8.0}


def test_a_flat_load_worth_two_and_a_half_gpus_pays_for_three():
    # 2.5 x 730 Mtok a month at 1 Mtok per GPU-hour needs 2.5 GPUs every hour; whole GPUs on
    # demand at 1.00/h: 3 x 730 = 2,190 a month. Relaxed: 2.5 x 730 = 1,825.
    inputs = tiny(4, mtok_per_month=2.5 * 730, on_demand=1.0)
    result = solve(inputs)
    assert result.npv == pytest.approx(4 * 3 * 730, rel=REL)
    assert set(result.fleet["gpus"]) == {3.0}
    assert solve(inputs, relax=True).npv == pytest.approx(4 * 2.5 * 730, rel=REL)


def test_seed001_heavy_reserves_one_whole_h100_group_at_its_hand_price():
    # Llama-3.1-70B at fp8 on a tp=4 H100 group serves the peak of 1,000,000 requests a day:
    # one group of 4 H100 on 3-year reservations (7,847.5 CNY a GPU-month) serves all of it,
    # 36 months, discounted at 13.3% a year from the start of each month.
    result = plan(load(ROOT / "scenarios" / "seed001_heavy.yaml"))
    expected = 4 * 7847.5 * sum(1.133 ** (-m / 12) for m in range(36))  # 947,420.92
    assert result.npv == pytest.approx(expected, rel=REL)
    assert result.total_cost == pytest.approx(4 * 7847.5 * 36, rel=REL)
    held = result.fleet[["gpu", "channel", "gpus"]].drop_duplicates()
    assert held.values.tolist() == [["H100-SXM", "reserved", 4.0]]
    assert (result.fleet["gpus"] % 1 == 0).all()
