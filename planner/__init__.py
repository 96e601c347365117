"""planner: where should your LLM tokens be served, month by month.

A small Python API for notebooks and other programs; the `planner` command is a thin layer over it.
"""

from planner.errors import InfeasibleError, InputError, PlannerError, SolverError
from planner.loading import Loaded, load, load_catalog
from planner.plan import plan

__all__ = ["InfeasibleError", "InputError", "Loaded", "PlannerError", "SolverError", "load",
           "load_catalog", "plan"]
__version__ = "0.1.0"
