"""Public calibration rows predicted by the roofline, and the per-family fit (docs/roofline.md).

calibration/rows.csv maps every public measurement (calibration/measured_throughput.csv, seed
000, calibration/mlperf.csv) to catalog ids, a request shape and the scenario's SLO. Rows are split
per GPU family, deterministically: sorted by id, every third row from the second on (index % 3 ==
1) is held out of the fit. The fit chooses the family's engine factors (engine_bandwidth_efficiency,
engine_compute_efficiency) and, on Hopper, the small-GEMM rows; the results are written into
catalogs/gpus.yaml by hand, and `python scripts/calibration_table.py --fit` recomputes them.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from planner import roofline
from planner.errors import InfeasibleError, InputError
from planner.schemas.catalog import Catalog

ROWS_PATH = Path(__file__).resolve().parents[2] / "calibration" / "rows.csv"
FAMILIES = ("hopper", "blackwell", "ampere_ada", "cdna3", "gaudi")
# Below this many fit rows a family gets one scale on the reference family's two engine factors
# (one number from one or two rows) instead of two free factors.
MIN_ROWS_FOR_TWO_FACTORS = 3
REFERENCE_FAMILY = "hopper"
# MLPerf Server and Interactive issue queries as a Poisson process with p99 latency limits; the
# engine then runs below its closed-loop throughput (roofline.poisson_utilization).
POISSON_SCENARIOS = ("server", "interactive")


@dataclass(frozen=True)
class Row:
    id: str
    family: str
    file: str
    file_row: str
    model: str
    gpu: str
    precision: str
    kv_precision: str | None
    tp: int | None  # GPUs of the group (tensor x pipeline parallel)
    input_tokens: int
    input_known: bool
    output_tokens: int
    scenario: str  # offline | server | interactive | concurrency | tpot
    concurrency: int | None
    ttft_ms: float | None
    tpot_ms: float | None
    engine_max_batch: int | None  # the submitter's configured batch, where the notes give it
    measured: float  # output tokens/s per GPU
    note: str
    held_out: bool = field(default=False)
    pipeline_stages: int = 1  # a TP x PP system: tp / pipeline_stages GPUs per stage
    engine: str = ""  # serving engine of the submission: trtllm | vllm | nim | synapseai


def _opt(text: str, kind):
    return kind(text) if text.strip() else None


def load_rows(path: Path = ROWS_PATH) -> list[Row]:
    """Every row, with its deterministic fit / held-out mark."""
    with open(path, newline="") as f:
        raw = list(csv.DictReader(f))
    rows = [Row(id=r["id"], family=r["family"], file=r["file"], file_row=r["file_row"],
                model=r["model"], gpu=r["gpu"], precision=r["precision"],
                kv_precision=r["kv_precision"] or None, tp=_opt(r["tp"], int),
                input_tokens=int(r["input_tokens"]), input_known=r["input_known"] == "yes",
                output_tokens=int(r["output_tokens"]), scenario=r["scenario"],
                concurrency=_opt(r["concurrency"], int), ttft_ms=_opt(r["ttft_ms"], float),
                tpot_ms=_opt(r["tpot_ms"], float),
                engine_max_batch=_opt(r["engine_max_batch"], int),
                measured=float(r["measured_output_tokens_per_s_per_gpu"]), note=r["note"],
                pipeline_stages=_opt(r.get("pp") or "", int) or 1,
                engine=r.get("engine") or "")
            for r in raw]
    marked = []
    for family in FAMILIES:
        mine = sorted((r for r in rows if r.family == family), key=lambda r: r.id)
        marked += [Row(**{**r.__dict__, "held_out": i % 3 == 1}) for i, r in enumerate(mine)]
    order = {r.id: i for i, r in enumerate(rows)}
    return sorted(marked, key=lambda r: order[r.id])


def predict(catalog: Catalog, row: Row) -> float | None:
    """Output tokens/s per GPU the pure roofline (measured overrides off) gives the row's
    deployment and scenario; None when it does not fit or meet the SLO."""
    gpu = catalog.gpus[row.gpu]
    if row.engine_max_batch is not None:
        gpu = gpu.model_copy(update={"engine_max_batch": row.engine_max_batch})
    try:
        t = roofline.evaluate(catalog.models[row.model], gpu, precision=row.precision,
                              kv_precision=row.kv_precision, tp=row.tp,
                              input_tokens=row.input_tokens, output_tokens=row.output_tokens,
                              batch=row.concurrency, ttft_ms=row.ttft_ms, tpot_ms=row.tpot_ms,
                              model_id=row.model, gpu_id=row.gpu, use_measured=False,
                              pipeline_stages=row.pipeline_stages)
    except (InfeasibleError, InputError):
        return None
    if row.scenario in POISSON_SCENARIOS:
        return t.output_tokens_per_s_per_gpu * roofline.poisson_utilization(t.batch)
    return t.output_tokens_per_s_per_gpu


def with_factors(catalog: Catalog, family: str, bandwidth: float, compute: float,
                 overhead_ms: float, gemm_half_rows: float) -> Catalog:
    """The catalog with every GPU of `family` given these engine factors and step overhead."""
    gpus = {gid: (g.model_copy(update={"engine_bandwidth_efficiency": bandwidth,
                                       "engine_compute_efficiency": compute,
                                       "step_overhead_ms": overhead_ms,
                                       "gemm_half_efficiency_rows": gemm_half_rows})
                  if g.family == family else g)
            for gid, g in catalog.gpus.items()}
    return catalog.model_copy(update={"gpus": gpus})


def _loss(catalog: Catalog, rows: list[Row]) -> float:
    """Sum of absolute log errors (least absolute deviations: the estimator of the median, which
    is what the goal measures, and robust to a row the physics cannot explain, such as the
    power-capped H100 PCIe); a row the model cannot serve counts as a factor-10 miss."""
    total = 0.0
    for r in rows:
        p = predict(catalog, r)
        total += math.log(10) if p is None else abs(math.log(p / r.measured))
    return total


def _frange(low: float, high: float, step: float) -> list[float]:
    n = int(round((high - low) / step))
    return [round(low + i * step, 4) for i in range(n + 1)]


def fit_family(catalog: Catalog, rows: list[Row], family: str, overhead_ms: float,
               reference: dict | None = None) -> dict:
    """Engine factors of one family fitted on its fit rows (never its held-out rows), the step
    overhead held at its catalog prior (the rows, mostly large batches, do not pin it down).
    The reference family (reference=None) fits both engine factors and the small-GEMM
    half-efficiency rows on a coarse grid refined once; another family with 3 or more fit rows
    fits the two engine factors and takes the reference's GEMM rows; with fewer, one scale on
    the reference's two factors."""
    fit = [r for r in rows if r.family == family and not r.held_out]
    out = {"family": family, "rows": len(fit), "step_overhead_ms": overhead_ms}
    if not fit:
        return {**out, "method": "untested"}

    def loss(bw: float, comp: float, half: float) -> float:
        return _loss(with_factors(catalog, family, bw, comp, overhead_ms, half), fit)

    if reference is not None and len(fit) < MIN_ROWS_FOR_TWO_FACTORS:
        bw_ref = reference["engine_bandwidth_efficiency"]
        comp_ref = reference["engine_compute_efficiency"]
        half = reference["gemm_half_efficiency_rows"]
        _, scale = min((loss(min(1.0, k * bw_ref), min(1.0, k * comp_ref), half), k)
                       for k in _frange(0.3, 1.5, 0.01))
        return {**out, "method": f"one scale ({scale:g}) on {REFERENCE_FAMILY}",
                "engine_bandwidth_efficiency": round(min(1.0, scale * bw_ref), 3),
                "engine_compute_efficiency": round(min(1.0, scale * comp_ref), 3),
                "gemm_half_efficiency_rows": half}
    halves = [reference["gemm_half_efficiency_rows"]] if reference is not None \
        else [0.0, 32.0, 64.0, 96.0, 128.0, 192.0, 256.0]
    best = min((loss(bw, comp, half), bw, comp, half) for half in halves
               for bw in _frange(0.5, 1.0, 0.05) for comp in _frange(0.3, 1.0, 0.05))
    _, bw0, comp0, half = best
    best = min([best] + [(loss(bw, comp, half), bw, comp, half)
                         for bw in _frange(max(0.5, bw0 - 0.04), min(1.0, bw0 + 0.04), 0.01)
                         for comp in _frange(max(0.2, comp0 - 0.04), min(1.0, comp0 + 0.04),
                                             0.01)])
    return {**out, "method": "two factors" + (" and GEMM rows" if reference is None else ""),
            "engine_bandwidth_efficiency": best[1], "engine_compute_efficiency": best[2],
            "gemm_half_efficiency_rows": best[3]}


