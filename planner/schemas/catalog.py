"""Schemas of the five catalog files (SPEC section 4). Units are in the field names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from planner.schemas.base import (
    MAX_AMOUNT,
    Currency,
    Fraction,
    Month,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveFraction,
    PositiveInt,
    Sourced,
    Strict,
)

Precision = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4", "fp4"]
# An offer's channel: the GPU channels of planner.schemas.channels (tested to agree).
OfferChannel = Literal["purchase", "reserved", "on_demand", "spot"]
GpuFamily = Literal["hopper", "blackwell", "ampere_ada", "cdna3", "gaudi"]
CalibrationStatus = Literal["fitted", "family_only", "untested"]


class Gpu(Sourced):
    """Hardware facts of one accelerator, plus the achievable fractions the roofline uses."""

    name: str | None = None
    vendor: str | None = None
    memory_gb: Positive = Field(le=1e5, description="HBM capacity, GB = 1e9 bytes")
    memory_bandwidth_tb_per_s: Positive = Field(le=1e3, description="HBM bandwidth, 1e12 B/s")
    dense_tflops: dict[Precision, Positive] = Field(
        min_length=1, description="Dense (not sparse) tensor TFLOPS per precision"
    )
    power_kw: Positive = Field(le=100, description="Board power, kW")
    scale_up_bandwidth_gb_per_s: Positive = Field(
        description="NVLink / Infinity Fabric bandwidth per GPU as vendors quote it (aggregate of "
        "both directions), GB/s; the roofline's all-reduce uses half of it (one direction)"
    )
    gpus_per_node: PositiveInt = Field(le=1024)
    # Achievable fractions of the peaks above, measured by microbenchmarks (see efficiency_source).
    bandwidth_efficiency: PositiveFraction = Field(description="Achieved/peak HBM bandwidth")
    compute_efficiency: PositiveFraction = Field(description="Achieved/peak dense matmul FLOPS")
    efficiency_source: str = Field(min_length=1)
    # Roofline calibration (docs/roofline.md). Defaults are neutral or engine defaults; the shipped
    # gpus.yaml sets each one with its source in calibration_source.
    compute_efficiency_by_precision: dict[Precision, PositiveFraction] = Field(
        default_factory=dict,
        description="Achieved/peak dense matmul FLOPS per precision (microbenchmark); a precision "
        "not listed uses compute_efficiency",
    )
    engine_bandwidth_efficiency: PositiveFraction = Field(
        default=1.0,
        description="Fraction of the microbenchmark HBM bandwidth a serving engine's decode "
        "kernels sustain end to end (paged attention, small GEMVs, gaps), dimensionless",
    )
    engine_compute_efficiency: PositiveFraction = Field(
        default=1.0,
        description="Fraction of the microbenchmark matmul FLOPS a serving engine sustains end "
        "to end (non-GEMM ops, attention kernels, real layer shapes), dimensionless",
    )
    usable_memory_fraction: PositiveFraction = Field(
        default=0.9,
        description="Share of memory_gb available to weights + KV cache after runtime, activations "
        "and fragmentation (vLLM gpu_memory_utilization default 0.9)",
    )
    engine_max_batch: PositiveInt = Field(
        default=512, le=65536,
        description="Most sequences one engine instance (one tensor-parallel group) decodes at "
        "once (vLLM max_num_seqs / TensorRT-LLM max_batch_size), sequences",
    )
    gemm_half_efficiency_rows: NonNegative = Field(
        default=0.0, le=65536,
        description="Rows at which a MoE routed expert's matmul (grouped GEMM, M = step tokens "
        "x k/E rows) runs at half its large-shape efficiency: efficiency x M/(M + this); dense "
        "matmuls are not affected (their few-row cost is the weight read); 0 turns it off, rows",
    )
    allreduce_latency_us: NonNegative = Field(
        default=0.0, le=1e6,
        description="Fixed latency of one tensor-parallel all-reduce, microseconds",
    )
    step_overhead_ms: NonNegative = Field(
        default=0.0, le=1000,
        description="Fixed time of every forward pass besides its kernels' roofline (scheduling, "
        "launches, sampling), added to each decode step and to a prefill alone, ms",
    )
    family: GpuFamily | None = Field(
        default=None, description="Calibration family: the engine factors and step overhead are "
        "fitted per family on its own public rows (docs/roofline.md)"
    )
    calibration_status: CalibrationStatus | None = Field(
        default=None, description="fitted: public rows of this GPU were in the fit; family_only: "
        "fitted on other GPUs of its family; untested: no public row in its family, factors "
        "borrowed from another family"
    )
    calibration_source: str | None = Field(
        default=None, description="Where the roofline calibration fields above came from"
    )


class Offer(Sourced):
    """One way to obtain a GPU: buy it, reserve it, rent it on demand or on spot."""

    gpu: str
    channel: OfferChannel
    currency: Currency
    price_per_gpu: Positive | None = Field(default=None, le=MAX_AMOUNT)
    price_per_gpu_hour: Positive | None = Field(default=None, le=MAX_AMOUNT)
    price_per_gpu_month: Positive | None = Field(default=None, le=MAX_AMOUNT)
    term_months: PositiveInt | None = Field(default=None, le=120)
    availability: PositiveFraction | None = None
    lead_time_months: NonNegativeInt | None = Field(default=None, le=60)
    unit_gpus: PositiveInt | None = Field(
        default=None, le=1024,
        description="GPUs one unit sells (8 for a server or a whole-node contract); default 1")
    billing: Literal["hour", "month"] | None = Field(
        default=None,
        description="Rentals: 'hour' may follow the daily profile, 'month' holds the GPUs all "
        "month; default hour for on_demand and spot, month for reserved")
    available_from: Month | None = None
    provider: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _prices_fit_channel(self) -> Offer:
        hourly_or_monthly = [self.price_per_gpu_hour, self.price_per_gpu_month]
        if self.channel == "purchase":
            if self.price_per_gpu is None:
                raise ValueError("a purchase offer needs price_per_gpu")
            if any(p is not None for p in hourly_or_monthly):
                raise ValueError("a purchase offer takes price_per_gpu only, not an hourly price")
        else:
            if self.price_per_gpu is not None:
                raise ValueError(f"a {self.channel} offer takes price_per_gpu_hour or "
                                 "price_per_gpu_month, not price_per_gpu")
            if sum(p is not None for p in hourly_or_monthly) != 1:
                raise ValueError(f"a {self.channel} offer needs exactly one of "
                                 "price_per_gpu_hour and price_per_gpu_month")
        if self.channel == "reserved" and self.term_months is None:
            raise ValueError("a reserved offer needs term_months")
        if self.channel != "reserved" and self.term_months is not None:
            raise ValueError("term_months is only for reserved offers")
        if self.channel == "spot" and self.availability is None:
            raise ValueError("a spot offer needs availability (fraction of hours it is there)")
        if self.channel != "spot" and self.availability is not None:
            raise ValueError("availability is only for spot offers")
        if self.channel != "purchase" and self.lead_time_months is not None:
            raise ValueError("lead_time_months is only for purchase offers")
        if self.channel == "purchase" and self.billing is not None:
            raise ValueError("billing is only for rental offers (reserved, on_demand, spot)")
        if self.channel == "reserved" and self.billing == "hour":
            raise ValueError("a reserved offer is billed by the month (billing: month)")
        return self


class Api(Sourced):
    """A per-token API offer. Prices are per million tokens in `currency`."""

    provider: str
    model: str
    currency: Currency
    input_per_mtok: NonNegative = Field(le=MAX_AMOUNT)
    output_per_mtok: NonNegative = Field(le=MAX_AMOUNT)
    cached_input_per_mtok: NonNegative | None = Field(default=None, le=MAX_AMOUNT)
    batch_discount: Fraction | None = Field(
        default=None, description="Fraction off list price for batch (deferrable) requests"
    )
    context_tokens: PositiveInt | None = None
    rate_limit_tokens_per_minute: Positive | None = None


class MeasuredThroughput(Sourced):
    """A benchmarked deployment; overrides the roofline for the same gpu, precision and tp and a
    shape within 25% of input and output tokens (rule in docs/roofline.md)."""

    gpu: str
    precision: Precision
    kv_precision: Precision | None = Field(
        default=None, description="KV-cache precision of the benchmark; default as the roofline's"
    )
    tp: PositiveInt = 1
    input_tokens: PositiveInt
    output_tokens: PositiveInt
    output_tokens_per_s_per_gpu: Positive = Field(
        description="Output tokens per second per GPU (whole group's output / GPUs), tokens/s"
    )
    concurrency: PositiveInt | None = Field(
        default=None,
        description="Requests in flight per tensor-parallel group during the benchmark; "
        "None = offline maximum throughput (all requests queued)",
    )
    notes: str | None = None


class Model(Sourced):
    """An open-weight architecture. MoE models give experts and active parameters."""

    name: str | None = None
    params_b: Positive = Field(le=1e5, description="Total parameters, billions")
    active_params_b: Positive | None = Field(
        default=None, description="Parameters used per token (MoE), billions"
    )
    layers: PositiveInt
    hidden_size: PositiveInt
    attention_heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    attention: Literal["gqa", "mla"] = "gqa"
    kv_lora_rank: PositiveInt | None = None
    rope_head_dim: PositiveInt | None = None
    experts: PositiveInt | None = None
    experts_per_token: PositiveInt | None = None
    max_context: PositiveInt
    measured: list[MeasuredThroughput] = Field(default_factory=list)

    @model_validator(mode="after")
    def _architecture_consistent(self) -> Model:
        if self.attention == "mla" and (self.kv_lora_rank is None or self.rope_head_dim is None):
            raise ValueError("attention 'mla' needs kv_lora_rank and rope_head_dim")
        if (self.experts is None) != (self.experts_per_token is None):
            raise ValueError("give both experts and experts_per_token, or neither")
        if self.experts is not None:
            if self.experts_per_token > self.experts:
                raise ValueError("experts_per_token cannot exceed experts")
            if self.active_params_b is None:
                raise ValueError("a mixture-of-experts model needs active_params_b")
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise ValueError("active_params_b cannot exceed params_b")
        if self.kv_heads > self.attention_heads:
            raise ValueError("kv_heads cannot exceed attention_heads")
        return self


class Finance(Sourced):
    """Money conventions. A scenario's `finance` overrides any of these fields."""

    currency: Currency = Field(description="Reporting currency")
    fx: dict[Currency, Positive] = Field(
        default_factory=dict,
        description="Units of the reporting currency per unit of another currency",
    )
    cost_of_capital: Fraction = Field(description="Yearly rate, 0.133 = 13.3%")
    discount_rate: Fraction | None = Field(default=None, description="Defaults to cost_of_capital")
    depreciation_years: Positive = Field(le=30)
    depreciation_method: Literal["straight_line", "annuity"] = "straight_line"
    colocation_per_kw_month: NonNegative = Field(le=MAX_AMOUNT)
    provisioned_kw_per_gpu: NonNegative = Field(le=100)
    electricity_per_kwh: NonNegative = Field(le=MAX_AMOUNT)
    pue: float = Field(ge=1.0, le=5.0)
    staff_cost_per_year: NonNegative = Field(default=0.0, le=MAX_AMOUNT)
    gpus_per_staff: Positive | None = None
    other_opex_per_gpu_year: NonNegative = Field(
        default=0.0, le=MAX_AMOUNT, description="Maintenance, network, software per GPU-year"
    )
    site_setup_cost: NonNegative = Field(default=0.0, le=MAX_AMOUNT)
    site_fixed_cost_per_year: NonNegative = Field(default=0.0, le=MAX_AMOUNT)
    api_price_change_per_year: float = Field(default=0.0, gt=-1.0, le=10.0)
    rental_price_change_per_year: float = Field(default=0.0, gt=-1.0, le=10.0)
    purchase_price_change_per_year: float = Field(default=0.0, gt=-1.0, le=10.0)
    utilization: PositiveFraction = Field(
        default=1.0, description="Share of paid GPU-hours doing useful work (seed 003)"
    )
    sources: dict[str, str] = Field(default_factory=dict, description="Field name -> source")

    @property
    def effective_discount_rate(self) -> float:
        return self.cost_of_capital if self.discount_rate is None else self.discount_rate


class Catalog(Strict):
    """The five catalog files together."""

    gpus: dict[str, Gpu]
    offers: dict[str, Offer]
    apis: dict[str, Api]
    models: dict[str, Model]
    finance: Finance
