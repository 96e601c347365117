"""planner: where should your LLM tokens be served, month by month.

A small Python API for notebooks and other programs; the `planner` command is a thin layer over
it. Names are imported on first use, so `import planner.report` does not load the solver.
"""

from importlib import import_module
from typing import Any

from planner.errors import InfeasibleError, InputError, PlannerError, SolverError

_LAZY = {
    "Loaded": "planner.loading",
    "load": "planner.loading",
    "load_catalog": "planner.loading",
    "Result": "planner.api",
    "throughput": "planner.api",
    "tco": "planner.api",
    "compare": "planner.api",
    "breakeven": "planner.api",
    "plan": "planner.api",
    "stress": "planner.api",
    "sensitivity": "planner.api",
}

__all__ = ["InfeasibleError", "InputError", "Loaded", "PlannerError", "Result", "SolverError",
           "breakeven", "compare", "load", "load_catalog", "plan", "sensitivity", "stress",
           "tco", "throughput"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
