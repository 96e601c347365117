"""`breakeven SCENARIO` and `plan` agree on which channel wins at the scenario's volume (issue 17
item 8): both size a deployment in whole replicas and whole offer units and price it with
planner.inputs.costs. The same plans' order schedule in text, JSON, CSV and HTML. Each answer is
worked on paper in the test's comment."""

from __future__ import annotations

import pytest

from planner.inputs.tables import build_inputs
from planner.loading import load
from planner.optimize.plan import plan
from planner.studies.unit_costs import breakeven

# Seed 001's L40S offers (catalogs/offers.yaml): a purchase at 70,000 CNY a GPU in 8-GPU
# servers with a 2-month lead time, a 1-year reservation at 3,200 CNY a GPU-month, on demand at
# 7 CNY/h (5,110 a GPU-month). Finance made simple: no discounting, no price trends, owned opex
# 730 CNY/kW-month x 1 kW = 730 a GPU-month, 4-year straight-line life, no site cost. No API:
# the question is which GPU channel (an API would also take the lead time's part load).
SCENARIO = """\
name: buy-or-rent
start: 2026-07
months: 48
currency: CNY
finance: {{currency: CNY, fx: {{USD: 7.2}}, cost_of_capital: 0.0, depreciation_years: 4,
          depreciation_method: straight_line, colocation_per_kw_month: 730,
          provisioned_kw_per_gpu: 1.0, electricity_per_kwh: 0.0, pue: 1.0,
          staff_cost_per_year: 0, other_opex_per_gpu_year: 0, site_setup_cost: 0,
          site_fixed_cost_per_year: 0, api_price_change_per_year: 0.0,
          rental_price_change_per_year: 0.0, purchase_price_change_per_year: 0.0,
          utilization: 1.0}}
offers: [l40s-purchase-cny, l40s-reserved-1y-cny, l40s-on-demand-cny]
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {{requests_per_day: {requests}, growth_per_year: 0.0}}
    slo: {{ttft_ms: 2000, tpot_ms: 50}}
    self_host: [llama-3.1-8b]
    api_allowed: false
"""


def _scenario(tmp_path, replicas_worth: float):
    """The scenario with a flat demand worth `replicas_worth` replicas of its deployment (read
    from the roofline, so the test holds when the roofline is recalibrated)."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(requests=1000), encoding="utf-8")
    capacity = build_inputs(load(path)).capacity.iloc[0]
    assert (capacity["gpu"], capacity["tp"]) == ("L40S", 2)  # llama-3.1-8b: a tp=2 group
    mtok_per_replica_hour = capacity["mtok_per_gpu_hour"] * 2
    requests = replicas_worth * mtok_per_replica_hour * 1e6 * 24 / 1200
    path.write_text(SCENARIO.format(requests=round(requests)), encoding="utf-8")
    return load(path)


def _verdict(loaded) -> dict[str, dict]:
    rows = breakeven(loaded)["at_volume"]
    return {r["channel"]: r for r in rows}


def _plan_channel(result) -> str:
    mix = result.mix()
    return max(mix, key=mix.get)


def test_both_buy_when_the_load_fills_the_servers(tmp_path):
    # 3.5 replicas' worth: 4 whole tp=2 replicas = 8 L40S, one 8-GPU server. Per GPU over 48
    # months: bought 70,000 (book value 0 after 4 years) + 46 x 730 opex + the 2-month lead
    # time on demand 2 x 5,110 = 113,800; reserved 48 x 3,200 = 153,600; on demand 48 x
    # 5,110 = 245,280. Buying wins: 8 x 113,800 = 910,400.
    loaded = _scenario(tmp_path, 3.5)
    verdict = _verdict(loaded)
    assert verdict["purchase"]["wins"]
    assert verdict["purchase"]["gpus"] == 8
    assert verdict["purchase"]["npv"] == pytest.approx(8 * 113_800, rel=1e-9)
    assert verdict["reserved"]["npv"] == pytest.approx(8 * 153_600, rel=1e-9)
    assert verdict["on_demand"]["npv"] == pytest.approx(8 * 245_280, rel=1e-9)
    assert verdict["purchase"]["monthly_cost"] == pytest.approx(8 * 113_800 / 48, rel=1e-9)
    result = plan(loaded)
    assert _plan_channel(result) == "purchase"
    assert result.npv == pytest.approx(8 * 113_800, rel=1e-7)


def test_both_rent_when_one_replica_would_leave_half_a_server_idle(tmp_path):
    # 0.75 replica's worth: one tp=2 replica = 2 L40S. A purchase still comes as an 8-GPU
    # server: 8 x (70,000 + 46 x 730) + 2 GPUs on demand for the lead time (2 x 2 x 5,110) =
    # 849,080; reserving 2 costs 2 x 153,600 = 307,200. Renting wins (per GPU, buying would
    # still look cheaper: 113,800 < 153,600, the old one-GPU breakeven's wrong answer).
    loaded = _scenario(tmp_path, 0.75)
    verdict = _verdict(loaded)
    assert verdict["reserved"]["wins"]
    assert verdict["reserved"]["gpus"] == 2
    assert verdict["reserved"]["npv"] == pytest.approx(2 * 153_600, rel=1e-9)
    assert verdict["purchase"]["gpus"] == 8
    assert verdict["purchase"]["npv"] == pytest.approx(8 * 103_580 + 2 * 2 * 5_110, rel=1e-9)
    result = plan(loaded)
    assert _plan_channel(result) == "reserved"
    assert result.npv == pytest.approx(2 * 153_600, rel=1e-7)


def test_both_rent_one_b200_when_the_cheaper_offer_sells_whole_nodes(tmp_path):
    # Half a B200 of Llama 3.1 8B (1e6 requests a day) for one month; the market's B200 on
    # demand: Nebius $5.50 a GPU-hour in 8-GPU nodes, Hyperstack $6.00 per GPU. One
    # Hyperstack GPU: 6.00 x 730 = 4,380; a Nebius node 8 x 5.50 x 730 = 32,120. The plan
    # once kept only the cheapest offer per GPU-hour and paid the node.
    path = tmp_path / "b200.yaml"
    path.write_text("""\
