"""Pydantic schemas of catalogs and scenarios."""

from planner.schemas.catalog import Api, Catalog, Finance, Gpu, MeasuredThroughput, Model, Offer
from planner.schemas.channels import (
    CHANNELS,
    COMMITMENT_CHANNELS,
    GPU_CHANNELS,
    HOURLY_CHANNELS,
    RENTAL_CHANNELS,
    SERVED_CHANNELS,
    Channel,
)
from planner.schemas.scenario import Demand, Limits, Scenario, Slo, Workload

__all__ = [
    "CHANNELS", "COMMITMENT_CHANNELS", "GPU_CHANNELS", "HOURLY_CHANNELS", "RENTAL_CHANNELS",
    "SERVED_CHANNELS", "Api", "Catalog", "Channel", "Demand", "Finance", "Gpu", "Limits",
    "MeasuredThroughput", "Model", "Offer", "Scenario", "Slo", "Workload",
]
