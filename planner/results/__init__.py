"""Results: money, fleet and service of a solved plan as tidy tables (`PlanResult`), computed
from the decision values in plain floats. No PuLP here."""

from planner.results.result import CATEGORIES, PlanResult, compute_result

__all__ = ["CATEGORIES", "PlanResult", "compute_result"]
