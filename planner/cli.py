"""Command line: argument parsing, error -> exit code, output formatting.

A thin layer over the package: every command loads validated inputs, calls one function of the
package and prints either a readable table or, with --json, one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner import loading
from planner.atomic import check_writable_folder
from planner.errors import InfeasibleError, InputError, PlannerError
from planner.jsonio import json_ready


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as exit 2 with one line (its default, made explicit)."""

    def error(self, message: str) -> None:  # noqa: D401
        self.print_usage(sys.stderr)
        self.exit(2, f"planner: error: {message}\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="DIR", help="catalog folder (all five files)")
    parser.add_argument("--set", dest="sets", metavar="PATH=VALUE", action="append", default=[],
                        help="override a value, e.g. finance.cost_of_capital=0.133 (repeatable)")
    parser.add_argument("--currency", metavar="CODE", help="report amounts in this currency")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="planner", description="Where should your LLM tokens be served, month "
                     "by month: APIs, rented GPUs (on-demand, reserved, spot) or owned GPUs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check catalogs and scenarios")
    validate.add_argument("paths", nargs="*", metavar="PATH",
                          help="scenario files or catalog folders (default: everything shipped)")
    _common(validate)
    validate.set_defaults(handler=cmd_validate)
    _add_throughput_command(commands)
    _add_money_commands(commands)
    _add_plan_command(commands)
    _add_bench_command(commands)
    _add_stress_command(commands)
    _add_sensitivity_command(commands)
    return parser


# --------------------------------------------------------------------------- commands


