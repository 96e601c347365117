"""YAML -> overrides applied -> validated objects.

Data flows one way: files are read safely (duplicate keys rejected), merged into one tree
(catalog < scenario < variant < --set), validated by the strict schemas, then cross-checked
(consistency). Every problem is collected and raised once as an InputError whose lines read
`FILE: field.path: what is wrong (got X); allowed: ...`.

The merged tree has the five catalog parts at its root (`gpus`, `offers`, `apis`, `models`,
`finance`) and the scenario under `scenario`. Override paths are written the way users think of
them: catalog maps by their file name (`gpus.H200.power_kw`), scenario keys at the root
(`workloads.chat.demand.growth_per_year`), and `scenario.offers` / `scenario.apis` for the
scenario's allow-lists (plain `offers.` and `apis.` mean the catalogs).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from planner import finance as fin
from planner.errors import InputError
from planner.loading.consistency import reference_problems
from planner.loading.market import input_warnings
from planner.loading.messages import Origins, pydantic_problems, raise_problems, short_value
from planner.loading.overrides import (
    Override,
    apply_overrides,
    parse_set_option,
    variant_overrides,
)
from planner.loading.yaml import (
    CATALOG_FILES,
    SCENARIO_ONLY_PREFIX,
    SCENARIO_ORIGIN,
    SHIPPED_CATALOG_DIR,
    SHIPPED_SCENARIO_DIR,
    read_yaml,
)
from planner.schemas import Catalog, Finance, Scenario


@dataclass(frozen=True)
class Loaded:
    """Validated inputs of one command: the catalog (finance already merged) and a scenario."""

    catalog: Catalog
    catalog_dir: Path
    scenario: Scenario | None = None
    scenario_path: Path | None = None
    variant: str | None = None
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    @property
    def finance(self) -> Finance:
        return self.catalog.finance

    @property
    def currency(self) -> str:
        if self.scenario is not None and self.scenario.currency:
            return self.scenario.currency
        return self.catalog.finance.currency

    def overrides_as_dicts(self) -> list[dict[str, Any]]:
        """What was applied on top of the catalog, in order (lowest precedence first)."""
        return [o.as_dict() for o in self.overrides]

    def tables(self) -> dict[str, Any]:
        """Tidy DataFrames of what was loaded, one row per id: `gpus`, `offers`, `apis`,
        `models` (column `id` first; nested fields stay as lists or dicts in their cells) and,
        with a scenario, `workloads` (column `workload`) and `overrides`."""
        import pandas as pd  # only notebooks ask for tables: keep `planner validate` light

        cat = self.catalog
        frames = {part: pd.DataFrame([{"id": ident, **entry.model_dump(mode="json")}
                                      for ident, entry in getattr(cat, part).items()])
                  for part in ("gpus", "offers", "apis", "models")}
        if self.scenario is not None:
            frames["workloads"] = pd.DataFrame([
                {"workload": name, **wl.model_dump(mode="json")}
                for name, wl in self.scenario.workloads.items()])
            frames["overrides"] = pd.DataFrame(self.overrides_as_dicts(),
                                               columns=["origin", "path", "value"])
        return frames

    def to_dict(self) -> dict[str, Any]:
        """The validated catalog and scenario as plain data, with the overrides applied."""
        return {"catalog": self.catalog.model_dump(mode="json"),
                "scenario": None if self.scenario is None else
                self.scenario.model_dump(mode="json"),
                "scenario_path": None if self.scenario_path is None else str(self.scenario_path),
                "variant": self.variant, "overrides": self.overrides_as_dicts()}


def _read_catalog_tree(catalog_dir: Path, replace: dict[str, Path] | None = None
                       ) -> tuple[dict[str, Any], Origins]:
    """The five catalog files as one tree; `replace` swaps single files (validate FILE)."""
    replace = replace or {}
    if not catalog_dir.is_dir() and len(replace) < len(CATALOG_FILES):
        raise InputError(f"{catalog_dir}: catalog folder not found; allowed: a folder holding "
                         + ", ".join(f"{name}.yaml" for name in CATALOG_FILES))
    tree: dict[str, Any] = {}
    origins = Origins()
    problems: list[str] = []
    for name in CATALOG_FILES:
        path = replace.get(name, catalog_dir / f"{name}.yaml")
        origins[(name,)] = str(path)
        try:
            content = read_yaml(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(content, dict):
            what = "finance fields" if name == "finance" else f"{name} ids to entries"
            problems.append(f"{path}: must be a mapping of {what} (got {short_value(content)})")
            continue
        tree[name] = content
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems:\n  " + "\n  ".join(problems), problems)
    return tree, origins


def _read_scenario(path: Path) -> dict[str, Any]:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else short_value(raw)
        raise InputError(f"{path}: a scenario must be a mapping (got {got}); allowed keys: "
                         + ", ".join(Scenario.model_fields))
    return raw


def _merge_scenario(tree: dict[str, Any], raw: dict[str, Any], path: Path,
                    origins: Origins) -> tuple[list[Override], list[str]]:
    """Put the scenario under tree['scenario'] and merge its `finance:` into the catalog's."""
    origins[(SCENARIO_ONLY_PREFIX,)] = str(path)
    tree[SCENARIO_ONLY_PREFIX] = dict(raw)
    applied: list[Override] = []
    problems: list[str] = []
    finance_overrides = raw.get("finance")
    if finance_overrides is None:
        return applied, problems
    if not isinstance(finance_overrides, dict):
        problems.append(f"{path}: finance: wrong type (got {short_value(finance_overrides)}); "
                        "allowed: a mapping of finance fields to values")
        return applied, problems
    for key, value in finance_overrides.items():
        if key not in Finance.model_fields:
            problems.append(f"{path}: finance.{key}: unknown field; allowed: "
                            + ", ".join(Finance.model_fields))
            continue
        # A field is replaced whole (fx too: a scenario that changes currency restates fx).
        tree["finance"][key] = value
        origins[("finance", key)] = str(path)
        applied.append(Override(SCENARIO_ORIGIN, f"finance.{key}", value))
    return applied, problems


