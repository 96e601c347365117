"""Shared fixtures: paths to the shipped data and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "catalogs"
SCENARIO_DIR = ROOT / "scenarios"


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys):
    """Run `planner ARGS` in-process; return exit code, stdout and stderr."""

    def runner(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return runner
