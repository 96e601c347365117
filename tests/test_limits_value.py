"""What a limit costs (planner.optimize.duals): shadow prices on tiny plans worked by hand."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from test_plan import solve, tiny

from planner.schemas import Limits


def values(result) -> dict:
    return {(r["limit"], r["year"]): r for r in result.to_dict()["limits_value"]}


def test_capex_budget_is_worth_the_saving_per_unit_of_money():
    # A GPU bought in 2026-01 for 1,000 is worth 750 at the end (4-year life, 12 months):
    # 250 net, against 12 x 730 = 8,760 on demand. With 500 of budget no whole server fits, so
    # the plan rents; each extra unit of budget buys 1/1000 of a server: saves 8.51.
    inputs = tiny(12, on_demand=1.0, purchase={"price": 1000.0})
    result = solve(replace(inputs, limits=Limits(capex_budget_per_year={2026: 500.0})))
    assert result.npv == pytest.approx(8760.0)
    row = values(result)[("capex_budget_per_year", 2026)]
    assert row["value_per_unit"] == pytest.approx((8760 - 250) / 1000, rel=1e-6)
    assert row["words"] == ("each extra USD of capex budget in 2026 would save 8.51 USD "
                            "(net present cost)")


def test_power_cap_is_worth_a_gpu_per_kw():
    # 1 kW per GPU, cap 0.5 kW: one more kW all year lets one more GPU be owned: 8,510 per kW.
    inputs = tiny(12, on_demand=1.0, purchase={"price": 1000.0})
    result = solve(replace(inputs, limits=Limits(max_power_kw=0.5)))
    found = values(result)
    assert found[("max_power_kw", None)]["value_per_unit"] == pytest.approx(8510 * 1000)
    assert found[("max_power_kw", 2026)]["value_per_unit"] == pytest.approx(8510 * 1000)
    assert found[("max_power_kw", None)]["unit"] == "MW of owned power"


def test_gpu_cap_is_worth_the_api_it_replaces():
    # 2,190 Mtok a month = 3 GPUs; at most 2 GPUs, the rest goes to the API at 2.00 per Mtok.
    # One more GPU all year: 730 Mtok a month off the API (1,460) for 730 of on demand.
    inputs = tiny(12, mtok_per_month=2190.0, on_demand=1.0, api_price=2.0)
    result = solve(replace(inputs, limits=Limits(max_gpus={"G": 2})))
    assert result.npv == pytest.approx(12 * (2 * 730 + 730 * 2.0))
    assert values(result)[("max_gpus", 2026)]["value_per_unit"] == pytest.approx(12 * 730)


def test_spot_share_is_worth_the_spot_discount_per_point():
    # 4 GPUs of demand; spot 0.40/h against on demand 1.00/h, at most 50% spot: 2 + 2.
    # One point more share: 0.04 GPU moves to spot, saving 0.60 x 730 x 12 x 0.04 = 210.24.
    inputs = tiny(12, mtok_per_month=2920.0, on_demand=1.0)
    spot = pd.DataFrame({"offer": "sp", "gpu": "G", "channel": "spot", "month": range(12),
                         "price_per_gpu_hour": 0.4, "availability": 1.0})
    inputs = replace(inputs, rentals=pd.concat([inputs.rentals, spot], ignore_index=True),
                     limits=Limits(max_spot_share=0.5))
    result = solve(inputs)
    assert result.npv == pytest.approx(12 * 730 * (2 * 1.0 + 2 * 0.4))
    assert values(result)[("max_spot_share", 2026)]["value_per_unit"] == pytest.approx(
        0.6 * 730 * 12 * 0.04, rel=1e-6)


def test_no_limits_no_values_and_the_summary_says_it(run_cli):
    assert solve(tiny(12, api_price=2.0)).to_dict()["limits_value"] == []
    done = run_cli("plan", "scenarios/seed001_medium.yaml", "--set",
                   "limits.max_gpus={H100-SXM: 0}", "--set", "finance.api_price_change_per_year=0")
    assert done.code == 0, done.err
    assert "What the limits cost" in done.out
    assert "One more H100-SXM allowed over the whole horizon would save" in done.out
