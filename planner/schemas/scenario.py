"""Schema of a scenario file (SPEC section 5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from planner.schemas.base import (
    MAX_AMOUNT,
    Currency,
    Fraction,
    Month,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveInt,
    Strict,
)

MAX_REQUESTS_PER_DAY = 1e13
MAX_TOKENS_PER_REQUEST = 10_000_000
MIN_LATENCY_MS, MAX_LATENCY_MS = 1.0, 600_000.0  # 1 ms to 10 minutes


class DemandPoint(Strict):
    month: Month
    requests_per_day: NonNegative = Field(le=MAX_REQUESTS_PER_DAY)


class Demand(Strict):
    """Requests per day at `start` growing yearly, or a series of points interpolated."""

    requests_per_day: NonNegative | None = Field(default=None, le=MAX_REQUESTS_PER_DAY)
    growth_per_year: float = Field(default=0.0, gt=-1.0, le=100.0)
    series: list[DemandPoint] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> Demand:
        if (self.requests_per_day is None) == (self.series is None):
            raise ValueError("give either requests_per_day (with growth_per_year) or series")
        if self.series is not None:
            months = [p.month for p in self.series]
            if months != sorted(months) or len(set(months)) != len(months):
                raise ValueError("series months must be strictly increasing")
        return self


def _check_ms(value: float) -> float:
    # An SLO typed in seconds (tpot_ms: 0.04) would silently send everything to the API.
    if not MIN_LATENCY_MS <= value <= MAX_LATENCY_MS:
        raise ValueError(f"not a latency in milliseconds; allowed: {MIN_LATENCY_MS:g} to "
                         f"{MAX_LATENCY_MS:g} ms (a value below 1 is likely seconds: 0.04 s is "
                         "written 40)")
    return value


LatencyMs = Annotated[float, AfterValidator(_check_ms)]


class Slo(Strict):
    ttft_ms: LatencyMs | None = Field(default=None, description="Time to first token target, ms")
    tpot_ms: LatencyMs | None = Field(default=None, description="Time per output token target, ms")


class Workload(Strict):
    description: str | None = None
    input_tokens: PositiveInt = Field(le=MAX_TOKENS_PER_REQUEST)
    output_tokens: PositiveInt = Field(le=MAX_TOKENS_PER_REQUEST)
    cached_input_fraction: Fraction = Field(
        default=0.0, description="Share of input tokens billed at an API's cached-input price"
    )
    demand: Demand
    peak_to_average: float | None = Field(default=None, ge=1.0, le=100.0)
    hourly_profile: list[NonNegative] | None = Field(default=None, min_length=24, max_length=24)
    slo: Slo = Field(default_factory=Slo)
    self_host: list[str] = Field(default_factory=list, description="Candidate model ids")
    apis: list[str] = Field(default_factory=list, description="Candidate API ids")
    api_allowed: bool = True
    spot_allowed: bool = Field(
        default=False, description="Spot GPUs may serve it (preemptible: batch work, not chat)"
    )
    deferrable: bool = False
    precision: Literal["fp16", "bf16", "fp8", "int8", "int4", "fp4"] | None = Field(
        default=None, description="Weight precision for self-hosting; default: best that fits"
    )
    kv_precision: Literal["fp16", "bf16", "fp8", "int8", "int4", "fp4"] | None = Field(
        default=None, description="KV-cache precision; default as the roofline's rule "
        "(docs/roofline.md)")
    min_replicas: NonNegativeInt = Field(
        default=0, le=1024,
        description="Self-hosted replicas kept whenever the workload is self-hosted (2 survives "
        "a node loss); 0 = as many as demand needs")

    @model_validator(mode="after")
    def _shape(self) -> Workload:
        if self.peak_to_average is not None and self.hourly_profile is not None:
            raise ValueError("give peak_to_average or hourly_profile, not both")
        if self.hourly_profile is not None and sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile must have some positive value")
        if not self.self_host and not (self.api_allowed and self.apis):
            raise ValueError("a workload needs self_host models or allowed apis to be served")
        return self


class Limits(Strict):
    capex_budget_per_year: dict[int, NonNegative] = Field(default_factory=dict)
    max_power_kw: Positive | None = Field(default=None, le=MAX_AMOUNT)
    max_gpus: dict[str, NonNegativeInt] = Field(default_factory=dict, description="Per GPU id")
    max_spot_share: Fraction | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Limits:
        for year in self.capex_budget_per_year:
            if not 1900 <= year <= 2200:
                raise ValueError(f"capex_budget_per_year keys are calendar years, got {year}")
        return self


STRESS_KEYS = ("demand_multiplier", "api_price_multiplier", "gpu_price_multiplier",
               "spot_availability")


class Distribution(Strict):
    """An uncertain quantity of `planner stress` (docs/stress.md): `lognormal` (median, sigma of
    the log), `normal` (mean, sd), `uniform` (low, high), `triangular` (low, mode, high) or
    `fixed` (value)."""

    dist: Literal["lognormal", "normal", "uniform", "triangular", "fixed"]
    median: Positive | None = None
    sigma: NonNegative | None = Field(default=None, le=5.0)
    mean: float | None = Field(default=None, ge=-100.0, le=100.0)
    sd: NonNegative | None = Field(default=None, le=100.0)
    low: float | None = Field(default=None, ge=-100.0, le=1e6)
    mode: float | None = Field(default=None, ge=-100.0, le=1e6)
    high: float | None = Field(default=None, ge=-100.0, le=1e6)
    value: float | None = Field(default=None, ge=-100.0, le=1e6)

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        needed = {"lognormal": ("median", "sigma"), "normal": ("mean", "sd"),
                  "uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
                  "fixed": ("value",)}[self.dist]
        given = {k for k in ("median", "sigma", "mean", "sd", "low", "mode", "high", "value")
                 if getattr(self, k) is not None}
        if given != set(needed):
            raise ValueError(f"dist {self.dist} takes exactly {', '.join(needed)}; allowed: "
                             "lognormal (median, sigma), normal (mean, sd), uniform (low, "
                             "high), triangular (low, mode, high), fixed (value)")
        if self.dist in ("uniform", "triangular") and not self.low <= (
                self.mode if self.mode is not None else self.low) <= self.high:
            raise ValueError("needs low <= mode <= high")
        return self


class StressSettings(Strict):
    """Distributions `planner stress` samples futures from (docs/stress.md has the defaults):
    multipliers of every demand, API price and GPU price (dimensionless, 1 = as forecast), an
    additive change of every workload's growth_per_year (fraction a year), spot availability
    (fraction of hours a spot GPU is there, set on every spot offer)."""

    demand_multiplier: Distribution | None = None
    demand_growth: Distribution | None = None
    api_price_multiplier: Distribution | None = None
    gpu_price_multiplier: Distribution | None = None
    spot_availability: Distribution | None = None
    samples: NonNegativeInt = Field(default=50, le=10_000)
    cvar_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    cvar_alpha: float = Field(default=0.9, ge=0.0, lt=1.0)
    idle_threshold: float = Field(default=0.5, gt=0.0, le=1.0)


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    start: Month
    months: PositiveInt = Field(le=240)
    step: Literal["month", "quarter"] = "month"
    currency: Currency | None = Field(default=None, description="Defaults to finance.currency")
    catalog: str | None = Field(default=None, description="Catalog folder, relative to the file")
    finance: dict[str, Any] = Field(default_factory=dict, description="Overrides of finance.yaml")
    offers: list[str] | None = None
    providers: list[str] | None = Field(
        default=None, description="Offer providers allowed (default all)")
    apis: list[str] | None = None
    workloads: dict[str, Workload] = Field(min_length=1)
    limits: Limits = Field(default_factory=Limits)
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    stress: StressSettings | None = Field(
        default=None, description="Distributions of planner stress (docs/stress.md)")

    @model_validator(mode="after")
    def _quarters(self) -> Scenario:
        if self.step == "quarter" and self.months % 3:
            raise ValueError("with step 'quarter', months must be a multiple of 3")
        return self
