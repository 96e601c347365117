"""Overrides: `--set PATH=VALUE`, a variant's changes and the stress multipliers, applied to the
merged tree along the schema (paths are written as users think of them, docs/inputs.md)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from planner.errors import InputError
from planner.loading.messages import Origins, schema_shape, short_value
from planner.loading.yaml import CATALOG_FILES, SCENARIO_ONLY_PREFIX, StrictLoader
from planner.schemas import Catalog, Scenario
from planner.schemas.scenario import STRESS_KEYS

MAX_IDS_LISTED = 25  # an unknown id lists at most this many known ones


@dataclass(frozen=True)
class Override:
    """One change applied on top of the catalog files, recorded in every output.

    origin: "scenario" (a scenario's `finance:` key), "variant NAME" or "--set"."""

    origin: str
    path: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "path": self.path, "value": _jsonable(self.value)}


def parse_set_option(text: str) -> tuple[str, Any]:
    """'a.b.c=VALUE' -> ('a.b.c', VALUE parsed as YAML so numbers and booleans keep their type)."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise InputError(f"--set {text!r}: expected PATH=VALUE, e.g. "
                         "--set finance.cost_of_capital=0.1")
    try:
        value = yaml.load(raw, Loader=StrictLoader)  # noqa: S506
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


def _lookup_key(node: dict, part: str) -> Any:
    """Dotted paths are text; YAML keys may be ints (years). Return the key as stored, or None."""
    if part in node:
        return part
    if part.lstrip("-").isdigit() and int(part) in node:
        return int(part)
    return None


def split_path(path: str) -> tuple[list[str], set[int]]:
    """A user path as its parts, and which parts were written quoted. Ids that hold dots are
    written quoted or in brackets (`models."llama-3.1-70b".max_context`,
    `models[llama-3.1-70b].max_context`, `models["llama-3.1-70b"]`), or plainly when the
    joined parts name an id."""
    parts: list[str] = []
    quoted: set[int] = set()
    i, current, closed = 0, "", False
    while i < len(path):
        char = path[i]
        if char in "\"'[" and not current and not closed:
            end = path.find("]" if char == "[" else char, i + 1)
            if end < 0:
                raise InputError(f"{path}: unclosed {char}; allowed: dotted names, with an id "
                                 'that holds dots quoted ("llama-3.1-70b") or in brackets')
            current, closed = path[i + 1:end], True
            if char == "[" and len(current) >= 2 and current[0] == current[-1] and \
                    current[0] in "\"'":
                current = current[1:-1]  # models["llama-3.1-70b"], as in Python
            quoted.add(len(parts))
            i = end + 1
            if i < len(path) and path[i] == "[":
                continue  # models[llama-3.1-70b][...] needs no dot between
            if i < len(path) and path[i] != ".":
                raise InputError(f"{path}: expected '.' after {path[:i]}; allowed: dotted names")
            continue
        if char in ".[" and not (char == "[" and not current):
            parts.append(current)
            current, closed = "", False
            i += 1 if char == "." else 0
            continue
        current += char
        i += 1
    parts.append(current)
    if any(not p for p in parts):
        raise InputError(f"{path}: empty path segment; allowed: dotted names such as "
                         "finance.cost_of_capital")
    return parts, quoted


def _route(path: str, has_scenario: bool) -> tuple[str | None, list[str], set[int]]:
    """Which part of the merged tree a user path addresses: (root key, remaining parts, indices
    of the parts written quoted)."""
    parts, quoted = split_path(path)
    if parts[0] in CATALOG_FILES:
        return None, parts, quoted  # catalog parts live at the tree's root
    if parts[0] == SCENARIO_ONLY_PREFIX:
        parts = parts[1:]
        quoted = {i - 1 for i in quoted}
        if not parts:
            raise InputError(f"{path}: a path must name a field, e.g. scenario.offers")
        if parts[0] == "finance":  # a scenario's finance is merged into the catalog's
            return None, parts, quoted
    elif parts[0] not in Scenario.model_fields:
        roots = [*CATALOG_FILES, SCENARIO_ONLY_PREFIX,
                 *(k for k in Scenario.model_fields if k not in CATALOG_FILES), *STRESS_KEYS]
        raise InputError(f"{path}: unknown path {parts[0]!r}; allowed: paths starting with "
                         + ", ".join(roots))
    if not has_scenario:
        raise InputError(f"{path}: a scenario field, but no scenario is loaded; allowed without a "
                         "scenario: paths starting with " + ", ".join(CATALOG_FILES))
    return SCENARIO_ONLY_PREFIX, parts, quoted


def _id_with_dots(node: dict, parts: list[str], at: int) -> tuple[Any, int]:
    """An id written plainly with dots (models.llama-3.1-70b.max_context): the key that the
    parts from `at` on join to, and how many parts it took; (None, 1) when none does."""
    for end in range(at + 2, len(parts) + 1):
        key = _lookup_key(node, ".".join(parts[at:end]))
        if key is not None:
            return key, end - at
    return None, 1


def _unknown_id(path: str, part: str, here: str, node: dict) -> InputError:
    known = sorted(map(str, node))
    nearest = difflib.get_close_matches(part, known, n=3, cutoff=0.4)
    near = f"nearest: {', '.join(nearest)}; " if nearest else ""
    listed = ", ".join(known[:MAX_IDS_LISTED]) + (", ..." if len(known) > MAX_IDS_LISTED else "")
    return InputError(f"{path}: unknown id {part!r} at {here}; {near}allowed: {listed or 'none'}"
                      " (an id with dots may be quoted: models.\"llama-3.1-70b\".max_context)")


def apply_override(tree: dict[str, Any], path: str, value: Any) -> tuple:
    """Set `path` in the merged tree, following the schema: every step must be a field the schema
    knows (a new key is allowed only where the schema holds a free map, such as finance.fx or
    limits.max_gpus); missing optional sections are created. Raises InputError otherwise.
    Returns the location set in the tree (for messages)."""
    root, parts, quoted = _route(path, SCENARIO_ONLY_PREFIX in tree)
    node: Any = tree[root] if root else tree
    annotation: Any = Scenario if root else Catalog
    loc: list[Any] = [root] if root else []
    depth = 0
    while depth < len(parts):
        part = parts[depth]
        here = ".".join(parts[: depth + 1])
        taken = 1
        kind, inner = schema_shape(annotation)
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
            if key is None and depth not in quoted:
                key, taken = _id_with_dots(node, parts, depth)
            value_annotation = inner[1] if kind == "dict" else Any
            if key is None:
                if depth < len(parts) - 1 and schema_shape(value_annotation)[0] == "model":
                    raise _unknown_id(path, part, here, node)
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
        loc.append(key)
        depth += taken
        if depth >= len(parts):
            node[key] = value
            return tuple(loc)
        child = node[key] if isinstance(node, list) else node.get(key)
        if child is None and schema_shape(annotation)[0] in ("model", "dict", "any"):
            child = node[key] = {}  # an optional section the file left out
        node = child
    raise AssertionError("unreachable: the loop returns at the last part")


def _number(name: str, value: Any, upper: float | None = None) -> float:
    allowed = f"a number above 0 and at most {upper:g}" if upper is not None else \
        "a number above 0"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0 or (upper is not None and value > upper):
        raise InputError(f"{name}: not allowed (got {short_value(value)}); allowed: {allowed}")
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
                    origins: Origins | None = None) -> list[str]:
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
            loc = apply_override(tree, override.path, override.value)
        except InputError as exc:
            problems.append(f"{_origin_label(override)}: {exc}")
            continue
        if origins is not None:
            origins[loc] = _origin_label(override)
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


def variant_overrides(raw_variants: Any, name: str, source: str) -> list[Override]:
    if not isinstance(raw_variants, dict) or name not in raw_variants:
        known = ", ".join(map(str, raw_variants)) if isinstance(raw_variants, dict) \
            and raw_variants else "none"
        raise InputError(f"{source}: variants: unknown variant {name!r}; allowed: {known}")
    changes = raw_variants[name]
    if not isinstance(changes, dict):
        raise InputError(f"{source}: variants.{name}: wrong type (got {short_value(changes)}); "
                         "allowed: a mapping of dotted paths to values")
    return [Override(f"{source} variant {name!r}", str(path), value)
            for path, value in changes.items()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
