"""Prices locked when signed (issue 17, item 7): in stress, a commitment keeps its price.

A purchase or reservation made in month m is signed at the price of month m in the scenario as
run, and keeps it under every future: a reservation pays it for its whole term, a purchase pays
it and is credited the book value of it. A stress future changes only what is decided later
(demand, on-demand, spot and API prices, availability). So in every stress solve the purchase and
reservation rows of the future's coefficient tables get the signed prices back; every other row
(the recourse, and rows only the future offers) keeps the future's. docs/stress.md, "Prices
locked when signed".

Pure pandas over PlanInputs; no solver here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pandas as pd

from planner.inputs import PlanInputs
from planner.units import month_index

# Per commitment kind: its table in PlanInputs, the price column locked, and the columns that
# are a fixed share of that price (scaled with it: the book value of a purchase is linear in
# its price, with the future's own depreciation years and horizon).
LOCKED = {"purchase": ("purchases", "price_per_gpu", ("residual_per_gpu",)),
          "reserved": ("reserved", "price_per_gpu_month", ())}

Signed = tuple[str, str, str, float]  # (kind, offer, month 'YYYY-MM', price per GPU)


def signed_prices(inputs: PlanInputs, commitments: Iterable[tuple[str, str, str, float]]
                  | None = None) -> tuple[Signed, ...]:
    """The prices `inputs` charges for `commitments` ((kind, offer, month, gpus) rows), or for
    every purchase and reservation it offers when None: what those contracts are signed at."""
    wanted = None if commitments is None else {(str(k), str(o), str(m))
                                               for k, o, m, *_ in commitments}
    out = []
    for kind, (table, column, _) in LOCKED.items():
        frame = getattr(inputs, table)
        for offer, month, price in zip(frame["offer"], frame["month"], frame[column],
                                       strict=True):
            key = (kind, str(offer), inputs.month_label(int(month)))
            if wanted is None or key in wanted:
                out.append((*key, float(price)))
    return tuple(sorted(out))


def lock_prices(inputs: PlanInputs, signed: Iterable[Signed]) -> PlanInputs:
    """`inputs` with the rows of signed contracts at their signed prices (rows the future does
    not offer are left out: such a commitment is reported as not applicable there)."""
    start = month_index(inputs.start)
    by_kind: dict[str, dict[tuple[str, int], float]] = {}
    for kind, offer, month, price in signed:
        by_kind.setdefault(kind, {})[(offer, month_index(month) - start)] = float(price)
    changes = {}
    for kind, prices in by_kind.items():
        table, column, scaled = LOCKED[kind]
        frame = getattr(inputs, table)
        if not len(frame) or not prices:
            continue
        keys = list(zip(frame["offer"], frame["month"].astype(int), strict=True))
        locked = pd.Series([prices.get(k) for k in keys], index=frame.index, dtype=object)
        hit = locked.notna()
        if not hit.any():
            continue
        frame = frame.copy()
        new = locked[hit].astype(float)
        old = frame.loc[hit, column].astype(float)
        for col in scaled:
            if col in frame.columns:
                ratio = (new / old).where(old != 0, 0.0)
                frame.loc[hit, col] = frame.loc[hit, col].astype(float) * ratio
        frame.loc[hit, column] = new
        changes[table] = frame
    return replace(inputs, **changes) if changes else inputs


__all__ = ["LOCKED", "Signed", "lock_prices", "signed_prices"]
