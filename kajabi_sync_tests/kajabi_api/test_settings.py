"""The Kajabi API settings come from the environment, read and checked as every site setting;
a bad value is refused naming its variable and what it may be."""

from __future__ import annotations

import pytest

from kajabi_sync.kajabi.api import settings


def test_the_defaults():
    loaded = settings.load_api_settings({})
    assert (loaded.source, loaded.push, loaded.push_new) == ("files", "off", False)
    assert (loaded.api_url, loaded.site_id, loaded.api_rps) == ("https://api.kajabi.com", None, 2.0)


def test_values_are_read_as_written_by_hand():
    environ = {
        settings.SOURCE_ENV: " API ",
        settings.PUSH_ENV: "Api",
        settings.PUSH_NEW_ENV: "1 ",
        settings.API_URL_ENV: "http://127.0.0.1:8000/ ",
        settings.SITE_ID_ENV: " 42 ",
        settings.API_RPS_ENV: "0.5",
    }
    assert settings.source(environ) == "api" and settings.push_mode(environ) == "api"
    assert settings.push_new(environ) is True
    assert settings.api_url(environ) == "http://127.0.0.1:8000"
    assert settings.site_id(environ) == "42" and settings.api_rps(environ) == 0.5
    assert settings.site_id({settings.SITE_ID_ENV: "  "}) is None
    assert settings.api_url({settings.API_URL_ENV: " "}) == settings.DEFAULT_API_URL


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        (settings.SOURCE_ENV, "ftp", "one of files, api"),
        (settings.PUSH_ENV, "on", "one of off, api"),
        (settings.PUSH_NEW_ENV, "yes", "0 or 1"),
        (settings.API_URL_ENV, "api.kajabi.com", "an http(s) URL"),
        (settings.API_RPS_ENV, "0", "a positive number"),
        (settings.API_RPS_ENV, "inf", "a positive number"),
        (settings.API_RPS_ENV, "fast", "a positive number"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable, value, allowed):
    with pytest.raises(settings.ApiSettingsError) as refused:
        settings.load_api_settings({variable: value})
    message = str(refused.value)
    assert message.startswith(f"{variable}: ") and allowed in message and repr(value) in message


def test_the_key_is_never_read_into_the_settings():
    environ = {settings.CLIENT_ID_ENV: "id-123", settings.CLIENT_SECRET_ENV: "s3cret"}
    assert "s3cret" not in repr(settings.load_api_settings(environ))
