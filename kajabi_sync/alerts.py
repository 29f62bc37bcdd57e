"""Telling someone that a weekly import was blocked or failed: by webhook, by e-mail, or both.

Off unless configured. The settings come from the environment; the two secrets (the webhook URL,
which carries its own token, and the SMTP password) never appear in a message, a log line or an
error: a delivery failure names only the channel, the error's kind and the server's status code.

- ``KAJABI_SYNC_ALERT_WEBHOOK_URL``: POST a JSON message (``text`` holds the whole alert, which
  Slack, Mattermost and Teams incoming webhooks display as is).
- ``KAJABI_SYNC_SMTP_HOST`` and ``KAJABI_SYNC_ALERT_EMAIL_TO`` (comma-separated): send an e-mail;
  with ``KAJABI_SYNC_SMTP_PORT`` (default 587), ``KAJABI_SYNC_SMTP_SECURITY`` (``starttls``
  default, ``ssl`` or ``none``), ``KAJABI_SYNC_SMTP_USER`` and ``KAJABI_SYNC_SMTP_PASSWORD``
  (log in only when a user is set), ``KAJABI_SYNC_ALERT_EMAIL_FROM`` (default: the user, or
  ``kajabi-sync@<host>``).
- ``KAJABI_SYNC_UI_URL``: where the Dagster UI is, for the link to the run (default
  ``http://127.0.0.1:3000``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import httpx

WEBHOOK_URL_ENV = "KAJABI_SYNC_ALERT_WEBHOOK_URL"
SMTP_HOST_ENV = "KAJABI_SYNC_SMTP_HOST"
SMTP_PORT_ENV = "KAJABI_SYNC_SMTP_PORT"
SMTP_SECURITY_ENV = "KAJABI_SYNC_SMTP_SECURITY"
SMTP_USER_ENV = "KAJABI_SYNC_SMTP_USER"
SMTP_PASSWORD_ENV = "KAJABI_SYNC_SMTP_PASSWORD"
EMAIL_FROM_ENV = "KAJABI_SYNC_ALERT_EMAIL_FROM"
EMAIL_TO_ENV = "KAJABI_SYNC_ALERT_EMAIL_TO"
UI_URL_ENV = "KAJABI_SYNC_UI_URL"
ALERT_ENVS = (
    WEBHOOK_URL_ENV,
    SMTP_HOST_ENV,
    SMTP_PORT_ENV,
    SMTP_SECURITY_ENV,
    SMTP_USER_ENV,
    SMTP_PASSWORD_ENV,
    EMAIL_FROM_ENV,
    EMAIL_TO_ENV,
    UI_URL_ENV,
)
DEFAULT_UI_URL = "http://127.0.0.1:3000"
SECURITIES = ("starttls", "ssl", "none")
Security = Literal["starttls", "ssl", "none"]
TIMEOUT_SECONDS = 20.0
DETAIL_CHARS = 400  # each reason is cut here: an alert points to the run, it does not replace it


class AlertDeliveryError(RuntimeError):
    """An alert could not be sent; the message names the channel, never its secret."""


def check_alert_environment(env: Mapping[str, str]) -> None:
    """Refuse half-configured e-mail and unknown values, naming the variable."""
    if env.get(SMTP_HOST_ENV) and not env.get(EMAIL_TO_ENV):
        raise ValueError(
            f"{SMTP_HOST_ENV} is set but {EMAIL_TO_ENV} is not: say who gets the alert"
        )
    if env.get(EMAIL_TO_ENV) and not env.get(SMTP_HOST_ENV):
        raise ValueError(f"{EMAIL_TO_ENV} is set but {SMTP_HOST_ENV} is not: name the SMTP server")
    security = env.get(SMTP_SECURITY_ENV, "starttls")
    if security not in SECURITIES:
        raise ValueError(f"{SMTP_SECURITY_ENV}={security!r}: use one of {', '.join(SECURITIES)}")
    port = env.get(SMTP_PORT_ENV, "587")
    if not port.isdigit():
        raise ValueError(f"{SMTP_PORT_ENV}={port!r} is not a port number")


def alerts_configured(env: Mapping[str, str]) -> bool:
    return bool(env.get(WEBHOOK_URL_ENV) or env.get(SMTP_HOST_ENV))


@dataclass(frozen=True)
class Alert:
    """What one blocked or failed run says, in words an operator reads at once."""

    verdict: Literal["blocked", "failed"]
    job: str
    run_id: str
    week: str | None
    reasons: Sequence[str]
    run_url: str
    blocked_by: Sequence[str] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        what = f"week of {self.week}" if self.week else self.job
        if self.verdict == "blocked":
            return (
                f"kajabi_sync: {what} BLOCKED by {', '.join(self.blocked_by)}, nothing was written"
            )
        return f"kajabi_sync: {what} FAILED, nothing was written"

    @property
    def body(self) -> str:
        lines = [self.subject, ""]
        lines += [f"- {_short(reason)}" for reason in self.reasons]
        if self.verdict == "blocked":
            lines += [
                "",
                "The import stopped before writing: a guard found numbers that look wrong. The "
                "run's check in the UI says what it measured and, if the week is fine, the "
                "Launchpad override that lets it through.",
            ]
        else:
            lines += [
                "",
                "The run stopped with an error before writing. Its log in the UI says where.",
            ]
        lines += ["", f"Run {self.run_id} ({self.job}): {self.run_url}"]
        return "\n".join(lines)

    def webhook_payload(self) -> dict[str, object]:
        return {
            "text": self.body,
            "subject": self.subject,
            "verdict": self.verdict,
            "blocked_by": list(self.blocked_by),
            "week": self.week,
            "job": self.job,
            "run_id": self.run_id,
            "run_url": self.run_url,
        }


def _short(text: str) -> str:
    first = next((part.strip() for part in text.strip().split("\n\n") if part.strip()), "")
    first = " ".join(first.split())
    return first if len(first) <= DETAIL_CHARS else first[: DETAIL_CHARS - 1] + "…"


def run_url(ui_url: str | None, run_id: str) -> str:
    return f"{(ui_url or DEFAULT_UI_URL).rstrip('/')}/runs/{run_id}"


class _RedactSecrets(logging.Filter):
    """httpx logs every request's full URL at INFO; a webhook URL carries its token."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = text
        for secret in self.secrets:
            hidden = hidden.replace(secret, "<alert webhook URL>")
        if hidden != text:
            record.msg, record.args = hidden, None
        return True


