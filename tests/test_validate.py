"""`planner validate`: shipped data is valid; each defect gets exit 2 and names the field."""

import pytest
from conftest import CATALOG_DIR, SCENARIO_DIR

from planner.loading import read_yaml

GOOD_WORKLOAD = """\
workloads:
  chat:
    input_tokens: 800
    output_tokens: 400
    demand: {requests_per_day: 1000}
    self_host: [qwen3-8b]
    apis: [qwen-plus]
"""
GOOD = "name: t\nstart: 2026-07\nmonths: 12\n" + GOOD_WORKLOAD


def test_shipped_catalog_validates(run_cli):
    result = run_cli("validate", CATALOG_DIR, "--json")
    assert result.code == 0, result.out
    assert result.json()["ok"] is True


def test_every_shipped_scenario_and_variant_validates(run_cli):
    scenarios = sorted(SCENARIO_DIR.glob("*.yaml"))
    assert len(scenarios) >= 4  # seed 001 light/medium/heavy + seed 000 token factory
    for path in scenarios:  # the stress cases of the seeds are there as variants
        assert len(read_yaml(path)["variants"]) >= 5, path
    result = run_cli("validate", "--json")  # default: shipped catalog + every scenario + variants
    assert result.code == 0, result.out
    document = result.json()
    assert document["ok"] is True and document["problems"] == []
    assert {str(p) for p in scenarios} <= set(document["checked"])


