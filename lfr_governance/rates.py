"""Rates per passer-by, in the one wording the published record, the deployment page and the DPO report use.

The unit is the passer-by, not the frame (GOVERNANCE.md): a false-alert rate is false alerts / passers-by,
stated as "1 in N" and as a percentage, as the forces publish theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NO_PASSERS_BY = "no passers-by yet"


def percent_text(fraction: float) -> str:
    """A fraction as a percentage with two significant figures below 1% ("0.032%"), one decimal above ("12.5%")."""
    percent = 100 * fraction
    if percent == 0:
        return "0%"
    if percent >= 1:
        return f"{percent:.1f}".rstrip("0").rstrip(".") + "%"
    decimals = 1 - math.floor(math.log10(percent))
    return f"{percent:.{decimals}f}%"


@dataclass(frozen=True)
class PerPasserBy:
    """`count` (e.g. false alerts) out of `passers_by` (tracks started)."""

    count: int
    passers_by: int

    @property
    def rate(self) -> float | None:
        """count / passers-by; None while there is no passer-by."""
        return self.count / self.passers_by if self.passers_by > 0 else None

    @property
    def one_in(self) -> int | None:
        """Passers-by per one counted (the N of "1 in N"); None with no passer-by or nothing counted."""
        if self.passers_by <= 0 or self.count <= 0:
            return None
        return max(1, round(self.passers_by / self.count))

    @property
    def percent(self) -> str:
        return "" if self.rate is None else percent_text(self.rate)

    @property
    def ratio(self) -> str:
        """"1 in 3,300", "none in 12,000", or "3 in 2" where it is not less than one a passer-by."""
        if self.passers_by <= 0:
            return ""
        if self.count <= 0:
            return f"none in {self.passers_by:,}"
        if self.passers_by / self.count >= 2:
            return f"1 in {self.one_in:,}"
        return f"{self.count:,} in {self.passers_by:,}"

    @property
    def text(self) -> str:
        """"1 in 3,300 passers-by (0.030%)", "none in 12,000 passers-by (0%)", or "no passers-by yet"."""
        if self.passers_by <= 0:
            return NO_PASSERS_BY
        return f"{self.ratio} passer{'s' if self.passers_by != 1 else ''}-by ({self.percent})"

    def __str__(self) -> str:
        return self.text
