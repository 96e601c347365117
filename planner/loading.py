"""YAML -> overrides applied -> validated objects.

Data flows one way: files are read safely (duplicate keys rejected), merged into one tree
(catalog < scenario < variant < --set), validated by the strict schemas, then cross-checked
(planner.consistency). Every problem is collected and raised once as an InputError whose lines read
`FILE: field.path: what is wrong (got X); allowed: ...`.

The merged tree has the five catalog parts at its root (`gpus`, `offers`, `apis`, `models`,
`finance`) and the scenario under `scenario`. Override paths are written the way users think of
them: catalog maps by their file name (`gpus.H200.power_kw`), scenario keys at the root
(`workloads.chat.demand.growth_per_year`), and `scenario.offers` / `scenario.apis` for the
scenario's allow-lists (plain `offers.` and `apis.` mean the catalogs).
"""

from __future__ import annotations

import copy
import math
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from planner import finance as fin
from planner.consistency import reference_problems
from planner.errors import InputError
from planner.schemas import Catalog, Finance, Scenario
from planner.schemas.scenario import STRESS_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CATALOG_DIR = REPO_ROOT / "catalogs"
SHIPPED_SCENARIO_DIR = REPO_ROOT / "scenarios"
CATALOG_FILES = ("gpus", "offers", "apis", "models", "finance")
# Scenario keys that share a name with a catalog file; reach them as `scenario.<key>`.
SCENARIO_ONLY_PREFIX = "scenario"
SCENARIO_ORIGIN = "scenario"


@dataclass(frozen=True)
class Override:
    """One change applied on top of the catalog files, recorded in every output.

    origin: "scenario" (a scenario's `finance:` key), "variant NAME" or "--set"."""

    origin: str
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

    def overrides_as_dicts(self) -> list[dict[str, Any]]:
        """What was applied on top of the catalog, in order (lowest precedence first)."""
        return [o.as_dict() for o in self.overrides]


# --------------------------------------------------------------------------- YAML


