"""Every Launchpad config field says what it does (the operator reads it in the Launchpad)."""

from __future__ import annotations

import dagster as dg
import pytest

from kajabi_sync.defs.assets import PlanConfig
from kajabi_sync.defs.checks import GuardConfig
from kajabi_sync.defs.merge_jobs import MergeDecision
from kajabi_sync.defs.push import PushGuardConfig
from kajabi_sync.defs.review_jobs import ReviewFileConfig


@pytest.mark.parametrize(
    "config", [PlanConfig, GuardConfig, MergeDecision, PushGuardConfig, ReviewFileConfig]
)
def test_every_launchpad_field_has_a_description(config: type[dg.Config]) -> None:
    fields = config.to_config_schema().as_field().config_type.fields
    assert fields
    missing = sorted(
        name for name, field in fields.items() if not (field.description or "").strip()
    )
    assert missing == [], f"{config.__name__}: no description for {missing}"
