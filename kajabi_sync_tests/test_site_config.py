"""Every site setting is read one way (kajabi_sync.site_config): the run's override, then the
environment, then the site file's table, then the defaults, each source checked on its own and
a refusal naming where the value is."""

from __future__ import annotations

import pytest

from kajabi_sync import site_config
from kajabi_sync.guards.thresholds import THRESHOLDS_FILE_ENV, ThresholdError, Thresholds
from kajabi_sync.kajabi.api.push import PushThresholds
from kajabi_sync.survivorship.plan_settings import PlanSettings


@pytest.fixture(autouse=True)
def no_repo_file(monkeypatch, tmp_path):
    monkeypatch.setattr(site_config, "DEFAULT_SITE_FILE", tmp_path / "absent.toml")


def site(tmp_path, text: str) -> dict[str, str]:
    path = tmp_path / "kajabi_sync.toml"
    path.write_text(text)
    return {THRESHOLDS_FILE_ENV: str(path)}


def test_the_override_wins_over_the_environment_which_wins_over_the_file(tmp_path):
    environ = site(tmp_path, "[guards]\nmax_conflicts = 1\nmax_rejected_pct = 4\n")
    environ |= {"KAJABI_SYNC_MAX_CONFLICTS": "2", "KAJABI_SYNC_MAX_NEW_CONTACTS_PCT": "30"}
    loaded = Thresholds.load(environ, {"max_new_contacts_pct": 50})
    assert (loaded.max_conflicts, loaded.max_rejected_pct, loaded.max_new_contacts_pct) == (
        2,
        4,
        50,
    )
    assert loaded.max_overwrite_pct == Thresholds().max_overwrite_pct


def test_a_bad_value_is_refused_even_where_a_higher_source_hides_it(tmp_path):
    environ = site(tmp_path, "[guards]\nmax_conflicts = -1\n")
    with pytest.raises(ThresholdError, match=r"kajabi_sync.toml \[guards\]: .*max_conflicts.*-1"):
        Thresholds.load(environ | {"KAJABI_SYNC_MAX_CONFLICTS": "2"})
    with pytest.raises(ThresholdError, match="KAJABI_SYNC_MAX_CONFLICTS: .*non-negative int"):
        Thresholds.load({"KAJABI_SYNC_MAX_CONFLICTS": "-3"}, {"max_conflicts": 2})


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"max_conflict": 3},
            "override: unknown threshold(s) max_conflict; known: max_overwrite_pct",
        ),
        ({"max_conflicts": 1.5}, "override: threshold max_conflicts must be a non-negative int"),
        ({"max_rejected_pct": True}, "override: threshold max_rejected_pct must be a non-negative"),
        ({"max_rejected_pct": float("nan")}, "override: threshold max_rejected_pct must be"),
    ],
)
def test_a_bad_override_is_refused_naming_the_override(overrides, named):
    with pytest.raises(ThresholdError) as refused:
        Thresholds.load({}, overrides)
    assert str(refused.value).startswith(named)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[guards\n", "not valid TOML"),
        ("guards = 3\n", "[guards] must be a table"),
        ("[guards]\nmax_overwrite_pct = true\n", "[guards]: threshold max_overwrite_pct"),
    ],
)
def test_a_broken_file_is_refused_naming_it(tmp_path, text, named):
    environ = site(tmp_path, text)
    with pytest.raises(ThresholdError) as refused:
        Thresholds.load(environ)
    assert environ[THRESHOLDS_FILE_ENV] in str(refused.value) and named in str(refused.value)


def test_each_model_reads_its_own_table_and_ignores_the_others(tmp_path):
    environ = site(tmp_path, '[guards]\nmax_conflicts = 3\n[plan]\nprotected_edit = "review"\n')
    assert Thresholds.load(environ).max_conflicts == 3
    assert PlanSettings.load(environ).protected_edit == "review"
    # The push thresholds have no table: only the environment and the run set them.
    assert PushThresholds.load(environ | {"KAJABI_SYNC_MIN_PUSH_LIMIT": "7"}).min_push_limit == 7


def test_the_repository_file_is_read_when_no_file_is_named(monkeypatch, tmp_path):
    path = tmp_path / "kajabi_sync.toml"
    path.write_text('[plan]\nfirst_import = "trust_kajabi"\n')
    monkeypatch.setattr(site_config, "DEFAULT_SITE_FILE", path)
    assert PlanSettings.load({}).first_import == "trust_kajabi"


def test_building_a_model_directly_reads_no_file_and_no_environment(tmp_path, monkeypatch):
    environ = site(tmp_path, "[guards]\nmax_conflicts = 3\n")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAJABI_SYNC_MAX_REJECTED_PCT", "9")
    assert Thresholds() == Thresholds.load({})
    assert Thresholds.load() == Thresholds(max_conflicts=3, max_rejected_pct=9)


def test_a_copy_with_overrides_holds_validated_values():
    changed = Thresholds().with_overrides({"max_rejected_pct": "5", "max_conflicts": 3})
    assert (changed.max_rejected_pct, changed.max_conflicts) == (5.0, 3)
    assert isinstance(changed.max_rejected_pct, float)
    with pytest.raises(ThresholdError, match="override: threshold max_conflicts"):
        Thresholds().with_overrides({"max_conflicts": -1})