def fit_all(catalog: Catalog, rows: list[Row]) -> list[dict]:
    """Hopper first (the reference), then every other family, each with the step overhead its
    GPUs carry in the catalog."""
    overhead = {g.family: g.step_overhead_ms for g in catalog.gpus.values()}
    hopper = fit_family(catalog, rows, REFERENCE_FAMILY, overhead.get(REFERENCE_FAMILY, 0.0))
    return [hopper] + [fit_family(catalog, rows, f, overhead.get(f, 0.0), hopper)
                       for f in FAMILIES if f != REFERENCE_FAMILY]


def apply_fit(catalog: Catalog, fits: list[dict]) -> Catalog:
    """The catalog with each fitted family's factors (what gpus.yaml should say)."""
    for f in fits:
        if "engine_bandwidth_efficiency" in f:
            catalog = with_factors(catalog, f["family"], f["engine_bandwidth_efficiency"],
                                   f["engine_compute_efficiency"], f["step_overhead_ms"],
                                   f["gemm_half_efficiency_rows"])
    return catalog


def table(catalog: Catalog, rows: list[Row]) -> list[dict]:
    """One dict per row: predicted with the catalog as it is, ratio and absolute error."""
    out = []
    for r in rows:
        p = predict(catalog, r)
        out.append({"row": r, "predicted": p,
                    "ratio": None if p is None else p / r.measured,
                    "error": 1.0 if p is None else abs(p / r.measured - 1)})
    return out


