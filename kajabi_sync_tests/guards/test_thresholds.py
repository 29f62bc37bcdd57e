from __future__ import annotations

import pytest

from kajabi_sync import site_config
from kajabi_sync.guards.thresholds import (
    THRESHOLDS_FILE_ENV,
    ThresholdError,
    Thresholds,
    env_name,
    load_thresholds,
)


@pytest.fixture(autouse=True)
def no_repo_file(monkeypatch, tmp_path):
    # The repository's own kajabi_sync.toml (if someone wrote one) must not leak into tests.
    monkeypatch.setattr(site_config, "DEFAULT_SITE_FILE", tmp_path / "absent.toml")


def test_defaults_are_the_issue_s_numbers():
    assert load_thresholds({}) == Thresholds(
        max_overwrite_pct=2.0,
        min_overwrite_limit=25,
        max_export_drop_pct=10.0,
        max_rejected_pct=1.0,
        max_duplicate_recreations=0,
        max_new_contacts_pct=20.0,
        max_conflicts=0,
        max_divergence_growth_pct=10.0,
    )


def test_toml_then_environment_win_over_defaults(tmp_path):
    path = tmp_path / "guards.toml"
    path.write_text("[guards]\nmax_overwrite_pct = 3.5\nmax_new_contacts_pct = 30\n")
    loaded = load_thresholds(
        {THRESHOLDS_FILE_ENV: str(path), env_name("max_new_contacts_pct"): "40"}
    )
    assert loaded.max_overwrite_pct == 3.5
    assert loaded.max_new_contacts_pct == 40.0
    assert loaded.min_overwrite_limit == 25


def test_the_default_file_at_the_repository_root_is_read_when_present(monkeypatch, tmp_path):
    path = tmp_path / "kajabi_sync.toml"
    path.write_text("[guards]\nmin_overwrite_limit = 50\n")
    monkeypatch.setattr(site_config, "DEFAULT_SITE_FILE", path)
    assert load_thresholds({}).min_overwrite_limit == 50


def test_env_names_follow_the_field_names():
    assert env_name("max_overwrite_pct") == "KAJABI_SYNC_MAX_OVERWRITE_PCT"
    assert load_thresholds({"KAJABI_SYNC_MIN_OVERWRITE_LIMIT": "30"}).min_overwrite_limit == 30


@pytest.mark.parametrize(
    "settings",
    [
        {"KAJABI_SYNC_MAX_OVERWRITE_PCT": "two"},
        {"KAJABI_SYNC_MAX_OVERWRITE_PCT": "-1"},
        {"KAJABI_SYNC_MAX_OVERWRITE_PCT": "nan"},
        {"KAJABI_SYNC_MIN_OVERWRITE_LIMIT": "2.5"},
        {THRESHOLDS_FILE_ENV: "/nonexistent/kajabi_sync.toml"},
    ],
)
def test_bad_settings_are_errors_not_silent_defaults(settings):
    with pytest.raises(ThresholdError):
        load_thresholds(settings)


def test_a_misspelt_toml_key_is_an_error(tmp_path):
    path = tmp_path / "guards.toml"
    path.write_text("[guards]\nmax_overwrite_percent = 3\n")
    with pytest.raises(ThresholdError, match="max_overwrite_percent"):
        load_thresholds({THRESHOLDS_FILE_ENV: str(path)})


def test_overrides_replace_only_what_they_name():
    changed = Thresholds().with_overrides({"max_rejected_pct": 5, "max_conflicts": 3})
    assert (changed.max_rejected_pct, changed.max_conflicts, changed.max_overwrite_pct) == (
        5.0,
        3,
        2.0,
    )
    with pytest.raises(ThresholdError):
        Thresholds().with_overrides({"max_conflicts": True})