# The libyaml parser when installed (the pure-Python one takes ~50 ms per catalog file).
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):
    """Safe loader that rejects duplicate mapping keys and reads `1e6` as a number."""


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
# YAML 1.1 reads `1e6` (no dot) as text; people write demand that way, so read it as a float.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_PARSED: dict[str, Any] = {}  # file text -> parsed content (catalogs are re-read per variant)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely; a syntax error or duplicate key names file and line.
    Returns a fresh object each call (callers mutate it); parsing is cached by file content."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        files = ", ".join(f"{n}.yaml" for n in CATALOG_FILES)
        raise InputError(f"{path}: is a folder; allowed: a scenario .yaml file or a catalog "
                         f"folder holding {files}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    if text not in _PARSED:
        if len(_PARSED) > 256:  # bound the cache in long-running notebooks
            _PARSED.clear()
        try:
            _PARSED[text] = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{path}:{where}: invalid YAML: {problem}") from None
    return copy.deepcopy(_PARSED[text])


def parse_set_option(text: str) -> tuple[str, Any]:
    """'a.b.c=VALUE' -> ('a.b.c', VALUE parsed as YAML so numbers and booleans keep their type)."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise InputError(f"--set {text!r}: expected PATH=VALUE, e.g. "
                         "--set finance.cost_of_capital=0.1")
    try:
        value = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


# --------------------------------------------------------------------------- schema walking


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated and unions removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _shape(annotation: Any) -> tuple[str, Any]:
    """('model', cls) | ('dict', (key_type, value_annotation)) | ('list', item) | ('any', None)
    | ('value', None): what a node of this annotation holds."""
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return "model", candidate
        origin = typing.get_origin(candidate)
        if origin is dict:
            key_type, value = typing.get_args(candidate)
            return "dict", (key_type, value)
        if origin is list:
            return "list", typing.get_args(candidate)[0]
        if candidate is Any:
            return "any", None
    return "value", None


def _schema_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """Walk the schema along an error location to the model class found there."""
    annotation: Any = model
    for part in loc:
        kind, inner = _shape(annotation)
        if kind == "model" and isinstance(part, str) and part in inner.model_fields:
            annotation = inner.model_fields[part].annotation
        elif kind == "dict":
            annotation = inner[1]
        elif kind == "list" and isinstance(part, int):
            annotation = inner
        else:
            return None
    kind, inner = _shape(annotation)
    return inner if kind == "model" else None


# --------------------------------------------------------------------------- overrides


def _lookup_key(node: dict, part: str) -> Any:
    """Dotted paths are text; YAML keys may be ints (years). Return the key as stored, or None."""
    if part in node:
        return part
    if part.lstrip("-").isdigit() and int(part) in node:
        return int(part)
    return None


def _route(path: str, has_scenario: bool) -> tuple[str | None, list[str]]:
    """Which part of the merged tree a user path addresses: (root key, remaining parts)."""
    parts = path.split(".")
    if any(not p for p in parts):
        raise InputError(f"{path}: empty path segment; allowed: dotted names such as "
                         "finance.cost_of_capital")
    if parts[0] in CATALOG_FILES:
        return None, parts  # catalog parts live at the tree's root
    if parts[0] == SCENARIO_ONLY_PREFIX:
        parts = parts[1:]
        if not parts:
            raise InputError(f"{path}: a path must name a field, e.g. scenario.offers")
        if parts[0] == "finance":  # a scenario's finance is merged into the catalog's
            return None, parts
    elif parts[0] not in Scenario.model_fields:
        roots = [*CATALOG_FILES, SCENARIO_ONLY_PREFIX,
                 *(k for k in Scenario.model_fields if k not in CATALOG_FILES), *STRESS_KEYS]
        raise InputError(f"{path}: unknown path {parts[0]!r}; allowed: paths starting with "
                         + ", ".join(roots))
    if not has_scenario:
        raise InputError(f"{path}: a scenario field, but no scenario is loaded; allowed without a "
                         "scenario: paths starting with " + ", ".join(CATALOG_FILES))
    return SCENARIO_ONLY_PREFIX, parts


def _tree_loc(path: str, has_scenario: bool = True) -> tuple:
    """The location of a user path in the merged tree (for messages)."""
    root, parts = _route(path, has_scenario)
    return (root, *parts) if root else tuple(parts)


def apply_override(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` in the merged tree, following the schema: every step must be a field the schema
    knows (a new key is allowed only where the schema holds a free map, such as finance.fx or
    limits.max_gpus); missing optional sections are created. Raises InputError otherwise."""
    root, parts = _route(path, SCENARIO_ONLY_PREFIX in tree)
    node: Any = tree[root] if root else tree
    annotation: Any = Scenario if root else Catalog
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        kind, inner = _shape(annotation)
        if not isinstance(node, dict | list):
            raise InputError(f"{path}: {'.'.join(parts[:depth])} holds a value, not a mapping; "
                             "allowed: a path that ends at a field")
        if kind == "model":
            if part not in inner.model_fields or not isinstance(node, dict):
                at = "" if here == path else f" at {here}"
                raise InputError(f"{path}: unknown field {part!r}{at}; allowed: "
                                 + ", ".join(inner.model_fields))
            key: Any = part
            annotation = inner.model_fields[part].annotation
        elif kind in ("dict", "any") and isinstance(node, dict):
            key = _lookup_key(node, part)
            value_annotation = inner[1] if kind == "dict" else Any
            if key is None:
                if not last and _shape(value_annotation)[0] == "model":
                    known = ", ".join(sorted(map(str, node))) or "none"
                    raise InputError(f"{path}: unknown id {part!r} at {here}; allowed: {known}")
                key = int(part) if kind == "dict" and inner[0] is int and part.isdigit() \
                    else part
            annotation = value_annotation
        elif kind == "list" and isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise InputError(f"{path}: {part!r} at {here} is not an index of a "
                                 f"{len(node)}-item list; allowed: 0 to {len(node) - 1}")
            key = int(part)
            annotation = inner
        else:
            raise InputError(f"{path}: {'.'.join(parts[:depth]) or path} holds a value, not a "
                             "mapping; allowed: a path that ends at a field")
        if last:
            node[key] = value
            return
        child = node[key] if isinstance(node, list) else node.get(key)
        if child is None and _shape(annotation)[0] in ("model", "dict", "any"):
            child = node[key] = {}  # an optional section the file left out
        node = child


def _number(name: str, value: Any, upper: float | None = None) -> float:
    allowed = f"a number above 0 and at most {upper:g}" if upper is not None else \
        "a number above 0"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0 or (upper is not None and value > upper):
        raise InputError(f"{name}: not allowed (got {_short(value)}); allowed: {allowed}")
    return float(value)


def apply_stress(tree: dict[str, Any], key: str, value: Any) -> list[tuple]:
    """The stress multipliers: scale every demand, API price or GPU price; set spot availability.
    Returns the tree locations changed (so messages can name the override)."""
    touched: list[tuple] = []

    def scale(node: Any, fields: Iterable[str], factor: float, loc: tuple) -> None:
        if not isinstance(node, dict):
            return
        for name in fields:
            current = node.get(name)
            if isinstance(current, int | float) and not isinstance(current, bool):
                node[name] = current * factor
                touched.append((*loc, name))

    if key == "demand_multiplier":
        factor = _number(key, value)
        workloads = tree.get(SCENARIO_ONLY_PREFIX, {}).get("workloads")
        for wname, workload in (workloads.items() if isinstance(workloads, dict) else ()):
            demand = workload.get("demand") if isinstance(workload, dict) else None
            loc = (SCENARIO_ONLY_PREFIX, "workloads", wname, "demand")
            scale(demand, ["requests_per_day"], factor, loc)
            series = demand.get("series") if isinstance(demand, dict) else None
            for i, point in enumerate(series if isinstance(series, list) else []):
                scale(point, ["requests_per_day"], factor, (*loc, "series", i))
    elif key == "api_price_multiplier":
        factor = _number(key, value)
        apis = tree.get("apis")  # a malformed catalog part is left to the schema to report
        for api_id, api in (apis.items() if isinstance(apis, dict) else ()):
            scale(api, ["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"], factor,
                  ("apis", api_id))
    elif key == "gpu_price_multiplier":
        factor = _number(key, value)
        offers = tree.get("offers")
        for offer_id, offer in (offers.items() if isinstance(offers, dict) else ()):
            scale(offer, ["price_per_gpu", "price_per_gpu_hour", "price_per_gpu_month"], factor,
                  ("offers", offer_id))
    elif key == "spot_availability":
        availability = _number(key, value, upper=1.0)
        offers = tree.get("offers")
        for offer_id, offer in (offers.items() if isinstance(offers, dict) else ()):
            if isinstance(offer, dict) and offer.get("channel") == "spot":
                offer["availability"] = availability
                touched.append(("offers", offer_id, "availability"))
    else:
        raise InputError(f"{key}: unknown stress key; allowed: {', '.join(STRESS_KEYS)}")
    return touched


def apply_overrides(tree: dict[str, Any], overrides: Iterable[Override],
                    origins: _Origins | None = None) -> list[str]:
    """Apply overrides in order (later wins). Path overrides first, then each stress multiplier
    once with its highest-precedence value, so a --set multiplier replaces a variant's rather than
    compounding with it. Returns the problems found (bad paths, bad multiplier values)."""
    problems: list[str] = []
    stress: dict[str, Override] = {}
    for override in overrides:
        if override.path in STRESS_KEYS:
            stress[override.path] = override
            continue
        try:
            apply_override(tree, override.path, override.value)
        except InputError as exc:
            problems.append(f"{_origin_label(override)}: {exc}")
            continue
        if origins is not None:
            origins[_tree_loc(override.path)] = _origin_label(override)
    for key in STRESS_KEYS:
        if key not in stress:
            continue
        try:
            touched = apply_stress(tree, key, stress[key].value)
        except InputError as exc:
            problems.append(f"{_origin_label(stress[key])}: {exc}")
            continue
        if origins is not None:
            for loc in touched:
                origins[loc] = f"{_origin_label(stress[key])} ({key})"
    return problems


def _origin_label(override: Override) -> str:
    return override.origin


# --------------------------------------------------------------------------- messages


@dataclass
class _Origins:
    """Which file (or override) each part of the merged tree came from, for messages."""

    by_prefix: dict[tuple, str] = field(default_factory=dict)

    def __setitem__(self, loc: tuple, origin: str) -> None:
        # Keys as text: a --set path says "0" or "2027" where the tree holds an int.
        self.by_prefix[tuple(map(str, loc))] = origin

    def __call__(self, loc: tuple) -> str:
        key = tuple(map(str, loc))
        for length in range(len(key), -1, -1):
            if key[:length] in self.by_prefix:
                return self.by_prefix[key[:length]]
        return "input"

    def message(self, loc: tuple, what: str) -> str:
        return f"{self(loc)}: {_dotted(loc)}: {what}"


def _dotted(loc: tuple) -> str:
    if loc[:1] == (SCENARIO_ONLY_PREFIX,):
        loc = loc[1:]  # scenario fields are written from the scenario file's root
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _short(value: Any) -> str:
    if isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = f"a list of {len(value)}"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_NAMES = {
    "int_type": "a whole number", "int_from_float": "a whole number", "float_type": "a number",
    "string_type": "text", "bool_type": "true or false", "dict_type": "a mapping",
    "list_type": "a list", "date_type": "a date written YYYY-MM-DD",
    "int_parsing": "a whole number", "float_parsing": "a number", "bool_parsing": "true or false",
    "date_parsing": "a date written YYYY-MM-DD", "model_type": "a mapping of fields",
    "finite_number": "a finite number",
}
_BOUNDS = {"greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"),
           "less_than_equal": ("le", "<="), "less_than": ("lt", "<")}


