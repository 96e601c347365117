"""The command line as a unit: each command's exit code and the `--json` keys SPEC section 9
promises, on the shipped catalog and a short plan. (Failure modes: test_reliability.py; random
input: test_fuzz.py.)"""

from __future__ import annotations

import pytest
from conftest import SCENARIO_DIR

LIGHT = SCENARIO_DIR / "seed001_light.yaml"
SHORT = ("--set", "months=6")


def test_validate_keys(run_cli) -> None:
    result = run_cli("validate", "--json")
    assert result.code == 0, result.err
    assert {"ok", "problems"} <= set(result.json())
    assert result.json()["ok"] is True and result.json()["problems"] == []


def test_validate_bad_file_is_exit_2_with_problems(run_cli, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nstart: 2026-13\n", encoding="utf-8")
    result = run_cli("validate", str(bad), "--json")
    assert result.code == 2
    assert result.json()["ok"] is False and result.json()["problems"]


def test_throughput_keys(run_cli) -> None:
    result = run_cli("throughput", "llama-3.1-8b", "H100-SXM", "--json")
    assert result.code == 0, result.err
    assert {"weights_gb", "kv_bytes_per_token", "max_batch", "batch", "decode_step_ms",
            "prefill_ms", "output_tokens_per_s_per_gpu", "total_tokens_per_s_per_gpu", "bound",
            "tp"} <= set(result.json())


def test_throughput_unknown_model_is_exit_2(run_cli) -> None:
    result = run_cli("throughput", "no-such-model", "H100-SXM", "--json")
    assert result.code == 2
    assert "no-such-model" in result.err


def test_tco_keys(run_cli) -> None:
    result = run_cli("tco", "H200", "--json")
    assert result.code == 0, result.err
    assert {"capex_per_gpu_hour", "colocation_per_gpu_hour", "electricity_per_gpu_hour",
            "opex_per_gpu_hour", "tco_per_gpu_hour", "currency"} <= set(result.json())


def test_compare_keys(run_cli) -> None:
    result = run_cli("compare", "--input-tokens-per-month", "1e9",
                     "--output-tokens-per-month", "2e8", "--json")
    assert result.code == 0, result.err
    rows = result.json()["rows"]
    assert rows and all({"option", "kind", "monthly_cost", "cost_per_mtok", "currency"}
                        <= set(row) for row in rows)


def test_breakeven_keys(run_cli) -> None:
    result = run_cli("breakeven", str(LIGHT), "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert all({"gpu", "purchase_offer", "rental_offer", "simple_payback_months",
                "breakeven_months"} <= set(row) for row in doc["gpus"])
    assert all({"workload", "api", "breakeven_tokens_per_month"} <= set(row)
               for row in doc["workloads"])


def test_plan_keys(run_cli) -> None:
    result = run_cli("plan", LIGHT, *SHORT, "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert {"status", "currency", "npv", "total_cost", "years", "periods", "workloads",
            "solver"} <= set(doc)
    assert all({"year", "capex", "opex", "reserved", "on_demand", "spot", "api", "total"}
               <= set(row) for row in doc["years"])
    assert all({"workload", "cost_per_mtok"} <= set(row) for row in doc["workloads"])


@pytest.mark.parametrize("args, code", [
    (("plan", LIGHT, "--channels", "gpu"), 2),          # unknown channel
    (("plan", LIGHT, "--variant", "nope"), 2),          # unknown variant
    (("plan", LIGHT, *SHORT, "--channels", "purchase"), 3),  # servers arrive too late
    (("plan", LIGHT, "--time-limit", "0"), 2),
])
def test_plan_exit_codes(run_cli, args, code) -> None:
    result = run_cli(*args)
    assert result.code == code, result.err
    assert "Traceback" not in result.err


def test_a_quarterly_plan_names_its_first_and_last_month(run_cli) -> None:
    # Periods are labelled by their first month: 36 months in quarters end in 2029-06, not at
    # the last quarter's label 2029-04, and count 36 months (not 12).
    result = run_cli("plan", SCENARIO_DIR / "seed001_light.yaml", "--set", "step=quarter")
    assert result.code == 0, result.err
    assert "2026-07 to 2029-06 (36 months, 12 quarters)" in result.out


def test_a_typo_in_a_variant_the_run_does_not_use_is_a_warning(run_cli, tmp_path) -> None:
    text = (SCENARIO_DIR / "seed001_light.yaml").read_text()
    path = tmp_path / "typo.yaml"
    path.write_text(text + "\nvariants:\n  twice: {demand_multipler: 2}\n"
                    if "\nvariants:" not in text else
                    text.replace("\nvariants:\n", "\nvariants:\n  twice: {demand_multipler: 2}\n"))
    result = run_cli("plan", path, "--json")
    assert result.code == 0, result.err
    assert "warning:" in result.err and "variant 'twice'" in result.err
    assert "unknown path 'demand_multipler'" in result.err
