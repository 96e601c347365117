"""Reliability (issue 9): atomic outputs, clean Ctrl-C, bugs reported as bugs, and regressions of
crashes the fuzz tests (tests/test_fuzz.py) found. docs/reliability.md lists the failure modes."""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from pathlib import Path

import pytest

from planner import atomic, cli, finance
from planner.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
LIGHT = ROOT / "scenarios" / "seed001_light.yaml"


# --------------------------------------------------------------------------- atomic files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_atomic_writes_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    atomic.write_text_atomic(target, "month,gpus\n2026-07,8\n")
    assert target.read_text() == "month,gpus\n2026-07,8\n"
    assert _leftovers(tmp_path) == []
    # The file gets the mode a plain open() gives (umask applied), not mkstemp's private 0600.
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_text_atomic_failure_keeps_old_content(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert _leftovers(tmp_path) == []  # the temporary file is gone too


def test_write_text_atomic_missing_folder_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        atomic.write_text_atomic(tmp_path / "no" / "plan.csv", "x")
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- atomic folders


def test_atomic_directory_appears_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic.atomic_directory(out) as build:
        (build / "a.csv").write_text("1\n")
        assert not out.exists()  # nothing visible while the folder is being built
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("solver crashed"), KeyboardInterrupt()])
def test_atomic_directory_failure_leaves_nothing(tmp_path: Path, error: BaseException) -> None:
    out = tmp_path / "out"
    with pytest.raises(type(error)), atomic.atomic_directory(out) as build:
        (build / "half.csv").write_text("1\n")
        raise error
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_refuses_existing_unless_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("old\n")
    with pytest.raises(InputError, match="already exists.*--force") as info, \
            atomic.atomic_directory(out):
        pass
    assert info.value.exit_code == 2
    assert (out / "old.csv").read_text() == "old\n"
    # A failing forced run keeps the old output.
    with pytest.raises(RuntimeError), atomic.atomic_directory(out, force=True) as build:
        (build / "new.csv").write_text("new\n")
        raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["old.csv"]
    # A successful forced run replaces it whole.
    with atomic.atomic_directory(out, force=True) as build:
        (build / "new.csv").write_text("new\n")
    assert sorted(p.name for p in out.iterdir()) == ["new.csv"]
    assert _leftovers(tmp_path) == []


def test_atomic_directory_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("x")
    with pytest.raises(InputError, match="not a folder"), \
            atomic.atomic_directory(target, force=True):
        pass


# --------------------------------------------------------------------------- main()


def _with_handler(monkeypatch, handler) -> None:
    """Make `planner tco H200` call `handler` instead of the real command."""
    real = cli.build_parser

    def parser() -> argparse.ArgumentParser:
        built = real()
        original = built.parse_args

        def parse_args(argv=None):
            args = original(argv)
            args.handler = handler
            return args

        built.parse_args = parse_args  # type: ignore[method-assign]
        return built

    monkeypatch.setattr(cli, "build_parser", parser)


