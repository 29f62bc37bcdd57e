"""The Kajabi Public API settings, from the environment (names the user relies on), read and
checked as every site setting is (``kajabi_sync.site_config``; a bad value is refused naming its
variable and what is allowed).

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

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field

from kajabi_sync.site_config import SiteSettings, env_name, not_boolean

SOURCE_ENV = env_name("source")
PUSH_ENV = env_name("push")
PUSH_NEW_ENV = env_name("push_new")
API_URL_ENV = env_name("api_url")
# The key is read by Dagster (dg.EnvVar), never into a settings model whose values could be shown.
CLIENT_ID_ENV = env_name("client_id")
CLIENT_SECRET_ENV = env_name("client_secret")
SITE_ID_ENV = env_name("site_id")
API_RPS_ENV = env_name("api_rps")

DEFAULT_API_URL = "https://api.kajabi.com"
DEFAULT_RPS = 2.0
Source = Literal["files", "api"]
PushMode = Literal["off", "api"]
SOURCES: tuple[str, ...] = get_args(Source)
PUSH_MODES: tuple[str, ...] = get_args(PushMode)


class ApiSettingsError(ValueError):
    """A Kajabi API setting is missing or not a valid value; the message names the variable."""


def _word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _zero_or_one(value: Any) -> Any:
    # The environment says 0 or 1; "yes", "true" or "2" are refused rather than guessed.
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or value.strip() not in ("0", "1"):
        raise ValueError("0 or 1")
    return value.strip() == "1"


def _url_text(value: Any) -> Any:
    return (value.strip() or DEFAULT_API_URL).rstrip("/") if isinstance(value, str) else value


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("an http(s) URL")
    return value


def _blank_is_none(value: Any) -> Any:
    return (value.strip() or None) if isinstance(value, str) else value


class ApiSettings(SiteSettings):
    """The API settings, from the environment (``kajabi_sync.site_config``)."""

    error: ClassVar[type[ValueError]] = ApiSettingsError
    noun: ClassVar[str] = "Kajabi API setting"

    source: Annotated[Source, BeforeValidator(_word)] = "files"
    push: Annotated[PushMode, BeforeValidator(_word)] = "off"
    push_new: Annotated[bool, BeforeValidator(_zero_or_one)] = False
    api_url: Annotated[str, BeforeValidator(_url_text), AfterValidator(_http_url)] = DEFAULT_API_URL
    site_id: Annotated[str | None, BeforeValidator(_blank_is_none)] = None
    api_rps: Annotated[float, BeforeValidator(not_boolean), Field(gt=0, allow_inf_nan=False)] = (
        DEFAULT_RPS
    )

    @classmethod
    def allowed(cls, name: str) -> str:
        return _ALLOWED[name]


_ALLOWED = {
    "source": f"one of {', '.join(SOURCES)}",
    "push": f"one of {', '.join(PUSH_MODES)}",
    "push_new": "0 or 1",
    "api_url": "an http(s) URL",
    "site_id": "text",
    "api_rps": "a positive number of requests/s",
}
assert set(_ALLOWED) == set(ApiSettings.model_fields)


def load_api_settings(environ: Mapping[str, str] | None = None) -> ApiSettings:
    return ApiSettings.load(environ)


def source(environ: Mapping[str, str] | None = None) -> str:
    """``files`` or ``api``."""
    return load_api_settings(environ).source


def push_mode(environ: Mapping[str, str] | None = None) -> str:
    """``off`` or ``api``."""
    return load_api_settings(environ).push


def push_new(environ: Mapping[str, str] | None = None) -> bool:
    return load_api_settings(environ).push_new


def api_url(environ: Mapping[str, str] | None = None) -> str:
    return load_api_settings(environ).api_url


def api_rps(environ: Mapping[str, str] | None = None) -> float:
    return load_api_settings(environ).api_rps


def site_id(environ: Mapping[str, str] | None = None) -> str | None:
    return load_api_settings(environ).site_id
