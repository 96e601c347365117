"""YAML -> overrides applied -> validated objects.

Data flows one way: files are read safely (duplicate keys rejected), merged into one tree
(catalog < scenario < variant < --set), validated by the strict schemas, then cross-checked.
Every problem is collected and raised once as an InputError naming file, field and what is allowed.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import InputError
from planner.schemas import Catalog, Finance, Scenario
from planner.schemas.scenario import STRESS_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CATALOG_DIR = REPO_ROOT / "catalogs"
SHIPPED_SCENARIO_DIR = REPO_ROOT / "scenarios"
CATALOG_FILES = ("gpus", "offers", "apis", "models", "finance")
# Scenario keys that share a name with a catalog file; reach them as `scenario.<key>`.
SCENARIO_ONLY_PREFIX = "scenario"


@dataclass(frozen=True)
class Override:
    """One change applied on top of the files, recorded in every output."""

    origin: str  # "variant NAME" or "--set"
    path: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "path": self.path, "value": _jsonable(self.value)}


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


# --------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, typing.Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely; a syntax error or duplicate key names file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}:{where}: invalid YAML: {problem}") from None


def parse_set_option(text: str) -> tuple[str, Any]:
    """'a.b.c=VALUE' -> ('a.b.c', VALUE parsed as YAML so numbers and booleans keep their type)."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise InputError(f"--set {text!r}: expected PATH=VALUE, e.g. finance.cost_of_capital=0.1")
    try:
        value = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


# --------------------------------------------------------------------------- the tree


