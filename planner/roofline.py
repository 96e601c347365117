"""Roofline performance model of LLM serving (SPEC section 6; formulas in docs/roofline.md).

What one GPU serves for a (model, GPU, weight precision, KV precision, tensor-parallel degree,
request shape, SLO). Pure functions of the validated catalog objects: no YAML, no I/O.

The physics, per tensor-parallel group of `tp` GPUs:
- memory: weights (all experts resident) + KV cache of every sequence at full context must fit in
  usable_memory_fraction x memory_gb per GPU;
- a decode step of batch B takes max(memory time, compute time) + all-reduce time, where memory time
  reads the weights (for MoE only the experts the batch touches in expectation) and the batch's KV
  cache at its average context, and compute time is 2 x active params x B plus attention FLOPs;
- continuous batching mixes prompts into the decode steps (in-flight batching, chunked prefill):
  a step carries B decode tokens and B x I/O prompt tokens through the same weight matmuls, so a
  memory-bound step hides prompt FLOPs under its weight read; TPOT is the step.
Achievable rates are peak x microbenchmark fraction x engine fraction, all catalog data; `ideal`
sets every efficiency to 1, the usable memory to all of it and removes the engine's batch ceiling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

from planner.errors import InfeasibleError, InputError
from planner.schemas.catalog import Catalog, Gpu, MeasuredThroughput, Model
from planner.units import (
    BYTES_PER_GB,
    BYTES_PER_TB,
    BYTES_PER_VALUE,
    FLOPS_PER_TFLOPS,
    SECONDS_PER_HOUR,
    TOKENS_PER_MTOK,
)

# Tensor-parallel all-reduces exchange activations, which engines keep in 16 bits whatever the
# weight precision; Megatron-style TP needs two per layer (after attention, after the MLP).
ACTIVATION_BYTES = 2.0
ALLREDUCES_PER_LAYER = 2
TP_CHOICES = (1, 2, 4, 8, 16, 32, 64)
# A measured entry overrides the roofline for shapes within this relative distance (both lengths).
MEASURED_SHAPE_TOLERANCE = 0.25
# Integer weight formats can run weight-only (W8A16 / W4A16: dequantized into 16-bit matmuls) on a
# GPU without integer tensor cores for them; float formats (fp8, fp4) need the hardware.
WEIGHT_ONLY_PRECISIONS = ("int8", "int4")
# Default precision order for best_deployment: lowest bytes first, never below fp8 unless asked.
DEFAULT_PRECISIONS = ("fp8", "bf16", "fp16")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Throughput:
    """What one GPU serves for one deployment and request shape. Times in ms, rates per second."""

    model: str
    gpu: str
    precision: str
    kv_precision: str
    tp: int
    weights_gb: float  # whole model, all GPUs of the TP group
    kv_bytes_per_token: float  # whole model, bytes per token of context
    max_batch: int  # largest batch whose weights + full-context KV fit (after engine ceiling)
    batch: int  # chosen batch (best under SLO, or the one asked)
    decode_step_ms: float
    prefill_ms: float  # prefill time of one request's input, alone on the group
    ttft_ms: float
    output_tokens_per_s_per_gpu: float
    total_tokens_per_s_per_gpu: float  # (input + output) tokens served per second per GPU
    bound: str  # "memory" | "compute" (decode step), "measured" when an entry overrode it
    measured: bool  # True when a catalog `measured` entry overrode the roofline
    input_tokens: int
    output_tokens: int
    tpot_ms: float = 0.0  # time between output tokens: one step, new prompts' tokens included
    usable_memory_gb: float = 0.0  # usable memory of the whole TP group
    ideal: bool = False
    measured_source: str | None = None
    # Requests in flight beyond max_batch (--batch/--concurrency above what fits) wait in a queue;
    # queue_wait_ms is the mean wait that adds to their TTFT.
    queued: int = 0
    queue_wait_ms: float = 0.0
    calibration_family: str | None = None
    calibration_status: str | None = None

    @property
    def requests_per_gpu_hour(self) -> float:
        """Requests of this shape one GPU completes per hour."""
        return self.output_tokens_per_s_per_gpu * SECONDS_PER_HOUR / self.output_tokens

    @property
    def gpu_hours_per_mtok(self) -> float:
        """GPU-hours per million total (input + output) tokens."""
        return TOKENS_PER_MTOK / (self.total_tokens_per_s_per_gpu * SECONDS_PER_HOUR)

    @property
    def total_tokens_per_gpu_hour(self) -> float:
        return self.total_tokens_per_s_per_gpu * SECONDS_PER_HOUR

    def as_dict(self) -> dict:
        """Every SPEC section 9 key of `planner throughput`, plus the derived figures."""
        out = asdict(self)
        out["calibration"] = {"family": out.pop("calibration_family"),
                              "status": out.pop("calibration_status")}
        out["requests_per_gpu_hour"] = self.requests_per_gpu_hour
        out["gpu_hours_per_mtok"] = self.gpu_hours_per_mtok
        out["total_tokens_per_gpu_hour"] = self.total_tokens_per_gpu_hour
        return out


@dataclass(frozen=True)
class Step:
    """One decode step of the TP group, per GPU, in seconds. The weight matmuls and the attention
    are separate kernels, so each is bounded by its own roofline and their times add."""

    gemm_memory_s: float  # weights read
    gemm_compute_s: float  # 2 x active params x B
    attention_memory_s: float  # KV cache read at the batch's mean context
    attention_compute_s: float
    comm_s: float  # tensor-parallel all-reduces
    overhead_s: float = 0.0  # fixed per step: scheduling, launches, sampling

    @property
    def total_s(self) -> float:
        return (max(self.gemm_memory_s, self.gemm_compute_s)
                + max(self.attention_memory_s, self.attention_compute_s) + self.comm_s
                + self.overhead_s)

    @property
    def bound(self) -> str:
        """Attention is memory-bound in decode; the weight matmuls decide."""
        return "memory" if self.gemm_memory_s >= self.gemm_compute_s else "compute"


@dataclass(frozen=True)
class Rates:
    """Achievable per-GPU rates after calibration (or the peaks, when ideal)."""

    bandwidth_bytes_per_s: float
    flops_per_s: float
    gemm_half_rows: float
    usable_memory_bytes: float
    link_bytes_per_s: float  # one direction
    allreduce_latency_s: float
    batch_ceiling: int | None
    step_overhead_s: float = 0.0


# --------------------------------------------------------------------------- geometry


def bytes_per_value(precision: str) -> float:
    try:
        return BYTES_PER_VALUE[precision]
    except KeyError:
        raise InputError(f"unknown precision {precision!r}; allowed: "
                         + ", ".join(BYTES_PER_VALUE)) from None


def check_request(model: Model, input_tokens: int, output_tokens: int, *,
                  precision: str | None = None, ttft_ms: float | None = None,
                  tpot_ms: float | None = None, model_id: str = "") -> None:
    """InputError for a request no GPU could serve because the options are wrong (not because
    of the GPU): token counts, the model's context, the SLO, an unknown precision. Callers
    that try many GPUs check once, then skip the GPUs that cannot serve it."""
    if input_tokens < 1 or output_tokens < 1:
        raise InputError(f"input and output tokens must be at least 1, got {input_tokens} and "
                         f"{output_tokens}")
    if input_tokens + output_tokens > model.max_context:
        raise InputError(f"{model_id or 'model'}: {input_tokens} + {output_tokens} tokens exceed "
                         f"its max_context of {model.max_context}")
    for name, value in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise InputError(f"{name} must be a positive number of milliseconds, got {value}")
    if precision is not None:
        bytes_per_value(precision)


def weights_bytes(model: Model, precision: str) -> float:
    """All parameters (every expert of a MoE is resident), bytes."""
    return model.params_b * 1e9 * bytes_per_value(precision)


def kv_bytes_per_token(model: Model, kv_precision: str) -> float:
    """KV cache per token of context, whole model. GQA/MHA: 2 (K and V) x layers x kv_heads x
    head_dim x bytes; MLA stores one latent of kv_lora_rank + rope_head_dim per layer."""
    size = bytes_per_value(kv_precision)
    if model.attention == "mla":
        return model.layers * (model.kv_lora_rank + model.rope_head_dim) * size
    return 2 * model.layers * model.kv_heads * model.head_dim * size


def kv_shards(model: Model, tp: int, pipeline_stages: int = 1) -> int:
    """Into how many disjoint parts a group of `tp` GPUs splits the KV cache. GQA shards by KV
    head, so a tensor-parallel width above kv_heads replicates heads; MLA has no heads in its
    latent, so it is served with data-parallel attention (each GPU keeps the latents of its own
    sequences). Pipeline stages split the layers, so each holds its own layers' cache."""
    if model.attention == "mla":
        return tp
    return min(tp // pipeline_stages, model.kv_heads) * pipeline_stages


def moe_params(model: Model) -> tuple[float, float]:
    """(always-read params, routed-expert params), counts. Solves active = shared + k/E x routed
    and total = shared + routed; a dense model is all shared."""
    total = model.params_b * 1e9
    if model.experts is None:
        return total, 0.0
    share = model.experts_per_token / model.experts
    routed = (total - model.active_params_b * 1e9) / (1.0 - share) if share < 1 else 0.0
    return total - routed, routed


def experts_touched(experts: int, per_token: int, tokens: float) -> float:
    """Expected distinct experts a layer reads for `tokens` tokens routed uniformly:
    E x (1 - (1 - k/E)^tokens)."""
    return experts * (1.0 - (1.0 - per_token / experts) ** tokens)


def decode_weight_bytes(model: Model, precision: str, tokens: float) -> float:
    """Weight bytes read for one forward pass over `tokens` tokens (whole model)."""
    shared, routed = moe_params(model)
    read = shared
    if routed:
        read += routed * experts_touched(model.experts, model.experts_per_token, tokens) \
            / model.experts
    return read * bytes_per_value(precision)


def active_params(model: Model) -> float:
    return (model.active_params_b or model.params_b) * 1e9


def _attention_dims(model: Model, decode: bool) -> tuple[int, int]:
    """(query-key dim, value dim) per head. MLA decodes in the latent space (absorbed weights)
    and prefills with materialized heads of head_dim (+ rope part for QK)."""
    if model.attention == "mla":
        if decode:
            return model.kv_lora_rank + model.rope_head_dim, model.kv_lora_rank
        return model.head_dim + model.rope_head_dim, model.head_dim
    return model.head_dim, model.head_dim


def attention_flops_per_token(model: Model, context: float, decode: bool = True) -> float:
    """Score and weighted-sum FLOPs of one query token against `context` cached tokens."""
    qk, v = _attention_dims(model, decode)
    return 2.0 * model.layers * model.attention_heads * (qk + v) * context


def prefill_flops(model: Model, input_tokens: int) -> float:
    """Matmuls of every input token plus causal attention (token t attends to t tokens)."""
    causal_pairs = input_tokens * (input_tokens + 1) / 2
    return (2.0 * active_params(model) * input_tokens
            + attention_flops_per_token(model, 1.0, decode=False) * causal_pairs)


# --------------------------------------------------------------------------- rates


def compute_precision(gpu: Gpu, precision: str, gpu_id: str = "") -> str:
    """The dense_tflops key the matmuls run at for weights stored in `precision`."""
    bytes_per_value(precision)
    if precision in gpu.dense_tflops:
        return precision
    sixteen = [p for p in ("bf16", "fp16") if p in gpu.dense_tflops]
    if precision in ("fp16", "bf16", *WEIGHT_ONLY_PRECISIONS) and sixteen:
        return sixteen[0]
    name = gpu_id or gpu.name or "this GPU"
    raise InputError(f"{name} has no {precision} tensor cores (its dense_tflops lists "
                     f"{', '.join(gpu.dense_tflops)}); int8/int4 may run weight-only on 16-bit "
                     "matmuls, fp8 and fp4 need hardware support")


def rates(gpu: Gpu, precision: str, ideal: bool = False, gpu_id: str = "") -> Rates:
    key = compute_precision(gpu, precision, gpu_id)
    peak_flops = gpu.dense_tflops[key] * FLOPS_PER_TFLOPS
    peak_bw = gpu.memory_bandwidth_tb_per_s * BYTES_PER_TB
    link = gpu.scale_up_bandwidth_gb_per_s * BYTES_PER_GB / 2  # vendors quote both directions
    memory = gpu.memory_gb * BYTES_PER_GB
    if ideal:
        return Rates(peak_bw, peak_flops, 0.0, memory, link, 0.0, None)
    matmul = gpu.compute_efficiency_by_precision.get(key, gpu.compute_efficiency)
    return Rates(
        bandwidth_bytes_per_s=peak_bw * gpu.bandwidth_efficiency * gpu.engine_bandwidth_efficiency,
        flops_per_s=peak_flops * matmul * gpu.engine_compute_efficiency,
        gemm_half_rows=gpu.gemm_half_efficiency_rows,
        usable_memory_bytes=memory * gpu.usable_memory_fraction,
        link_bytes_per_s=link,
        allreduce_latency_s=gpu.allreduce_latency_us * 1e-6,
        batch_ceiling=gpu.engine_max_batch,
        step_overhead_s=gpu.step_overhead_ms * 1e-3,
    )


def allreduce_seconds(model: Model, r: Rates, tp: int, tokens: float) -> float:
    """Ring all-reduce of `tokens` x hidden activations, twice per layer: each GPU sends and
    receives 2 (tp-1)/tp of the message over its scale-up link, plus a fixed latency."""
    if tp == 1:
        return 0.0
    message = tokens * model.hidden_size * ACTIVATION_BYTES
    one = 2 * (tp - 1) / tp * message / r.link_bytes_per_s + r.allreduce_latency_s
    return model.layers * ALLREDUCES_PER_LAYER * one


# --------------------------------------------------------------------------- times


def decode_step(model: Model, r: Rates, *, precision: str, kv_precision: str, tp: int,
                batch: int, context: float, prefill_tokens: float = 0.0,
                prefill_context: float = 0.0, pipeline_stages: int = 1) -> Step:
    """Time of one step of `batch` decoding sequences at mean `context` tokens, per GPU, with
    `prefill_tokens` tokens of new requests' prompts in the same forward pass (mixed batching:
    TensorRT-LLM in-flight batching with chunked context, vLLM/SGLang chunked prefill); those
    attend to `prefill_context` earlier prompt tokens on average.
    Every token of the step is a row of the same weight matmuls: the weights are read once, and
    the matmuls take the larger of that read and their FLOPs. A dense matmul of few rows is slow
    because of its weight read, which the memory side already counts; a MoE's routed experts each
    see only rows x k/E of them (grouped GEMM), padded to the kernel's tiles, so those matmuls
    run at M / (M + gemm_half_efficiency_rows) of their large-shape efficiency.
    With `pipeline_stages` P > 1 the `tp` GPUs form P stages of tp/P tensor-parallel GPUs, each
    holding 1/P of the layers, and the batch runs as P micro-batches that keep every stage busy
    (TensorRT-LLM and vLLM pipeline parallelism): the step is one round in which every sequence
    gets a token. Per GPU the FLOPs and KV reads are those of a tp-wide tensor-parallel group, but
    each stage reads its weights once per micro-batch (P times a round) and all-reduces only
    within its tp/P GPUs, for micro-batches of rows/P tokens."""
    rows = batch + prefill_tokens
    stages = pipeline_stages
    kv_read = batch * context * kv_bytes_per_token(model, kv_precision) \
        / kv_shards(model, tp, stages)
    weights_read = stages * decode_weight_bytes(model, precision, rows / stages) / tp
    shared, _ = moe_params(model)
    shared_flops = 2.0 * min(shared, active_params(model)) * rows
    routed_flops = 2.0 * active_params(model) * rows - shared_flops
    gemm_flops = shared_flops
    if routed_flops > 0:
        expert_rows = rows / stages * model.experts_per_token / model.experts
        gemm_flops += routed_flops / (expert_rows / (expert_rows + r.gemm_half_rows))
    attention_flops = batch * attention_flops_per_token(model, context) \
        + prefill_tokens * attention_flops_per_token(model, prefill_context, decode=False)
    return Step(
        gemm_memory_s=weights_read / r.bandwidth_bytes_per_s,
        gemm_compute_s=gemm_flops / tp / r.flops_per_s,
        attention_memory_s=kv_read / r.bandwidth_bytes_per_s,
        attention_compute_s=attention_flops / tp / r.flops_per_s,
        comm_s=allreduce_seconds(model, r, tp // stages, rows / stages),
        overhead_s=r.step_overhead_s,
    )


def decode_step_seconds(model: Model, gpu: Gpu, *, precision: str, batch: int = 1,
                        context: float = 0.0, kv_precision: str | None = None, tp: int = 1,
                        ideal: bool = False) -> float:
    """Decode step time in seconds without any fit check (seed 002's single-card arithmetic)."""
    r = rates(gpu, precision, ideal)
    return decode_step(model, r, precision=precision, kv_precision=kv_precision or precision,
                       tp=tp, batch=batch, context=context).total_s


def prefill_seconds(model: Model, r: Rates, *, precision: str, tp: int,
                    input_tokens: int, pipeline_stages: int = 1) -> tuple[float, float]:
    """(marginal, standalone) prefill time of one request's input on the group.
    Marginal: its compute and all-reduces inside a running batch, whose weight reads the decode
    step already pays. Standalone: alone, the larger of compute and one read of the weights,
    plus the fixed overhead of one forward pass. With pipeline stages the marginal cost is
    shared by all tp GPUs, but a prompt alone crosses the stages one after the other, so its
    latency is that of one tp/P-wide tensor-parallel group."""
    width = tp // pipeline_stages
    flops = prefill_flops(model, input_tokens)
    comm = allreduce_seconds(model, r, width, input_tokens)
    alone = flops / width / r.flops_per_s
    weights = decode_weight_bytes(model, precision, input_tokens) / width \
        / r.bandwidth_bytes_per_s
    return (flops / tp / r.flops_per_s + comm,
            max(alone, weights) + comm + r.step_overhead_s)


def poisson_utilization(batch: int, percentile: float = 0.99) -> float:
    """Share of its closed-loop throughput an engine of `batch` slots sustains under Poisson
    arrivals when at most 1 - percentile of requests may wait for a slot (a latency SLO at that
    percentile, as MLPerf's Server scenario). Square-root staffing (Halfin-Whitt): B slots carry
    an offered load a with B = a + z sqrt(a), z the normal quantile; the result is a / B."""
    z = NormalDist().inv_cdf(percentile)
    root = (-z + math.sqrt(z * z + 4 * batch)) / 2
    return root * root / batch


# --------------------------------------------------------------------------- one deployment


@dataclass(frozen=True)
class _Point:
    batch: int
    step: Step
    tpot_s: float
    ttft_s: float
    output_per_s_group: float


@dataclass(frozen=True)
class _Deployment:
    """A (model, gpu, precision, kv precision, tp, shape) with its memory fit worked out."""

    model: Model
    rates: Rates
    precision: str
    kv_precision: str
    tp: int
    input_tokens: int
    output_tokens: int
    fit_batch: int  # sequences that fit by memory alone
    prefill_marginal_s: float
    prefill_standalone_s: float
    pipeline_stages: int = 1

    @property
    def max_batch(self) -> int:
        ceiling = self.rates.batch_ceiling
        return self.fit_batch if ceiling is None else min(self.fit_batch, ceiling)

    def point(self, batch: int) -> _Point:
        """Continuous batching at steady state with mixed batching: B sequences decode at mean
        context I + O/2, and each finished sequence is replaced by a new one whose prompt rides
        in the same steps, so a step carries B decode tokens and on average B x I/O prompt
        tokens. Every sequence gets one token per step: TPOT is the step."""
        out = self.output_tokens
        step = decode_step(self.model, self.rates, precision=self.precision,
                           kv_precision=self.kv_precision, tp=self.tp, batch=batch,
                           context=self.input_tokens + out / 2,
                           prefill_tokens=batch * self.input_tokens / out,
                           prefill_context=(self.input_tokens + 1) / 2,
                           pipeline_stages=self.pipeline_stages)
        decode_only = decode_step(self.model, self.rates, precision=self.precision,
                                  kv_precision=self.kv_precision, tp=self.tp, batch=batch,
                                  context=self.input_tokens + out / 2,
                                  pipeline_stages=self.pipeline_stages)
        # The share of each step the prompts add: the load on the "prefill server" a new
        # request waits for (M/D/1 mean wait), plus half a step for the step in progress.
        prefill_share = 1.0 - decode_only.total_s / step.total_s
        wait_s = prefill_share / (2 * (1 - prefill_share)) * self.prefill_marginal_s
        ttft_s = self.prefill_standalone_s + wait_s + step.total_s / 2
        return _Point(batch, step, step.total_s, ttft_s, batch / step.total_s)


def _deployment(model: Model, gpu: Gpu, r: Rates, precision: str, kv_precision: str, tp: int,
                input_tokens: int, output_tokens: int, pipeline_stages: int = 1) -> _Deployment:
    kv_seq_per_gpu = (input_tokens + output_tokens) * kv_bytes_per_token(model, kv_precision) \
        / kv_shards(model, tp, pipeline_stages)
    free = r.usable_memory_bytes - weights_bytes(model, precision) / tp
    fit = max(0, math.floor(free / kv_seq_per_gpu)) if free > 0 else 0
    marginal, standalone = prefill_seconds(model, r, precision=precision, tp=tp,
                                           input_tokens=input_tokens,
                                           pipeline_stages=pipeline_stages)
    return _Deployment(model, r, precision, kv_precision, tp, input_tokens, output_tokens,
                       fit, marginal, standalone, pipeline_stages)


def default_kv_precision(gpu: Gpu, precision: str) -> str:
    """fp8 and fp4 weights keep an fp8 cache (TensorRT-LLM, vLLM and SGLang fp8/NVFP4 recipes,
    MLPerf's "FP8 KV"); 16-bit and int8 weights keep their own precision; int4 weights (weight-only
    AWQ/GPTQ) keep fp8 where the GPU has fp8, else 16 bits."""
    if precision in ("fp8", "fp4"):
        return "fp8"
    if precision in ("fp32", "fp16", "bf16", "int8"):
        return precision
    return "fp8" if "fp8" in gpu.dense_tflops else "fp16"


def _gb(value_bytes: float) -> str:
    return f"{value_bytes / BYTES_PER_GB:,.1f} GB"


def _no_fit_message(model: Model, gpu: Gpu, r: Rates, precision: str, kv_precision: str,
                    tp: int, input_tokens: int, output_tokens: int, model_id: str,
                    gpu_id: str, ideal: bool) -> str:
    context = input_tokens + output_tokens
    weights = weights_bytes(model, precision)
    kv_seq = context * kv_bytes_per_token(model, kv_precision)
    per_gpu = r.usable_memory_bytes
    share = "" if ideal else f" ({gpu.usable_memory_fraction:g} x {gpu.memory_gb:g} GB each)"
    text = (f"{model_id or 'the model'} at {precision} does not fit on {tp} x {gpu_id or 'GPU'}: "
            f"weights need {_gb(weights)} plus {_gb(kv_seq)} of {kv_precision} KV cache for one "
            f"{context}-token sequence, and {tp} GPU(s) offer {_gb(per_gpu * tp)} usable{share}.")
    needed = next((n for n in TP_CHOICES if _deployment(
        model, gpu, r, precision, kv_precision, n, input_tokens, output_tokens).fit_batch >= 1),
        None)
    options = []
    if needed is not None and needed <= gpu.gpus_per_node:
        options.append(f"--tp {needed} ({needed} GPUs) at {precision}")
    elif needed is not None:
        options.append(f"{needed} GPUs at {precision}, more than one {gpu.gpus_per_node}-GPU node "
                       "(pipeline parallelism across nodes is not modelled)")
    for lower in ("fp8", "int8", "int4", "fp4"):
        if bytes_per_value(lower) >= bytes_per_value(precision):
            continue
        try:
            lower_rates = rates(gpu, lower, ideal)
        except InputError:
            continue
        lower_kv = kv_precision if bytes_per_value(kv_precision) <= bytes_per_value(lower) \
            else default_kv_precision(gpu, lower)
        for n in TP_CHOICES:
            if n > gpu.gpus_per_node:
                break
            if _deployment(model, gpu, lower_rates, lower, lower_kv, n, input_tokens,
                           output_tokens).fit_batch >= 1:
                weights_text = _gb(weights_bytes(model, lower))
                options.append(f"--precision {lower} on {n} GPU(s) ({weights_text} of weights)")
                break
    if options:
        text += " It would fit with " + "; or ".join(options) + "."
    else:
        text += " Nothing in one node of this GPU holds it; choose a GPU with more memory."
    return text


def _best_point(dep: _Deployment, ttft_ms: float | None, tpot_ms: float | None,
                batch: int | None) -> _Point | str:
    """The largest batch meeting the SLO (throughput never falls with batch, latency never
    improves), or the asked batch; a string explains why none qualifies."""

    def ok(p: _Point) -> bool:
        return (tpot_ms is None or p.tpot_s * 1e3 <= tpot_ms) and \
            (ttft_ms is None or p.ttft_s * 1e3 <= ttft_ms)

    if batch is not None:
        # More in flight than fits: the engine runs the largest batch and queues the rest.
        return dep.point(min(batch, dep.max_batch))
    low, high = 1, dep.max_batch
    first = dep.point(1)
    if not ok(first):
        tpot_target = f" (target {tpot_ms:g})" if tpot_ms is not None else ""
        ttft_target = f" (target {ttft_ms:g})" if ttft_ms is not None else ""
        return (f"even batch 1 misses the SLO: TPOT {first.tpot_s * 1e3:.1f} ms{tpot_target}, "
                f"TTFT {first.ttft_s * 1e3:.1f} ms{ttft_target}; try a higher tp, a lower "
                "precision or a faster GPU")
    best = first
    while low < high:  # largest feasible batch; feasibility is monotone in batch
        mid = (low + high + 1) // 2
        p = dep.point(mid)
        if ok(p):
            low, best = mid, p
        else:
            high = mid - 1
    return best


def _shape_distance(entry: MeasuredThroughput, input_tokens: int, output_tokens: int) -> float:
    return max(abs(math.log(input_tokens / entry.input_tokens)),
               abs(math.log(output_tokens / entry.output_tokens)))


def matching_measurement(model: Model, gpu_id: str, precision: str, kv_precision: str, tp: int,
                         input_tokens: int, output_tokens: int) -> MeasuredThroughput | None:
    """The measured entry that overrides this deployment: same gpu, precision and tp (and KV
    precision when the entry names one), input and output tokens each within 25% (a log distance
    of ln 1.25); the nearest such shape wins."""
    best, best_distance = None, math.log(1 + MEASURED_SHAPE_TOLERANCE) + 1e-12
    for entry in model.measured:
        if (entry.gpu, entry.precision, entry.tp) != (gpu_id, precision, tp):
            continue
        if entry.kv_precision is not None and entry.kv_precision != kv_precision:
            continue
        distance = _shape_distance(entry, input_tokens, output_tokens)
        if distance <= best_distance:
            best, best_distance = entry, distance
    return best


def _measured_factor(model: Model, gpu: Gpu, r: Rates, entry: MeasuredThroughput,
                     kv_precision: str) -> float:
    """measured / roofline at the benchmark's own shape and batch (its concurrency, or the
    largest batch that fits for an offline run)."""
    dep = _deployment(model, gpu, r, entry.precision, kv_precision, entry.tp,
                      entry.input_tokens, entry.output_tokens)
    if dep.max_batch < 1:
        return 1.0
    batch = dep.max_batch if entry.concurrency is None else min(entry.concurrency, dep.max_batch)
    predicted = dep.point(batch).output_per_s_group / entry.tp
    return entry.output_tokens_per_s_per_gpu / predicted


def _evaluate_tp(model: Model, gpu: Gpu, r: Rates, *, precision: str, kv_precision: str,
                 tp: int, input_tokens: int, output_tokens: int, batch: int | None,
                 ttft_ms: float | None, tpot_ms: float | None, ideal: bool, use_measured: bool,
                 model_id: str, gpu_id: str, pipeline_stages: int = 1) -> Throughput | str:
    dep = _deployment(model, gpu, r, precision, kv_precision, tp, input_tokens, output_tokens,
                      pipeline_stages)
    if dep.max_batch < 1:
        return _no_fit_message(model, gpu, r, precision, kv_precision, tp, input_tokens,
                               output_tokens, model_id, gpu_id, ideal)
    chosen = _best_point(dep, ttft_ms, tpot_ms, batch)
    if isinstance(chosen, str):
        return f"{model_id} on {tp} x {gpu_id} at {precision}: {chosen}"
    output_per_gpu = chosen.output_per_s_group / tp
    bound, source = chosen.step.bound, None
    queued = max(0, batch - dep.max_batch) if batch is not None else 0
    # Closed loop of N = batch requests on B slots (Little's law): each request spends N/B service
    # times (cycle = O x TPOT) in the system, so it waits (N - B)/B cycles before its prefill.
    queue_wait_s = queued / chosen.batch * chosen.tpot_s * output_tokens
    entry = None
    if use_measured and not ideal and gpu_id:
        entry = matching_measurement(model, gpu_id, precision, kv_precision, tp, input_tokens,
                                     output_tokens)
    if entry is not None:
        output_per_gpu *= _measured_factor(model, gpu, r, entry, kv_precision)
        bound, source = "measured", entry.source
    total_per_gpu = output_per_gpu * (input_tokens + output_tokens) / output_tokens
    return Throughput(
        model=model_id, gpu=gpu_id, precision=precision, kv_precision=kv_precision, tp=tp,
        weights_gb=weights_bytes(model, precision) / BYTES_PER_GB,
        kv_bytes_per_token=kv_bytes_per_token(model, kv_precision),
        max_batch=dep.max_batch, batch=chosen.batch,
        decode_step_ms=chosen.step.total_s * 1e3,
        prefill_ms=dep.prefill_standalone_s * 1e3,
        ttft_ms=(chosen.ttft_s + queue_wait_s) * 1e3,
        output_tokens_per_s_per_gpu=output_per_gpu,
        total_tokens_per_s_per_gpu=total_per_gpu,
        bound=bound, measured=entry is not None,
        input_tokens=input_tokens, output_tokens=output_tokens,
        tpot_ms=chosen.tpot_s * 1e3,
        usable_memory_gb=r.usable_memory_bytes * tp / BYTES_PER_GB,
        ideal=ideal, measured_source=source,
        queued=queued, queue_wait_ms=queue_wait_s * 1e3,
        calibration_family=gpu.family,
        calibration_status="ideal" if ideal else gpu.calibration_status,
    )


def evaluate(model: Model, gpu: Gpu, *, precision: str, input_tokens: int, output_tokens: int,
             kv_precision: str | None = None, tp: int | None = None, batch: int | None = None,
             ttft_ms: float | None = None, tpot_ms: float | None = None, ideal: bool = False,
             model_id: str = "", gpu_id: str = "", use_measured: bool = True,
             pipeline_stages: int = 1) -> Throughput:
    """What one GPU serves. tp=None picks the degree (1, 2, 4, 8 ... up to gpus_per_node) with the
    most output tokens per GPU; batch=None picks the largest batch meeting the SLO (ms); a batch
    above what fits runs the largest that fits and reports the rest as queued.
    pipeline_stages P splits the group's tp GPUs into P pipeline stages of tp/P (decode_step);
    the calibration uses it for MLPerf systems run as TP x PP, the plans never do.
    Raises InputError for bad options, InfeasibleError (exit 3) when nothing fits or meets the
    SLO, with the explanation. use_measured=False ignores the catalog's measured entries."""
    check_request(model, input_tokens, output_tokens, precision=precision, ttft_ms=ttft_ms,
                  tpot_ms=tpot_ms, model_id=model_id)
    if batch is not None and batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    kv = kv_precision or default_kv_precision(gpu, precision)
    bytes_per_value(kv)
    r = rates(gpu, precision, ideal, gpu_id)
    if tp is not None and (tp < 1 or tp > gpu.gpus_per_node):
        raise InputError(f"--tp must be between 1 and {gpu.gpus_per_node} (the GPUs of one "
                         f"{gpu_id or 'GPU'} node), got {tp}")
    choices = [tp] if tp is not None else [n for n in TP_CHOICES if n <= gpu.gpus_per_node]
    if pipeline_stages < 1 or any(n % pipeline_stages for n in choices):
        raise InputError(f"pipeline_stages must be at least 1 and divide the group's GPUs, got "
                         f"{pipeline_stages} for tp {tp}")
    results: list[Throughput] = []
    reasons: list[str] = []
    for n in choices:
        got = _evaluate_tp(model, gpu, r, precision=precision, kv_precision=kv, tp=n,
                           input_tokens=input_tokens, output_tokens=output_tokens, batch=batch,
                           ttft_ms=ttft_ms, tpot_ms=tpot_ms, ideal=ideal,
                           use_measured=use_measured, model_id=model_id, gpu_id=gpu_id,
                           pipeline_stages=pipeline_stages)
        (reasons if isinstance(got, str) else results).append(got)
    if not results:
        # The widest group's reason is the most informative (it fits best).
        raise InfeasibleError(reasons[-1])
    # Best output per GPU; ties go to the smaller group (fewer GPUs to schedule).
    return max(results, key=lambda t: (round(t.output_tokens_per_s_per_gpu, 9), -t.tp))


def gpus_that_fit(catalog: Catalog, model_id: str, precision: str, input_tokens: int,
                  output_tokens: int) -> list[str]:
    """'GPU (tp N)' for every catalog GPU that holds the model at `precision` within one node."""
    model, found = catalog.models[model_id], []
    for gpu_id, gpu in catalog.gpus.items():
        try:
            r = rates(gpu, precision, gpu_id=gpu_id)
        except InputError:
            continue
        kv = default_kv_precision(gpu, precision)
        for n in TP_CHOICES:
            if n > gpu.gpus_per_node:
                break
            if _deployment(model, gpu, r, precision, kv, n, input_tokens,
                           output_tokens).max_batch >= 1:
                found.append(f"{gpu_id} (tp {n})")
                break
    return found


def best_reachable_slo(catalog: Catalog, model_id: str, *, input_tokens: int,
                       output_tokens: int, precision: str | None = None,
                       kv_precision: str | None = None, gpus: list[str] | None = None,
                       ttft_ms: float | None = None, tpot_ms: float | None = None) -> dict | None:
    """The lowest TTFT and the lowest TPOT any deployment of the model reaches (batch 1, the
    latency floor), over `gpus` (default every catalog GPU) and every tp that fits, at
    `precision` (default the GPU's default precision). None when the model fits nowhere or the
    shape exceeds its context. `meets_slo`: one deployment meets both targets given."""
    model = catalog.models[model_id]
    if input_tokens + output_tokens > model.max_context:
        return None
    best: dict | None = None
    for gpu_id in gpus if gpus is not None else list(catalog.gpus):
        gpu = catalog.gpus[gpu_id]
        chosen = precision or default_precision(gpu)
        try:
            r = rates(gpu, chosen, gpu_id=gpu_id)
            kv = kv_precision or default_kv_precision(gpu, chosen)
            bytes_per_value(kv)
        except InputError:
            continue
        for n in TP_CHOICES:
            if n > gpu.gpus_per_node:
                break
            dep = _deployment(model, gpu, r, chosen, kv, n, input_tokens, output_tokens)
            if dep.max_batch < 1:
                continue
            p = dep.point(1)
            ttft, tpot = p.ttft_s * 1e3, p.tpot_s * 1e3
            meets = (ttft_ms is None or ttft <= ttft_ms) and (tpot_ms is None or tpot <= tpot_ms)
            if best is None:
                best = {"model": model_id, "ttft_ms": math.inf, "tpot_ms": math.inf,
                        "meets_slo": False}
            best["meets_slo"] = best["meets_slo"] or meets
            if ttft < best["ttft_ms"]:
                best.update(ttft_ms=ttft, ttft_gpu=gpu_id, ttft_tp=n, ttft_precision=chosen)
            if tpot < best["tpot_ms"]:
                best.update(tpot_ms=tpot, tpot_gpu=gpu_id, tpot_tp=n, tpot_precision=chosen)
    return best


def slo_failure_text(best: dict, ttft_ms: float | None, tpot_ms: float | None) -> str:
    """'the SLO is what fails' sentence for a best_reachable_slo result."""
    targets = " and ".join(f"{name} <= {value:g} ms" for name, value in
                           (("TTFT", ttft_ms), ("TPOT", tpot_ms)) if value is not None)
    return (f"{best['model']} fits, but no deployment meets the SLO ({targets}): the best "
            f"reachable (batch 1) is TTFT {best['ttft_ms']:,.1f} ms on {best['ttft_tp']} x "
            f"{best['ttft_gpu']} at {best['ttft_precision']} and TPOT {best['tpot_ms']:,.1f} ms "
            f"on {best['tpot_tp']} x {best['tpot_gpu']} at {best['tpot_precision']}")


def slo_warnings(catalog: Catalog, workloads: dict, gpus: list[str] | None = None) -> list[str]:
    """One line per workload whose self-host models fit but none meets its SLO (for
    `planner validate`); `workloads` maps names to scenario Workload objects."""
    lines = []
    for name, wl in workloads.items():
        if wl.slo.ttft_ms is None and wl.slo.tpot_ms is None:
            continue
        found = [best_reachable_slo(catalog, m, input_tokens=wl.input_tokens,
                                    output_tokens=wl.output_tokens, precision=wl.precision,
                                    kv_precision=wl.kv_precision, gpus=gpus,
                                    ttft_ms=wl.slo.ttft_ms, tpot_ms=wl.slo.tpot_ms)
                 for m in wl.self_host if m in catalog.models]
        found = [b for b in found if b is not None]
        if found and not any(b["meets_slo"] for b in found):
            lines.append(f"workload {name!r}: "
                         + "; ".join(slo_failure_text(b, wl.slo.ttft_ms, wl.slo.tpot_ms)
                                     for b in found))
    return lines


def unfit_text(catalog: Catalog, model_ids: list[str], gpu_ids: list[str], *,
               context_tokens: int, precision: str | None = None) -> str | None:
    """Why none of `model_ids` fits any of `gpu_ids` (None if one does, as far as memory and
    context tell): a request longer than a model's max_context, or weights larger than the
    usable memory of the biggest node. For a plan's "fits no GPU" message."""
    if not gpu_ids:
        return None
    reasons = []
    for model_id in model_ids:
        model = catalog.models[model_id]
        if context_tokens > model.max_context:
            reasons.append(f"{model_id}: the request's {context_tokens:,} tokens exceed its "
                           f"max_context of {model.max_context:,}")
            continue
        nodes = []  # (usable bytes left after the weights, usable, weights, gpu id, precision)
        for gpu_id in gpu_ids:
            gpu = catalog.gpus[gpu_id]
            at = precision or default_precision(gpu)
            usable = gpu.gpus_per_node * gpu.memory_gb * gpu.usable_memory_fraction * BYTES_PER_GB
            weights = weights_bytes(model, at)
            nodes.append((usable - weights, usable, weights, gpu_id, at))
        spare, usable, weights, gpu_id, at = max(nodes)
        if spare > 0:
            return None  # the weights fit a node: the KV cache or the SLO is what fails
        reasons.append(f"{model_id} at {at} needs {_gb(weights)} of weights; the roomiest "
                       f"node, {catalog.gpus[gpu_id].gpus_per_node} x {gpu_id}, holds "
                       f"{_gb(usable)} usable")
    return "; ".join(reasons) or None


def default_precision(gpu: Gpu) -> str:
    """The lowest-byte precision at or above fp8 the GPU computes in (dense_tflops)."""
    for precision in DEFAULT_PRECISIONS:
        if precision in gpu.dense_tflops:
            return precision
    return next(iter(gpu.dense_tflops))


def best_deployment(catalog: Catalog, model_id: str, gpu_id: str, *, input_tokens: int,
                    output_tokens: int, ttft_ms: float | None = None,
                    tpot_ms: float | None = None, precision: str | None = None,
                    use_measured: bool = True,
                    kv_precision: str | None = None) -> Throughput | None:
    """The best (precision, tp) for this model on this GPU under the SLO, measured entries
    taking precedence; None when nothing fits, meets the SLO or the shape is too long."""
    model, gpu = catalog.models[model_id], catalog.gpus[gpu_id]
    chosen = precision or default_precision(gpu)
    try:
        return evaluate(model, gpu, precision=chosen, input_tokens=input_tokens,
                        output_tokens=output_tokens, ttft_ms=ttft_ms, tpot_ms=tpot_ms,
                        model_id=model_id, gpu_id=gpu_id, use_measured=use_measured,
                        kv_precision=kv_precision)
    except (InfeasibleError, InputError):
        return None


def render(t: Throughput) -> str:
    """A short readable table for the terminal."""
    where = f"{t.tp} x {t.gpu}" if t.tp > 1 else t.gpu
    mode = " (ideal roofline)" if t.ideal else ""
    sequence_gb = t.kv_bytes_per_token * (t.input_tokens + t.output_tokens) / BYTES_PER_GB
    step_bound = "roofline; throughput measured" if t.measured else f"{t.bound}-bound"
    rows = [
        ("weights", f"{t.weights_gb:,.1f} GB at {t.precision} (whole model; "
                    f"{t.usable_memory_gb:,.0f} GB usable on the group)"),
        ("KV cache", f"{t.kv_bytes_per_token:,.0f} B/token at {t.kv_precision} "
                     f"({sequence_gb:,.2f} GB per {t.input_tokens + t.output_tokens}-token "
                     "sequence)"),
        ("batch", f"{t.batch} (at most {t.max_batch} fit)"
                  + (f"; {t.queued} more queued, waiting {t.queue_wait_ms:,.0f} ms on average"
                     if t.queued else "")),
        ("decode step", f"{t.decode_step_ms:,.1f} ms ({step_bound})"),
        ("TPOT", f"{t.tpot_ms:,.1f} ms (one step; new prompts ride in the steps)"),
        ("prefill", f"{t.prefill_ms:,.1f} ms for {t.input_tokens} input tokens"),
        ("TTFT", f"{t.ttft_ms:,.1f} ms"),
        ("output", f"{t.output_tokens_per_s_per_gpu:,.1f} tokens/s per GPU"),
        ("total", f"{t.total_tokens_per_s_per_gpu:,.1f} tokens/s per GPU "
                  f"({t.gpu_hours_per_mtok:,.4f} GPU-hours per million tokens)"),
    ]
    if t.calibration_status:
        rows.append(("calibration", f"{t.calibration_family or '-'} family, "
                                    f"{t.calibration_status}"))
    if t.measured:
        rows.append(("measured", f"overridden by a catalog measurement: {t.measured_source}"))
    width = max(len(name) for name, _ in rows)
    head = f"{t.model} on {where}, {t.input_tokens} in + {t.output_tokens} out{mode}"
    return "\n".join([head, *(f"  {name:<{width}}  {value}" for name, value in rows)])
