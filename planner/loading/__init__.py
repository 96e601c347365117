"""Loading: YAML files -> overrides applied -> validated objects (docs/inputs.md).

yaml (safe reading) < messages (problem wording) < overrides (--set, variants, stress
multipliers) < consistency (cross-references) < load (the entry points)."""

from planner.loading.load import Loaded, load, load_catalog, validate_paths, variant_problems
from planner.loading.overrides import (
    Override,
    apply_override,
    apply_overrides,
    apply_stress,
    parse_set_option,
    variant_overrides,
)
from planner.loading.yaml import (
    CATALOG_FILES,
    SHIPPED_CATALOG_DIR,
    SHIPPED_SCENARIO_DIR,
    read_yaml,
)

__all__ = [
    "CATALOG_FILES", "SHIPPED_CATALOG_DIR", "SHIPPED_SCENARIO_DIR", "Loaded", "Override",
    "apply_override", "apply_overrides", "apply_stress", "load", "load_catalog",
    "parse_set_option", "read_yaml", "validate_paths", "variant_overrides",
    "variant_problems",
]
