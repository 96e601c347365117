"""Pydantic schemas of catalogs and scenarios."""

from planner.schemas.catalog import Api, Catalog, Finance, Gpu, MeasuredThroughput, Model, Offer
from planner.schemas.scenario import Demand, Limits, Scenario, Slo, Workload

__all__ = [
    "Api", "Catalog", "Demand", "Finance", "Gpu", "Limits", "MeasuredThroughput", "Model", "Offer",
    "Scenario", "Slo", "Workload",
]
