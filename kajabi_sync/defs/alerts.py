"""Alerts when a run is blocked or fails: Dagster's run-failure sensor, off unless configured.

A blocked week is a failed run (a blocking check stops the write), so one run-failure sensor
covers both; the alert tells them apart by the run's failed blocking checks. The channels are a
resource whose secrets are ``dg.EnvVar`` references: Dagster resolves them when the sensor runs and
never stores or shows their values. See :mod:`kajabi_sync.alerts` for the variables.
"""

from __future__ import annotations

import os
from typing import Any, cast

import dagster as dg

from kajabi_sync import alerts
from kajabi_sync.alerts import Alert, SmtpSettings, send_email, send_webhook

ALERTS_RESOURCE = "alert_channels"


class AlertChannels(dg.ConfigurableResource):
    """Where blocked and failed runs are reported (KAJABI_SYNC_ALERT_WEBHOOK_URL, KAJABI_SYNC_SMTP_HOST
    and KAJABI_SYNC_ALERT_EMAIL_TO, ...); nothing set means no alerts."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str | None = None
    email_to: str | None = None
    ui_url: str | None = None

    def configured(self) -> bool:
        return bool(self.webhook_url or (self.smtp_host and self.email_to))

    def send(self, alert: Alert) -> list[str]:
        """Send by every configured channel; returns the channels used (never their addresses)."""
        sent = []
        if self.webhook_url:
            send_webhook(self.webhook_url, alert)
            sent.append("webhook")
        if self.smtp_host and self.email_to:
            # check_alert_environment refused any other value before the resource was built.
            security = cast(alerts.Security, self.smtp_security)
            send_email(
                SmtpSettings(
                    host=self.smtp_host,
                    to=[a.strip() for a in self.email_to.split(",") if a.strip()],
                    port=self.smtp_port,
                    security=security,
                    user=self.smtp_user or None,
                    password=self.smtp_password or None,
                    sender=self.email_from or None,
                ),
                alert,
            )
            sent.append("e-mail")
        return sent


def alert_channels_from_env() -> AlertChannels:
    """The channels the environment configures, each value as an ``EnvVar`` reference."""
    env = os.environ
    alerts.check_alert_environment(env)

    def ref(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(name) if env.get(name) else None

    # Dagster resolves an EnvVar into the field's type when the resource is used.
    optional: dict[str, Any] = {
        "webhook_url": ref(alerts.WEBHOOK_URL_ENV),
        "smtp_host": ref(alerts.SMTP_HOST_ENV),
        "smtp_port": dg.EnvVar.int(alerts.SMTP_PORT_ENV) if env.get(alerts.SMTP_PORT_ENV) else None,
        "smtp_security": ref(alerts.SMTP_SECURITY_ENV),
        "smtp_user": ref(alerts.SMTP_USER_ENV),
        "smtp_password": ref(alerts.SMTP_PASSWORD_ENV),
        "email_from": ref(alerts.EMAIL_FROM_ENV),
        "email_to": ref(alerts.EMAIL_TO_ENV),
        "ui_url": ref(alerts.UI_URL_ENV),
    }
    return AlertChannels(**{k: v for k, v in optional.items() if v is not None})


def alert_for_run(
    instance: dg.DagsterInstance, run: dg.DagsterRun, failure: dg.DagsterEvent, ui_url: str | None
) -> Alert:
    """What the failed run says: the blocking checks that failed, else the steps' errors."""
    blocked: list[tuple[str, str]] = []
    errors: list[str] = []
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            if not check.passed and check.severity == dg.AssetCheckSeverity.ERROR:
                blocked.append((check.check_name, check.description or "failed"))
        elif event.is_step_failure and event.step_failure_data.error is not None:
            message = event.step_failure_data.error.message.strip()
            errors.append(f"{event.step_key}: {message}")
    common: dict[str, Any] = {
        "job": run.job_name,
        "run_id": run.run_id,
        "week": run.tags.get("dagster/partition"),
        "run_url": alerts.run_url(ui_url, run.run_id),
    }
    if blocked:
        return Alert(
            verdict="blocked",
            reasons=[f"{name}: {description}" for name, description in blocked],
            blocked_by=[name for name, _ in blocked],
            **common,
        )
    return Alert(
        verdict="failed", reasons=errors or [failure.message or "the run failed"], **common
    )


@dg.run_failure_sensor(
    name="import_alert_sensor",
    default_status=(
        dg.DefaultSensorStatus.RUNNING
        if alerts.alerts_configured(os.environ)
        else dg.DefaultSensorStatus.STOPPED
    ),
    description="Sends an alert (webhook and/or e-mail) when a run is blocked by a check or fails. "
    "Off unless KAJABI_SYNC_ALERT_WEBHOOK_URL or KAJABI_SYNC_SMTP_HOST is set (see the README).",
)
def import_alert_sensor(
    context: dg.RunFailureSensorContext, alert_channels: AlertChannels
) -> dg.SkipReason | None:
    if not alert_channels.configured():
        return dg.SkipReason(
            "No alert channel is configured: set KAJABI_SYNC_ALERT_WEBHOOK_URL, or "
            "KAJABI_SYNC_SMTP_HOST and KAJABI_SYNC_ALERT_EMAIL_TO, then restart."
        )
    alert = alert_for_run(
        context.instance, context.dagster_run, context.failure_event, alert_channels.ui_url
    )
    sent = alert_channels.send(alert)
    context.log.info(f"{alert.verdict} alert for run {alert.run_id} sent by {' and '.join(sent)}")
    return None
