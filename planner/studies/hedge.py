"""The hedged plan (issue 6; issue 22, item 3): one set of commitments for many futures.

`hedge_inputs` is the two-stage stochastic program (planner.optimize.build.build_two_stage) over a
few futures. It grows about as N^1.7 with the futures it holds, so a hedge over hundreds of
samples is not one monolith: `cluster_futures` groups the samples into K scenario clusters
(k-means on the standardized draws and the base plan's cost there), the program is solved on
each cluster's most central sample with the cluster's share as its weight, and the commitments
it finds are then evaluated with recourse on every sample (planner.studies.stress). No PuLP here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import InfeasibleError, InputError, SolverError
from planner.inputs import PlanInputs
from planner.optimize.solve import DEFAULT_MIP_GAP
from planner.results.result import COMMITMENT_COLUMNS, DIFFERENCE_COLUMNS

HEDGE_TIME_LIMIT_S = 300.0
DEFAULT_CLUSTERS = 8
KMEANS_ROUNDS = 100


def hedge_inputs(futures: Sequence[PlanInputs], weights: Sequence[float] | None = None, *,
                 base_commitments: pd.DataFrame | None = None, relax: bool = False,
                 solver: str = "highs", time_limit: float | None = HEDGE_TIME_LIMIT_S,
                 mip_gap: float = DEFAULT_MIP_GAP, cvar_weight: float = 0.0,
                 cvar_alpha: float = 0.9,
                 deterministic: Sequence[float | None] | None = None,
                 whole_recourse: bool = False, evaluate: bool = True) -> dict[str, Any]:
    """The two-stage stochastic program over `futures` (coefficient tables): one set of
    commitments shared by all, recourse per future, minimizing the weighted expected net
    present cost (plus cvar_weight x CVaR_alpha). `deterministic`: the base plan's commitments'
    npv in each future (None: infeasible); when not given and `base_commitments` is, they are
    evaluated here. The hedged plan is never worse in expectation than the base commitments:
    those are a feasible first stage; if the solver stops (time limit, MIP gap) above them, the
    base commitments are kept and `kept_base` says so.

    Only the commitments are whole in the program unless `whole_recourse`: the recourse's
    integer columns (GPUs rented, replicas) are relaxed there, which makes the program an LP
    in all but the first stage (the 8-future program of tests/data/saas_two_workloads.yaml
    stopped at its 300 s limit with them whole), and its commitments are then evaluated with
    the exact recourse in every future (`evaluate`; a caller that evaluates them on more
    futures itself, planner.studies.stress, passes False and gets the program's own, relaxed,
    costs in `npvs`)."""
    from planner.optimize import build as lp
    from planner.optimize.plan import optimize
    from planner.optimize.recourse import recourse, relax_second_stage
    from planner.optimize.solve import solve
    from planner.results import compute_result

    n = len(futures)
    weights = [1.0 / n] * n if weights is None else [float(w) for w in weights]
    total = sum(weights)
    weights = [w / total for w in weights]
    if deterministic is None and base_commitments is not None:
        deterministic = []
        for inputs in futures:
            try:
                deterministic.append(optimize(inputs, relax=relax, solver=solver,
                                                 mip_gap=mip_gap,
                                                 fixed_commitments=base_commitments).npv)
            except (InfeasibleError, SolverError, InputError):
                deterministic.append(None)
    began = time.perf_counter()
    built = lp.build_two_stage(list(futures), weights, relax=relax, cvar_weight=cvar_weight,
                               cvar_alpha=cvar_alpha)
    relaxed = 0 if relax or whole_recourse else relax_second_stage(built)
    info = solve(built.problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
    seconds = time.perf_counter() - began
    out: dict[str, Any] = {
        "method": "two-stage stochastic program", "futures": n, "weights": weights,
        "cvar_weight": cvar_weight, "cvar_alpha": cvar_alpha, "status": info.status.value,
        "seconds": seconds, "mip_gap": info.mip_gap, "variables": built.variables,
        "constraints": built.constraints, "relaxed_recourse_columns": relaxed}
    det_ok = deterministic is not None and all(v is not None for v in deterministic)
    det_expected = float(sum(w * v for w, v in zip(weights, deterministic, strict=True))) \
        if det_ok else None
    out["deterministic_expected_npv"] = det_expected
    out["deterministic_infeasible"] = (sum(1 for v in deterministic if v is None)
                                       if deterministic is not None else None)
    if not info.is_ok:
        out.update(expected_npv=None, npvs=[], commitments=[], kept_base=False)
        return out
    npvs, frames = [], []
    for k, (inputs, future) in enumerate(zip(futures, built.futures, strict=True)):
        result = compute_result(inputs, lp.decision_values(future), info.as_dict(),
                                {"scenario": inputs.name, "future": k})
        npvs.append(float(result.npv))
        frames.append(result.commitments)
    commitments = frames[0][COMMITMENT_COLUMNS] if frames else pd.DataFrame(
        columns=COMMITMENT_COLUMNS)
    if relaxed and evaluate:
        # The program's recourse was relaxed: the commitments' cost in each future is the
        # exact recourse's (None: that future cannot be served with them).
        fixed = commitments.reset_index(drop=True)
        exact: list[float | None] = []
        for inputs in futures:
            try:
                exact.append(float(recourse(inputs, fixed_commitments=fixed, solver=solver,
                                            mip_gap=mip_gap).npv))
            except (InfeasibleError, SolverError, InputError):
                exact.append(None)
        if any(v is None for v in exact):
            out.update(expected_npv=None, npvs=[], commitments=[], kept_base=False,
                       error="the hedged commitments cannot serve every future")
            if det_ok and base_commitments is not None:
                out.update(error=None, kept_base=True, npvs=list(deterministic),
                           expected_npv=det_expected,
                           commitments=_records(base_commitments[COMMITMENT_COLUMNS]),
                           cvar_npv=cvar(list(deterministic), weights, cvar_alpha),
                           deterministic_cvar_npv=cvar(list(deterministic), weights,
                                                       cvar_alpha),
                           differences=[])
            return out
        npvs = exact
    expected = float(sum(w * v for w, v in zip(weights, npvs, strict=True)))

    def score(values: list[float]) -> float:  # the program's objective, in money
        return (1 - cvar_weight) * float(np.dot(weights, values)) + cvar_weight * cvar(
            values, weights, cvar_alpha)

    kept_base = False
    if det_ok and base_commitments is not None and score(npvs) > score(list(deterministic)):
        # Stopped above a known first stage (gap, time limit): the base commitments are better.
        kept_base, npvs = True, list(deterministic)
        expected = float(np.dot(weights, npvs))
        commitments = base_commitments[COMMITMENT_COLUMNS]
    out.update(expected_npv=expected, npvs=npvs, kept_base=kept_base,
               commitments=_records(commitments), cvar_npv=cvar(npvs, weights, cvar_alpha))
    if det_ok:
        out["deterministic_cvar_npv"] = cvar(list(deterministic), weights, cvar_alpha)
    if base_commitments is not None:
        out["differences"] = commitment_differences(base_commitments, commitments)
    return out


def cvar(values: Sequence[float], weights: Sequence[float], alpha: float) -> float | None:
    """Conditional value at risk: the weighted mean of the worst (1 - alpha) share of costs
    (Rockafellar-Uryasev: min over eta of eta + E[(cost - eta)+] / (1 - alpha))."""
    if not values:
        return None
    best = math.inf
    for eta in values:
        excess = sum(w * max(v - eta, 0.0) for v, w in zip(values, weights, strict=True))
        best = min(best, eta + excess / (1 - alpha))
    return float(best)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"kind": k, "offer": o, "month": m, "gpus": float(g)} for k, o, m, g in
            zip(frame["kind"], frame["offer"], frame["month"], frame["gpus"], strict=True)]


def commitment_differences(base: pd.DataFrame, hedged: pd.DataFrame) -> list[dict[str, Any]]:
    """What the hedged plan commits differently: per (kind, offer, month), GPUs in each."""
    def totals(frame: pd.DataFrame) -> dict[tuple[str, str, str], float]:
        out: dict[tuple[str, str, str], float] = {}
        for k, o, m, g in zip(frame["kind"], frame["offer"], frame["month"], frame["gpus"],
                              strict=True):
            out[(k, o, m)] = out.get((k, o, m), 0.0) + float(g)
        return out

    a, b = totals(base), totals(hedged)
    rows = []
    for key in sorted(set(a) | set(b)):
        if abs(a.get(key, 0.0) - b.get(key, 0.0)) > 1e-6:
            rows.append(dict(zip(DIFFERENCE_COLUMNS, (*key, a.get(key, 0.0), b.get(key, 0.0),
                                                      b.get(key, 0.0) - a.get(key, 0.0)),
                                 strict=True)))
    return rows




def score(values: Sequence[float], weights: Sequence[float], cvar_weight: float,
          cvar_alpha: float) -> float:
    """The hedge's objective in money: (1 - lambda) E[cost] + lambda CVaR_alpha[cost]."""
    expected = float(np.dot(weights, values))
    if cvar_weight <= 0:
        return expected
    return (1 - cvar_weight) * expected + cvar_weight * float(cvar(values, weights, cvar_alpha))


