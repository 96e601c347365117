"""Command line: argument parsing, error -> exit code, output formatting.

A thin layer over the package: every command loads validated inputs, calls one function of the
package and prints either a readable table or, with --json, one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner import loading
from planner.errors import InputError, PlannerError


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
    return parser


# --------------------------------------------------------------------------- commands


def cmd_validate(args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    checked, problems = loading.validate_paths(args.paths, args.catalog, args.sets)
    result = {"ok": not problems, "checked": checked, "problems": problems}
    if problems:
        text = f"{len(problems)} problem(s) in {len(checked)} file(s):\n" + "\n".join(
            f"  {p}" for p in problems)
    else:
        text = f"ok: {len(checked)} catalog(s) and scenario(s) valid"
    return result, text, (2 if problems else 0)


# --------------------------------------------------------------------------- output


def json_ready(value: Any) -> Any:
    """Make a result JSON-safe: NaN/inf become null, tuples lists, numpy scalars floats."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return json_ready(value.item())
    if isinstance(value, Path):
        return str(value)
    return str(value)


def main(argv: list[str] | None = None) -> int:
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
    if args.json:
        print(json.dumps(json_ready(result), indent=2))
    else:
        print(text)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
