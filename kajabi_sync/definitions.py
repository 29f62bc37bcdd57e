"""The Dagster code location: ``dagster dev`` (via workspace.yaml) loads ``defs`` from here.

``KAJABI_SYNC_SOURCE`` and ``KAJABI_SYNC_PUSH`` are read when the code location loads (restart
``dagster dev`` after changing them). With ``KAJABI_SYNC_SOURCE=api``, ``raw_kajabi_export``
pulls a week without a file from the API first. With ``KAJABI_SYNC_PUSH=api`` the push
(``kajabi_push_plan``, its ``push_volume`` check, ``kajabi_push``, ``push_rejections``) joins the
weekly job; with the defaults neither exists.
"""

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
from kajabi_sync.kajabi.api import settings as api_settings

RAW_EXPORT = dg.AssetKey("raw_kajabi_export")


def build_definitions() -> dg.Definitions:
    """The code location as the environment sets it up now (KAJABI_SYNC_SOURCE, KAJABI_SYNC_PUSH
    and the resources' variables)."""
    pulls = api_settings.source() == "api"
    pushing = api_settings.push_mode() == "api"
    weekly = [
        a
        for a in dg.load_assets_from_modules([assets])
        if not (isinstance(a, dg.AssetsDefinition) and RAW_EXPORT in a.keys)
    ]
    weekly.append(assets.raw_export_asset(pulls))
    checks: list = [kajabi_import_guards, weekly_export_on_time]
    if pushing:
        from kajabi_sync.defs import push

        weekly += dg.load_assets_from_modules([push])
        checks += [push.kajabi_push_guards, push.push_rejections]
    return dg.Definitions(
        assets=weekly,
        asset_checks=checks,
        jobs=[weekly_kajabi_sync, merge_contacts_job, apply_review_decisions],
        schedules=[weekly_kajabi_sync_schedule],
        sensors=[new_kajabi_export_sensor, weekly_export_freshness_sensor, import_alert_sensor],
        resources={**default_resources(), ALERTS_RESOURCE: alert_channels_from_env()},
    )


defs = build_definitions()