def _read_catalog_tree(catalog_dir: Path) -> dict[str, Any]:
    if not catalog_dir.is_dir():
        raise InputError(f"{catalog_dir}: catalog folder not found (it must hold "
                         + ", ".join(f"{name}.yaml" for name in CATALOG_FILES) + ")")
    tree: dict[str, Any] = {}
    problems: list[str] = []
    for name in CATALOG_FILES:
        path = catalog_dir / f"{name}.yaml"
        try:
            content = read_yaml(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(content, dict):
            problems.append(f"{path}: must be a mapping of "
                            + ("finance fields" if name == "finance" else f"{name} ids to entries"))
            continue
        tree[name] = content
    if problems:
        raise InputError(problems[0], problems)
    return tree


def _lookup_key(node: dict, part: str) -> Any:
    """Dotted paths are text; YAML keys may be ints (years). Return the key as stored, or None."""
    if part in node:
        return part
    if part.lstrip("-").isdigit() and int(part) in node:
        return int(part)
    return None


def apply_override(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` in the merged tree. An unknown intermediate key is an error; a new leaf is
    allowed here and checked by the schema (so optional fields can be set)."""
    parts = path.split(".")
    if parts[0] == SCENARIO_ONLY_PREFIX:
        parts = parts[1:]
        node: Any = tree.setdefault("_scenario_shared", {})
    else:
        node = tree
    if not parts or any(not p for p in parts):
        raise InputError(f"override {path!r}: empty path segment")
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        key = _lookup_key(node, part) if isinstance(node, dict) else None
        if key is None or not isinstance(node[key], dict | list):
            known = ", ".join(sorted(map(str, node))) if isinstance(node, dict) else "none"
            where = ".".join(parts[: depth + 1])
            raise InputError(f"override {path!r}: unknown path {where!r} (known here: {known})")
        node = node[key]
    last = parts[-1]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)):
            raise InputError(f"override {path!r}: {last!r} is not an index of a {len(node)}-item "
                             "list")
        node[int(last)] = value
        return
    key = _lookup_key(node, last)
    node[last if key is None else key] = value


def _positive_number(name: str, value: Any, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name}: must be a number, got {value!r}")
    if value <= 0 or (upper is not None and value > upper):
        allowed = f"in (0, {upper}]" if upper is not None else "above 0"
        raise InputError(f"{name}: must be {allowed}, got {value!r}")
    return float(value)


def apply_stress(tree: dict[str, Any], key: str, value: Any) -> None:
    """The stress multipliers: scale every demand, API price or GPU price; set spot availability."""
    if key == "demand_multiplier":
        factor = _positive_number(key, value)
        for workload in tree.get("workloads", {}).values():
            demand = workload.get("demand", {}) if isinstance(workload, dict) else {}
            if isinstance(demand.get("requests_per_day"), int | float):
                demand["requests_per_day"] *= factor
            for point in demand.get("series") or []:
                if isinstance(point, dict) and isinstance(point.get("requests_per_day"),
                                                          int | float):
                    point["requests_per_day"] *= factor
    elif key == "api_price_multiplier":
        factor = _positive_number(key, value)
        for api in tree["apis"].values():
            for price in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
                if isinstance(api.get(price), int | float):
                    api[price] *= factor
    elif key == "gpu_price_multiplier":
        factor = _positive_number(key, value)
        for offer in tree["offers"].values():
            for price in ("price_per_gpu", "price_per_gpu_hour", "price_per_gpu_month"):
                if isinstance(offer.get(price), int | float):
                    offer[price] *= factor
    elif key == "spot_availability":
        availability = _positive_number(key, value, upper=1.0)
        for offer in tree["offers"].values():
            if offer.get("channel") == "spot":
                offer["availability"] = availability
    else:  # pragma: no cover - callers check STRESS_KEYS
        raise InputError(f"unknown stress key {key!r}; allowed: {', '.join(STRESS_KEYS)}")


def apply_overrides(tree: dict[str, Any], overrides: list[Override]) -> None:
    for override in overrides:
        if override.path in STRESS_KEYS:
            apply_stress(tree, override.path, override.value)
        else:
            apply_override(tree, override.path, override.value)


# --------------------------------------------------------------------------- validation


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated and unions removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _schema_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """Walk the schema along an error location to the model class found there."""
    current: Any = model
    for part in loc:
        candidates = []
        for annotation in _unwrap(current):
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if isinstance(part, str) and part in annotation.model_fields:
                    candidates.append(annotation.model_fields[part].annotation)
            elif typing.get_origin(annotation) is dict:
                candidates.append(typing.get_args(annotation)[1])
            elif typing.get_origin(annotation) is list and isinstance(part, int):
                candidates.append(typing.get_args(annotation)[0])
        if not candidates:
            return None
        current = candidates[0]
    for annotation in _unwrap(current):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
    return None


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_problems(exc: ValidationError, model: type[BaseModel], prefix: tuple,
                       origin_of: typing.Callable[[tuple], str]) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        # Errors inside a tagged union carry the type name in loc; drop it for the field path.
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            parent = _schema_at(model, loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else "see the documentation"
            msg = f"unknown field; allowed fields: {allowed}"
        elif error["type"] == "missing":
            msg = "required field is missing"
        elif "input" in error and error["type"] not in ("model_type", "dict_type"):
            msg = f"{msg} (got {_short(error['input'])})"
        full = prefix + loc
        problems.append(f"{origin_of(full)}: {_dotted(full)}: {msg}")
    return problems


@dataclass
class _Origins:
    """Which file (or override) each part of the merged tree came from, for messages."""

    by_prefix: dict[tuple, str] = field(default_factory=dict)

    def __call__(self, loc: tuple) -> str:
        for length in range(len(loc), 0, -1):
            if tuple(loc[:length]) in self.by_prefix:
                return self.by_prefix[tuple(loc[:length])]
        return self.by_prefix.get((), "input")


def _validate_tree(tree: dict[str, Any], origins: _Origins, with_scenario: bool):
    problems: list[str] = []
    catalog = scenario = None
    catalog_part = {name: tree.get(name, {}) for name in CATALOG_FILES}
    try:
        catalog = Catalog.model_validate(catalog_part)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, Catalog, (), origins)
    if with_scenario:
        scenario_part = {k: v for k, v in tree.items() if k not in CATALOG_FILES
                         and not k.startswith("_")}
        scenario_part.update(tree.get("_scenario_shared", {}))
        try:
            scenario = Scenario.model_validate(scenario_part)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, Scenario, (), origins)
    return catalog, scenario, problems


def _unknown(kind: str, ident: Any, known: typing.Iterable[str]) -> str:
    names = sorted(known)
    listed = ", ".join(names[:25]) + (", ..." if len(names) > 25 else "")
    return f"unknown {kind} {ident!r}; known {kind}s: {listed}"


def consistency_problems(catalog: Catalog, scenario: Scenario | None,
                         origins: _Origins) -> list[str]:
    """Cross-reference checks the per-file schemas cannot make."""
    problems = []

    def add(loc: tuple, message: str) -> None:
        problems.append(f"{origins(loc)}: {_dotted(loc)}: {message}")

    finance = catalog.finance
    known_currencies = {finance.currency, *finance.fx}
    for offer_id, offer in catalog.offers.items():
        if offer.gpu not in catalog.gpus:
            add(("offers", offer_id, "gpu"), _unknown("gpu", offer.gpu, catalog.gpus))
        if offer.currency not in known_currencies:
            add(("offers", offer_id, "currency"), _no_fx(offer.currency, finance))
    for api_id, api in catalog.apis.items():
        if api.currency not in known_currencies:
            add(("apis", api_id, "currency"), _no_fx(api.currency, finance))
    for model_id, model in catalog.models.items():
        for i, measured in enumerate(model.measured):
            if measured.gpu not in catalog.gpus:
                add(("models", model_id, "measured", i, "gpu"),
                    _unknown("gpu", measured.gpu, catalog.gpus))
    if scenario is None:
        return problems

    if scenario.currency and scenario.currency not in known_currencies:
        add(("currency",), _no_fx(scenario.currency, finance))
    for name, ids, pool in (("offer", scenario.offers, catalog.offers),
                            ("api", scenario.apis, catalog.apis)):
        for i, ident in enumerate(ids or []):
            if ident not in pool:
                add((f"{name}s", i), _unknown(name, ident, pool))
    for gpu in scenario.limits.max_gpus:
        if gpu not in catalog.gpus:
            add(("limits", "max_gpus", gpu), _unknown("gpu", gpu, catalog.gpus))
    allowed_apis = set(catalog.apis if scenario.apis is None else scenario.apis)
    for wname, workload in scenario.workloads.items():
        for i, model_id in enumerate(workload.self_host):
            if model_id not in catalog.models:
                add(("workloads", wname, "self_host", i),
                    _unknown("model", model_id, catalog.models))
        for i, api_id in enumerate(workload.apis):
            if api_id not in catalog.apis:
                add(("workloads", wname, "apis", i), _unknown("api", api_id, catalog.apis))
            elif api_id not in allowed_apis:
                add(("workloads", wname, "apis", i),
                    f"api {api_id!r} is not in the scenario's allowed apis "
                    f"({', '.join(sorted(allowed_apis))})")
    return problems


def _no_fx(currency: str, finance: Finance) -> str:
    rates = ", ".join(sorted(finance.fx)) or "none"
    return (f"currency {currency!r} has no FX rate: finance.fx converts into "
            f"{finance.currency} and knows {rates}; add fx.{currency} to finance.yaml")


# --------------------------------------------------------------------------- entry points


def _catalog_origins(catalog_dir: Path) -> _Origins:
    origins = _Origins()
    for name in CATALOG_FILES:
        origins.by_prefix[(name,)] = str(catalog_dir / f"{name}.yaml")
    return origins


def _merge_scenario(tree: dict[str, Any], raw: Any, path: Path, origins: _Origins) -> None:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a scenario must be a mapping with name, start, months, "
                         "workloads, ...")
    origins.by_prefix[()] = str(path)
    finance_overrides = raw.get("finance") or {}
    if not isinstance(finance_overrides, dict):
        raise InputError(f"{path}: finance: must be a mapping of finance fields to values")
    for key, value in finance_overrides.items():
        if key not in Finance.model_fields:
            raise InputError(f"{path}: finance.{key}: unknown finance field; allowed fields: "
                             + ", ".join(Finance.model_fields))
        tree["finance"][key] = value
        origins.by_prefix[("finance", key)] = str(path)
    for key, value in raw.items():
        if key in CATALOG_FILES:
            # `offers` and `apis` in a scenario are allow-lists, not catalog entries.
            if key != "finance":
                tree.setdefault("_scenario_shared", {})[key] = value
            continue
        tree[key] = value
        origins.by_prefix[(key,)] = str(path)
    tree.setdefault("_scenario_shared", {})["finance"] = finance_overrides


def _resolve_catalog_dir(catalog_dir: Path | str | None, scenario_path: Path | None,
                         raw_scenario: Any) -> Path:
    if catalog_dir is not None:
        return Path(catalog_dir)
    if scenario_path is not None and isinstance(raw_scenario, dict) and raw_scenario.get("catalog"):
        return (scenario_path.parent / str(raw_scenario["catalog"])).resolve()
    return SHIPPED_CATALOG_DIR


def variant_overrides(raw_variants: Any, name: str, source: str) -> list[Override]:
    if not isinstance(raw_variants, dict) or name not in raw_variants:
        known = ", ".join(raw_variants) if isinstance(raw_variants, dict) and raw_variants else \
            "none"
        raise InputError(f"{source}: variants: unknown variant {name!r}; known variants: {known}")
    changes = raw_variants[name]
    if not isinstance(changes, dict):
        raise InputError(f"{source}: variants.{name}: must be a mapping of dotted paths to values")
    return [Override(f"variant {name}", str(path), value) for path, value in changes.items()]


def load(scenario_path: Path | str | None = None, *, catalog_dir: Path | str | None = None,
         sets: typing.Iterable[str] = (), variant: str | None = None) -> Loaded:
    """Read, merge, override and validate. Raises InputError listing every problem."""
    scenario_file = Path(scenario_path) if scenario_path is not None else None
    raw_scenario = read_yaml(scenario_file) if scenario_file is not None else None
    directory = _resolve_catalog_dir(catalog_dir, scenario_file, raw_scenario)
    tree = _read_catalog_tree(directory)
    origins = _catalog_origins(directory)
    if scenario_file is not None:
        _merge_scenario(tree, raw_scenario, scenario_file, origins)

    overrides: list[Override] = []
    if variant is not None:
        if scenario_file is None:
            raise InputError("--variant needs a scenario")
        overrides += variant_overrides(raw_scenario.get("variants"), variant, str(scenario_file))
    overrides += [Override("--set", *parse_set_option(text)) for text in sets]
    for override in overrides:
        origins.by_prefix[tuple(override.path.split("."))] = f"{override.origin} {override.path}"
    apply_overrides(tree, overrides)

    catalog, scenario, problems = _validate_tree(tree, origins, scenario_file is not None)
    if catalog is not None and (scenario_file is None or scenario is not None):
        problems += consistency_problems(catalog, scenario, origins)
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems:\n  " + "\n  ".join(problems), problems)
    return Loaded(catalog=catalog, catalog_dir=directory, scenario=scenario,
                  scenario_path=scenario_file, variant=variant, overrides=tuple(overrides))


def load_catalog(catalog_dir: Path | str | None = None, sets: typing.Iterable[str] = ()) -> Loaded:
    return load(None, catalog_dir=catalog_dir, sets=sets)


def validate_paths(paths: typing.Iterable[Path | str] = (), catalog_dir: Path | str | None = None,
                   sets: typing.Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Check catalogs and scenarios (and every variant of each); return (checked, problems)."""
    targets = [Path(p) for p in paths]
    if not targets:
        targets = [Path(catalog_dir) if catalog_dir else SHIPPED_CATALOG_DIR,
                   *sorted(SHIPPED_SCENARIO_DIR.glob("*.yaml"))]
    checked, problems = [], []
    for target in targets:
        expanded = sorted(target.glob("*.yaml")) if target.is_dir() and not _is_catalog(target) \
            else [target]
        for path in expanded:
            checked.append(str(path))
            problems += _validate_one(path, catalog_dir, list(sets))
    return checked, list(dict.fromkeys(problems))


def _is_catalog(directory: Path) -> bool:
    return all((directory / f"{name}.yaml").exists() for name in CATALOG_FILES)


def _validate_one(path: Path, catalog_dir: Path | str | None, sets: list[str]) -> list[str]:
    try:
        if path.is_dir():
            load_catalog(path, sets)
            return []
        loaded = load(path, catalog_dir=catalog_dir, sets=sets)
    except InputError as exc:
        return exc.problems
    problems = []
    for name in loaded.scenario.variants:
        try:
            load(path, catalog_dir=catalog_dir, sets=sets, variant=name)
        except InputError as exc:
            problems += [f"{p} [in variant {name!r}]" for p in exc.problems]
    return problems


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
