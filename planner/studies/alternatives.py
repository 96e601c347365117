"""The alternatives a plan is compared with: API only and rent only (same solver options)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.errors import PlannerError
from planner.schemas import RENTAL_CHANNELS, Channel

# Channels of the alternatives the plan is compared with (SPEC 9 `--channels` names).
ALTERNATIVE_CHANNELS = {"api_only": (Channel.API,), "rent_only": RENTAL_CHANNELS}


def plan_alternatives(plan_for: Any, channels: Sequence[str] | None = None
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """Plan the API-only and rent-only alternatives with `plan_for(channels) -> PlanResult`
    (the caller's solver options; this module never imports the solver).

    Returns (name -> PlanResult or None, name -> why it was left out). An alternative that
    cannot be planned (e.g. API only when a workload forbids APIs) is left out, not an error;
    one equal to the plan's own channel set is skipped."""
    found: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    own = set(channels) if channels else None
    for name, alt_channels in ALTERNATIVE_CHANNELS.items():
        if own is not None and own <= set(alt_channels):
            skipped[name] = "this plan already uses only " + ", ".join(sorted(own))
            continue
        try:
            found[name] = plan_for(list(alt_channels))
        except PlannerError as exc:
            found[name] = None
            skipped[name] = str(exc).split("; ")[0].rstrip(".")
    return found, skipped
