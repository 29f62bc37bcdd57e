"""Alerts for blocked and failed runs, through Dagster's run-failure sensor, to real local servers:
an HTTP server for the webhook and an SMTP server (aiosmtpd) for the e-mail."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kajabi_sync import alerts
from kajabi_sync.defs.alerts import AlertChannels, alert_channels_from_env, import_alert_sensor
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.weekly_job import run_week

WEEK = "2025-11-10"
TOKEN = "T0AAAA/B0BBBB/s3cr3t-webhook-token"
PASSWORD = "smtp-pa55word-never-shown"


class Webhook:
    """A local HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                owner.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd handler: every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield port, mailbox
    controller.stop()


def blocked_run(db_url: str, data_dir: Path, instance: dg.DagsterInstance):
    insert_contacts(db_url, {"email": "bob@example.com", "first_name": "Bob", "kajabi_id": "102"})
    kajabi_csv(
        data_dir / "kajabi_exports" / f"kajabi_contacts_{WEEK}.csv",
        {"email": "bob@example.com", "first_name": "Bob", "kajabi_id": "102"},
        {"email": "new@example.com", "first_name": "Nina", "kajabi_id": "103"},
    )
    result = run_week(
        WEEK, db_url=db_url, data_dir=data_dir, instance=instance
    )  # one new contact in two rows: a 50% surge
    assert not result.success
    return result


def alert_sensor(result, instance: dg.DagsterInstance, channels: AlertChannels):
    with dg.build_run_status_sensor_context(
        sensor_name="import_alert_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_channels": channels},
    ).for_run_failure() as context:
        return import_alert_sensor(context)


def test_a_blocked_week_is_posted_to_the_webhook(db_url, data_dir, instance, monkeypatch, caplog):
    result = blocked_run(db_url, data_dir, instance)
    with Webhook() as hook:
        monkeypatch.setenv(alerts.WEBHOOK_URL_ENV, hook.url)
        monkeypatch.setenv(alerts.UI_URL_ENV, "http://dagster.example.org:3000/")
        with caplog.at_level(logging.DEBUG):
            alert_sensor(result, instance, alert_channels_from_env())

    (body,) = hook.bodies
    assert body["verdict"] == "blocked"
    assert body["blocked_by"] == ["new_contact_surge"]
    assert body["week"] == WEEK
    assert body["subject"] == (
        f"kajabi_sync: week of {WEEK} BLOCKED by new_contact_surge, nothing was written"
    )
    assert body["run_url"] == f"http://dagster.example.org:3000/runs/{result.run_id}"
    assert "- new_contact_surge: " in body["text"] and "Launchpad override" in body["text"]
    assert TOKEN not in caplog.text and "s3cr3t" not in caplog.text


def test_a_failed_run_is_e_mailed_with_its_error(
    db_url, data_dir, instance, smtp_server, monkeypatch
):
    (data_dir / "kajabi_exports" / f"kajabi_contacts_{WEEK}.csv").write_text(
        "not,a,kajabi\nexport,at,all\n"
    )
    result = run_week(WEEK, db_url=db_url, data_dir=data_dir, instance=instance)
    assert not result.success
    port, mailbox = smtp_server
    for name, value in {
        alerts.SMTP_HOST_ENV: "127.0.0.1",
        alerts.SMTP_PORT_ENV: str(port),
        alerts.SMTP_SECURITY_ENV: "none",
        alerts.SMTP_USER_ENV: "ops",
        alerts.SMTP_PASSWORD_ENV: PASSWORD,
        alerts.EMAIL_FROM_ENV: "kajabi-sync@example.org",
        alerts.EMAIL_TO_ENV: "ops@example.org, lead@example.org",
    }.items():
        monkeypatch.setenv(name, value)

    alert_sensor(result, instance, alert_channels_from_env())

    (raw,) = mailbox.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == f"kajabi_sync: week of {WEEK} FAILED, nothing was written"
    assert mail["To"] == "ops@example.org, lead@example.org"
    text = mail.get_payload(decode=True).decode()
    assert "- raw_kajabi_export: " in text
    assert f"/runs/{result.run_id}" in text
    assert PASSWORD not in raw.decode()


def test_delivery_failures_name_no_secret(db_url, data_dir, instance, smtp_server):
    result = blocked_run(db_url, data_dir, instance)
    with Webhook(status=500) as hook, pytest.raises(alerts.AlertDeliveryError) as refused:
        alert_sensor(result, instance, AlertChannels(webhook_url=hook.url))
    assert str(refused.value) == "the alert webhook answered HTTP 500"
    unreachable = f"http://127.0.0.1:{free_port()}/services/{TOKEN}"
    with pytest.raises(alerts.AlertDeliveryError) as gone:
        alert_sensor(result, instance, AlertChannels(webhook_url=unreachable))
    assert "could not be reached" in str(gone.value) and TOKEN not in str(gone.value)
    assert gone.value.__cause__ is None and gone.value.__context__ is None
    port, _ = smtp_server
    wrong_password = AlertChannels(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_user="ops",
        smtp_password="wrong-" + PASSWORD,
        email_to="ops@example.org",
    )
    with pytest.raises(alerts.AlertDeliveryError) as denied:
        alert_sensor(result, instance, wrong_password)
    # Refused (535) or dropped by the server after the refusal: either way, no password.
    assert "127.0.0.1" in str(denied.value) and PASSWORD not in str(denied.value)
    assert denied.value.__cause__ is None and denied.value.__context__ is None


def test_without_a_channel_the_sensor_sends_nothing(db_url, data_dir, instance):
    result = blocked_run(db_url, data_dir, instance)
    skipped = alert_sensor(result, instance, AlertChannels())
    assert isinstance(skipped, dg.SkipReason)
    assert "No alert channel is configured" in (skipped.skip_message or "")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({alerts.SMTP_HOST_ENV: "smtp.example.org"}, "KAJABI_SYNC_ALERT_EMAIL_TO is not"),
        ({alerts.EMAIL_TO_ENV: "ops@example.org"}, "KAJABI_SYNC_SMTP_HOST is not"),
        ({alerts.SMTP_SECURITY_ENV: "tls"}, "KAJABI_SYNC_SMTP_SECURITY='tls'"),
        ({alerts.SMTP_PORT_ENV: "smtp"}, "KAJABI_SYNC_SMTP_PORT='smtp' is not a port"),
    ],
)
def test_a_half_configured_alert_is_refused(env, says):
    with pytest.raises(ValueError, match=says):
        alerts.check_alert_environment(env)


def sensor_status_when_loaded(tmp_path: Path, env: dict[str, str]) -> str:
    probe = (
        "import warnings\n"
        "from kajabi_sync.definitions import defs\n"
        "sensor = defs.get_repository_def().get_sensor_def('import_alert_sensor')\n"
        "print(sensor.default_status.value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"DAGSTER_HOME": str(tmp_path), "PATH": "", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_alert_sensor_runs_only_when_configured(tmp_path):
    assert sensor_status_when_loaded(tmp_path, {}) == "STOPPED"
    configured = {alerts.WEBHOOK_URL_ENV: f"https://hooks.example.org/services/{TOKEN}"}
    assert sensor_status_when_loaded(tmp_path, configured) == "RUNNING"