_REDACT = _RedactSecrets()
logging.getLogger("httpx").addFilter(_REDACT)


def send_webhook(url: str, alert: Alert) -> None:
    """POST the alert as JSON; retried on connection errors. Fails with the status, never the URL."""
    _REDACT.secrets.add(url)
    failure = None
    try:
        transport = httpx.HTTPTransport(retries=2)
        with httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS) as client:
            response = client.post(url, json=alert.webhook_payload())
        if response.is_error:
            failure = f"the alert webhook answered HTTP {response.status_code}"
    except httpx.HTTPError as error:  # its text names the URL, which holds the token
        failure = f"the alert webhook could not be reached ({type(error).__name__})"
    if failure:
        raise AlertDeliveryError(failure)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    to: Sequence[str]
    port: int = 587
    security: Security = "starttls"
    user: str | None = None
    password: str | None = None
    sender: str | None = None

    def from_address(self) -> str:
        return self.sender or self.user or f"kajabi-sync@{self.host}"


def send_email(smtp: SmtpSettings, alert: Alert) -> None:
    """Send the alert as a plain-text e-mail. Fails with the SMTP code, never the password."""
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = smtp.from_address()
    message["To"] = ", ".join(smtp.to)
    message.set_content(alert.body)
    failure = None
    try:
        server: smtplib.SMTP
        if smtp.security == "ssl":
            server = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, smtp.password or "")
            server.send_message(message)
    except smtplib.SMTPResponseException as error:
        failure = f"the SMTP server {smtp.host} refused the alert (code {error.smtp_code})"
    except (smtplib.SMTPException, OSError) as error:
        failure = f"the alert e-mail could not be sent through {smtp.host} ({type(error).__name__})"
    if failure:
        raise AlertDeliveryError(failure)
