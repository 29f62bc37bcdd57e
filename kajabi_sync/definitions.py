"""The Dagster code location: ``dagster dev`` (via workspace.yaml) loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from kajabi_sync.defs import assets
from kajabi_sync.defs.alerts import ALERTS_RESOURCE, alert_channels_from_env, import_alert_sensor
from kajabi_sync.defs.checks import kajabi_import_guards
from kajabi_sync.defs.freshness import weekly_export_freshness_sensor, weekly_export_on_time
from kajabi_sync.defs.jobs import (
    new_kajabi_export_sensor,
    weekly_kajabi_sync,
    weekly_kajabi_sync_schedule,
)
from kajabi_sync.defs.merge_jobs import merge_contacts_job
from kajabi_sync.defs.resources import default_resources
from kajabi_sync.defs.review_jobs import apply_review_decisions

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=[kajabi_import_guards, weekly_export_on_time],
    jobs=[weekly_kajabi_sync, merge_contacts_job, apply_review_decisions],
    schedules=[weekly_kajabi_sync_schedule],
    sensors=[new_kajabi_export_sensor, weekly_export_freshness_sensor, import_alert_sensor],
    resources={**default_resources(), ALERTS_RESOURCE: alert_channels_from_env()},
)
