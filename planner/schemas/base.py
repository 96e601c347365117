"""Strict, frozen pydantic base: a misspelled key is an error, never a silent default."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check_month(value: str) -> str:
    if not MONTH_PATTERN.match(value):
        raise ValueError("not a month; allowed: YYYY-MM with MM from 01 to 12, e.g. 2026-07")
    return value


def _check_currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError("not a currency code; allowed: a 3-letter ISO code such as USD or CNY")
    return value


Month = Annotated[str, AfterValidator(_check_month)]
Currency = Annotated[str, AfterValidator(_check_currency)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFraction = Annotated[float, Field(gt=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
# Amounts are capped so absurd magnitudes are rejected at validation, not fed to the solver.
MAX_AMOUNT = 1e15


class Strict(BaseModel):
    """Base of every schema: unknown keys, wrong types, NaN and infinity are errors."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, validate_default=True
    )


class Sourced(Strict):
    """A catalog entry: every figure names where it came from and when."""

    source: str = Field(min_length=1, description="Where the figures came from (seed, URL, ...)")
    as_of: date = Field(description="Date the figures were valid (YYYY-MM-DD)")
