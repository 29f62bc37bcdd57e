"""What the API weeks' tests read from a weekly run's result."""

from __future__ import annotations

import dagster as dg

from kajabi_sync.fields import CONTACT_FIELDS


def plan_decisions(result: dg.ExecuteInProcessResult, email: str) -> dict[str, str]:
    """field -> decision for one matched contact (by lower-cased email) in the run's impact plan
    (the plan lists only fields that are not unchanged)."""
    changes = result.output_for_node("impact_analysis").changes
    rows = changes[changes["email"] == email]
    return dict.fromkeys(CONTACT_FIELDS, "unchanged") | dict(
        zip(rows["field"], rows["decision"], strict=True)
    )