def _restate_currency(tree: dict[str, Any], file_finance: Any, applied: list[Override],
                      origins: Origins) -> list[Override]:
    """A scenario (or finance.currency override) in another currency than finance.yaml: the
    finance.yaml fields nobody set are restated in it through finance.fx
    (finance.restate_finance), each recorded as an override."""
    finance = tree.get("finance")
    if not isinstance(finance, dict) or not isinstance(file_finance, dict):
        return []
    set_here = set()
    for override in applied:
        parts = override.path.split(".")
        parts = parts[1:] if parts[0] == SCENARIO_ONLY_PREFIX else parts
        if parts[0] == "finance" and len(parts) > 1:
            set_here.add(parts[1])
    scenario = tree.get(SCENARIO_ONLY_PREFIX)
    target = scenario.get("currency") if isinstance(scenario, dict) else None
    if "currency" in set_here:
        if target is not None and target != finance.get("currency"):
            return []  # two currencies asked for: planner.loading.consistency says so
        target = finance.get("currency")
    base = file_finance.get("currency")
    if not isinstance(target, str) or not isinstance(base, str) or target == base:
        return []
    changed = fin.restate_finance(file_finance, target, keep=set_here)
    if changed is None:
        return []  # no rate: planner.loading.consistency reports the currency
    origin = f"currency {base} -> {target} (finance.fx)"
    restated = []
    for key, value in changed.items():
        finance[key] = value
        origins[("finance", key)] = origin
        restated.append(Override(origin, f"finance.{key}", value))
    return restated


def _resolve_catalog_dir(catalog_dir: Path | str | None, scenario_path: Path | None,
                         raw_scenario: Any) -> Path:
    if catalog_dir is not None:
        return Path(catalog_dir)
    if scenario_path is not None and isinstance(raw_scenario, dict) and raw_scenario.get("catalog"):
        return (scenario_path.parent / str(raw_scenario["catalog"])).resolve()
    return SHIPPED_CATALOG_DIR


def _validate_tree(tree: dict[str, Any], origins: Origins
                   ) -> tuple[Catalog | None, Scenario | None, list[str]]:
    problems: list[str] = []
    catalog = scenario = None
    try:
        catalog = Catalog.model_validate({name: tree[name] for name in CATALOG_FILES})
    except ValidationError as exc:
        problems += pydantic_problems(exc, Catalog, (), origins)
    if SCENARIO_ONLY_PREFIX in tree:
        try:
            scenario = Scenario.model_validate(tree[SCENARIO_ONLY_PREFIX])
        except ValidationError as exc:
            problems += pydantic_problems(exc, Scenario, (SCENARIO_ONLY_PREFIX,), origins)
    return catalog, scenario, problems


def load(scenario_path: Path | str | None = None, *, catalog_dir: Path | str | None = None,
         sets: Iterable[str] = (), variant: str | None = None,
         replace: dict[str, Path] | None = None) -> Loaded:
    """Read, merge, override and validate. Raises InputError listing every problem.

    Precedence (later wins): catalog files < the scenario's `finance:` < the variant < `sets`.
    `replace` maps a catalog part name to a file that stands in for it (used by validate)."""
    scenario_file = Path(scenario_path) if scenario_path is not None else None
    raw_scenario = _read_scenario(scenario_file) if scenario_file is not None else None
    directory = _resolve_catalog_dir(catalog_dir, scenario_file, raw_scenario)
    tree, origins = _read_catalog_tree(directory, replace)
    file_finance = copy.deepcopy(tree.get("finance"))

    problems: list[str] = []
    overrides: list[Override] = []
    if scenario_file is not None:
        overrides, problems = _merge_scenario(tree, raw_scenario, scenario_file, origins)
    requested: list[Override] = []
    if variant is not None:
        if scenario_file is None:
            raise InputError(f"--variant {variant}: needs a scenario")
        requested += variant_overrides(raw_scenario.get("variants"), variant, str(scenario_file))
    requested += [Override("--set", *parse_set_option(text)) for text in sets]
    problems += apply_overrides(tree, requested, origins)
    overrides += requested
    overrides += _restate_currency(tree, file_finance, overrides, origins)

    catalog, scenario, schema_problems = _validate_tree(tree, origins)
    problems += schema_problems
    problems += reference_problems(tree, origins.message)
    if problems:
        raise_problems(problems)
    return Loaded(catalog=catalog, catalog_dir=directory, scenario=scenario,
                  scenario_path=scenario_file, variant=variant, overrides=tuple(overrides))


