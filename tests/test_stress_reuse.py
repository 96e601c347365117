"""Build once, solve many (issue 22, item 1): futures solved on one kept HiGHS model give the
rebuild's costs; a future of another shape is rebuilt and counted."""

from __future__ import annotations

import pytest

from planner.optimize.recourse import recourse
from planner.optimize.reuse import Reuse
from planner.studies.locked import lock_prices, signed_prices
from planner.studies.stress import StressOptions, stress
from tests.test_stress import one_month
from tests.test_stress_scale import RESERVE_2, small  # noqa: F401 (a fixture)


def _future(gpus: float, base):
    # The future doubles GPU prices; the reservation keeps the base's signed 500 a GPU-month.
    return lock_prices(one_month(gpus, reserved_per_month=1000.0, on_demand_per_hour=2.0),
                       signed_prices(base))


def test_kept_model_gives_the_hand_worked_costs_of_each_future():
    base = one_month(2.0, reserved_per_month=500.0, on_demand_per_hour=1.0)
    reuse = Reuse.for_inputs(base, fixed_commitments=RESERVE_2, bound=True)
    # 3 GPUs needed: the 2 reserved (2 x 500) plus one on-demand all month at 2/h (1,460):
    # 2,460; its own plan reserves 3 at the locked 500: 1,500 (the bound).
    three = recourse(_future(3.0, base), fixed_commitments=RESERVE_2, mip_gap=0.0, bound=True,
                     reuse=reuse)
    assert three.npv == pytest.approx(2460.0, rel=1e-9)
    assert three.solver["bound_npv"] == pytest.approx(1500.0, rel=1e-9)
    # 1.5 GPUs: the 2 reserved serve it all (1,000); its own plan reserves 1.5 GPUs (750),
    # whole GPUs dropped in the relaxation. Solved after the first: the same kept model.
    one = recourse(_future(1.5, base), fixed_commitments=RESERVE_2, mip_gap=0.0, bound=True,
                   reuse=reuse)
    assert one.npv == pytest.approx(1000.0, rel=1e-9)
    assert one.solver["bound_npv"] == pytest.approx(750.0, rel=1e-9)
    # 2.5 GPUs: the relaxation rents half an on-demand GPU (1,000 + 730 = 1,730), not whole;
    # the integer problem, on the kept model's numbers period by period (every commitment
    # fixed: planner.optimize.periods.complete), rents a whole one: 1,000 + 1,460.
    half = recourse(_future(2.5, base), fixed_commitments=RESERVE_2, mip_gap=0.0, reuse=reuse)
    assert half.npv == pytest.approx(2460.0, rel=1e-9)
    assert not half.solver["lp_whole"] and half.solver["mip_gap"] == pytest.approx(0.0)
    assert three.solver["reused"] and one.solver["reused"] and half.solver["reused"]
    assert (reuse.reused, reuse.rebuilt) == (3, 0)
    # The same numbers from scratch, and in the other order (every solve starts from the
    # base's basis, so the history of the kept model does not matter).
    again = Reuse.for_inputs(base, fixed_commitments=RESERVE_2, bound=True)
    first = recourse(_future(1.5, base), fixed_commitments=RESERVE_2, mip_gap=0.0, reuse=again)
    assert first.npv == one.npv
    rebuilt = recourse(_future(3.0, base), fixed_commitments=RESERVE_2, mip_gap=0.0)
    assert not rebuilt.solver["reused"]
    assert rebuilt.npv == pytest.approx(three.npv, rel=1e-9)


def test_a_future_with_a_row_the_base_lacks_is_rebuilt_and_counted():
    # Half a GPU needed: below one replica (tp 1), so the model gains a gate row
    # (assign <= 0.5 x replicas, planner.optimize.build.add_whole_gpus) the 2-GPU base has not:
    # another shape, solved from scratch, with the right cost: the 2 reserved, 1,000.
    base = one_month(2.0, reserved_per_month=500.0, on_demand_per_hour=1.0)
    reuse = Reuse.for_inputs(base, fixed_commitments=RESERVE_2)
    half = recourse(_future(0.5, base), fixed_commitments=RESERVE_2, mip_gap=0.0, reuse=reuse)
    assert half.npv == pytest.approx(1000.0, rel=1e-9)
    assert not half.solver["reused"] and (reuse.reused, reuse.rebuilt) == (0, 1)
    # The other way round the base has the gate and the 3-GPU future does not: the base's row
    # is kept free (it constrains nothing) and the future is solved on the kept model.
    gated = Reuse.for_inputs(_future(0.5, base), fixed_commitments=RESERVE_2)
    three = recourse(_future(3.0, base), fixed_commitments=RESERVE_2, mip_gap=0.0, reuse=gated)
    assert three.npv == pytest.approx(2460.0, rel=1e-9)
    assert three.solver["reused"] and (gated.reused, gated.rebuilt) == (1, 0)


def test_build_once_gives_the_rebuild_sample_costs(small):  # noqa: F811
    options = dict(samples=6, seed=5, workers=1, regret=False, progress=False)
    kept = stress(small, options=StressOptions(**options))
    rebuilt = stress(small, options=StressOptions(**options, reuse=False))
    assert kept.reuse["monte carlo"] == {"reused": 6, "rebuilt": 0}
    assert rebuilt.reuse == {}
    a = [s["npv"] for s in kept.monte_carlo["samples"]]
    b = [s["npv"] for s in rebuilt.monte_carlo["samples"]]
    # Within the MIP gap (0.1%): an LP that is whole is the same optimum, to the tolerance.
    assert a == pytest.approx(b, rel=1e-3)
    assert [s["feasible"] for s in kept.monte_carlo["samples"]] == [
        s["feasible"] for s in rebuilt.monte_carlo["samples"]]
    assert kept.hedged["bound_npv"] == pytest.approx(rebuilt.hedged["bound_npv"], rel=1e-6)


def test_a_future_own_plan_is_solved_period_by_period(monkeypatch):
    # A stress future's own plan (no commitments fixed: a variant, a regret row) is solved as
    # `plan` solves it, with the period map (planner.optimize.periods); without it HiGHS
    # searched one tree for every month (274 s against 1.3 s on the stress bench's
    # fast_growth variant, docs/stress.md).
    import planner.optimize.recourse as recourse_module

    seen = []
    real = recourse_module.solve

    def spy(problem, **kwargs):
        seen.append(kwargs.get("periods"))
        return real(problem, **kwargs)

    monkeypatch.setattr(recourse_module, "solve", spy)
    # 2.5 GPUs a month: 3 reserved (1,500) beat 2 reserved and an on-demand GPU all month
    # (1,000 + 730 h x 1).
    own = recourse(one_month(2.5, reserved_per_month=500.0, on_demand_per_hour=1.0),
                   fixed_commitments=None, mip_gap=0.0, lp_first=False)
    assert own.npv == pytest.approx(1500.0, rel=1e-9)
    assert seen and all(periods is not None for periods in seen)
