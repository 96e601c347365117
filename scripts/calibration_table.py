"""Regenerate the predicted-vs-measured table of docs/roofline.md from calibration/rows.csv.

    python scripts/calibration_table.py          # rewrite the table in docs/roofline.md
    python scripts/calibration_table.py --print  # print it instead
    python scripts/calibration_table.py --fit    # refit every family on its fit rows (JSON)
    python scripts/calibration_table.py --lengths  # refit under other assumed MLPerf input lengths
    python scripts/calibration_table.py --allreduce  # refit with slower all-reduces
    python scripts/calibration_table.py --engines  # refit with a vLLM / TensorRT-LLM factor
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

from planner.loading import load_catalog
from planner.studies import calibration

DOC = Path(__file__).resolve().parent.parent / "docs" / "roofline.md"
# MLPerf datasets whose mean input length is assumed (rows.csv input_known = no), by catalog model,
# and the lengths to try: each is refitted on the fit rows alone, one dataset at a time.
ASSUMED_LENGTHS = {
    "llama-2-70b": ("OpenOrca (llama2-70b)", (200, 250, 300, 350, 400)),
    "llama-3.1-8b": ("CNN-DailyMail (llama3.1-8b)", (600, 800, 1000)),
    "mixtral-8x7b": ("OpenOrca + GSM8K + MBXP (mixtral-8x7b)", (300, 500, 700)),
    "llama-3.1-405b": ("long-context set (llama3.1-405b)", (8000, 10000, 12000)),
}


def length_sensitivity(catalog, rows) -> str:
    """Held-out medians when one dataset's assumed mean input length changes (factors refitted on
    the fit rows each time, so a length never borrows from held-out rows)."""
    out = ["| dataset | assumed input | Hopper factors | held-out median | within 30% | "
           + " | ".join(calibration.FAMILIES) + " |",
           "| --- | ---: | --- | ---: | ---: | " + " | ".join("---:" for _ in calibration.FAMILIES)
           + " |"]
    for model, (label, lengths) in ASSUMED_LENGTHS.items():
        for length in lengths:
            changed = [dataclasses.replace(r, input_tokens=length)
                       if r.model == model and not r.input_known else r for r in rows]
            fits = calibration.fit_all(catalog, changed)
            s = calibration.summary(calibration.table(calibration.apply_fit(catalog, fits),
                                                      changed))
            hopper = fits[0]
            fam = " | ".join(calibration._pct(s[f]["held_out"]["median_error"])
                             for f in calibration.FAMILIES)
            out.append(f"| {label} | {length:,} | {hopper['engine_bandwidth_efficiency']:g} x "
                       f"{hopper['engine_compute_efficiency']:g} | "
                       f"{calibration._pct(s['held_out']['median_error'])} | "
                       f"{calibration._pct(s['held_out']['within_30'])} | {fam} |")
    return "\n".join(out)


def allreduce_sensitivity(catalog, rows) -> str:
    """Refit with every GPU's scale-up bandwidth scaled by k (the all-reduce rate a step pays):
    the Hopper fit loss on its fit rows against the held-out and known-length medians."""
    out = ["| all-reduce at k x link | Hopper fit loss (fit rows) | Hopper factors "
           "| GEMM half rows | Hopper held-out median | all held-out median "
           "| known-length median |",
           "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for k in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        gpus = {gid: g.model_copy(update={"scale_up_bandwidth_gb_per_s":
                                          g.scale_up_bandwidth_gb_per_s * k})
                for gid, g in catalog.gpus.items()}
        slower = catalog.model_copy(update={"gpus": gpus})
        fits = calibration.fit_all(slower, rows)
        fitted = calibration.apply_fit(slower, fits)
        hopper_fit = [r for r in rows if r.family == "hopper" and not r.held_out]
        s = calibration.summary(calibration.table(fitted, rows))
        h = fits[0]
        out.append(f"| {k:g} | {calibration._loss(fitted, hopper_fit):.3f} | "
                   f"{h['engine_bandwidth_efficiency']:g} x {h['engine_compute_efficiency']:g} | "
                   f"{h['gemm_half_efficiency_rows']:g} | "
                   f"{calibration._pct(s['hopper']['held_out']['median_error'])} | "
                   f"{calibration._pct(s['held_out']['median_error'])} | "
                   f"{calibration._pct(s['known_lengths']['median_error'])} |")
    return "\n".join(out)


def _engine_scaled(catalog, gpu_id: str, k: float):
    """The catalog with one GPU's two engine factors times k (capped at 1)."""
    g = catalog.gpus[gpu_id]
    scaled = g.model_copy(update={
        "engine_bandwidth_efficiency": min(1.0, k * g.engine_bandwidth_efficiency),
        "engine_compute_efficiency": min(1.0, k * g.engine_compute_efficiency)})
    return catalog.model_copy(update={"gpus": {**catalog.gpus, gpu_id: scaled}})


