"""The plan as a spreadsheet (`plan --out DIR` writes DIR/plan.xlsx): one sheet per table of
PlanResult.tables(), units in the column headers (`capex_cny`, `mtok`, `gpu_hours`), the header
row frozen and bold, columns wide enough to read. Budgets live in spreadsheets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

WORKBOOK_FILE = "plan.xlsx"
MAX_SHEET_NAME = 31  # Excel's limit
MAX_COLUMN_WIDTH = 40


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path | str) -> Path:
    """Write each table to its own sheet (in the mapping's order) of a new .xlsx at `path`."""
    from openpyxl.styles import Font  # only --out needs openpyxl: plans load faster without it

    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            sheet = name[:MAX_SHEET_NAME]
            table.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            ws.freeze_panes = "A2"  # the header stays when scrolling
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for column, header in zip(ws.iter_cols(min_row=1, max_row=min(ws.max_row, 200)),
                                      table.columns, strict=False):
                longest = max([len(str(header))] + [len(f"{c.value:,.2f}")
                                                    if isinstance(c.value, float)
                                                    else len(str(c.value or ""))
                                                    for c in column[1:]])
                ws.column_dimensions[column[0].column_letter].width = min(
                    MAX_COLUMN_WIDTH, longest + 2)
            for row in ws.iter_rows(min_row=2):
                for cell in row:
                    if isinstance(cell.value, float):
                        cell.number_format = "#,##0.00"
    return path


__all__ = ["WORKBOOK_FILE", "write_workbook"]
