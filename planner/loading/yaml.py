"""Reading YAML safely: duplicate keys rejected, `1e6` read as a number, problems named by file
and line. Also where the catalog folder's files are."""

from __future__ import annotations

import copy
import re
import typing
from pathlib import Path
from typing import Any

import yaml

from planner.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED_CATALOG_DIR = REPO_ROOT / "catalogs"
SHIPPED_SCENARIO_DIR = REPO_ROOT / "scenarios"
CATALOG_FILES = ("gpus", "offers", "apis", "models", "finance")
# Scenario keys that share a name with a catalog file; reach them as `scenario.<key>`.
SCENARIO_ONLY_PREFIX = "scenario"
SCENARIO_ORIGIN = "scenario"



# The libyaml parser when installed (the pure-Python one takes ~50 ms per catalog file).
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeBase):
    """Safe loader that rejects duplicate mapping keys and reads `1e6` as a number."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
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


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
# YAML 1.1 reads `1e6` (no dot) as text; people write demand that way, so read it as a float.
StrictLoader.add_implicit_resolver(
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
            _PARSED[text] = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{path}:{where}: invalid YAML: {problem}") from None
    return copy.deepcopy(_PARSED[text])
