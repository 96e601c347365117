"""Stress at scale (issues 22, 17 item 7, 21 items 5 and 8): prices locked when signed, the
LP-first recourse, one regret solve per distinct commitment set, percentile intervals, the
clustered hedge, the typed result and its report, Dask, and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.optimize.recourse import recourse
from planner.studies.locked import lock_prices, signed_prices
from planner.studies.stress import Task, run_task
from tests.test_stress import ROOT_CATALOG, SMALL, one_month


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    # 400,000 requests a day: one 8-GPU L40S group still beats the API at twice the GPU prices.
    text = SMALL.format(catalog=ROOT_CATALOG).replace(
        "variants:\n", "variants:\n  gpu_x2: {gpu_price_multiplier: 2}\n").replace(
        "requests_per_day: 98400", "requests_per_day: 400000")
    path.write_text(text, encoding="utf-8")
    return path


RESERVE_2 = pd.DataFrame([{"kind": "reserved", "offer": "res", "month": "2026-01", "gpus": 2.0}])


def test_locked_reservation_keeps_its_signed_price_on_paper():
    # Signed at R = 500 a GPU-month; the future doubles every GPU price (R 1,000, on-demand
    # 2/h) and needs 3 GPUs: the 2 reserved still cost 2 x 500 = 1,000, the third GPU is
    # on-demand at the future's price, 730 h x 2 = 1,460: 2,460 (unlocked: 2,000 + 1,460).
    base = one_month(2.0, reserved_per_month=500.0, on_demand_per_hour=1.0)
    future = one_month(3.0, reserved_per_month=1000.0, on_demand_per_hour=2.0)
    signed = signed_prices(base, [("reserved", "res", "2026-01", 2.0)])
    assert signed == (("reserved", "res", "2026-01", 500.0),)
    locked = recourse(lock_prices(future, signed), fixed_commitments=RESERVE_2, mip_gap=0.0)
    assert locked.npv == pytest.approx(2460.0, rel=1e-9)
    unlocked = recourse(future, fixed_commitments=RESERVE_2, mip_gap=0.0)
    assert unlocked.npv == pytest.approx(3460.0, rel=1e-9)
    # An LP with nothing fractional: no branch and bound, gap 0.
    assert locked.solver["lp_whole"] and locked.solver["mip_gap"] == 0.0


def test_lock_scales_a_purchase_book_value_with_its_price():
    inputs = one_month(1.0, reserved_per_month=500.0, on_demand_per_hour=1.0)
    buy = pd.DataFrame({"offer": ["buy"], "gpu": ["G"], "month": [0], "price_per_gpu": [2000.0],
                        "unit_gpus": [1], "lead_time_months": [0], "residual_per_gpu": [1500.0]})
    from dataclasses import replace

    inputs = replace(inputs, purchases=buy)
    locked = lock_prices(inputs, [("purchase", "buy", "2026-01", 1000.0)])
    # Half the price, half the book value (straight line: linear in the price).
    assert locked.purchases.loc[0, ["price_per_gpu", "residual_per_gpu"]].tolist() == [1000.0,
                                                                                     750.0]
    assert inputs.purchases.loc[0, "price_per_gpu"] == 2000.0  # the future's own table kept


def test_month0_reservation_costs_the_same_under_a_gpu_price_x2_future(small):
    # The small scenario's base plan reserves g L40S for a year from 2026-07 (month 0) at
    # 3,200 CNY a GPU-month: 6 payments in each calendar year, 19,200 x g locked at that price;
    # repriced by the future it would be 38,400 x g.
    common = dict(scenario=str(small), catalog=None, solver="highs", time_limit=None,
                  mip_gap=1e-3, relax=False, keep_years=True)
    base = run_task(Task(0, sets=(), variant=None, fixed=None, **common))
    (kind, offer, month, gpus), = base["commitments"]
    assert (kind, offer, month) == ("reserved", "l40s-reserved-1y-cny", "2026-07") and gpus > 0
    assert base["signed"] == (("reserved", "l40s-reserved-1y-cny", "2026-07", 3200.0),)
    locked = run_task(Task(1, sets=(), variant="gpu_x2", fixed=base["commitments"],
                           locked=base["signed"], **common))
    unlocked = run_task(Task(2, sets=(), variant="gpu_x2", fixed=base["commitments"],
                             **common))
    assert [y["reserved"] for y in locked["years"]] == pytest.approx([19200.0 * gpus] * 2)
    assert [y["reserved"] for y in unlocked["years"]] == pytest.approx([38400.0 * gpus] * 2)


def test_regret_solves_each_distinct_commitment_set_once(run_cli, tmp_path):
    # At 230,000 requests a day one whole L40S group (tp=8) serves the demand and twice it, so
    # base and demand_x2 reserve the same group from 2026-07 at the same price; api_cheap (API
    # prices x 0.3) commits nothing: 2 distinct commitment sets x 3 futures = 6 cells, not 9,
    # and 3 of them are a future's own plan (base and demand_x2 under the group, api_cheap
    # under nothing), already solved: 3 solves; base's and demand_x2's rows are the same
    # numbers.
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(catalog=ROOT_CATALOG).replace(
        "requests_per_day: 98400", "requests_per_day: 230000"), encoding="utf-8")
    doc = run_cli("stress", path, "--samples", "2", "--workers", "1", "--no-hedge",
                  "--json").json()
    commitments = {v["name"]: v["commitments"] for v in doc["variants"]}
    assert commitments["base"] == commitments["demand_x2"] != commitments["api_cheap"] == []
    assert doc["solves"]["regret"] == 3
    npv = {(r["plan_from"], r["evaluated_under"]): r["npv"] for r in doc["regret"]}
    own = {v["name"]: v["npv"] for v in doc["variants"]}
    for future in ("base", "demand_x2", "api_cheap"):
        assert npv[("base", future)] == npv[("demand_x2", future)]
    assert npv[("base", "base")] == own["base"] and npv[("base", "demand_x2")] == \
        own["demand_x2"] and npv[("api_cheap", "api_cheap")] == own["api_cheap"]
    mc = doc["monte_carlo"]
    # Every recourse LP came back whole here: exact, gap 0, no branch and bound.
    assert mc["lp_whole"] == 2 and mc["largest_gap"] == 0.0


def test_order_statistic_interval_by_hand():
    from planner.studies.intervals import order_ranks, quantile_interval

    # n = 10, the median at 95%: P(B <= 1) = 11/1024 = 0.011 <= 0.025 < P(B <= 2) = 56/1024,
    # so the lower rank is 2; P(B <= 8) = 1013/1024 = 0.989 >= 0.975 > P(B <= 7) = 0.945, so
    # the upper rank is 9: [x(2), x(9)], covering 1 - 2 x 11/1024 = 97.9%.
    assert order_ranks(10, 0.5) == (2, 9)
    assert quantile_interval([float(v) for v in range(10, 0, -1)], 0.5) == (2.0, 9.0)
    # p90 of 5 samples: no order statistic is above it with 97.5% confidence.
    assert quantile_interval([1.0, 2.0, 3.0, 4.0, 5.0], 0.9)[1] is None


def test_progress_line_says_done_rate_and_time_left():
    import io

    from planner.studies.engine import Progress

    now = [0.0]
    stream = io.StringIO()
    shown = Progress("monte carlo", 1000, True, stream=stream, clock=lambda: now[0])
    now[0] = 1.0
    shown.update(10)  # under 2 s: nothing yet
    assert stream.getvalue() == ""
    now[0] = 20.0
    shown.update(200)  # 200 in 20 s = 10/s; 800 left = 80 s
    assert stream.getvalue() == "monte carlo: 200/1,000 solved, 10.0/s, 1 min 20 s left\n"
    quiet = io.StringIO()
    off = Progress("x", 10, False, stream=quiet, clock=lambda: now[0])
    off.update(5)
    assert quiet.getvalue() == ""


def test_hedged_change_in_words():
    from planner.studies.hedge import describe_change

    offers = {"h100-reserved-3y": {"gpu": "H100", "term_months": 36},
              "h100-server": {"gpu": "H100", "unit_gpus": 8}}
    assert describe_change({"kind": "reserved", "offer": "h100-reserved-3y", "month": "2027-01",
                            "base_gpus": 3.0, "hedged_gpus": 2.0}, offers) == \
        "reserve 2 H100 (h100-reserved-3y, 3-year term) from 2027-01 instead of 3"
    assert describe_change({"kind": "purchase", "offer": "h100-server", "month": "2026-07",
                            "base_gpus": 24.0, "hedged_gpus": 16.0}, offers) == \
        "buy 2 x 8 H100 servers from 2026-07 instead of 3"


def test_clusters_are_deterministic_and_weighted_by_size():
    import numpy as np

    from planner.studies.hedge import cluster_futures

    # Two tight groups of 3 and 1 far future: 2 clusters hold 3/4 and 1/4 of the futures,
    # each represented by its most central member.
    points = np.array([[0.0], [0.1], [0.2], [10.0]])
    reps, weights, label = cluster_futures(points, 2, seed=0)
    assert reps == [1, 3] and weights == [0.75, 0.25] and label == [0, 0, 0, 1]
    assert cluster_futures(points, 2, seed=0) == (reps, weights, label)


def test_json_is_the_same_for_one_or_two_workers_and_auto_samples(run_cli, small):
    args = ("stress", small, "--seed", "4", "--samples", "6", "--hedge-clusters", "3",
            "--no-regret", "--json")
    one = run_cli(*args, "--workers", "1")
    two = run_cli(*args, "--workers", "2")
    assert one.code == two.code == 0, one.err + two.err
    assert one.out == two.out  # byte-identical: no timings in the JSON
    doc = one.json()
    mc, hedged = doc["monte_carlo"], doc["hedged"]
    assert set(mc["intervals"]) == {"p10", "p50", "p90", "p99"}
    assert [y["year"] for y in mc["years"]] == [2026, 2027]
    assert all(y["p10"] <= y["p50"] <= y["p90"] for y in mc["years"])
    # Clustered: the program held 3 futures; evaluated on all 6, never above the base plan's.
    assert hedged["clusters"] == 3 and len(hedged["npvs"]) == 6
    assert hedged["expected_npv"] <= hedged["deterministic_expected_npv"] * (1 + 1e-9)
    assert hedged["bound_npv"] <= hedged["expected_npv"] * (1 + 1e-9)
    auto = run_cli("stress", small, "--samples", "auto", "--max-samples", "3", "--no-regret",
                   "--no-hedge", "--workers", "1", "--json").json()["monte_carlo"]
    assert auto["count"] == 3 and auto["auto"]["converged"] is False


def test_dask_local_cluster_gives_the_serial_numbers(run_cli, small):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    args = ("stress", small, "--seed", "2", "--samples", "4", "--hedge-clusters", "2",
            "--json")
    serial = run_cli(*args, "--workers", "1")
    assert serial.code == 0, serial.err
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = run_cli(*args, "--scheduler", cluster.scheduler_address)
    assert dask.code == 0, dask.err
    assert dask.out == serial.out


def test_unreachable_scheduler_is_bad_input(run_cli, small, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("planner.studies.engine.CONNECT_TIMEOUT_S", 1.0)
    out = run_cli("stress", small, "--samples", "1", "--no-regret", "--no-hedge",
                  "--scheduler", "tcp://127.0.0.1:9")
    assert out.code == 2
    assert "--scheduler tcp://127.0.0.1:9" in out.err and "Traceback" not in out.err


@pytest.mark.parametrize(("args", "code", "says"), [
    (("--set", "gpu_price_multiplier=-1"), 2, "gpu_price_multiplier"),
    (("--set", "demand_multiplier=nan"), 2, "demand_multiplier"),
    (("--set", "api_price_multiplier=abc"), 2, "api_price_multiplier"),
    (("--samples", "-1"), 2, "--samples -1"),
    (("--samples", "lots"), 2, "--samples 'lots'"),
    (("--samples", "auto", "--max-samples", "0"), 2, "--max-samples 0"),
    (("--workers", "0"), 2, "--workers 0"),
    (("--hedge-clusters", "0"), 2, "--hedge-clusters 0"),
    (("--time-limit", "0"), 2, "--time-limit 0"),
    (("--hedge-time-limit", "-1"), 2, "--hedge-time-limit -1"),
    (("--samples", "0", "--hedge-over", "samples"), 2, "--hedge-over samples"),
    (("--set", "stress.samples=-3"), 2, "stress.samples"),
    (("--set", "stress={}", "--samples", "0", "--no-hedge"), 0, ""),  # empty: the defaults
    (("--set", "stress=null", "--samples", "0", "--no-hedge"), 0, ""),
])
def test_bad_stress_input_exits_with_a_message(run_cli, small, args, code, says):
    out = run_cli("stress", small, "--no-regret", "--workers", "1", *args)
    assert out.code == code, out.err
    assert says in out.err and "Traceback" not in out.err + out.out


def test_bad_variant_multiplier_is_bad_input(run_cli, small):
    text = small.read_text(encoding="utf-8").replace(
        "variants:\n", "variants:\n  broken: {gpu_price_multiplier: 0}\n")
    small.write_text(text, encoding="utf-8")
    out = run_cli("stress", small, "--samples", "0", "--workers", "1")
    assert out.code == 2
    assert "variant 'broken'" in out.err and "gpu_price_multiplier" in out.err


def _die(task):  # a worker process killed mid-run (out of memory, a signal)
    import os

    os._exit(9)


def test_a_dying_worker_ends_the_run_with_exit_4(run_cli, small, monkeypatch):
    monkeypatch.setattr("planner.studies.stress.run_task", _die)
    out = run_cli("stress", small, "--samples", "2", "--workers", "2")
    assert out.code == 4
    assert "worker process died" in out.err and "Traceback" not in out.err


def test_bench_stress_reports_its_figures(run_cli, small):
    out = run_cli("bench", "--stress", small, "--samples", "3", "--workers", "1", "--json")
    assert out.code == 0, out.err
    figures = out.json()
    assert figures["samples"] == 3 and figures["solves"]["monte carlo"] == 3
    assert figures["highs_alone_seconds"] > 0 and figures["sample_over_highs_alone"] > 0
    # The same 3 samples rebuilt, then on one kept model: every one kept, the same costs.
    assert (figures["reused"], figures["rebuilt"]) == (3, 0)
    assert figures["rebuild_sample_seconds"] > 0 and figures["rebuild_over_build_once"] > 0
    assert figures["largest_sample_difference"] <= 1e-3  # the MIP gap
    assert figures["hedged_expected_npv"] <= figures["base_expected_npv"] * (1 + 1e-9)
    assert run_cli("bench", "--stress", small, "--samples", "0").code == 2
    assert run_cli("bench", "--stress", small.parent / "missing.yaml").code == 2
    # --set reaches the benched scenario (it was ignored): a bad multiplier is bad input.
    bad = run_cli("bench", "--stress", small, "--samples", "1", "--workers", "1",
                  "--set", "gpu_price_multiplier=-1")
    assert bad.code == 2 and "gpu_price_multiplier" in bad.err


def test_a_serial_stress_run_leaves_the_garbage_collector_as_it_was(small):
    # Solves collect less often (planner.studies.stress.GC_THRESHOLD), in this process only
    # while they run.
    import gc

    from planner.studies.stress import GC_THRESHOLD, StressOptions, stress

    before = gc.get_threshold()
    assert before != GC_THRESHOLD
    result = stress(small, options=StressOptions(samples=2, workers=1, regret=False,
                                                 hedge=False, progress=False))
    assert result.monte_carlo["count"] == 2
    assert gc.get_threshold() == before


def test_hedge_over_more_variants_than_clusters(run_cli, small):
    # 4 variants, at most 2 clusters: variants are not clustered, the program holds all 4.
    doc = run_cli("stress", small, "--samples", "0", "--hedge-over", "variants",
                  "--hedge-clusters", "2", "--workers", "1", "--json").json()
    hedged = doc["hedged"]
    assert hedged["clusters"] == hedged["futures"] == 4
    assert hedged["expected_npv"] <= hedged["deterministic_expected_npv"] * (1 + 1e-9)


def test_bound_from_the_same_model_is_the_future_own_relaxed_plan():
    # Locked at R = 500, the future needs 3 GPUs, on-demand 1,460 a GPU-month: its own plan
    # reserves 3 (1,500), the fixed 2 plus one on-demand cost 2,460; the bound is 1,500 and
    # equals the separately solved LP plan.
    base = one_month(2.0, reserved_per_month=500.0, on_demand_per_hour=1.0)
    future = lock_prices(one_month(3.0, reserved_per_month=1000.0, on_demand_per_hour=2.0),
                         signed_prices(base))
    both = recourse(future, fixed_commitments=RESERVE_2, mip_gap=0.0, bound=True)
    assert both.npv == pytest.approx(2460.0, rel=1e-9)
    assert both.solver["bound_npv"] == pytest.approx(1500.0, rel=1e-9)
    alone = recourse(future, fixed_commitments=None, lp_only=True)
    assert alone.npv == pytest.approx(1500.0, rel=1e-9)


def test_a_price_variant_signs_at_the_scenario_prices_and_regret_diagonal_is_zero(run_cli,
                                                                                   small):
    doc = run_cli("stress", small, "--samples", "0", "--no-hedge", "--workers", "1",
                  "--json").json()
    gpu_x2 = next(v for v in doc["variants"] if v["name"] == "gpu_x2")
    # Its reservation is signed at the scenario's 3,200 CNY a GPU-month, not 6,400.
    assert [c["price_per_gpu"] for c in gpu_x2["commitments"]] == [3200.0] * len(
        gpu_x2["commitments"]) and gpu_x2["commitments"]
    assert {c["price_unit"] for c in gpu_x2["commitments"]} == {"GPU-month"}
    for row in doc["regret"]:
        if row["plan_from"] == row["evaluated_under"]:
            assert row["regret"] == pytest.approx(0.0, abs=1e-3 * row["npv"])
        assert row["regret"] is None or row["regret"] >= 0


def test_the_bound_of_a_fractional_lp_is_its_objective_not_its_rounded_plan():
    # 2.5 GPUs all month, R = 500 a reserved GPU-month, on-demand 730: the LP reserves 2.5
    # (1,250); its decisions rounded (2 reserved, nothing rented) would read 1,000, which no
    # plan costs. The whole plan reserves 3: 1,500.
    future = one_month(2.5, reserved_per_month=500.0, on_demand_per_hour=1.0)
    relaxed = recourse(future, fixed_commitments=None, lp_only=True)
    assert relaxed.solver["status"] == "lp_bound"
    assert relaxed.solver["lp_npv"] == pytest.approx(1250.0, rel=1e-9)
    assert recourse(future, fixed_commitments=None, mip_gap=0.0).npv == pytest.approx(1500.0)


HEDGE_RIVAL = """\
name: hedge-rival
start: 2026-07
months: 12
currency: CNY
catalog: {catalog}
finance: {{currency: CNY, fx: {{USD: 7.2}}, discount_rate: 0.0, api_price_change_per_year: 0.0,
          rental_price_change_per_year: 0.0, purchase_price_change_per_year: 0.0}}
