"""The Python API at the package top level (`planner.plan(...)`, `planner.sensitivity(...)`):
the same computations as the commands, for notebooks and other programs.

Every function returns a `Result`: its tidy pandas DataFrames (one row per observation, plain
columns, units in the names) as attributes and in `.frames`, and `to_dict()`, the document
`--json` prints. Arguments take a scenario path or an already loaded scenario
(`planner.load(...)`), plus the command line's options as keywords.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.jsonio import json_ready
from planner.loading import Loaded, load, load_catalog


@dataclass
class Result:
    """What an API call returns. `kind`: the command; `frames`: name -> tidy DataFrame (also
    reachable as attributes, e.g. `result.years`); `data`: the JSON document (other keys are
    attributes too, e.g. `result.npv`); `raw`: the object the package computed (a PlanResult
    for `plan`, a SensitivityResult for `sensitivity`), for what the tables leave out."""

    kind: str
    data: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    raw: Any = None

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: frames first, then the document's keys.
        if name.startswith("__"):
            raise AttributeError(name)
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"{self.__dict__.get('kind', 'result')} result has no {name!r}; "
                             f"tables: {', '.join(frames) or 'none'}; keys: "
                             + ", ".join(data))

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.frames, *self.data})

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (what `planner KIND --json` prints)."""
        return json_ready(self.data)

    def __repr__(self) -> str:
        tables = ", ".join(f"{n} ({len(f)} rows)" for n, f in self.frames.items())
        return f"<planner {self.kind} result: {tables or 'no tables'}>"


