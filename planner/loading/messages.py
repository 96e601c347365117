"""Problem messages: `FILE: field.path: what is wrong (got X); allowed: ...`, with the file (or
override) each part of the merged tree came from, and pydantic errors described in those words."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.errors import InputError
from planner.loading.yaml import SCENARIO_ONLY_PREFIX


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated and unions removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def schema_shape(annotation: Any) -> tuple[str, Any]:
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
        kind, inner = schema_shape(annotation)
        if kind == "model" and isinstance(part, str) and part in inner.model_fields:
            annotation = inner.model_fields[part].annotation
        elif kind == "dict":
            annotation = inner[1]
        elif kind == "list" and isinstance(part, int):
            annotation = inner
        else:
            return None
    kind, inner = schema_shape(annotation)
    return inner if kind == "model" else None


@dataclass
class Origins:
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


def short_value(value: Any) -> str:
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
    got = f" (got {short_value(error['input'])})" if "input" in error else ""
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


def pydantic_problems(exc: ValidationError, model: type[BaseModel], prefix: tuple,
                       origins: Origins) -> list[str]:
    return [origins.message(prefix + tuple(error["loc"]), _describe(error, model))
            for error in exc.errors(include_url=False)]


def raise_problems(problems: list[str]) -> typing.NoReturn:
    problems = list(dict.fromkeys(problems))
    raise InputError(problems[0] if len(problems) == 1 else
                     f"{len(problems)} problems:\n  " + "\n  ".join(problems), problems)
