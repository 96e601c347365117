"""Optimize: coefficient tables -> PuLP problem (build) -> HiGHS or CBC (solve) -> PlanResult.
The only package that imports PuLP or highspy."""

from planner.optimize.plan import diagnose, optimize, plan, unmet_demand
from planner.optimize.solve import DEFAULT_MIP_GAP, SolveInfo, Status

__all__ = ["DEFAULT_MIP_GAP", "SolveInfo", "Status", "diagnose", "optimize", "plan",
           "unmet_demand"]
