"""The Kajabi Public API settings, from the environment (names the user relies on).

- ``KAJABI_SYNC_SOURCE``: ``files`` (default: the export dropped in ``kajabi_exports/``) or
  ``api`` (the week's snapshot is pulled from the API).
- ``KAJABI_SYNC_PUSH``: ``off`` (default) or ``api`` (corrections are PATCHed back).
- ``KAJABI_SYNC_PUSH_NEW``: ``1`` to also create database-only contacts in Kajabi (default 0).
- ``KAJABI_SYNC_API_URL``: default ``https://api.kajabi.com``.
- ``KAJABI_SYNC_CLIENT_ID`` / ``KAJABI_SYNC_CLIENT_SECRET``: the API key (Dagster reads them
  through ``dg.EnvVar``, so their values never reach run config or the UI).
- ``KAJABI_SYNC_SITE_ID``: needed only when the account has several sites.
- ``KAJABI_SYNC_API_RPS``: the request rate cap, requests per second (default 2).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

SOURCE_ENV = "KAJABI_SYNC_SOURCE"
PUSH_ENV = "KAJABI_SYNC_PUSH"
PUSH_NEW_ENV = "KAJABI_SYNC_PUSH_NEW"
API_URL_ENV = "KAJABI_SYNC_API_URL"
CLIENT_ID_ENV = "KAJABI_SYNC_CLIENT_ID"
CLIENT_SECRET_ENV = "KAJABI_SYNC_CLIENT_SECRET"
SITE_ID_ENV = "KAJABI_SYNC_SITE_ID"
API_RPS_ENV = "KAJABI_SYNC_API_RPS"

DEFAULT_API_URL = "https://api.kajabi.com"
DEFAULT_RPS = 2.0
SOURCES = ("files", "api")
PUSH_MODES = ("off", "api")


class ApiSettingsError(ValueError):
    """A Kajabi API setting is missing or not a valid value; the message names the variable."""


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = (environ.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ApiSettingsError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def source(environ: Mapping[str, str] | None = None) -> str:
    """``files`` or ``api``."""
    return _choice(os.environ if environ is None else environ, SOURCE_ENV, SOURCES)


def push_mode(environ: Mapping[str, str] | None = None) -> str:
    """``off`` or ``api``."""
    return _choice(os.environ if environ is None else environ, PUSH_ENV, PUSH_MODES)


def push_new(environ: Mapping[str, str] | None = None) -> bool:
    value = ((os.environ if environ is None else environ).get(PUSH_NEW_ENV) or "0").strip()
    if value not in ("0", "1"):
        raise ApiSettingsError(f"{PUSH_NEW_ENV}={value!r}: expected 0 or 1")
    return value == "1"


def api_url(environ: Mapping[str, str] | None = None) -> str:
    value = ((os.environ if environ is None else environ).get(API_URL_ENV) or "").strip()
    url = (value or DEFAULT_API_URL).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ApiSettingsError(f"{API_URL_ENV}={url!r}: expected an http(s) URL")
    return url


def api_rps(environ: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if environ is None else environ).get(API_RPS_ENV)
    if not raw:
        return DEFAULT_RPS
    try:
        rps = float(raw)
    except ValueError:
        rps = math.nan
    if not math.isfinite(rps) or rps <= 0:
        raise ApiSettingsError(f"{API_RPS_ENV}={raw!r}: expected a positive number of requests/s")
    return rps


def site_id(environ: Mapping[str, str] | None = None) -> str | None:
    value = ((os.environ if environ is None else environ).get(SITE_ID_ENV) or "").strip()
    return value or None