def summary(results: list[dict]) -> dict:
    """Median absolute error and share within +-30%, per family and split, and overall."""

    def stats(items: list[dict]) -> dict:
        if not items:
            return {"rows": 0, "median_error": None, "within_30": None}
        errors = [x["error"] for x in items]
        return {"rows": len(items), "median_error": statistics.median(errors),
                "within_30": sum(e <= 0.3 for e in errors) / len(errors)}

    out = {"all": stats(results),
           "known_lengths": stats([x for x in results if x["row"].input_known]),
           "held_out": stats([x for x in results if x["row"].held_out]),
           "fit": stats([x for x in results if not x["row"].held_out])}
    for family in FAMILIES:
        mine = [x for x in results if x["row"].family == family]
        out[family] = {"all": stats(mine),
                       "fit": stats([x for x in mine if not x["row"].held_out]),
                       "held_out": stats([x for x in mine if x["row"].held_out])}
    return out


# --------------------------------------------------------------------------- docs table

MICROBENCHMARKS_PATH = ROWS_PATH.parent / "microbenchmarks.csv"
# microbenchmarks.csv row (1-based) -> (catalog GPU, precision) whose achieved matmul TFLOPS
# (dense peak x compute_efficiency_by_precision) it measured.
MICROBENCHMARK_GPUS = {1: ("A100-80GB", "bf16"), 2: ("H100-SXM", "bf16"), 3: ("GH200", "bf16"),
                       4: ("B200", "bf16"), 5: ("MI300X", "bf16"), 6: ("MI325X", "bf16"),
                       7: ("Gaudi2", "bf16"), 8: ("Gaudi3", "bf16"), 9: ("H100-SXM", "fp8"),
                       10: ("H200", "fp8"), 11: ("GH200", "fp8"), 12: ("B200", "fp8")}
TABLE_START = "<!-- calibration-table: generated by python scripts/calibration_table.py -->"
TABLE_END = "<!-- /calibration-table -->"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def microbenchmark_lines(catalog: Catalog, path: Path = MICROBENCHMARKS_PATH) -> list[str]:
    """Achieved matmul TFLOPS the catalog uses against each MAMF measurement."""
    with open(path, newline="") as f:
        raw = list(csv.DictReader(f))
    lines = ["| microbenchmarks.csv row | GPU | metric | measured | catalog | ratio |",
             "| ---: | --- | --- | ---: | ---: | ---: |"]
    for i, r in enumerate(raw, 1):
        if i in MICROBENCHMARK_GPUS:
            gpu_id, precision = MICROBENCHMARK_GPUS[i]
            gpu = catalog.gpus[gpu_id]
            used = gpu.dense_tflops[precision] * gpu.compute_efficiency_by_precision.get(
                precision, gpu.compute_efficiency)
            measured = float(r["measured"])
            lines.append(f"| {i} | {gpu_id} | {precision} matmul TFLOPS (MAMF) | {measured:,.1f} "
                         f"| {used:,.1f} | {used / measured:.2f} |")
        else:
            lines.append(f"| {i} | {r['gpu']} | HBM bandwidth fraction | {r['measured']} | "
                         "bandwidth_efficiency 0.85 NVIDIA, 0.81 AMD | - |")
    return lines