def records_frames(document: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Tidy tables of a JSON document: each key holding a list of records, or a mapping of
    name -> record (the name becomes a `name` column), becomes a DataFrame; nested lists and
    mappings inside records stay as they are.

    >>> records_frames({"rows": [{"a": 1}], "n": 2, "by": {"x": {"v": 1}}})["by"]
      name  v
    0    x  1
    """
    frames: dict[str, pd.DataFrame] = {}
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            frames[key] = pd.DataFrame(list(value))
        elif (isinstance(value, Mapping) and value
              and all(isinstance(v, Mapping) for v in value.values())):
            frames[key] = pd.DataFrame([{"name": k, **v} for k, v in value.items()])
    return frames


def _loaded(scenario: Loaded | Path | str | None, catalog: Path | str | None,
            sets: Iterable[str], variant: str | None = None) -> Loaded:
    if isinstance(scenario, Loaded):
        if catalog is not None or list(sets) or variant is not None:
            raise InputError("catalog, sets and variant: pass them to planner.load(...), not "
                             "with an already loaded scenario")
        return scenario
    if scenario is None:
        return load_catalog(catalog, list(sets))
    return load(scenario, catalog_dir=catalog, sets=list(sets), variant=variant)


def _path(scenario: Loaded | Path | str, what: str) -> Path | str:
    if isinstance(scenario, Loaded):
        if scenario.scenario_path is None:
            raise InputError(f"{what}: needs a scenario file")
        if scenario.overrides and any(o.origin != "scenario" for o in scenario.overrides):
            raise InputError(f"{what}: pass the scenario path and sets=..., not a Loaded "
                             "with overrides (each future reloads the file)")
        return scenario.scenario_path
    return scenario


# --------------------------------------------------------------------------- commands


def throughput(model: str, gpu: str, *, catalog: Path | str | None = None,
               sets: Iterable[str] = (), precision: str | None = None, **options: Any) -> Result:
    """The roofline figures of one deployment (`planner throughput`); `options`: kv_precision,
    tp, input_tokens, output_tokens, batch, ttft_ms, tpot_ms, ideal. Frame `figures`: one row."""
    from planner import roofline

    cat = load_catalog(catalog, list(sets)).catalog
    for kind, ident, pool in (("model", model, cat.models), ("gpu", gpu, cat.gpus)):
        if ident not in pool:
            raise InputError(f"unknown {kind} {ident!r}; known {kind}s: " + ", ".join(sorted(pool)))
    precision = precision or ("fp16" if options.get("ideal") else
                              roofline.default_precision(cat.gpus[gpu]))
    figures = roofline.evaluate(cat.models[model], cat.gpus[gpu], precision=precision,
                                model_id=model, gpu_id=gpu, **options)
    data = figures.as_dict()
    flat = {k: v for k, v in data.items() if not isinstance(v, list | dict)}
    return Result("throughput", data, {"figures": pd.DataFrame([flat])}, figures)


def tco(gpu: str, *, catalog: Path | str | None = None, sets: Iterable[str] = (),
        currency: str | None = None, capex: float | None = None, years: float | None = None,
        method: str | None = None) -> Result:
    """Owned cost per GPU-hour against the GPU's rentals (`planner tco`). Frames: `parts`
    (`part`, `per_gpu_hour`) and `rentals` (one row per rental offer)."""
    from planner.studies import unit_costs

    doc = unit_costs.tco(load_catalog(catalog, list(sets)), gpu, currency=currency, capex=capex,
                         years=years, method=method)
    parts = pd.DataFrame([{"part": name, "per_gpu_hour": doc[f"{name}_per_gpu_hour"]}
                          for name in ("capex", "colocation", "electricity", "staff",
                                       "other_opex", "tco")])
    frames = {"parts": parts, **records_frames(doc)}
    return Result("tco", doc, frames)


def compare(input_tokens_per_month: float, output_tokens_per_month: float, *,
            model: str | None = None, catalog: Path | str | None = None,
            sets: Iterable[str] = (), currency: str | None = None, **options: Any) -> Result:
    """Monthly cost of a token volume on every API, and self-hosted on every GPU offer with a
    model (`planner compare`). Frame `rows`: option, kind, monthly_cost, cost_per_mtok, ..."""
    from planner.studies import unit_costs

    doc = unit_costs.compare(load_catalog(catalog, list(sets)),
                             input_tokens_per_month=input_tokens_per_month,
                             output_tokens_per_month=output_tokens_per_month, model=model,
                             currency=currency, **options)
    return Result("compare", doc, records_frames(doc))


def breakeven(scenario: Loaded | Path | str | None = None, *, catalog: Path | str | None = None,
              sets: Iterable[str] = (), currency: str | None = None) -> Result:
    """Buy-vs-rent months per GPU; with a scenario, API-vs-self-host volumes per workload and
    each channel's cost at today's volume, priced as the plan does (`planner breakeven`).
    Frames `gpus`, `workloads` and `at_volume`."""
    from planner.studies import unit_costs

    doc = unit_costs.breakeven(_loaded(scenario, catalog, sets), currency=currency)
    return Result("breakeven", doc, records_frames(doc))


def plan(scenario: Loaded | Path | str, *, variant: str | None = None,
         catalog: Path | str | None = None, sets: Iterable[str] = (),
         channels: Iterable[str] | str | None = None, relax: bool = False,
         solver: str = "highs", time_limit: float | None = None, **options: Any) -> Result:
    """The cost-minimal plan (`planner plan`). Frames (tidy, money columns suffixed with the
    currency): `years` (with `committed_*`, `variable_*`), `cash`, `fleet`, `served`,
    `workloads`, `commitments`, `workload_years`, `accounting`. `.raw` is the PlanResult
    (`.raw.write(DIR)`); `options`: mip_gap, fixed_commitments, lp_path."""
    from planner.optimize.plan import plan as solve_plan

    loaded = _loaded(scenario, catalog, sets, variant)
    result = solve_plan(loaded, channels=channels, relax=relax, solver=solver,
                        time_limit=time_limit, **options)
    return Result("plan", result.to_dict(), result.tables(), result)


def stress(scenario: Loaded | Path | str, *, catalog: Path | str | None = None,
           sets: Iterable[str] = (), **options: Any) -> Result:
    """Variants, regret, Monte Carlo and the hedged plan (`planner stress`); `options` are the
    fields of planner.studies.stress.StressOptions (samples, seed, workers, ...). Frames: every
    list of records in the document (e.g. `variants`, `regret`)."""
    from planner.studies import stress as study

    options.setdefault("progress", False)
    doc = study.stress(_path(scenario, "stress"), catalog_dir=catalog, sets=list(sets),
                       options=study.StressOptions(**options)).to_dict()
    frames = records_frames(doc)
    for key, value in doc.items():  # one level down: monte_carlo's and hedged's tables
        if isinstance(value, Mapping):
            frames.update({f"{key}_{k}": f for k, f in records_frames(value).items()})
    return Result("stress", doc, frames)


def sensitivity(scenario: Loaded | Path | str, *, delta: float = 0.2,
                catalog: Path | str | None = None, sets: Iterable[str] = (),
                **options: Any) -> Result:
    """npv and next-year cash at -delta/+delta of each main assumption, plans re-optimised
    (`planner sensitivity`); frame `rows`, one per assumption. `options`: variant, solver,
    time_limit, mip_gap, only."""
    from planner.studies import sensitivity as study

    result = study.sensitivity(_path(scenario, "sensitivity"), delta=delta, catalog_dir=catalog,
                               sets=list(sets), **options)
    return Result("sensitivity", result.to_dict(), {"rows": result.rows}, result)


__all__ = ["Result", "breakeven", "compare", "load", "plan", "records_frames", "sensitivity",
           "stress", "tco", "throughput"]