def cmd_validate(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    notes: list[str] = []
    warnings: list[str] = []
    checked, problems = loading.validate_paths(args.paths, args.catalog, args.sets, notes,
                                               warnings)
    result = {"ok": not problems, "checked": checked, "problems": problems,
              "warnings": warnings, "notes": notes}
    if problems:
        text = f"{len(problems)} problem(s) in {len(checked)} file(s):\n" + "\n".join(
            f"  {p}" for p in problems)
    else:
        text = f"ok: {len(checked)} catalog(s) and scenario(s) valid"
    text += "".join(f"\nwarning: {w}" for w in warnings)
    for note in notes:  # finance fields restated in the scenario's currency
        print(f"planner: {note}", file=sys.stderr)
    return result, text, (2 if problems else 0)


# --------------------------------------------------------------------------- money commands


def _add_money_commands(commands: argparse._SubParsersAction) -> None:
    """tco, compare and breakeven (SPEC section 7; planner/economics.py, docs/finance.md)."""
    tco = commands.add_parser("tco", help="owned cost per GPU-hour against the GPU's rentals")
    tco.add_argument("gpu", metavar="GPU", help="GPU id from gpus.yaml, e.g. H200")
    tco.add_argument("--capex", type=float, metavar="AMOUNT",
                     help="price of one GPU in the reporting currency (default: its purchase "
                     "offer in that currency, else its first purchase offer converted)")
    tco.add_argument("--years", type=float, metavar="N",
                     help="depreciation years (default finance.depreciation_years)")
    tco.add_argument("--method", choices=("straight_line", "annuity"),
                     help="capital recovery (default finance.depreciation_method)")
    _common(tco)
    tco.set_defaults(handler=cmd_tco)

    compare = commands.add_parser("compare", help="monthly cost of a token volume on every API "
                                  "(and self-hosted on every GPU offer with --model)")
    compare.add_argument("--input-tokens-per-month", type=float, required=True, metavar="N")
    compare.add_argument("--output-tokens-per-month", type=float, required=True, metavar="N")
    compare.add_argument("--cached-input-tokens-per-month", type=float, default=0.0, metavar="N",
                         help="part of the input tokens billed at the cached-input price")
    compare.add_argument("--model", metavar="M", help="self-host this model id on every GPU offer")
    compare.add_argument("--utilization", type=float, metavar="U",
                         help="share of paid GPU-hours doing work (default finance.utilization)")
    compare.add_argument("--request-input", type=int, metavar="N",
                         help="input tokens per request for the roofline (default: 500 output "
                         "tokens and input in the ratio of the monthly volumes)")
    compare.add_argument("--request-output", type=int, metavar="N",
                         help="output tokens per request for the roofline (default 500)")
    compare.add_argument("--precision", metavar="P", help="weight precision for self-hosting")
    compare.add_argument("--ttft-ms", type=float, metavar="X", help="time-to-first-token SLO")
    compare.add_argument("--tpot-ms", type=float, metavar="X", help="time-per-output-token SLO")
    _common(compare)
    compare.set_defaults(handler=cmd_compare)

    breakeven = commands.add_parser("breakeven", help="buy-vs-rent months per GPU; with a "
                                    "scenario, API-vs-self-host volumes per workload")
    breakeven.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario file")
    _common(breakeven)
    breakeven.set_defaults(handler=cmd_breakeven)


def cmd_tco(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies import unit_costs as economics

    loaded = loading.load_catalog(args.catalog, args.sets)
    result = economics.tco(loaded, args.gpu, currency=args.currency, capex=args.capex,
                           years=args.years, method=args.method)
    return result, economics.render_tco(result), 0


def cmd_compare(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies import unit_costs as economics

    loaded = loading.load_catalog(args.catalog, args.sets)
    result = economics.compare(
        loaded, input_tokens_per_month=args.input_tokens_per_month,
        output_tokens_per_month=args.output_tokens_per_month,
        cached_input_tokens_per_month=args.cached_input_tokens_per_month, model=args.model,
        utilization=args.utilization, currency=args.currency,
        request_input_tokens=args.request_input, request_output_tokens=args.request_output,
        ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, precision=args.precision)
    return result, economics.render_compare(result), 0


def cmd_breakeven(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies import unit_costs as economics

    loaded = loading.load(args.scenario, catalog_dir=args.catalog, sets=args.sets)
    result = economics.breakeven(loaded, currency=args.currency)
    return result, economics.render_breakeven(result), 0


# --------------------------------------------------------------------------- bench


def _add_bench_command(commands: argparse._SubParsersAction) -> None:
    """planner bench (issue 8; planner/bench.py, docs/bench.md)."""
    sub = commands.add_parser("bench", help="time model building and solving on generated "
                              "scenarios")
    sub.add_argument("--size", choices=("small", "medium", "large"), default="small",
                     help="scenario size (default small)")
    sub.add_argument("--integer", action="store_true", help="time the integer plan (whole "
                     "servers and GPUs, what `plan` solves) instead of the LP relaxation")
    sub.add_argument("--seed", type=int, default=8, help="generator seed (default 8)")
    sub.add_argument("--time-limit", type=float, metavar="S", help="stop each solve (ours and "
                     "HiGHS alone) after S seconds; the figures then show status time_limit")
    sub.add_argument("--repeat", type=int, metavar="N", help="runs of ours and of HiGHS alone, "
                     "the fastest kept (default 5 for small, 1 otherwise)")
    sub.add_argument("--stress", metavar="SCENARIO", help="time `planner stress SCENARIO` "
                     "instead, every sample rebuilt and then on one kept model: seconds per "
                     "part, per sample against HiGHS alone, the hedged plan against the base "
                     "plan's commitments")
    sub.add_argument("--regret", action="store_true", help="--stress: with the variants' "
                     "regret table, as `planner stress` runs (default: without)")
    sub.add_argument("--samples", type=int, default=100, metavar="N",
                     help="--stress: Monte Carlo samples (default 100)")
    sub.add_argument("--workers", type=int, default=2, metavar="N",
                     help="--stress: worker processes (default 2)")
    _common(sub)
    sub.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies.bench import format_bench, run_bench

    if args.stress:
        from planner.studies.stress_bench import run_stress_bench

        if args.workers < 1:
            raise InputError(f"--workers {args.workers}: allowed: 1 or more")
        if not Path(args.stress).is_file():
            raise InputError(f"--stress {args.stress}: no such scenario file")
        figures = run_stress_bench(args.stress, samples=args.samples, workers=args.workers,
                                   seed=args.seed, regret=args.regret, sets=tuple(args.sets),
                                   catalog_dir=args.catalog)
        return figures, format_bench(figures), 0
    figures = run_bench(args.size, integer=args.integer, seed=args.seed, time_limit=args.time_limit,
                        repeats=args.repeat)
    return figures, format_bench(figures), 0


# --------------------------------------------------------------------------- plan


def _add_plan_command(commands: argparse._SubParsersAction) -> None:
    """planner plan (SPEC section 8; planner/plan.py, docs/plan.md)."""
    sub = commands.add_parser("plan", help="the cost-minimal plan of a scenario")
    sub.add_argument("scenario", metavar="SCENARIO", help="scenario file")
    sub.add_argument("--variant", metavar="NAME", help="apply a named variant of the scenario")
    sub.add_argument("--channels", metavar="LIST", help="restrict to some of api,on_demand,"
                     "reserved,spot,purchase (comma-separated)")
    sub.add_argument("--out", metavar="DIR", help="write tidy CSVs, plan.xlsx, plan.json, "
                     "charts and report.html into DIR")
    sub.add_argument("--force", action="store_true", help="replace an existing --out DIR")
    sub.add_argument("--solver", choices=("highs", "cbc"), default="highs",
                     help="MILP solver (default highs)")
    sub.add_argument("--time-limit", type=float, metavar="S", help="solver time limit, seconds")
    sub.add_argument("--mip-gap", type=float, metavar="G", help="relative MIP gap to stop at "
                     "(default 0.001)")
    sub.add_argument("--relax", action="store_true", help="LP relaxation: fractional servers "
                     "and GPUs, no site binary")
    sub.add_argument("--write-lp", metavar="FILE", help="also write the problem as an LP file")
    sub.add_argument("--diagnose", action="store_true", help="when no plan meets demand, "
                     "re-solve with unmet demand priced high and list (in `unmet`) which "
                     "workload, month and slice fall short and by how many tokens (exit 3)")
    _common(sub)
    sub.set_defaults(handler=cmd_plan)


def _refuse_existing_out(args: argparse.Namespace) -> None:
    """An --out folder that exists (unless --force), or one that cannot be made, is refused
    before any work: not after a solve of minutes."""
    if not args.out:
        return
    if Path(args.out).exists() and not args.force:
        raise InputError(f"--out {args.out}: already exists; allowed: a new folder, or pass "
                         "--force to replace it")
    check_writable_folder(Path(args.out).parent, f"--out {args.out}")


def cmd_plan(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.finance import fx_rate
    from planner.optimize.plan import plan as run_plan
    from planner.optimize.solve import DEFAULT_MIP_GAP
    from planner.studies.unit_costs import reporting_currency

    if args.mip_gap is not None and not 0 <= args.mip_gap < 1:
        raise InputError(f"--mip-gap {args.mip_gap!r}: allowed: a fraction in [0, 1)")
    _refuse_existing_out(args)
    loaded = loading.load(args.scenario, catalog_dir=args.catalog, sets=args.sets,
                          variant=args.variant)
    for problem in loading.variant_problems(args.scenario, args.catalog, args.sets):
        # a variant this run does not use: a warning, found now, not when it is run
        print(f"planner: warning: {problem} (planner validate checks every variant)",
              file=sys.stderr)
    currency = reporting_currency(loaded, args.currency)
    try:
        result = run_plan(loaded, channels=args.channels, relax=args.relax, solver=args.solver,
                          time_limit=args.time_limit,
                          mip_gap=DEFAULT_MIP_GAP if args.mip_gap is None else args.mip_gap,
                          lp_path=args.write_lp)
    except InfeasibleError as exc:
        if not args.diagnose:
            raise
        return _diagnosis(args, loaded, exc)
    if currency != result.currency:
        result = result.converted(currency, fx_rate(result.currency, currency, loaded.finance))
    for warning in result.provenance.get("warnings") or []:
        print(f"planner: warning: {warning}", file=sys.stderr)
    from planner import report
    from planner.studies.alternatives import plan_alternatives

    alternatives: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    if args.out:  # the report compares the plan with API-only and rent-only plans
        def plan_for(channels: list[str]) -> Any:
            if sys.stderr.isatty():
                print(f"planning the {'+'.join(channels)} alternative ...", file=sys.stderr)
            alt = run_plan(loaded, channels=channels, relax=args.relax, solver=args.solver,
                           time_limit=args.time_limit,
                           mip_gap=DEFAULT_MIP_GAP if args.mip_gap is None else args.mip_gap)
            if currency != alt.currency:
                alt = alt.converted(currency, fx_rate(alt.currency, currency, loaded.finance))
            return alt

        alternatives, skipped = plan_alternatives(plan_for, result.provenance.get("channels"))
    text = report.render_plan_summary(result, alternatives, loaded)
    if args.out:
        report.write_plan_result_report(args.out, result, alternatives=alternatives,
                                        skipped=skipped, loaded=loaded, force=args.force)
        text += ("\n\nWrote report.html, its charts (.png) and tables (.csv), plan.json and the "
                 f"plan's\n{', '.join(result.tables())} .csv\n(also as sheets of plan.xlsx) "
                 f"into {args.out}")
    return result.to_dict(), text, 0


def _diagnosis(args: argparse.Namespace, loaded: loading.Loaded, exc: InfeasibleError
               ) -> tuple[dict[str, Any], str, int]:
    """plan --diagnose on an infeasible plan: the unmet demand, as JSON and a table (exit 3)."""
    from planner.inputs import build_inputs
    from planner.optimize.plan import unmet_demand

    unmet = unmet_demand(build_inputs(loaded, args.channels, check=False), solver=args.solver)
    result = {"ok": False, "status": "infeasible", "error": str(exc), "unmet": unmet}
    # the error itself goes to stderr (below), once: stdout is the table
    lines = ["Demand no plan can serve (at least this much; from the relaxation with "
             "fractional servers):",
             f"  {'workload':<20} {'month':<8} {'slice':<10} tokens"]
    lines += [f"  {r['workload']:<20} {r['month']:<8} {r['slice']:<10} {r['tokens']:,.0f}"
              for r in unmet]
    totals: dict[str, float] = {}
    for r in unmet:
        totals[r["workload"]] = totals.get(r["workload"], 0.0) + r["tokens"]
    lines += [f"  {w:<20} {'total':<19} {tokens:,.0f}" for w, tokens in totals.items()
              if len(unmet) > 1]
    if not unmet:
        lines.append("  none in the relaxation: only whole servers make it infeasible (--relax)")
    print(f"planner: {exc}", file=sys.stderr)
    return result, "\n".join(lines), exc.exit_code


# --------------------------------------------------------------------------- stress


def _add_stress_command(commands: argparse._SubParsersAction) -> None:
    """planner stress (issue 6; planner/stress.py, docs/stress.md)."""
    sub = commands.add_parser("stress", help="every variant, a regret table, Monte Carlo on "
                              "the base plan, and a hedged plan")
    sub.add_argument("scenario", metavar="SCENARIO", help="scenario file")
    sub.add_argument("--samples", metavar="N|auto", help="Monte Carlo futures (default: "
                     "the scenario's stress.samples, else 50; 0: none; auto: until p90 is "
                     "known within 1%%, at most --max-samples)")
    sub.add_argument("--max-samples", type=int, default=2000, metavar="N",
                     help="--samples auto stops here (default 2000)")
    sub.add_argument("--seed", type=int, default=0, metavar="K", help="random seed (default 0)")
    sub.add_argument("--workers", type=int, metavar="N", help="solver processes (default: the "
                     "number of cores)")
    sub.add_argument("--scheduler", metavar="ADDRESS", help="send the solves to a Dask "
                     "cluster, e.g. tcp://10.0.0.5:8786 (pip install 'planner[distributed]')")
    sub.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    sub.add_argument("--cvar-weight", type=float, metavar="W", help="hedged plan: weight of "
                     "CVaR against the expectation, 0..1 (default stress.cvar_weight, 0)")
    sub.add_argument("--cvar-alpha", type=float, metavar="A", help="CVaR level (default 0.9: "
                     "the mean of the worst 10%% of futures)")
    sub.add_argument("--hedge-over", choices=("auto", "samples", "variants"), default="auto",
                     help="futures of the hedged plan (auto: samples when --samples > 0)")
    sub.add_argument("--no-regret", action="store_true", help="skip the regret table")
    sub.add_argument("--no-hedge", action="store_true", help="skip the hedged plan")
    sub.add_argument("--hedge-clusters", type=int, default=8, metavar="K",
                     help="the hedged program holds at most K futures: more samples are "
                     "grouped into K scenario clusters (default 8)")
    sub.add_argument("--no-hedge-bound", action="store_true", help="skip the bound of "
                     "perfect information (one relaxed plan per future)")
    sub.add_argument("--out", metavar="DIR", help="write the tables as CSV, stress.json and "
                     "report.html into DIR")
    sub.add_argument("--force", action="store_true", help="replace an existing --out DIR")
    sub.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    sub.add_argument("--time-limit", type=float, metavar="S", help="time limit per plan, s")
    sub.add_argument("--hedge-time-limit", type=float, default=300.0, metavar="S",
                     help="time limit of the hedged program, s (default 300)")
    sub.add_argument("--relax", action="store_true", help="fractional servers and GPUs")
    sub.add_argument("--no-reuse", action="store_true", help="build and solve every future "
                     "from scratch instead of on one kept model (the same costs, slower)")
    _common(sub)
    sub.set_defaults(handler=cmd_stress)


def cmd_stress(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies import stress

    _refuse_existing_out(args)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: allowed: 1 or more")
    options = stress.StressOptions(
        samples=stress.parse_samples(args.samples), max_samples=args.max_samples,
        seed=args.seed, workers=args.workers, solver=args.solver,
        time_limit=args.time_limit, relax=args.relax, regret=not args.no_regret,
        hedge=not args.no_hedge, hedge_over=args.hedge_over,
        hedge_time_limit=args.hedge_time_limit, hedge_clusters=args.hedge_clusters,
        hedge_bound=not args.no_hedge_bound, cvar_weight=args.cvar_weight,
        cvar_alpha=args.cvar_alpha, currency=args.currency, scheduler=args.scheduler,
        progress=not (args.quiet or args.json), reuse=not args.no_reuse)
    result = stress.stress(args.scenario, catalog_dir=args.catalog, sets=args.sets,
                           options=options)
    text = stress.render(result)
    if args.out:
        from planner.report.stress import write_stress_result

        write_stress_result(result, args.out, force=args.force)
        text += f"\n\nWrote report.html, stress.json and the tables (.csv) into {args.out}"
    return result.to_dict(), text, 0


# --------------------------------------------------------------------------- sensitivity


def _add_sensitivity_command(commands: argparse._SubParsersAction) -> None:
    """planner sensitivity (issue 21; planner/studies/sensitivity.py, docs/plan.md)."""
    sub = commands.add_parser("sensitivity", help="npv and next-year cash at -delta/+delta of "
                              "each main assumption, plans re-optimised, and where the "
                              "build/rent/API choice flips")
    sub.add_argument("scenario", metavar="SCENARIO", help="scenario file")
    sub.add_argument("--delta", type=float, default=0.2, metavar="D",
                     help="how far each assumption moves (default 0.2: levels x0.8 and x1.2, "
                     "yearly rates -20 and +20 points)")
    sub.add_argument("--only", metavar="LIST", help="comma-separated assumptions to run "
                     "(default all), e.g. 'API prices,demand level'")
    sub.add_argument("--variant", metavar="NAME", help="start from a named variant")
    sub.add_argument("--out", metavar="DIR", help="write tornado.png, sensitivity.csv, "
                     "sensitivity.json and report.html into DIR")
    sub.add_argument("--force", action="store_true", help="replace an existing --out DIR")
    sub.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    sub.add_argument("--time-limit", type=float, metavar="S", help="time limit per plan, s")
    _common(sub)
    sub.set_defaults(handler=cmd_sensitivity)


def cmd_sensitivity(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner.studies import sensitivity as study

    _refuse_existing_out(args)
    if args.currency:
        raise InputError("--currency: not supported by sensitivity yet; allowed: the "
                         "scenario's currency (omit --currency)")
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    result = study.sensitivity(args.scenario, delta=args.delta, catalog_dir=args.catalog,
                               sets=args.sets, variant=args.variant, solver=args.solver,
                               time_limit=args.time_limit, only=only,
                               progress=study.stderr_progress)
    text = study.render(result)
    if args.out:
        from planner.report.sensitivity import write_sensitivity_report

        write_sensitivity_report(result, args.out, force=args.force)
        text += f"\n\nWrote report.html, tornado.png, sensitivity.csv and .json into {args.out}"
    return result.to_dict(), text, 0


# --------------------------------------------------------------------------- throughput


def _add_throughput_command(commands: argparse._SubParsersAction) -> None:
    """planner throughput (SPEC section 6; planner/roofline.py, docs/roofline.md)."""
    sub = commands.add_parser("throughput", help="what one GPU serves (roofline performance model)")
    sub.add_argument("model", metavar="MODEL", help="model id from models.yaml")
    sub.add_argument("gpu", metavar="GPU", help="GPU id from gpus.yaml")
    sub.add_argument("--precision", metavar="P", help="weight precision (default: fp8 where the "
                     "GPU has it, else bf16; fp16 with --ideal)")
    sub.add_argument("--kv-precision", metavar="P", help="KV-cache precision (default: fp8 for "
                     "fp8/fp4 weights, else the weight precision)")
    sub.add_argument("--tp", type=int, metavar="N", help="tensor-parallel degree (default: the "
                     "best per GPU)")
    sub.add_argument("--input", type=int, default=1000, metavar="N",
                     help="input tokens per request (default 1000)")
    sub.add_argument("--output", type=int, default=1000, metavar="N",
                     help="output tokens per request (default 1000)")
    sub.add_argument("--batch", "--concurrency", type=int, metavar="N", dest="batch",
                     help="requests in flight (default: the largest batch that fits and meets "
                     "the SLO); above what fits, the rest queue")
    sub.add_argument("--ttft-ms", type=float, metavar="X", help="time-to-first-token target")
    sub.add_argument("--tpot-ms", type=float, metavar="X", help="time-per-output-token target")
    sub.add_argument("--ideal", action="store_true", help="pure roofline: every efficiency 1, "
                     "all memory usable, no engine batch ceiling, measured entries ignored")
    _common(sub)
    sub.set_defaults(handler=cmd_throughput)


def cmd_throughput(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    from planner import roofline

    catalog = loading.load_catalog(args.catalog, args.sets).catalog
    for kind, ident, pool in (("model", args.model, catalog.models), ("gpu", args.gpu,
                                                                       catalog.gpus)):
        if ident not in pool:
            raise InputError(f"unknown {kind} {ident!r}; known {kind}s: "
                             + ", ".join(sorted(pool)))
    gpu = catalog.gpus[args.gpu]
    precision = args.precision or ("fp16" if args.ideal else roofline.default_precision(gpu))
    try:
        result = roofline.evaluate(
            catalog.models[args.model], gpu, precision=precision, input_tokens=args.input,
            output_tokens=args.output, kv_precision=args.kv_precision, tp=args.tp,
            batch=args.batch, ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, ideal=args.ideal,
            model_id=args.model, gpu_id=args.gpu)
    except InfeasibleError as exc:
        if "does not fit" not in str(exc):
            best = roofline.best_reachable_slo(
                catalog, args.model, input_tokens=args.input, output_tokens=args.output,
                precision=args.precision, kv_precision=args.kv_precision, ttft_ms=args.ttft_ms,
                tpot_ms=args.tpot_ms)
            if best is None or best["meets_slo"]:
                raise
            raise InfeasibleError(f"{exc}. The SLO is what fails: "
                                  f"{roofline.slo_failure_text(best, args.ttft_ms, args.tpot_ms)}"
                                  ) from None
        others = [g for g in roofline.gpus_that_fit(catalog, args.model, precision, args.input,
                                                    args.output) if not g.startswith(args.gpu)]
        hint = f" At {precision} it also fits on: {', '.join(others)}." if others else ""
        raise InfeasibleError(f"{exc}{hint}") from None
    return result.as_dict(), roofline.render(result), 0


# --------------------------------------------------------------------------- output


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    solving = sys.modules.get("planner.optimize.solve")
    if argv is None and solving is not None:
        # a solve the time limit's watchdog left running must not hold the process open
        solving.exit_past_running_solves(code)
    return code


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], tuple[dict[str, Any], str, int]] = args.handler
    try:
        result, text, code = handler(args)
    except PlannerError as exc:
        if args.debug:
            traceback.print_exc()
        if args.json and isinstance(exc, InputError):
            print(json.dumps({"ok": False, "error": str(exc), "problems": exc.problems}))
        elif args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        print(f"planner: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("planner: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line; --debug shows where
        if args.debug:
            traceback.print_exc()
        message = (f"internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in "
                   "planner, please report it with the command line and input files"
                   + ("" if args.debug else "; --debug shows the traceback"))
        if args.json:
            print(json.dumps({"ok": False, "error": message}))
        print(f"planner: {message}", file=sys.stderr)
        return 1
    try:
        if args.json:
            print(json.dumps(json_ready(result), indent=2))
        else:
            print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `planner ... | head`: the reader left; not an error of ours
        try:  # point stdout at /dev/null so the interpreter's final flush stays quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # stdout has no file descriptor (captured in tests): nothing to flush
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