def markdown(catalog: Catalog, rows: list[Row]) -> str:
    """The predicted-vs-measured section of docs/roofline.md (between the table markers)."""
    results = table(catalog, rows)
    s = summary(results)
    by_family = {f: next((g for g in catalog.gpus.values() if g.family == f), None)
                 for f in FAMILIES}
    out = [TABLE_START, "",
           "Per family (errors are |predicted / measured - 1|; held-out rows were never in the "
           "fit):", "",
           "| family | engine bandwidth x compute | GEMM half rows | step overhead | fit rows | "
           "fit median | held-out rows | held-out median | held-out within 30% | all rows "
           "median | GPUs: calibration_status |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for f in FAMILIES:
        g = by_family[f]
        gpus = ", ".join(f"{gid}: {x.calibration_status}" for gid, x in catalog.gpus.items()
                         if x.family == f)
        fs = s[f]
        out.append(f"| {f} | {g.engine_bandwidth_efficiency:g} x {g.engine_compute_efficiency:g} "
                   f"| {g.gemm_half_efficiency_rows:g} | {g.step_overhead_ms:g} ms "
                   f"| {fs['fit']['rows']} | {_pct(fs['fit']['median_error'])} "
                   f"| {fs['held_out']['rows']} | {_pct(fs['held_out']['median_error'])} "
                   f"| {_pct(fs['held_out']['within_30'])} | {_pct(fs['all']['median_error'])} "
                   f"| {gpus} |")
    out += ["", "| rows | count | median error | within +-30% |", "| --- | ---: | ---: | ---: |"]
    for key, label in (("fit", "fit rows"), ("held_out", "held-out rows"),
                       ("known_lengths", "rows with known lengths"), ("all", "every row")):
        out.append(f"| {label} | {s[key]['rows']} | {_pct(s[key]['median_error'])} "
                   f"| {_pct(s[key]['within_30'])} |")
    out += ["", "Every row (output tokens/s per GPU; `~` marks an assumed mean input length; "
            "tp blank = the model's own choice):", "",
            "| row | family | split | model | GPU x tp | precision (KV) | I/O | scenario | "
            "measured | predicted | ratio |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: |"]
    for x in results:
        r = x["row"]
        where = f"{r.gpu} x {r.tp}" if r.tp else r.gpu
        if r.pipeline_stages > 1:
            where += f" (TP{r.tp // r.pipeline_stages} PP{r.pipeline_stages})"
        kv = r.kv_precision or roofline.default_kv_precision(catalog.gpus[r.gpu], r.precision)
        shape = f"{'' if r.input_known else '~'}{r.input_tokens}/{r.output_tokens}"
        scenario = r.scenario + (f" {r.concurrency}" if r.concurrency else "") + (
            f" (TTFT {r.ttft_ms:g}, TPOT {r.tpot_ms:g} ms)" if r.ttft_ms else
            f" (TPOT {r.tpot_ms:g} ms)" if r.tpot_ms else "")
        predicted = "no fit" if x["predicted"] is None else f"{x['predicted']:,.1f}"
        ratio = "-" if x["ratio"] is None else f"{x['ratio']:.2f}"
        out.append(f"| {r.id} | {r.family} | {'held out' if r.held_out else 'fit'} | {r.model} "
                   f"| {where} | {r.precision} ({kv}) | {shape} | {scenario} "
                   f"| {r.measured:,.1f} | {predicted} | {ratio} |")
    out += ["", "Microbenchmarks (inputs of the model, not fitted: the catalog's achieved matmul "
            "TFLOPS against the measurement):", "", *microbenchmark_lines(catalog), "", TABLE_END]
    return "\n".join(out)