def _describe(error: dict, model: type[BaseModel]) -> str:
    """One pydantic error as `what is wrong (got X); allowed: ...`."""
    kind, ctx = error["type"], error.get("ctx") or {}
    got = f" (got {_short(error['input'])})" if "input" in error else ""
    if kind == "extra_forbidden":
        parent = _schema_at(model, tuple(error["loc"])[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see docs/inputs.md"
        return f"unknown field; allowed: {allowed}"
    if kind == "missing":
        return "required field is missing"
    if kind in _TYPE_NAMES:
        return f"wrong type{got}; allowed: {_TYPE_NAMES[kind]}"
    if kind in _BOUNDS:
        name, sign = _BOUNDS[kind]
        bound = ctx.get(name)
        bound = f"{bound:g}" if isinstance(bound, int | float) else bound
        return f"out of range{got}; allowed: {sign} {bound}"
    if kind == "literal_error":
        return f"not allowed{got}; allowed: {ctx.get('expected')}"
    if kind in ("too_short", "too_long"):
        return f"{error['msg'].removeprefix('Value error, ')}{got}"
    message = error["msg"].removeprefix("Value error, ")
    what, sep, allowed = message.partition("; allowed: ")
    if kind == "value_error" and not isinstance(error.get("input"), dict):
        return f"{what}{got}{sep}{allowed}"
    return message


def _pydantic_problems(exc: ValidationError, model: type[BaseModel], prefix: tuple,
                       origins: _Origins) -> list[str]:
    return [origins.message(prefix + tuple(error["loc"]), _describe(error, model))
            for error in exc.errors(include_url=False)]


# --------------------------------------------------------------------------- reading


def _read_catalog_tree(catalog_dir: Path, replace: dict[str, Path] | None = None
                       ) -> tuple[dict[str, Any], _Origins]:
    """The five catalog files as one tree; `replace` swaps single files (validate FILE)."""
    replace = replace or {}
    if not catalog_dir.is_dir() and len(replace) < len(CATALOG_FILES):
        raise InputError(f"{catalog_dir}: catalog folder not found; allowed: a folder holding "
                         + ", ".join(f"{name}.yaml" for name in CATALOG_FILES))
    tree: dict[str, Any] = {}
    origins = _Origins()
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
            problems.append(f"{path}: must be a mapping of {what} (got {_short(content)})")
            continue
        tree[name] = content
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems:\n  " + "\n  ".join(problems), problems)
    return tree, origins


def _read_scenario(path: Path) -> dict[str, Any]:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else _short(raw)
        raise InputError(f"{path}: a scenario must be a mapping (got {got}); allowed keys: "
                         + ", ".join(Scenario.model_fields))
    return raw


def _merge_scenario(tree: dict[str, Any], raw: dict[str, Any], path: Path,
                    origins: _Origins) -> tuple[list[Override], list[str]]:
    """Put the scenario under tree['scenario'] and merge its `finance:` into the catalog's."""
    origins[(SCENARIO_ONLY_PREFIX,)] = str(path)
    tree[SCENARIO_ONLY_PREFIX] = dict(raw)
    applied: list[Override] = []
    problems: list[str] = []
    finance_overrides = raw.get("finance")
    if finance_overrides is None:
        return applied, problems
    if not isinstance(finance_overrides, dict):
        problems.append(f"{path}: finance: wrong type (got {_short(finance_overrides)}); "
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
                      origins: _Origins) -> list[Override]:
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
            return []  # two currencies asked for: planner.consistency says so
        target = finance.get("currency")
    base = file_finance.get("currency")
    if not isinstance(target, str) or not isinstance(base, str) or target == base:
        return []
    changed = fin.restate_finance(file_finance, target, keep=set_here)
    if changed is None:
        return []  # no rate: planner.consistency reports the currency
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


def variant_overrides(raw_variants: Any, name: str, source: str) -> list[Override]:
    if not isinstance(raw_variants, dict) or name not in raw_variants:
        known = ", ".join(map(str, raw_variants)) if isinstance(raw_variants, dict) \
            and raw_variants else "none"
        raise InputError(f"{source}: variants: unknown variant {name!r}; allowed: {known}")
    changes = raw_variants[name]
    if not isinstance(changes, dict):
        raise InputError(f"{source}: variants.{name}: wrong type (got {_short(changes)}); "
                         "allowed: a mapping of dotted paths to values")
    return [Override(f"{source} variant {name!r}", str(path), value)
            for path, value in changes.items()]


# --------------------------------------------------------------------------- entry points


def _validate_tree(tree: dict[str, Any], origins: _Origins
                   ) -> tuple[Catalog | None, Scenario | None, list[str]]:
    problems: list[str] = []
    catalog = scenario = None
    try:
        catalog = Catalog.model_validate({name: tree[name] for name in CATALOG_FILES})
    except ValidationError as exc:
        problems += _pydantic_problems(exc, Catalog, (), origins)
    if SCENARIO_ONLY_PREFIX in tree:
        try:
            scenario = Scenario.model_validate(tree[SCENARIO_ONLY_PREFIX])
        except ValidationError as exc:
            problems += _pydantic_problems(exc, Scenario, (SCENARIO_ONLY_PREFIX,), origins)
    return catalog, scenario, problems


def _raise(problems: list[str]) -> typing.NoReturn:
    problems = list(dict.fromkeys(problems))
    raise InputError(problems[0] if len(problems) == 1 else
                     f"{len(problems)} problems:\n  " + "\n  ".join(problems), problems)


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
        _raise(problems)
    return Loaded(catalog=catalog, catalog_dir=directory, scenario=scenario,
                  scenario_path=scenario_file, variant=variant, overrides=tuple(overrides))


def load_catalog(catalog_dir: Path | str | None = None, sets: Iterable[str] = (),
                 replace: dict[str, Path] | None = None) -> Loaded:
    return load(None, catalog_dir=catalog_dir, sets=sets, replace=replace)


def validate_paths(paths: Iterable[Path | str] = (), catalog_dir: Path | str | None = None,
                   sets: Iterable[str] = (), notes: list[str] | None = None
                   ) -> tuple[list[str], list[str]]:
    """Check catalogs and scenarios (and every variant of each); return (checked, problems).
    `notes`, when given, receives what a valid scenario's base loads with: finance fields
    restated in its currency, and inputs with no effect (planner.market.input_warnings).

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
            problems += _validate_one(path, catalog_dir, sets, notes)
    if notes is not None:
        notes[:] = list(dict.fromkeys(notes))
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
                  notes: list[str] | None = None) -> list[str]:
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
            notes += _load_notes(path, loaded)
    except InputError as exc:
        base_problems = exc.problems
    problems = list(base_problems)
    variants = raw.get("variants")
    for name in variants if isinstance(variants, dict) else ():
        try:
            load(path, catalog_dir=catalog_dir, sets=sets, variant=str(name))
        except InputError as exc:
            problems += [p for p in exc.problems if p not in base_problems]
    return problems


def _load_notes(path: Path, loaded: Loaded) -> list[str]:
    """What `validate` says about a valid scenario: restated finance fields, then warnings."""
    from planner.market import input_warnings  # planner.market needs the schemas only

    restated = [o for o in loaded.overrides if o.origin.startswith("currency ")]
    lines = []
    if restated:
        lines.append(f"{path}: {restated[0].origin}: restated "
                     + ", ".join(o.path for o in restated))
    return lines + [f"{path}: warning: {w}" for w in
                    input_warnings(loaded.catalog, loaded.scenario)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


__all__ = [
    "CATALOG_FILES", "SHIPPED_CATALOG_DIR", "SHIPPED_SCENARIO_DIR", "Loaded", "Override",
    "apply_override", "apply_overrides", "apply_stress", "load", "load_catalog",
    "parse_set_option", "read_yaml", "validate_paths", "variant_overrides",
]

