"""One guard's verdict, in plain data: what was measured, against what, and how to override."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GuardResult:
    name: str  # the check's name, e.g. "overwrite_volume"
    passed: bool
    blocking: bool  # a failure stops the write (False: a warning only)
    value: float | int | None  # what was measured (None: could not be computed)
    limit: float | int | None  # the largest value that passes
    threshold: str  # the setting, in words: "2.0% of matched contacts, at least 25"
    explanation: str  # what the numbers mean, in a sentence or two
    # The per-run setting that would let this value pass, e.g. {"max_overwrite_pct": 6.0};
    # empty when the guard cannot be overridden.
    override: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return self.blocking and not self.passed


# Guards whose limit is the smallest value that passes (every other limit is the largest).
MINIMUM_LIMIT_GUARDS = frozenset({"truncated_export"})


def passes_when(result: GuardResult) -> str:
    """Where the line is, in words: ``passes at 4,501 or more`` for a minimum."""
    if result.limit is None:
        return "no limit applied"
    if result.name in MINIMUM_LIMIT_GUARDS:
        return f"passes at {result.limit:,} or more"
    return f"passes at {result.limit:,} or less"


def percent(part: float, whole: float) -> float:
    """``part`` in % of ``whole`` (0 when whole is 0), rounded for display."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def pct_to_pass(value: float, whole: float) -> float:
    """The smallest whole-tenth percentage of ``whole`` that lets ``value`` pass."""
    if not whole:
        return 100.0
    needed = 100.0 * value / whole
    return (int(needed * 10) + 1) / 10
