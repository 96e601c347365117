"""Inputs: the coefficient tables one plan is built from (catalog, scenario and roofline turned
into per-period, per-slice numbers). No PuLP here."""

from planner.inputs.tables import (
    PlanInputs,
    build_inputs,
    check_servable,
    hourly_levels,
    parse_channels,
    requests_per_day,
    time_slices,
)

__all__ = ["PlanInputs", "build_inputs", "check_servable", "hourly_levels",
           "parse_channels", "requests_per_day", "time_slices"]
