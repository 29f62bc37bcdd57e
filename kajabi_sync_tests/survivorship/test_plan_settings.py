"""Every plan setting refuses a value outside its allowed ones, before anything runs, and says
which values are allowed: in the domain, in the Dagster Launchpad and on the command line."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from kajabi_sync import cli
from kajabi_sync.defs import assets
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.survivorship.plan_settings import (
    ALLOWED,
    DESCRIPTIONS,
    PlanSettingError,
    PlanSettings,
    env_name,
    load_plan_settings,
)
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv

# A plausible slip of the keyboard for each setting.
TYPOS = {
    "first_import": "keep_databse",
    "email_change": "make-primary",
    "protected_edit": "Review",
}


def test_every_setting_has_a_typo_case_here():
    assert set(TYPOS) == set(ALLOWED)


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_plan_settings_refuse_a_value_outside_the_allowed_ones(name):
    with pytest.raises(PlanSettingError) as refused:
        PlanSettings(**{name: TYPOS[name]})
    message = str(refused.value)
    assert name in message and repr(TYPOS[name]) in message
    assert all(value in message for value in ALLOWED[name])


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_every_allowed_value_is_accepted(name):
    for value in ALLOWED[name]:
        assert getattr(PlanSettings(**{name: value}), name) == value


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_the_launchpad_refuses_a_misspelt_setting_before_the_run_starts(name, db_url, data_dir):
    insert_contacts(db_url, dict(email="ann@example.com", first_name="Ann", kajabi_id="1"))
    kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv",
        dict(email="ann@example.com", first_name="Anne", kajabi_id="1"),
    )
    with pytest.raises(dg.DagsterInvalidConfigError) as refused:
        dg.materialize(
            dg.load_assets_from_modules([assets]),
            partition_key="2025-11-10",
            resources={
                "database": ContactsDatabase(url=db_url),
                "data_folder": DataFolder(path=str(data_dir)),
            },
            run_config={"ops": {"impact_analysis": {"config": {name: TYPOS[name]}}}},
        )
    message = str(refused.value)
    assert name in message and TYPOS[name] in message
    assert all(value in message for value in ALLOWED[name])
    with psycopg.connect(db_url) as conn:  # nothing ran
        assert conn.execute("SELECT count(*) FROM kajabi_sync.import_runs").fetchone()[0] == 0
        assert conn.execute("SELECT first_name FROM contacts").fetchone()[0] == "Ann"
    assert not any((data_dir / "current").iterdir())


def test_every_launchpad_setting_has_its_description():
    fields = assets.PlanConfig.to_config_schema().as_field().config_type.fields
    assert set(fields) == set(ALLOWED)
    for name, field in fields.items():
        assert field.description.startswith(DESCRIPTIONS[name])
        assert env_name(name) in field.description and "kajabi_sync.toml" in field.description
        assert all(value in field.description for value in ALLOWED[name])
        assert field.default_value == assets.SITE_SETTING  # the site's setting, else the default


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_the_command_line_refuses_a_misspelt_setting(name, tmp_path, capsys):
    export = kajabi_csv(tmp_path / "kajabi_contacts_2025-11-10.csv", dict(email="a@example.com"))
    option = "--" + name.replace("_", "-")
    assert cli.main(["plan", str(export), option, TYPOS[name]]) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert option in error and TYPOS[name] in error
    assert all(value in error for value in ALLOWED[name])


def test_the_site_settings_come_from_the_toml_file_then_the_environment_then_the_run(tmp_path):
    site = tmp_path / "kajabi_sync.toml"
    site.write_text('[plan]\nemail_change = "make_primary"\nprotected_edit = "review"\n')
    environ = {"KAJABI_SYNC_THRESHOLDS_FILE": str(site), env_name("protected_edit"): "update"}
    assert load_plan_settings(environ) == PlanSettings(
        email_change="make_primary", protected_edit="update"
    )
    chosen = load_plan_settings(environ, email_change="keep_secondary", first_import=None)
    assert chosen == PlanSettings(email_change="keep_secondary")
    (tmp_path / "empty.toml").write_text("")
    assert load_plan_settings({"KAJABI_SYNC_THRESHOLDS_FILE": str(tmp_path / "empty.toml")}) == (
        PlanSettings()
    )


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_a_misspelt_site_setting_is_refused_naming_the_file(name, tmp_path):
    site = tmp_path / "kajabi_sync.toml"
    site.write_text(f'[plan]\n{name} = "{TYPOS[name]}"\n')
    with pytest.raises(PlanSettingError) as refused:
        load_plan_settings({"KAJABI_SYNC_THRESHOLDS_FILE": str(site)})
    message = str(refused.value)
    assert str(site) in message and repr(TYPOS[name]) in message
    assert all(value in message for value in ALLOWED[name])


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_a_misspelt_environment_setting_is_refused_naming_the_variable(name, tmp_path):
    environ = {"KAJABI_SYNC_THRESHOLDS_FILE": str(tmp_path / "none.toml"), env_name(name): "x"}
    (tmp_path / "none.toml").write_text("")
    with pytest.raises(PlanSettingError, match=env_name(name)):
        load_plan_settings(environ)


def test_an_unknown_site_setting_is_refused(tmp_path):
    site = tmp_path / "kajabi_sync.toml"
    site.write_text('[plan]\nemail_changes = "make_primary"\n')
    with pytest.raises(PlanSettingError, match="unknown plan setting.*email_changes"):
        load_plan_settings({"KAJABI_SYNC_THRESHOLDS_FILE": str(site)})


def test_the_launchpad_offers_exactly_the_allowed_values_and_the_site_setting(monkeypatch):
    from typing import get_args

    for name, allowed in ALLOWED.items():
        annotation = assets.PlanConfig.model_fields[name].annotation
        assert get_args(annotation) == (assets.SITE_SETTING, *allowed)
    monkeypatch.setenv(env_name("email_change"), "make_primary")
    assert assets.PlanConfig().plan_settings().email_change == "make_primary"
    chosen = assets.PlanConfig(email_change="keep_secondary").plan_settings()
    assert chosen.email_change == "keep_secondary"
