"""The plan's LP, one constraint family at a time, compared text for text with a golden file
(tests/golden_lp/<family>.lp) on a tiny case where every channel and every limit is present.
A change to the formulation shows up here as a readable diff per family; after checking it by
hand, regenerate with `PLANNER_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_lp.py`."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from planner.optimize import build as lp
from planner.schemas import Limits
from tests.test_plan import tiny

GOLDEN = Path(__file__).parent / "golden_lp"
UPDATE = os.environ.get("PLANNER_UPDATE_GOLDEN") == "1"


def tiny_lp_text(tmp_path: Path) -> str:
    """Two months of 1 Mtok an hour; every channel (API, on demand, spot with its backup, a
    12-month reservation, a purchase with a site) and every limit (capex budget, power, GPUs,
    spot share, an API rate limit)."""
    inputs = tiny(2, on_demand=1.0, api_price=2.0, reserved=(500.0, 12),
                  purchase={"price": 5000.0, "lead": 0}, spot=(0.4, 0.9), site_setup=100.0)
    inputs = replace(inputs, api_limits={"A": 0.5}, limits=Limits(
        capex_budget_per_year={2026: 10000.0}, max_power_kw=5.0, max_gpus={"G": 4},
        max_spot_share=0.5))
    path = tmp_path / "tiny.lp"
    lp.write_model(lp.build(inputs), str(path))
    return path.read_text(encoding="utf-8")


def families(text: str) -> dict[str, str]:
    """The LP's parts: `objective`, one entry per constraint family (rows grouped by the family
    their name starts with, continuation lines kept) and `kinds` (bounds, generals, binaries)."""
    head, _, rest = text.partition("Subject To\n")
    rows, _, tail = rest.partition("Bounds\n")
    parts: dict[str, list[str]] = {"objective": head.splitlines()[1:]}
    family = None
    for line in rows.splitlines():
        if not line.startswith(" "):
            name = line.split(":")[0]
            family = next((f for f in sorted(ROW_FAMILIES, key=len, reverse=True)
                           if name.startswith(f + "_")), name)
        parts.setdefault(family, []).append(line)
    parts["kinds"] = ["Bounds", *tail.splitlines()]
    return {name: "\n".join(lines) + "\n" for name, lines in parts.items()}


# Row-name prefixes of planner.optimize.build, longest first when matched.
ROW_FAMILIES = ("backup", "capacity", "capex_budget", "demand", "gate", "gpu_cap", "hosted",
                "min_replicas", "power_cap", "rate_limit", "replica", "site_monotone",
                "site_needed", "spot_share")


def test_every_family_of_the_tiny_lp_has_a_golden_file(tmp_path):
    found = set(families(tiny_lp_text(tmp_path)))
    assert found <= {*ROW_FAMILIES, "objective", "kinds"}, f"unknown row family: {found}"
    if UPDATE:
        for old in GOLDEN.glob("*.lp"):
            old.unlink()
    GOLDEN.mkdir(exist_ok=True)
    for name, text in families(tiny_lp_text(tmp_path)).items():
        if UPDATE:
            (GOLDEN / f"{name}.lp").write_text(text, encoding="utf-8")
    assert {p.stem for p in GOLDEN.glob("*.lp")} == found


@pytest.mark.parametrize("family", sorted(p.stem for p in GOLDEN.glob("*.lp")))
def test_constraint_family_matches_its_golden_lp(tmp_path, family):
    text = families(tiny_lp_text(tmp_path)).get(family, "")
    assert text == (GOLDEN / f"{family}.lp").read_text(encoding="utf-8")