offers: [l40s-reserved-1y-cny, l40s-on-demand-cny]
workloads:
  chat:
    input_tokens: 1000
    output_tokens: 200
    demand: {{requests_per_day: 500000, growth_per_year: 0.0}}
    slo: {{ttft_ms: 2000, tpot_ms: 50}}
    self_host: [llama-3.1-8b]
    api_allowed: false
variants:
  up_a: {{demand_multiplier: 1.1}}
  up_b: {{demand_multiplier: 1.1}}
"""


def test_the_hedge_keeps_a_variant_plan_that_beats_the_program(run_cli, tmp_path):
    # One L40S serves 536,721 requests a day (planner throughput): the base needs 0.93 of a
    # GPU, the variants 1.02. Reserved 3,200 a month (38,400 a year), on-demand 7/h (61,320 a
    # year). The program's recourse is fractional, so 0.02 GPU on demand looks cheap and it
    # reserves 1: 38,400 + 2/3 x 61,320 = 79,280 on average. Reserving 2 (the variants' own
    # plan) costs 76,800 in every future: the hedge keeps that, found by the regret table.
    path = tmp_path / "rival.yaml"
    path.write_text(HEDGE_RIVAL.format(catalog=ROOT_CATALOG), encoding="utf-8")
    doc = run_cli("stress", path, "--samples", "0", "--hedge-over", "variants",
                  "--workers", "1", "--json").json()
    hedged = doc["hedged"]
    assert hedged["expected_npv"] == pytest.approx(76_800.0, rel=1e-6)
    assert hedged["deterministic_expected_npv"] == pytest.approx(79_280.0, rel=1e-6)
    assert hedged["kept_plan"] == "up_a" and not hedged["kept_base"]
    assert [c["gpus"] for c in hedged["commitments"]] == [2.0]
    # The bound is the LP's (each future's own relaxed plan), below the whole optimum.
    assert hedged["bound_npv"] < 76_800.0 * (1 - 1e-3)
