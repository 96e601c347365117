"""JSON-safe values: one rule for every `--json` output and every .json file written."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def json_ready(value: Any) -> Any:
    """Make a result JSON-safe: NaN/inf become null, tuples lists, numpy scalars floats."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return json_ready(value.item())
    if isinstance(value, Path):
        return str(value)
    return str(value)