def cluster_futures(features: np.ndarray, k: int, seed: int
                    ) -> tuple[list[int], list[float], list[int]]:
    """K scenario clusters of the rows of `features` (one row per future): k-means (Lloyd,
    k-means++ start from default_rng(seed)) on the standardized columns. Returns each cluster's
    representative (the member nearest its centre, by index order), its weight (its share of
    the futures) and every future's cluster. Deterministic for a seed."""
    data = np.asarray(features, dtype=float)
    n = len(data)
    if k >= n:
        return list(range(n)), [1.0 / n] * n, list(range(n))
    spread = data.std(axis=0)
    data = (data - data.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    rng = np.random.default_rng(seed)
    centres = [data[int(rng.integers(n))]]
    for _ in range(1, k):
        dist = np.min([((data - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = dist.sum()
        pick = int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n))
        centres.append(data[pick])
    centre = np.array(centres)
    label = np.zeros(n, dtype=int)
    for _ in range(KMEANS_ROUNDS):
        dist = ((data[:, None, :] - centre[None, :, :]) ** 2).sum(axis=2)
        new = dist.argmin(axis=1)
        for j in range(k):
            if (new == j).any():
                centre[j] = data[new == j].mean(axis=0)
        if (new == label).all() and _ > 0:
            break
        label = new
    reps, weights, members = [], [], []
    for j in range(k):
        idx = np.flatnonzero(label == j)
        if not len(idx):
            continue
        near = idx[np.argmin(((data[idx] - centre[j]) ** 2).sum(axis=1))]
        reps.append(int(near))
        weights.append(len(idx) / n)
        members.append(j)
    order = np.argsort(reps)
    remap = {members[o]: i for i, o in enumerate(order)}
    return ([reps[o] for o in order], [weights[o] for o in order],
            [remap[int(j)] for j in label])


def describe_change(diff: dict[str, Any], offers: dict[str, dict[str, Any]]) -> str:
    """One difference between the base and the hedged commitments, in words: 'reserve 2 H100
    (h100-reserved-3y, 3-year term) from 2027-01 instead of 3'."""
    info = offers.get(diff["offer"], {})
    gpu = info.get("gpu", "")
    base, hedged = diff["base_gpus"], diff["hedged_gpus"]
    if diff["kind"] == "purchase":
        unit = int(info.get("unit_gpus") or 1)
        what = (f"buy {_count(hedged / unit)} x {unit} {gpu} servers" if unit > 1
                else f"buy {_count(hedged)} {gpu}")
        was = _count(base / unit) if unit > 1 else _count(base)
    else:
        term = info.get("term_months")
        years = f", {_term(term)} term" if term else ""
        what = f"reserve {_count(hedged)} {gpu} ({diff['offer']}{years})"
        was = _count(base)
    return f"{what} from {diff['month']} instead of {was}"


def _count(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-6 else f"{value:.2f}"


def _term(months: int) -> str:
    return f"{months // 12}-year" if months % 12 == 0 else f"{months}-month"