name: b200-units
start: 2026-01
months: 1
currency: USD
offers: [b200-nebius-on-demand, b200-hyperstack-on-demand]
finance: {rental_price_change_per_year: 0.0}
workloads:
  w:
    input_tokens: 1000
    output_tokens: 200
    demand: {requests_per_day: 1000000, growth_per_year: 0.0}
    slo: {ttft_ms: 2000, tpot_ms: 50}
    self_host: [llama-3.1-8b]
    precision: fp16
    api_allowed: false
""")
    loaded = load(path)
    verdict = _verdict(loaded)["on_demand"]
    assert verdict["offer"] == "b200-hyperstack-on-demand" and verdict["gpus"] == 1
    assert verdict["npv"] == pytest.approx(6.0 * 730, rel=1e-9)
    result = plan(loaded)
    assert result.npv == pytest.approx(6.0 * 730, rel=1e-7)
    assert result.fleet["gpus"].max() == 1


def test_breakeven_text_names_the_cheapest_channel(tmp_path):
    from planner.studies.unit_costs import render_breakeven

    text = render_breakeven(breakeven(_scenario(tmp_path, 0.75)))
    line = next(ln for ln in text.splitlines() if "<- cheapest" in ln)
    assert "reserved" in line and "2 x L40S" in line and "6,400 CNY/month" in line


@pytest.mark.parametrize("name", ["seed001_heavy", "seed001_medium", "seed001_light",
                                  "seed000_h200_token_factory"])
def test_breakeven_and_plan_pick_the_same_channel_on_the_shipped_one_workload_scenarios(name):
    # heavy and medium reserve, light sends everything to an API, seed 000 rents on demand
    # (the plan may top a channel up with another; the one serving most tokens is the same).
    from conftest import ROOT

    loaded = load(ROOT / "scenarios" / f"{name}.yaml")
    winner = next(r["channel"] for r in breakeven(loaded)["at_volume"] if r["wins"])
    assert winner == _plan_channel(plan(loaded))
    assert winner == {"seed001_heavy": "reserved", "seed001_medium": "reserved",
                      "seed001_light": "api", "seed000_h200_token_factory": "on_demand"}[name]


def test_the_order_schedule_is_in_text_json_csv_and_html(run_cli, tmp_path):
    # The buy-wins plan orders one 8-GPU L40S server in month 0 at 70,000 CNY a GPU; the
    # rent-wins plan reserves 2 L40S for a year at 3,200 a GPU-month, releasing and signing
    # again every July (48 months: 4 reservations, 3 releases inside the horizon).
    import json

    import pandas as pd

    _scenario(tmp_path, 3.5)
    path = tmp_path / "s.yaml"
    text = run_cli("plan", path, "--out", tmp_path / "out")
    assert text.code == 0
    line = "  2026-07  buy      1 x 8-GPU unit L40S = 8 GPUs (l40s-purchase-cny) at 70,000"
    assert line in text.out.splitlines()
    csv = pd.read_csv(tmp_path / "out" / "orders.csv")
    assert csv.drop(columns="term_months").values.tolist() == [
        ["2026-07", "buy", "l40s-purchase-cny", "seed001", "L40S", 1.0, 8.0, 70000.0]]
    assert csv["term_months"].isna().all()  # a purchase has no term
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    table = html[html.index("Orders (price locked per GPU, reserved per GPU-month, CNY)"):]
    table = table[:table.index("</table>")]
    assert ">l40s-purchase-cny<" in table and ">buy<" in table and ">70,000<" in table

    sub = tmp_path / "rent"
    sub.mkdir()
    _scenario(sub, 0.75)
    doc = json.loads(run_cli("plan", sub / "s.yaml", "--json").out)
    orders = [(o["month"], o["action"], o["gpus"], o["term_months"], o["price_per_gpu"])
              for o in doc["orders"]]
    signed = [(f"{y}-07", "reserve", 2.0, 12, 3200.0) for y in (2026, 2027, 2028, 2029)]
    released = [(f"{y}-07", "release", 2.0, 12, 3200.0) for y in (2027, 2028, 2029)]
    assert sorted(orders) == sorted(signed + released)


def test_the_python_api_gives_the_at_volume_frame(tmp_path):
    import planner

    frame = planner.breakeven(_scenario(tmp_path, 0.75)).at_volume
    assert frame.loc[frame["wins"], ["channel", "gpus"]].values.tolist() == [["reserved", 2]]


def test_each_channel_alone_costs_what_the_plan_pays_for_it():
    # The tiny plans of tests/test_orderable.py, worked there: on demand by the hour following
    # a 4-hour peak of 2 GPUs and 20 hours of 1: 28/24 x 730 a month; billed by the month, 2 x
    # 730; spot at a = 0.5 with on-demand backup for chat: 0.5 x 0.40 + 0.5 x 1.00 = 0.70/h;
    # deferrable work on spot: 2 GPUs paid half the hours, 0.40/h. The at-volume price of the
    # channel equals the plan restricted to it.
    from dataclasses import replace

    from test_orderable import _tp4, _two_slices, _with_spot
    from test_plan import solve, tiny

    from planner.studies.at_volume import channel_options

    def price(inputs, channel):
        return next(o["npv"] for o in channel_options(inputs, "w") if o["channel"] == channel)

    hourly = _two_slices(tiny(2, on_demand=1.0))
    monthly = replace(hourly, rentals=hourly.rentals.assign(billing="month"))
    chat = _with_spot(tiny(3, on_demand=1.0), 0.5)
    batch = _with_spot(tiny(3, on_demand=1.0), 0.5, deferrable=True)
    # Half a tp=4 replica of chat on spot at a = 0.9 (test_backup_of_spot_is_whole_replicas):
    # 4 spot GPUs 0.9 of the hours at 0.40 and a whole replica of backup, 4 on-demand GPUs
    # 0.1 of the hours at 1.00: (1.44 + 0.40) x 730 a month.
    half = _with_spot(_tp4(tiny(2, on_demand=1.0, mtok_per_month=1460.0)), 0.9)
    assert price(hourly, "on_demand") == pytest.approx(2 * 28 / 24 * 730)
    assert price(monthly, "on_demand") == pytest.approx(2 * 2 * 730)
    assert price(chat, "spot") == pytest.approx(3 * 0.7 * 730)
    assert price(batch, "spot") == pytest.approx(3 * 0.4 * 730)
    assert price(half, "spot") == pytest.approx(2 * (1.44 + 0.4) * 730)
    for inputs, channel in ((hourly, "on_demand"), (monthly, "on_demand"), (chat, "spot"),
                            (batch, "spot"), (half, "spot")):
        assert solve(inputs).npv == pytest.approx(price(inputs, channel), rel=1e-7)