def test_good_scenario_validates(run_cli, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    result = run_cli("validate", path)
    assert result.code == 0, result.out


@pytest.mark.parametrize(("text", "field", "words"), [
    (GOOD + "colour: red\n", "colour", "unknown field; allowed: name, description"),
    (GOOD.replace("months: 12", "months: twelve"), "months", "wrong type (got 'twelve')"),
    (GOOD.replace("1000}", "-5}"), "workloads.chat.demand.requests_per_day",
     "out of range (got -5); allowed: >= 0"),
    (GOOD.replace("2026-07", "2026-13"), "start", "not a month (got '2026-13')"),
    (GOOD.replace("qwen3-8b", "qwen9-8b"), "workloads.chat.self_host[0]",
     "unknown model 'qwen9-8b'; allowed: deepseek-r1-distill-qwen-14b"),
    (GOOD.replace("[qwen-plus]", "[qwen-minus]"), "workloads.chat.apis[0]",
     "unknown api 'qwen-minus'; allowed: anthropic-claude-haiku-4.5"),
    (GOOD.replace("months: 12", "months: 12\nmonths: 24"), "line 4", "duplicate key 'months'"),
    (GOOD + "variants:\n  v: {workloads.chat.demand.growth_per_yaer: 1}\n",
     "workloads.chat.demand.growth_per_yaer", "variant 'v'"),
])
def test_each_defect_is_exit_2_naming_the_field(run_cli, tmp_path, text, field, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_cli("validate", path)
    assert result.code == 2
    assert f"bad.yaml: {field}" in result.out or f"bad.yaml:{field}" in result.out \
        or (field in result.out and "variant" in words), result.out
    assert words in result.out
    assert "Traceback" not in result.out + result.err


def test_availability_above_one_in_an_offers_file(run_cli, tmp_path):
    offers = tmp_path / "offers.yaml"  # a single catalog file stands in for the shipped one
    offers.write_text("a100-spot:\n  gpu: A100-80GB\n  channel: spot\n  currency: CNY\n"
                      "  price_per_gpu_hour: 5.6\n  availability: 1.5\n"
                      "  source: test\n  as_of: 2026-06-01\n")
    result = run_cli("validate", offers, "--json")
    assert result.code == 2
    assert any(p.startswith(f"{offers}: offers.a100-spot.availability: out of range (got 1.5)")
               for p in result.json()["problems"]), result.out


def test_every_problem_at_once(run_cli, tmp_path):
    # A schema error in one place does not hide a dangling id elsewhere.
    path = tmp_path / "two.yaml"
    path.write_text(GOOD.replace("1000}", "-5}").replace("qwen3-8b", "nope"))
    document = run_cli("validate", path, "--json").json()
    assert document["ok"] is False
    joined = "\n".join(document["problems"])
    assert "workloads.chat.demand.requests_per_day: out of range" in joined
    assert "workloads.chat.self_host[0]: unknown model 'nope'" in joined


@pytest.mark.parametrize(("text", "words"), [
    ("", "a scenario must be a mapping (got an empty file)"),
    ("- a\n- b\n", "a scenario must be a mapping (got a list of 2)"),
    ("name: [unclosed\n", "invalid YAML"),
])
def test_unreadable_scenarios(run_cli, tmp_path, text, words):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    result = run_cli("validate", path)
    assert result.code == 2 and words in result.out, result.out


def test_missing_file_and_json_shape(run_cli, tmp_path):
    result = run_cli("validate", tmp_path / "nowhere.yaml", "--json")
    assert result.code == 2
    document = result.json()
    assert set(document) >= {"ok", "problems"}
    assert document["problems"] == [f"{tmp_path / 'nowhere.yaml'}: file not found"]


def test_duplicate_key_is_rejected(run_cli, tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text("name: a\nname: b\n")
    result = run_cli("validate", bad)
    assert result.code == 2
    assert "duplicate key 'name'" in result.out
    assert "line 2" in result.out


@pytest.mark.parametrize(("option", "words"), [
    ("gpus.H200.memroy_gb=1", "gpus.H200.memroy_gb: unknown field 'memroy_gb'; allowed:"),
    ("gpus.H300.memory_gb=1", "gpus.H300.memory_gb: unknown id 'H300' at gpus.H300"),
    ("finance.cost_of_capitl=0.1", "finance.cost_of_capitl: unknown field"),
    ("nothing.here=1", "nothing.here: unknown path 'nothing'"),
    ("finance.cost_of_capital", "expected PATH=VALUE"),
    ("finance.cost_of_capital=1.5", "finance.cost_of_capital: out of range (got 1.5)"),
])
def test_bad_set_is_exit_2_naming_the_path(run_cli, option, words):
    result = run_cli("validate", CATALOG_DIR, "--set", option)
    assert result.code == 2
    assert words in result.out, result.out


def test_slo_no_deployment_meets_is_a_warning(run_cli, tmp_path):
    # qwen3-8b fits every GPU, but no GPU decodes it at 1 ms per token: validate still passes
    # (an API may serve it) and warns with the best TPOT reachable, GPU and group size.
    path = tmp_path / "tight.yaml"
    path.write_text(GOOD.replace("apis: [qwen-plus]", "apis: [qwen-plus]\n    slo: {tpot_ms: 1}"))
    result = run_cli("validate", path, "--json")
    assert result.code == 0, result.out
    warnings = result.json()["warnings"]
    assert len(warnings) == 1
    assert "'chat'" in warnings[0] and "no deployment meets the SLO (TPOT <= 1 ms)" in warnings[0]
    assert "best reachable (batch 1)" in warnings[0] and " x B200 at fp8" in warnings[0]
    text = run_cli("validate", path)
    assert text.code == 0 and "\nwarning: " in text.out
    # A reachable SLO gives no warning.
    path.write_text(GOOD.replace("apis: [qwen-plus]", "apis: [qwen-plus]\n    slo: {tpot_ms: 50}"))
    assert run_cli("validate", path, "--json").json()["warnings"] == []


def test_the_offer_schema_knows_the_gpu_channels_of_the_channel_enum() -> None:
    import typing

    from planner.schemas import GPU_CHANNELS
    from planner.schemas.catalog import OfferChannel

    assert set(typing.get_args(OfferChannel)) == set(GPU_CHANNELS)
