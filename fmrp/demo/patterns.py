"""Syntetos-Boylan demand patterns on weekly buckets.

ADI is the number of weeks in the window divided by the number of weeks with demand; CV² is the squared
coefficient of variation (population standard deviation over mean) of the non-zero weekly quantities.
"""

from __future__ import annotations

import numpy as np

ADI_CUT = 1.32
CV2_CUT = 0.49
SMOOTH, ERRATIC, INTERMITTENT, LUMPY = "smooth", "erratic", "intermittent", "lumpy"
PATTERNS = (SMOOTH, ERRATIC, INTERMITTENT, LUMPY)
PATTERN_SHARES = (0.40, 0.20, 0.25, 0.15)


def adi_cv2(weekly: np.ndarray) -> tuple[float, float]:
    """ADI and CV² of one weekly series (inf and nan when it has no demand)."""
    nonzero = weekly[weekly > 0]
    if nonzero.size == 0:
        return float("inf"), float("nan")
    return weekly.size / nonzero.size, float(nonzero.var() / nonzero.mean() ** 2)


def classify(adi: float, cv2: float) -> str:
    """The Syntetos-Boylan quadrant of an (ADI, CV²) pair."""
    if adi <= ADI_CUT:
        return SMOOTH if cv2 <= CV2_CUT else ERRATIC
    return INTERMITTENT if cv2 <= CV2_CUT else LUMPY


def is_intermittent(pattern: str) -> bool:
    """Whether the pattern has sporadic demand (ADI above the cut)."""
    return pattern in (INTERMITTENT, LUMPY)


def is_variable(pattern: str) -> bool:
    """Whether the pattern has variable demand sizes (CV² above the cut)."""
    return pattern in (ERRATIC, LUMPY)
