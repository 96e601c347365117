"""Every unit convention of the product, defined once (SPEC section 3)."""

from __future__ import annotations

from functools import cache

BYTES_PER_GB = 1e9
BYTES_PER_TB = 1e12
FLOPS_PER_TFLOPS = 1e12
HOURS_PER_YEAR = 8760
HOURS_PER_MONTH = 730
MONTHS_PER_YEAR = 12
DAYS_PER_MONTH = HOURS_PER_MONTH / 24  # 30.4166...
SECONDS_PER_HOUR = 3600
TOKENS_PER_MTOK = 1e6

# Bytes per stored value for each precision a weight or KV cache may use.
BYTES_PER_VALUE = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "fp4": 0.5,
}



@cache  # a plan converts the same few dozen month labels thousands of times
def month_index(month: str) -> int:
    """Months since year 0 for a 'YYYY-MM' string (so differences are month counts)."""
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


@cache
def month_name(index: int) -> str:
    """Inverse of month_index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"

