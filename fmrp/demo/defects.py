"""Seeded defects in the cash-closing emails: few, deterministic and recorded in the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from fmrp.demo.mail import SaleRow, message_id

UNKNOWN_SKU = "PA-99999"
MISSPELLED_HEADER = ("Quantidade", "Quantidde")
CORRECTED_RESEND, UNKNOWN, NEGATIVE, HEADER, DUPLICATE = (
    "corrected_resend",
    "unknown_sku",
    "negative_quantity",
    "misspelled_header",
    "duplicate_row",
)
DEFECT_KINDS = (CORRECTED_RESEND, UNKNOWN, NEGATIVE, HEADER, DUPLICATE)
QUANTITY = 3  # column index of Quantidade in a SaleRow


@dataclass(frozen=True)
class Send:
    """One email to write for a business day."""

    sequence: int
    rows: list[SaleRow]
    headers: list[str]
    corrected: bool = False


@dataclass
class DefectPlan:
    """Which business day carries which defect (one day per kind, all well inside the history)."""

    days: dict[str, date]
    records: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def choose(cls, business_days: list[date], rng: np.random.Generator) -> DefectPlan:
        """Five distinct days between 15% and 85% of the history, none in its last 30 days."""
        last = business_days[-1]
        n = len(business_days)
        candidates = [d for d in business_days[int(0.15 * n) : int(0.85 * n)] if (last - d).days > 30]
        picked = rng.choice(len(candidates), size=len(DEFECT_KINDS), replace=False)
        return cls(days={kind: candidates[i] for kind, i in zip(DEFECT_KINDS, picked, strict=True)})

    @property
    def csv_days(self) -> set[date]:
        """Days whose attachment must be a CSV (the misspelled header is a CSV defect)."""
        return {self.days[HEADER]}

    def sends(
        self, day: date, rows: list[SaleRow], headers: list[str], extension: str, rng: np.random.Generator
    ) -> list[Send]:
        """The email(s) of a day with this day's defect applied and recorded."""
        kinds = [kind for kind, d in self.days.items() if d == day]
        if not kinds or not rows:
            return [Send(1, rows, headers)]
        kind = kinds[0]
        rows = list(rows)
        record = self._recorder(day, extension)
        if kind == CORRECTED_RESEND:
            wrong = list(rows)
            for r in sorted(rng.choice(len(rows), size=min(3, len(rows)), replace=False)):
                d, sku, desc, qty, price, _ = rows[r]
                bad = float(qty + max(1, round(qty * rng.uniform(0.3, 1.5))) * (1 if rng.random() < 0.6 else -1))
                bad = bad if bad > 0 else qty * 2
                wrong[r] = (d, sku, desc, bad, price, round(bad * price, 2))
                record(
                    CORRECTED_RESEND,
                    r + 1,
                    "Quantidade",
                    bad,
                    qty,
                    f"superseded by {day:%Y-%m-%d}_2.eml {message_id(day, 2)}",
                )
            return [Send(1, wrong, headers), Send(2, rows, headers, corrected=True)]
        if kind == UNKNOWN:
            row = (day, UNKNOWN_SKU, "Panela Promocional 26cm Avulsa", 3.0, 59.9, 179.7)
            position = next((i for i, r in enumerate(rows) if r[1] > UNKNOWN_SKU), len(rows))
            rows.insert(position, row)
            record(UNKNOWN, position + 1, "Código", UNKNOWN_SKU, None, "SKU not in the item master; row to reject")
        elif kind == NEGATIVE:
            r = int(rng.integers(len(rows)))
            d, sku, desc, qty, price, revenue = rows[r]
            rows[r] = (d, sku, desc, -qty, price, revenue)
            record(NEGATIVE, r + 1, "Quantidade", -qty, qty, "sign typed by mistake; not a return")
        elif kind == DUPLICATE:
            r = int(rng.integers(len(rows)))
            rows.insert(r + 1, rows[r])
            record(DUPLICATE, r + 2, None, None, None, f"exact copy of row {r + 1}; row to drop")
        elif kind == HEADER:
            headers = [MISSPELLED_HEADER[1] if h == MISSPELLED_HEADER[0] else h for h in headers]
            record(
                HEADER,
                0,
                MISSPELLED_HEADER[0],
                MISSPELLED_HEADER[1],
                MISSPELLED_HEADER[0],
                "misspelled header in the CSV attachment",
            )
        return [Send(1, rows, headers)]

    def _recorder(self, day: date, extension: str) -> Callable[..., None]:
        def record(kind: str, row: int, column: str | None, value: object, correct: object, note: str) -> None:
            self.records.append(
                {
                    "kind": kind,
                    "business_date": day,
                    "file_name": f"{day:%Y-%m-%d}_1.eml",
                    "message_id": message_id(day, 1),
                    "attachment": f"fechamento_{day:%Y-%m-%d}.{extension}",
                    "row": row,
                    "field": column,
                    "value": _text(value),
                    "correct_value": _text(correct),
                    "note": note,
                }
            )

        return record


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