def load_catalog(catalog_dir: Path | str | None = None, sets: Iterable[str] = (),
                 replace: dict[str, Path] | None = None) -> Loaded:
    return load(None, catalog_dir=catalog_dir, sets=sets, replace=replace)


def validate_paths(paths: Iterable[Path | str] = (), catalog_dir: Path | str | None = None,
                   sets: Iterable[str] = (), notes: list[str] | None = None,
                   warnings: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Check catalogs and scenarios (and every variant of each); return (checked, problems).
    `notes`, when given, receives the finance fields a valid scenario's base restates in its
    currency; `warnings`, its inputs with no effect and SLOs no deployment meets
    (planner.loading.market.input_warnings).

    A PATH may be a catalog folder, a single catalog file (named gpus.yaml, offers.yaml, ...: it
    stands in for that file of --catalog or the shipped catalog), a scenario file, or a folder of
    scenario files."""
    targets = [Path(p) for p in paths]
    if not targets:
        targets = [Path(catalog_dir) if catalog_dir else SHIPPED_CATALOG_DIR,
                   *sorted(SHIPPED_SCENARIO_DIR.glob("*.yaml"))]
    sets = list(sets)
    checked: list[str] = []
    problems: list[str] = []
    for target in targets:
        if target.is_dir() and not _looks_like_catalog(target):
            expanded = sorted(target.glob("*.yaml"))
            if not expanded:
                problems.append(f"{target}: no .yaml files; allowed: a catalog folder (holding "
                                + ", ".join(f"{n}.yaml" for n in CATALOG_FILES)
                                + ") or a folder of scenario files")
        else:
            expanded = [target]
        for path in expanded:
            checked.append(str(path))
            problems += _validate_one(path, catalog_dir, sets, notes, warnings)
    for found in (notes, warnings):
        if found is not None:
            found[:] = list(dict.fromkeys(found))
    return checked, list(dict.fromkeys(problems))


def _looks_like_catalog(directory: Path) -> bool:
    return any((directory / f"{name}.yaml").exists() for name in CATALOG_FILES)


def _catalog_sets(sets: list[str]) -> list[str]:
    """The --set options a catalog alone takes: scenario paths are skipped (they apply to the
    scenarios checked alongside), anything else is kept so that a bad path is still reported."""
    scenario_roots = {SCENARIO_ONLY_PREFIX, *Scenario.model_fields} - set(CATALOG_FILES)
    return [text for text in sets
            if text.partition("=")[0].strip().split(".")[0] not in scenario_roots]


def _validate_one(path: Path, catalog_dir: Path | str | None, sets: list[str],
                  notes: list[str] | None = None,
                  warnings: list[str] | None = None) -> list[str]:
    try:
        if path.is_dir():
            load_catalog(path, _catalog_sets(sets))
            return []
        if path.stem in CATALOG_FILES:
            base = Path(catalog_dir) if catalog_dir else SHIPPED_CATALOG_DIR
            load_catalog(base, _catalog_sets(sets), replace={path.stem: path})
            return []
        raw = _read_scenario(path)
    except InputError as exc:
        return exc.problems
    try:
        loaded = load(path, catalog_dir=catalog_dir, sets=sets)
        base_problems: list[str] = []
        if notes is not None:
            notes += _restated(path, loaded)
        if warnings is not None:
            warnings += [f"{path}: {w}" for w in input_warnings(loaded.catalog, loaded.scenario)]
    except InputError as exc:
        base_problems = exc.problems
    return list(base_problems) + variant_problems(path, catalog_dir, sets, raw,
                                                  base_problems)


def variant_problems(path: Path | str, catalog_dir: Path | str | None = None,
                     sets: Iterable[str] = (), raw: dict | None = None,
                     known: Iterable[str] = ()) -> list[str]:
    """The problems of every variant of the scenario at `path`, less those in `known` (the
    base's): a run checks the variants it does not use too, so that a typo is found before
    the run that needs it (milliseconds each: the catalog is read once)."""
    raw = _read_scenario(Path(path)) if raw is None else raw
    variants = raw.get("variants")
    problems: list[str] = []
    for name in variants if isinstance(variants, dict) else ():
        try:
            load(path, catalog_dir=catalog_dir, sets=list(sets), variant=str(name))
        except InputError as exc:
            problems += [p for p in exc.problems if p not in known and p not in problems]
    return problems


def _restated(path: Path, loaded: Loaded) -> list[str]:
    """The finance fields a scenario's currency restated, as one line (or none)."""
    restated = [o for o in loaded.overrides if o.origin.startswith("currency ")]
    if not restated:
        return []
    return [f"{path}: {restated[0].origin}: restated " + ", ".join(o.path for o in restated)]
