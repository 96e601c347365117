"""planner/finance.py against hand-computed cases (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from planner import finance as fin
from planner.errors import InputError
from planner.loading import load_catalog


@pytest.fixture(scope="module")
def shipped_finance():
    return load_catalog().finance


# --------------------------------------------------------------------------- capital


def test_straight_line_simple_interest():
    # 8760 x (1 + 0.10 x 2) / (2 x 8760) = 1.2 / 2 = 0.6 per hour
    assert fin.capital_per_gpu_hour(8760, 0.10, 2) == pytest.approx(0.6)


@pytest.mark.parametrize(("years", "expected"), [
    (3, 1.847),  # 34698 x (1 + 0.133 x 3) / (3 x 8760) = 48542.5 / 26280 = 1.8471
    (4, 1.517),  # 34698 x (1 + 0.133 x 4) / (4 x 8760) = 53157.3 / 35040 = 1.5170
    (5, 1.319),  # 34698 x (1 + 0.133 x 5) / (5 x 8760) = 57772.2 / 43800 = 1.3190
])
def test_straight_line_reproduces_seed_000(years, expected):
    assert fin.capital_per_gpu_hour(34698, 0.133, years) == pytest.approx(expected, abs=5e-4)


def test_annuity_with_zero_rate_is_straight_line_without_interest():
    # r = 0: the yearly payment is capex / n = 8760 / 4 = 2190 -> 2190 / 8760 = 0.25 per hour
    assert fin.annuity_factor(0.0, 4) == 0.25
    assert fin.capital_per_gpu_hour(8760, 0.0, 4, "annuity") == pytest.approx(0.25)


def test_annuity_with_positive_rate():
    # r = 0.10, n = 2: 0.1 x 1.21 / (1.21 - 1) = 0.121 / 0.21 = 0.576190 per unit per year;
    # check: pay 576.19 on 1000 -> balance 1000 x 1.1 - 576.19 = 523.81, x 1.1 = 576.19 = paid off
    assert fin.annuity_factor(0.10, 2) == pytest.approx(0.121 / 0.21)
    # 8760 x 0.576190 / 8760 = 0.576190 per hour
    assert fin.capital_per_gpu_hour(8760, 0.10, 2, "annuity") == pytest.approx(0.576190, abs=1e-6)


def test_annuity_of_seed_000():
    # 1.133^4 = 1.647887; 0.133 x 1.647887 / 0.647887 = 0.338292 -> 34698 x 0.338292 = 11,738/yr
    # -> 11738.06 / 8760 = 1.33996 per hour (seed 000 writes 11,928 -> 1.362; docs/finance.md)
    assert 34698 * fin.annuity_factor(0.133, 4) == pytest.approx(11738.06, abs=0.01)
    assert fin.capital_per_gpu_hour(34698, 0.133, 4, "annuity") == pytest.approx(1.33996,
                                                                                  abs=1e-5)


def test_unknown_method_and_bad_years():
    with pytest.raises(ValueError):
        fin.capital_per_gpu_hour(1000, 0.1, 4, "double_declining")
    with pytest.raises(ValueError):
        fin.capital_per_gpu_hour(1000, 0.1, 0)


# --------------------------------------------------------------------------- opex and TCO


def test_opex_parts_of_seed_000():
    # colocation: 130 $/kW/month x 1 kW x 12 / 8760 = 0.178082 (seed 000: 130/30/24 = 0.181)
    assert fin.colocation_per_gpu_hour(130, 1.0) == pytest.approx(0.178082, abs=1e-6)
    # electricity: 0.7 kW x PUE 1.0 x 0.087 $/kWh = 0.0609
    assert fin.electricity_per_gpu_hour(0.7, 1.0, 0.087) == pytest.approx(0.0609)
    # with PUE 1.3: 0.7 x 1.3 x 0.087 = 0.07917
    assert fin.electricity_per_gpu_hour(0.7, 1.3, 0.087) == pytest.approx(0.07917)
    # staff: 87,600 a year / 10 GPUs / 8760 h = 1.0 per GPU-hour; unset -> 0
    assert fin.staff_per_gpu_hour(87600, 10) == pytest.approx(1.0)
    assert fin.staff_per_gpu_hour(87600, None) == 0.0


def test_owned_cost_per_gpu_hour_seed_000(shipped_finance):
    parts = fin.owned_cost_per_gpu_hour(34698, 0.7, shipped_finance, years=3)
    # 1.847127 + 0.178082 + 0.0609 = 2.086109 (seed 000: 1.847 + 0.242 = 2.089)
    assert parts.capital == pytest.approx(1.847127, abs=1e-6)
    assert parts.opex == pytest.approx(0.178082 + 0.0609, abs=1e-6)
    assert parts.total == pytest.approx(2.086109, abs=1e-6)
    # staff 87,600/yr per 10 GPUs = 1.0/h; other 876/yr = 0.1/h; opex 0.238982 + 1.1 = 1.338982
    richer = shipped_finance.model_copy(update={"staff_cost_per_year": 87600.0,
                                                "gpus_per_staff": 10.0,
                                                "other_opex_per_gpu_year": 876.0})
    parts = fin.owned_cost_per_gpu_hour(34698, 0.7, richer, years=3)
    assert parts.staff == pytest.approx(1.0)
    assert parts.other == pytest.approx(0.1)
    assert parts.opex == pytest.approx(1.338982, abs=1e-6)


def test_cost_per_mtok_seed_003():
    # 442 tok/s x 3600 x 0.75 = 1,193,400 tokens per paid hour; 2.00 / 1,193,400 x 1e6 = 1.6759
    assert fin.cost_per_mtok(2.00, 442 * 3600, 0.75) == pytest.approx(1.6759, abs=1e-4)


# --------------------------------------------------------------------------- discounting


def test_discount_factors():
    # one year at 10%: 1 / 1.1; half a year at 21%: 1.21^(-1/2) = 1 / 1.1; month 0 is not discounted
    assert fin.discount_factor(12, 0.10) == pytest.approx(1 / 1.1)
    assert fin.discount_factor(6, 0.21) == pytest.approx(1 / 1.1)
    assert fin.discount_factor(0, 0.133) == 1.0
    # two years at 10%: 1 / 1.21
    assert fin.discount_factor(24, 0.10) == pytest.approx(1 / 1.21)


def test_book_value():
    # 1200 bought, 18 of 48 months old: 1200 x (1 - 18/48) = 750; past its life: 0
    assert fin.book_value(1200, 18, 4) == pytest.approx(750)
    assert fin.book_value(1200, 60, 4) == 0.0


# --------------------------------------------------------------------------- buy vs rent


@pytest.mark.parametrize(("price", "rent", "expected"), [
    (100_000, 6_500, 15.38),   # seed 001 A100: 100,000 / 6,500 = 15.38 (~15 months)
    (220_000, 11_500, 19.13),  # seed 001 H100: 220,000 / 11,500 = 19.13 (~19 months)
    (300_000, 15_000, 20.0),   # seed 001 H200: 300,000 / 15,000 = 20.0 (~20 months)
])
def test_simple_payback_seed_001(price, rent, expected):
    assert fin.simple_payback_months(price, rent) == pytest.approx(expected, abs=0.005)


def test_capital_cost_to_month():
    # simple: 1200 x 0.21 x 6/12 = 126; compound: 1200 x (1.21^(1/2) - 1) = 1200 x 0.1 = 120
    assert fin.capital_cost_to_month(1200, 0.21, 6) == pytest.approx(126)
    assert fin.capital_cost_to_month(1200, 0.21, 6, "annuity") == pytest.approx(120)


def test_breakeven_months_by_hand():
    # owning = 1200 + 1200 x 0.12/12 x m + 20 m = 1200 + 32 m; renting = 150 m
    # m = 10: 1520 vs 1500 (owning dearer); m = 11: 1552 vs 1650 -> 11
    assert fin.breakeven_months(1200, 150, 20, 0.12, 4) == 11


def test_breakeven_months_needs_strictly_cheaper():
    # r = 0, no opex: 1200 = 150 x 8 ties at month 8; strictly cheaper from month 9
    assert fin.breakeven_months(1200, 150, 0, 0.0, 4) == 9


def test_breakeven_months_never_within_life():
    # 1200 + 32 m < 30 m never holds
    assert fin.breakeven_months(1200, 30, 20, 0.12, 4) is None


def test_breakeven_months_simple_vs_compound_interest():
    # simple: 1200 + 1200 x 0.21/12 x m = 1200 + 21 m < 40 m from m = 64 (63: 2523 vs 2520;
    # 64: 2544 vs 2560), inside a 6-year life (72 months)
    assert fin.breakeven_months(1200, 40, 0, 0.21, 6) == 64
    # compound: 1200 x 1.21^(m/12) < 40 m; at m = 64 1200 x 2.764 = 3317 > 2560 and at m = 72
    # 1200 x 1.21^6 = 3766 > 2880: never within the life
    assert fin.breakeven_months(1200, 40, 0, 0.21, 6, "annuity") is None


# --------------------------------------------------------------------------- API vs self-host


@pytest.mark.parametrize(("input_price", "output_price", "expected"), [
    (0.20, 0.42, 98.4),     # DeepSeek-V4-Flash: 240 x 0.20 + 120 x 0.42 = 48 + 50.4
    (0.8, 2, 432),          # Qwen-Plus: 192 + 240
    (2, 8, 1440),           # DeepSeek-V3: 480 + 960
    (3, 6, 1440),           # DeepSeek-V4-Pro: 720 + 720
    (6, 24, 4320),          # Qwen3-Max: 1440 + 2880
    (18, 72, 12960),        # GPT-4o: 4320 + 8640
    (21, 105, 17640),       # Claude Sonnet 4.6: 5040 + 12600
])
def test_api_cost_seed_001_table(input_price, output_price, expected):
    assert fin.api_cost(240e6, 120e6, input_price, output_price) == pytest.approx(expected)


def test_api_cost_cached_input():
    # 1M input of which 0.5M cached: 0.5 x 2.0 + 0.5 x 0.5 = 1.25; no cached price -> 1M x 2.0
    assert fin.api_cost(1e6, 0, 2.0, 8.0, 0.5e6, 0.5) == pytest.approx(1.25)
    assert fin.api_cost(1e6, 0, 2.0, 8.0, 0.5e6, None) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        fin.api_cost(1e6, 0, 2.0, 8.0, 2e6, 0.5)


def test_gpus_needed():
    # 1e9 / (1e6 x 730 x 0.5) = 2.74 -> 3 GPUs -> groups of 2 -> 4
    assert fin.gpus_needed(1e9, 1e6, 0.5, tp=2) == 4
    # exactly one GPU-month: 730e6 / (1e6 x 730) = 1.0 -> 1 (no rounding up of float noise)
    assert fin.gpus_needed(730e6, 1e6) == 1
    # a tiny volume still needs one whole group
    assert fin.gpus_needed(1.0, 1e6, 1.0, tp=8) == 8
    assert fin.gpus_needed(0, 1e6) == 0


def test_breakeven_tokens_per_month():
    # 1,460 a month (2.00/h x 730) against an API at 5.00 per Mtok: 1460 / 5 = 292 Mtok
    assert fin.breakeven_tokens_per_month(1460, 5.0, 1e9) == pytest.approx(292e6)
    # the deployment holds only 200 Mtok a month: it never gets there
    assert fin.breakeven_tokens_per_month(1460, 5.0, 200e6) is None
    assert fin.breakeven_tokens_per_month(1460, 0.0, 1e12) is None


# --------------------------------------------------------------------------- currency


def test_fx_conversion(shipped_finance):
    # finance.yaml: 1 CNY = 0.1389 USD
    assert fin.convert(7.2, "CNY", "USD", shipped_finance) == pytest.approx(7.2 * 0.1389)
    assert fin.convert(1.0, "USD", "CNY", shipped_finance) == pytest.approx(1 / 0.1389)
    assert fin.convert(5.0, "USD", "USD", shipped_finance) == 5.0


def test_currency_without_rate_is_an_input_error(shipped_finance):
    with pytest.raises(InputError, match="EUR"):
        fin.convert(1.0, "EUR", "USD", shipped_finance)
