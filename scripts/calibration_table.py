"""Regenerate the predicted-vs-measured table of docs/roofline.md from calibration/rows.csv.

    python scripts/calibration_table.py          # rewrite the table in docs/roofline.md
    python scripts/calibration_table.py --print  # print it instead
    python scripts/calibration_table.py --fit    # refit every family on its fit rows (JSON)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from planner.loading import load_catalog
from planner.studies import calibration

DOC = Path(__file__).resolve().parent.parent / "docs" / "roofline.md"


def main(argv: list[str]) -> int:
    catalog = load_catalog().catalog
    rows = calibration.load_rows()
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