def test_ctrl_c_exits_130_without_traceback(monkeypatch, capsys) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    _with_handler(monkeypatch, interrupted)
    assert cli.main(["tco", "H200"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "planner: interrupted\n"
    assert "Traceback" not in captured.out + captured.err


def test_a_bug_is_exit_1_with_a_short_message(monkeypatch, capsys) -> None:
    def buggy(args):
        return {}["missing"]

    _with_handler(monkeypatch, buggy)
    assert cli.main(["tco", "H200"]) == 1
    err = capsys.readouterr().err
    assert "internal error (KeyError: 'missing')" in err
    assert "this is a bug" in err and "--debug" in err
    assert "Traceback" not in err
    # --debug adds the traceback for the report.
    assert cli.main(["tco", "H200", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_closed_stdout_is_not_a_crash(monkeypatch) -> None:
    """`planner ... | head`: the reader closes the pipe; main() returns the command's code."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["tco", "H200", "--json"]) == 0


# --------------------------------------------------------------------------- fuzz regressions


def test_annuity_with_tiny_rate_is_one_over_years() -> None:
    """Found by the fuzzer: finance.cost_of_capital 1e-30 with the annuity method divided by
    zero, since (1 + 1e-30) ** 4 - 1 == 0 in floats. As r -> 0 the factor tends to 1/n:
    1/4 = 0.25 per year; at r = 1e-12 it is 0.25 x (1 + 2.5e-12) to first order."""
    assert finance.annuity_factor(1e-30, 4) == 0.25
    assert finance.annuity_factor(1e-12, 4) == pytest.approx(0.25 * (1 + 2.5e-12), rel=1e-12)
    # r = 10%, n = 2: 0.1 x 1.21 / 0.21 = 0.5761904...
    assert finance.annuity_factor(0.1, 2) == pytest.approx(0.121 / 0.21, rel=1e-12)


def test_tco_annuity_with_tiny_rate(run_cli) -> None:
    result = run_cli("tco", "H200", "--method", "annuity", "--capex", "8760",
                     "--set", "finance.cost_of_capital=1e-30", "--years", "1", "--json")
    assert result.code == 0, result.err
    # capex 8760 over 1 year at ~0 interest: 8760 / 8760 h = 1.0 per GPU-hour.
    assert result.json()["capex_per_gpu_hour"] == pytest.approx(1.0)


@pytest.mark.parametrize("part", ["apis", "offers"])
def test_set_catalog_part_to_a_number_with_stress_variants(run_cli, part: str) -> None:
    """Found by the fuzzer: `validate SCENARIO --set apis=1` crashed (AttributeError) while
    applying the scenario's api_price_multiplier variant to a catalog part that is not a map."""
    result = run_cli("validate", LIGHT, "--set", f"{part}=1", "--json")
    assert result.code == 2
    problems = result.json()["problems"]
    assert any(f"--set: {part}: wrong type (got 1)" in p for p in problems), problems


# --------------------------------------------------------------------------- plan

MEDIUM = ROOT / "scenarios" / "seed001_medium.yaml"
SHORT = ("--set", "months=6")  # 6 months solve in a fraction of a second


def _without_timings(value):
    """The plan JSON minus wall-clock seconds (the only part allowed to differ between runs)."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.parametrize("extra", [(), ("--relax",)])
def test_plan_is_deterministic(run_cli, extra: tuple[str, ...]) -> None:
    """Same inputs, same outputs: two solves give identical JSON apart from solver seconds."""
    first = run_cli("plan", MEDIUM, *SHORT, *extra, "--json")
    second = run_cli("plan", MEDIUM, *SHORT, *extra, "--json")
    assert first.code == second.code == 0, first.err + second.err
    assert _without_timings(first.json()) == _without_timings(second.json())
    assert first.json()["status"] == "optimal"


def test_plan_out_folder_is_deterministic(run_cli, tmp_path: Path) -> None:
    """The CSVs written by --out are byte-identical between runs."""
    for name in ("a", "b"):
        result = run_cli("plan", MEDIUM, *SHORT, "--out", tmp_path / name)
        assert result.code == 0, result.err
    csvs = sorted(p.name for p in (tmp_path / "a").glob("*.csv"))
    assert "years.csv" in csvs
    for name in csvs:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_plan_out_refuses_existing_folder(run_cli, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = run_cli("plan", MEDIUM, *SHORT, "--out", tmp_path / "out")
    assert result.code == 2
    assert "already exists" in result.err and "--force" in result.err
    assert list((tmp_path / "out").iterdir()) == []


def test_plan_out_in_a_folder_that_cannot_be_written_is_refused_before_solving(
        run_cli, tmp_path: Path, monkeypatch) -> None:
    # Permission bits do not stop root (read-only mounts and immutable folders do): the
    # folder is tried with a new folder in it, here refused as such a mount would.
    import planner.atomic
    import planner.optimize.plan  # noqa: F401  (loaded, to be replaced below)

    def refused(**_):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(planner.atomic.tempfile, "mkdtemp", refused)
    solving = sys.modules["planner.optimize.plan"]  # the module (the package exports plan)
    monkeypatch.setattr(solving, "plan", lambda *a, **k: pytest.fail("solved first"))
    result = run_cli("plan", MEDIUM, *SHORT, "--out", tmp_path / "out")
    assert result.code == 2
    assert f"cannot write in folder {tmp_path} (Operation not permitted)" in result.err
    assert "Traceback" not in result.err and not (tmp_path / "out").exists()


def test_time_limit_without_a_solution_is_exit_4(run_cli) -> None:
    result = run_cli("plan", MEDIUM, "--time-limit", "1e-9", "--json")
    assert result.code == 4
    assert "found no plan within --time-limit 1e-09 s" in result.err
    assert "Traceback" not in result.err


def test_time_limit_returns_best_plan_with_gap(run_cli) -> None:
    """36 months take HiGHS ~0.5 s to prove optimal; stopped at 0.05 s it returns its incumbent
    with status time_limit and the gap reached (exit 0). Where the dive's plan already meets the
    dive's LP bound (or a faster machine finishes) the status is optimal, with a gap within the
    requested one."""
    result = run_cli("plan", MEDIUM, "--time-limit", "0.05", "--json")
    assert result.code in (0, 4), result.err
    if result.code == 0:
        plan = result.json()
        assert plan["status"] in ("time_limit", "optimal")
        assert plan["solver"]["time_limit"] == 0.05
        if plan["status"] == "time_limit":
            assert 0.001 < plan["solver"]["mip_gap"] <= 1
        else:
            assert 0 <= plan["solver"]["mip_gap"] <= 0.001
        assert plan["npv"] > 0


def test_negative_time_limit_is_input_error(run_cli) -> None:
    result = run_cli("plan", MEDIUM, *SHORT, "--time-limit", "-1")
    assert result.code == 2
    assert "--time-limit -1.0: allowed: a positive number of seconds" in result.err


def test_infeasible_plan_names_workload_month_and_limit(run_cli) -> None:
    """Purchases only: servers arrive after their 2-month lead time, so July 2026 is short."""
    result = run_cli("plan", MEDIUM, *SHORT, "--channels", "purchase")
    assert result.code == 3
    assert "workload 'chat' cannot be served in 2026-07" in result.err
    assert "available only from 2026-09" in result.err


def test_diagnose_lists_unmet_demand(run_cli) -> None:
    """--diagnose: the months before the first purchase arrives are unmet in full.
    chat: 98,400 requests/day x 1,200 tokens x 30.4167 days (730 h) = 3,591,600,000 tokens a
    month; peak_to_average 2 puts 1/3 of them in the peak slice (1,197,200,000)."""
    result = run_cli("plan", MEDIUM, *SHORT, "--channels", "purchase", "--diagnose", "--json")
    assert result.code == 3
    document = result.json()
    assert document["status"] == "infeasible"
    assert "workload 'chat'" in document["error"]
    unmet = document["unmet"]
    assert [(r["workload"], r["month"]) for r in unmet] == [
        ("chat", "2026-07"), ("chat", "2026-07"), ("chat", "2026-08"), ("chat", "2026-08")]
    by_month: dict[str, float] = {}
    for row in unmet:
        by_month[row["month"]] = by_month.get(row["month"], 0) + row["tokens"]
    assert by_month == {"2026-07": pytest.approx(3_591_600_000),
                        "2026-08": pytest.approx(3_591_600_000)}
    assert {r["slice"] for r in unmet} == {"peak", "offpeak"}
    text = run_cli("plan", MEDIUM, *SHORT, "--channels", "purchase", "--diagnose")
    assert text.code == 3
    assert "cannot be served" in text.err and "cannot be served" not in text.out  # said once
    assert "  chat                 total               7,183,200,000" in text.out.splitlines()


def test_diagnose_on_a_feasible_plan_is_the_plan(run_cli) -> None:
    result = run_cli("plan", MEDIUM, *SHORT, "--diagnose", "--json")
    assert result.code == 0
    assert result.json()["status"] == "optimal"


def test_ctrl_c_during_plan_exits_130(run_cli, monkeypatch) -> None:
    """Ctrl-C while the solver runs: exit 130, one line, no traceback, no --out folder."""
    plan_module = importlib.import_module("planner.optimize.plan")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_module, "solve", interrupted)
    result = run_cli("plan", MEDIUM, *SHORT, "--out", "never-written")
    assert result.code == 130
    assert result.err == "planner: interrupted\n"
    assert not Path("never-written").exists()


def test_absurd_utilization_is_no_deployment_not_a_crash(run_cli) -> None:
    """Found by the fuzzer: finance.utilization 1e-30 made a GPU serve 3.8e-29 Mtok/GPU-hour;
    the solver refused the 1/rate coefficients and PuLP raised IndexError (exit 1). Below one
    token per GPU-hour a deployment is dropped, so the plan serves chat by API: deepseek-v3 at
    (800 x 2 + 400 x 8) / 1200 = 4.0 CNY per Mtok; with purchases only it is infeasible."""
    result = run_cli("plan", MEDIUM, *SHORT, "--set", "finance.utilization=1e-30", "--json")
    assert result.code == 0, result.err
    assert result.json()["workloads"][0]["cost_per_mtok"] == pytest.approx(4.0)
    result = run_cli("plan", MEDIUM, *SHORT, "--set", "finance.utilization=1e-30",
                     "--channels", "purchase")
    assert result.code == 3
    assert "no self-host deployment fits" in result.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_solve_shows_elapsed_seconds_on_a_terminal_only(monkeypatch) -> None:
    import time

    from planner.optimize.solve import _elapsed_on_terminal

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _elapsed_on_terminal(None, after_s=0.0):
        time.sleep(1.3)
    shown = terminal.getvalue()
    assert "planner: solving, 1 s (--time-limit S bounds it)" in shown
    assert shown.endswith("\r")  # the line is cleared when the solve ends
    pipe = io.StringIO()  # not a terminal: nothing
    monkeypatch.setattr(sys, "stderr", pipe)
    with _elapsed_on_terminal(10.0, after_s=0.0):
        time.sleep(1.1)
    assert pipe.getvalue() == ""
