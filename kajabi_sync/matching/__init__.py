"""Finding contacts that are probably the same person."""

from kajabi_sync.matching.duplicates import (
    HOLD_THRESHOLD,
    REPORT_THRESHOLD,
    find_candidates_against,
    find_duplicate_candidates,
)

__all__ = [
    "HOLD_THRESHOLD",
    "REPORT_THRESHOLD",
    "find_candidates_against",
    "find_duplicate_candidates",
]