def engine_sensitivity(catalog, rows) -> str:
    """An engine dimension (rows.csv `engine`): the NVIDIA families fitted on their TensorRT-LLM
    (and NIM) fit rows alone, then one vLLM / TensorRT-LLM factor k on both engine factors, fitted
    (least absolute deviations, fit rows only) on the vLLM rows of NVIDIA GPUs; CDNA3 is vLLM only,
    so its own factors already describe vLLM. Against the shipped fit, and the same refit without
    k (what dropping the vLLM fit row alone does)."""
    def nvidia_vllm(r):
        return r.engine == "vllm" and catalog.gpus[r.gpu].vendor == "NVIDIA"

    vllm_fit = [r for r in rows if nvidia_vllm(r) and not r.held_out]
    fits = calibration.fit_all(catalog, [r for r in rows if r not in vllm_fit])
    refit = calibration.apply_fit(catalog, fits)

    def results(k: float) -> list[dict]:
        out = []
        for r in rows:
            p = calibration.predict(_engine_scaled(refit, r.gpu, k) if nvidia_vllm(r) else refit, r)
            out.append({"row": r, "predicted": p, "ratio": None if p is None else p / r.measured,
                        "error": 1.0 if p is None else abs(p / r.measured - 1)})
        return out

    def loss(k: float) -> float:
        return sum(abs(math.log(x["ratio"])) if x["ratio"] else math.log(10)
                   for x in results(k) if x["row"] in vllm_fit)

    k = min(calibration._frange(0.5, 1.2, 0.005), key=loss)
    pct = calibration._pct
    out = [f"vLLM fit rows on NVIDIA GPUs: {', '.join(r.id for r in vllm_fit)}; k = {k:g}; "
           f"Hopper refitted without them: {fits[0]['engine_bandwidth_efficiency']:g} x "
           f"{fits[0]['engine_compute_efficiency']:g}, GEMM rows "
           f"{fits[0]['gemm_half_efficiency_rows']:g}", "",
           "| variant | held-out median | held-out within 30% | fit median | known-length median | "
           + " | ".join(f"{f} held-out" for f in calibration.FAMILIES) + " |",
           "| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in calibration.FAMILIES)
           + " |"]
    variants = (("shipped catalog", calibration.table(catalog, rows)),
                ("refit without the NVIDIA vLLM fit rows, no k", results(1.0)),
                (f"refit, vLLM x {k:g}", results(k)))
    for label, res in variants:
        s = calibration.summary(res)
        out.append(f"| {label} | {pct(s['held_out']['median_error'])} | "
                   f"{pct(s['held_out']['within_30'])} | {pct(s['fit']['median_error'])} | "
                   f"{pct(s['known_lengths']['median_error'])} | "
                   + " | ".join(pct(s[f]['held_out']['median_error'])
                                for f in calibration.FAMILIES) + " |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    catalog = load_catalog().catalog
    rows = calibration.load_rows()
    if "--allreduce" in argv:
        print(allreduce_sensitivity(catalog, rows))
        return 0
    if "--engines" in argv:
        print(engine_sensitivity(catalog, rows))
        return 0
    if "--lengths" in argv:
        print(length_sensitivity(catalog, rows))
        return 0
    if "--fit" in argv:
        print(json.dumps(calibration.fit_all(catalog, rows), indent=2))
        return 0
    text = calibration.markdown(catalog, rows)
    if "--print" in argv:
        print(text)
        return 0
    doc = DOC.read_text()
    start, end = doc.find(calibration.TABLE_START), doc.find(calibration.TABLE_END)
    if start < 0 or end < 0:
        print(f"{DOC}: no calibration table markers", file=sys.stderr)
        return 2
    DOC.write_text(doc[:start] + text + doc[end + len(calibration.TABLE_END):])
    print(f"wrote the calibration table into {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
