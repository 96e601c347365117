"""Per-family calibration on the public rows of calibration/ (docs/roofline.md, 'Calibration')."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner import roofline
from planner.errors import InputError
from planner.loading import load_catalog
from planner.studies import calibration

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog():
    return load_catalog().catalog


@pytest.fixture(scope="module")
def rows():
    return calibration.load_rows()


@pytest.fixture(scope="module")
def results(catalog, rows):
    return calibration.table(catalog, rows)


def test_every_public_row_is_there(rows):
    # 5 measured_throughput.csv rows + seed 000 + 32 MLPerf rows.
    assert len(rows) == 38
    assert sum(r.file == "mlperf.csv" for r in rows) == 32
    assert sorted(int(r.file_row) for r in rows if r.file == "mlperf.csv") == list(range(1, 33))
    assert sum(r.input_known for r in rows) == 6


def test_split_is_deterministic_a_third_per_family(rows):
    held = {f: (sum(r.held_out for r in rows if r.family == f),
                sum(r.family == f for r in rows)) for f in calibration.FAMILIES}
    # Sorted by id, index % 3 == 1 held out: 21 -> 7, 7 -> 2, 2 -> 1, 6 -> 2, 2 -> 1.
    assert held == {"hopper": (7, 21), "blackwell": (2, 7), "ampere_ada": (1, 2),
                    "cdna3": (2, 6), "gaudi": (1, 2)}
    assert [r.held_out for r in calibration.load_rows()] == [r.held_out for r in rows]


def test_median_errors_within_targets(results):
    s = calibration.summary(results)
    assert s["known_lengths"]["rows"] == 6
    assert s["known_lengths"]["median_error"] <= 0.15
    for family in calibration.FAMILIES:
        assert s[family]["all"]["median_error"] <= 0.30, family
    # Every row is served (no deployment fails to fit or meet its scenario's SLO).
    assert all(x["predicted"] is not None for x in results)


def test_held_out_rows_never_move_the_fit(catalog, rows):
    # Gaudi has one fit and one held-out row: changing the held-out measurement tenfold leaves
    # the fitted scale where it was.
    reference = {"engine_bandwidth_efficiency": 0.78, "engine_compute_efficiency": 0.76,
                 "gemm_half_efficiency_rows": 128.0}
    base = calibration.fit_family(catalog, rows, "gaudi", 1.5, reference)
    changed = [calibration.Row(**{**r.__dict__, "measured": r.measured * 10})
               if r.held_out else r for r in rows]
    assert calibration.fit_family(catalog, changed, "gaudi", 1.5, reference) == base
    assert base["rows"] == 1 and base["method"].startswith("one scale")


def test_catalog_holds_the_fitted_factors(catalog, rows):
    fits = {f["family"]: f for f in calibration.fit_all(catalog, rows)}
    for gpu_id, gpu in catalog.gpus.items():
        f = fits[gpu.family]
        assert gpu.engine_bandwidth_efficiency == pytest.approx(
            f["engine_bandwidth_efficiency"]), gpu_id
        assert gpu.engine_compute_efficiency == pytest.approx(
            f["engine_compute_efficiency"]), gpu_id
        assert gpu.gemm_half_efficiency_rows == f["gemm_half_efficiency_rows"], gpu_id


def test_calibration_status_follows_the_rows(catalog, rows):
    fitted = {r.gpu for r in rows if not r.held_out}
    for gpu_id, gpu in catalog.gpus.items():
        expected = "fitted" if gpu_id in fitted else "family_only"
        assert gpu.calibration_status == expected, gpu_id
    assert catalog.gpus["A100-80GB"].calibration_status == "family_only"
    assert catalog.gpus["MI325X"].calibration_status == "fitted"


def test_docs_table_is_current(catalog, rows):
    doc = (ROOT / "docs" / "roofline.md").read_text()
    assert calibration.markdown(catalog, rows) in doc, \
        "docs/roofline.md is stale: run python scripts/calibration_table.py"


def test_poisson_utilization_square_root_staffing():
    # B = a + 2.3263 sqrt(a): B = 445 -> sqrt(a) = (-2.3263 + sqrt(2.3263^2 + 1780)) / 2
    # = 19.964, a = 398.56, a/B = 0.8956; B = 1 -> sqrt(a) = 0.3708, a/B = 0.1375.
    assert roofline.poisson_utilization(445) == pytest.approx(0.8956, abs=1e-4)
    assert roofline.poisson_utilization(1) == pytest.approx(0.1375, abs=1e-4)
    z = 2.326348
    a = 60 * roofline.poisson_utilization(60)
    assert a + z * math.sqrt(a) == pytest.approx(60, rel=1e-6)


# --------------------------------------------------------------------------- step overhead


def test_step_overhead_adds_to_every_step_and_batch_1_prefill(catalog):
    model, gpu = catalog.models["llama-3.1-8b"], catalog.gpus["H100-SXM"]
    assert gpu.step_overhead_ms == 1.5
    bare = gpu.model_copy(update={"step_overhead_ms": 0.0})
    for batch in (1, 64):
        with_overhead = roofline.decode_step_seconds(model, gpu, precision="fp8", batch=batch,
                                                     context=1500)
        without = roofline.decode_step_seconds(model, bare, precision="fp8", batch=batch,
                                               context=1500)
        assert with_overhead - without == pytest.approx(1.5e-3)
    t = roofline.evaluate(model, gpu, precision="fp8", tp=1, batch=1, input_tokens=1000,
                          output_tokens=1000, use_measured=False)
    b = roofline.evaluate(model, bare, precision="fp8", tp=1, batch=1, input_tokens=1000,
                          output_tokens=1000, use_measured=False)
    assert t.prefill_ms - b.prefill_ms == pytest.approx(1.5)
    assert t.decode_step_ms - b.decode_step_ms == pytest.approx(1.5)
    # --ideal drops it with every other efficiency.
    ideal = roofline.decode_step_seconds(model, gpu, precision="fp8", batch=1, ideal=True)
    assert ideal == roofline.decode_step_seconds(model, bare, precision="fp8", batch=1,
                                                 ideal=True)


def test_throughput_says_which_calibration(run_cli):
    data = run_cli("throughput", "llama-3.1-8b", "H100-SXM", "--json").json()
    assert data["calibration"] == {"family": "hopper", "status": "fitted"}
    data = run_cli("throughput", "llama-3.1-8b", "A100-80GB", "--json").json()
    assert data["calibration"] == {"family": "ampere_ada", "status": "family_only"}
    data = run_cli("throughput", "llama-3.1-8b", "H100-SXM", "--ideal", "--json").json()
    assert data["calibration"]["status"] == "ideal"
    assert "calibration  hopper family, fitted" in run_cli("throughput", "llama-3.1-8b",
                                                            "H100-SXM").out


# --------------------------------------------------------------------------- new catalog entries


def test_llama_2_kv_cache_mha_and_gqa(catalog):
    # Llama-2-7B is full multi-head: 2 x 32 layers x 32 KV heads x 128 x 2 B = 524,288 B per
    # token, 4x Llama-3.1-8B's 131,072; Llama-2-70B is GQA: 2 x 80 x 8 x 128 x 2 = 327,680 B.
    assert roofline.kv_bytes_per_token(catalog.models["llama-2-7b"], "fp16") == 524_288
    assert roofline.kv_bytes_per_token(catalog.models["llama-2-70b"], "fp16") == 327_680


def test_l4_and_a10g_hold_few_llama_2_7b_sequences(catalog):
    # 24 GB x 0.9 = 21.6 GB usable - 6.74e9 x 2 B = 13.48 GB of weights = 8.12 GB; a 2,000-token
    # sequence at 524,288 B/token = 1.049 GB -> 7 sequences on either card.
    for gpu_id in ("L4", "A10G"):
        t = roofline.evaluate(catalog.models["llama-2-7b"], catalog.gpus[gpu_id], precision="fp16",
                              tp=1, input_tokens=1000, output_tokens=1000, gpu_id=gpu_id)
        assert t.max_batch == 7, gpu_id
    # The L4 has half the A10G's bandwidth (300 vs 600 GB/s): memory-bound decode is slower.
    l4 = roofline.evaluate(catalog.models["llama-2-7b"], catalog.gpus["L4"], precision="fp16",
                           tp=1, batch=1, input_tokens=1000, output_tokens=1000)
    a10g = roofline.evaluate(catalog.models["llama-2-7b"], catalog.gpus["A10G"],
                             precision="fp16", tp=1, batch=1, input_tokens=1000,
                             output_tokens=1000)
    assert l4.decode_step_ms > a10g.decode_step_ms


def test_h200_interactive_runs_a_memory_bound_batch_of_about_120(catalog):
    # MLPerf v5.1 H200 Interactive (Llama-2-70B fp8, TPOT <= 40 ms, 2,885 output tokens/s per
    # GPU measured): the engine runs about 140 sequences (B x 0.82 / 0.040 s = 2,885). With
    # prompts riding in the decode steps, B = 121 fits 40 ms: 121 + 121 x 300/292 = 245 rows of
    # matmuls, 245 x 2 x 69e9 FLOPs / (1979e12 x 0.734 x 0.66) = 35.3 ms over a weight read of
    # 69e9 B / (4.8e12 x 0.85 x 0.70) = 24.2 ms, + KV 3.1 ms + 1.5 ms overhead = 39.9 ms.
    # (When prompts came after the decode steps and every matmul paid B/(B + 192), B was 64.)
    gpu = catalog.gpus["H200"].model_copy(update={"engine_max_batch": 512})
    t = roofline.evaluate(catalog.models["llama-2-70b"], gpu, precision="fp8", tp=1,
                          input_tokens=300, output_tokens=292, ttft_ms=450, tpot_ms=40,
                          use_measured=False)
    assert t.batch == 121
    assert t.tpot_ms == pytest.approx(39.9, abs=0.05) and t.tpot_ms == t.decode_step_ms
    predicted = t.output_tokens_per_s_per_gpu * roofline.poisson_utilization(t.batch)
    assert predicted / 2885.0 == pytest.approx(0.85, abs=0.005)


# --------------------------------------------------------------------------- pipeline stages


def test_pipeline_stages_split_layers_not_work(catalog):
    # Llama-3.1-405B fp8 on 8 x H200 as TP4 x PP2 (MLPerf v5.1 Nebius Offline) against TP8, a
    # step of 100 decode tokens at context 1,000: per GPU the FLOPs and KV reads are the same
    # (8 KV shards either way: min(4, 8) x 2 stages = min(8, 8)); each stage reads its weights
    # once per micro-batch (twice a round); the all-reduces run over 4 GPUs for micro-batches of
    # 50 tokens: 126 layers x 2 x (2 x 3/4 x 50 x 16,384 x 2 B / 450 GB/s + 8 us) = 3.392 ms,
    # against 126 x 2 x (2 x 7/8 x 100 x 16,384 x 2 B / 450 GB/s + 8 us) = 5.227 ms.
    model, gpu = catalog.models["llama-3.1-405b"], catalog.gpus["H200"]
    r = roofline.rates(gpu, "fp8")
    args = dict(precision="fp8", kv_precision="fp8", tp=8, batch=100, context=1000)
    tp8 = roofline.decode_step(model, r, **args)
    pp2 = roofline.decode_step(model, r, **args, pipeline_stages=2)
    assert pp2.gemm_compute_s == pytest.approx(tp8.gemm_compute_s)
    assert pp2.attention_memory_s == pytest.approx(tp8.attention_memory_s)
    assert pp2.gemm_memory_s == pytest.approx(2 * tp8.gemm_memory_s)
    assert pp2.comm_s == pytest.approx(3.392e-3, abs=1e-6)
    assert tp8.comm_s == pytest.approx(5.227e-3, abs=1e-6)
    # A prompt alone crosses both stages in turn: its latency is a 4-GPU group's.
    _, alone_pp2 = roofline.prefill_seconds(model, r, precision="fp8", tp=8, input_tokens=10_000,
                                            pipeline_stages=2)
    _, alone_tp4 = roofline.prefill_seconds(model, r, precision="fp8", tp=4, input_tokens=10_000)
    assert alone_pp2 == pytest.approx(alone_tp4)
    with pytest.raises(InputError, match="pipeline_stages"):
        roofline.evaluate(model, gpu, precision="fp8", tp=8, pipeline_stages=3, input_tokens=1000,
                          output_tokens=100)


def test_pipeline_rows_name_their_stages(rows):
    stages = {r.id: r.pipeline_stages for r in rows if r.pipeline_stages > 1}
    assert stages == {"mlperf51-405b-b200-offline": 2, "mlperf51-405b-h200-offline": 2}
