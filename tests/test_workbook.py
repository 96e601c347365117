"""plan.xlsx (planner.results.workbook): one sheet per table, units in the headers, frozen
header rows; it opens and reads back with pandas."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from test_plan import solve, tiny

from planner.results.workbook import write_workbook


def test_workbook_reads_back_each_table_with_pandas(tmp_path):
    # 24-month reservation at 500 a month (12,000) against 24 x 730 on demand: the plan reserves.
    result = solve(tiny(24, on_demand=1.0, reserved=(500.0, 24)))
    tables = result.tables()
    path = write_workbook(tables, tmp_path / "plan.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == list(tables)
    years = sheets["years"].set_index("year")
    assert years.loc[2026, "reserved_usd"] == pytest.approx(6000.0)
    assert years.loc[2027, "committed_usd"] == pytest.approx(6000.0)
    for name, table in tables.items():
        assert list(sheets[name].columns) == list(table.columns), name
        assert len(sheets[name]) == len(table), name
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.bold


def test_plan_out_writes_the_workbook(run_cli, tmp_path):
    out = tmp_path / "plan"
    assert run_cli("plan", "scenarios/seed001_medium.yaml", "--out", out).code == 0
    sheets = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert {"years", "cash", "fleet", "served", "workloads", "commitments", "orders", "accounting",
            "workload_years"} == set(sheets)
    csv = pd.read_csv(out / "years.csv")
    assert sheets["years"]["total_cny"].tolist() == pytest.approx(csv["total_cny"].tolist())
