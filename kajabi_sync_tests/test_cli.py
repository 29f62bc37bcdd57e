"""``kajabi-sync`` in-process against a scratch database: each command's output and exit code."""

from __future__ import annotations

import pytest

from kajabi_sync.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, build_parser, main
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.survivorship.steps import apply_rows, contact, count

SEED = (
    dict(email="ann@example.com", first_name="Ann", paypal_first_name="Ann", kajabi_id="1"),
    dict(email="bob@example.com", first_name="Bob", phone="(303) 555-0102", kajabi_id="2"),
)
WEEK = (
    dict(email="ann@example.com", first_name="Annie", city="Denver", kajabi_id="1"),
    dict(email="bob@example.com", first_name="Bob", phone="303-555-0199", kajabi_id="2"),
)


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def applied(db_url, data_dir, monkeypatch, tmp_path) -> int:
    """Two contacts and one applied import (Ann's city filled, her PayPal name protected)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "no_dagster_here"))
    insert_contacts(db_url, *SEED)
    _, result = apply_rows(db_url, *WEEK, name="kajabi_contacts_2025-11-03.csv")
    return result.import_run_id


@pytest.mark.parametrize(
    "command", ["", "status", "plan", "contact", "merge", "unmerge", "rollback", "demo", "migrate"]
)
def test_every_command_has_help(capsys, command):
    code, out, _ = run(capsys, *filter(None, [command]), "--help")
    assert code == EXIT_OK
    assert "usage: kajabi-sync" in out and "Exit codes" in out


def test_wrong_usage_exits_2(capsys):
    assert run(capsys, "no-such-command")[0] == EXIT_USAGE
    assert run(capsys, "rollback", "not-a-number")[0] == EXIT_USAGE
    assert (
        run(capsys, "merge", "a@example.com", "b@example.com")[0] == EXIT_USAGE
    )  # --reason missing
    assert set(build_parser()._subparsers._group_actions[0].choices) == {
        "status",
        "plan",
        "contact",
        "merge",
        "unmerge",
        "rollback",
        "review",
        "resolve",
        "demo",
        "migrate",
        "push",
    }


def test_plan_prints_the_summary_and_checks_and_writes_nothing(db_url, data_dir, capsys, tmp_path):
    insert_contacts(db_url, *SEED)
    export = kajabi_csv(data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv", *WEEK)
    code, out, err = run(
        capsys, "--database-url", db_url, "plan", str(export), "--out", str(tmp_path / "plan")
    )
    assert code in (EXIT_OK, EXIT_FAILED)
    lines = out.splitlines()
    # The verdict first, in plain text (not markdown), and all of it in one screen.
    assert lines[0].startswith("WOULD BLOCK" if code == EXIT_FAILED else "WOULD APPLY")
    assert len(lines) <= 40 and "**" not in out and "| " not in out
    assert "Plan for kajabi_contacts_2025-11-10.csv, week of 2025-11-10:" in out
    assert "write 1 fields (1 fills, 0 updates)" in out  # Ann's city; Bob's phone: unattributed
    first_name = next(ln for ln in lines if ln.strip().startswith("first_name"))
    assert "protected" in out and first_name.split()[0] == "first_name"
    report = (tmp_path / "plan" / "import_impact_analysis_2025-11-10.csv").read_text()
    assert "protected" in report and "ann@example.com" in report
    assert (tmp_path / "plan" / "duplicate_candidates_2025-11-10.csv").exists()
    summary = (tmp_path / "plan" / "plan_summary_2025-11-10.md").read_text()
    assert "## Plan for `kajabi_contacts_2025-11-10.csv`" in summary
    assert str(tmp_path / "plan" / "plan_summary_2025-11-10.md") in out
    assert count(db_url, "SELECT count(*) FROM kajabi_sync.import_runs") == 0
    assert contact(db_url, "ann@example.com")["city"] is None
    assert err == ""  # not a terminal: no progress bar


def test_plan_blocks_while_an_earlier_week_s_export_waits(
    db_url, applied, data_dir, capsys, tmp_path
):
    # The week of 2025-11-03 is applied; 2025-11-10's export waits in the folder, unapplied.
    exports = data_dir / "kajabi_exports"
    kajabi_csv(exports / "kajabi_contacts_2025-11-10.csv", *WEEK)
    later = kajabi_csv(exports / "kajabi_contacts_2025-11-17.csv", *WEEK)
    code, out, _ = run(
        capsys, "--database-url", db_url, "plan", str(later), "--out", str(tmp_path / "plan")
    )
    assert code == EXIT_FAILED
    lines = out.splitlines()
    assert lines[0].startswith("WOULD BLOCK by ") and "earlier_export_pending" in lines[0]
    assert any(
        line.strip().startswith("earlier_export_pending:") and "2025-11-10" in line
        for line in lines
    ), lines


def test_plan_of_a_missing_or_broken_file_fails_clearly(db_url, data_dir, capsys, tmp_path):
    code, _, err = run(capsys, "--database-url", db_url, "plan", str(tmp_path / "nope.csv"))
    assert code == EXIT_FAILED and "no export file at" in err
    broken = tmp_path / "broken.csv"
    broken.write_text("not,a,kajabi,export\n1,2,3,4\n")
    code, _, err = run(capsys, "--database-url", db_url, "plan", str(broken))
    assert code == EXIT_FAILED and err.startswith("kajabi-sync: ") and "Traceback" not in err


def test_status_lists_runs_with_what_they_changed(db_url, applied, capsys):
    code, out, _ = run(capsys, "--database-url", db_url, "status")
    assert code == EXIT_OK
    line = next(ln for ln in out.splitlines() if "kajabi_contacts_2025-11-03.csv" in ln)
    assert line.split()[:2] == [str(applied), "import"]
    assert "no Dagster run history" in out


def test_contact_shows_fields_provenance_and_history(db_url, applied, capsys):
    import psycopg

    with psycopg.connect(db_url) as conn:  # her primary address, and one from PayPal
        conn.execute(
            """INSERT INTO contact_emails (contact_id, email, is_primary, source)
               SELECT id, e.email, e.email = c.email::text, e.source FROM contacts c,
                   (VALUES ('ann@example.com', 'kajabi'), ('ann.pay@example.com', 'paypal'))
                   AS e(email, source)
               WHERE c.email = 'ann@example.com'"""
        )
    code, out, _ = run(capsys, "--database-url", db_url, "contact", "ANN@example.com")
    assert code == EXIT_OK
    assert "Contact ann@example.com" in out
    first_name = next(ln for ln in out.splitlines() if ln.strip().startswith("first_name"))
    assert (
        "Ann" in first_name and "protected" in first_name and "Annie" in first_name
    )  # kept; Kajabi's base
    city = next(ln for ln in out.splitlines() if ln.strip().startswith("city"))
    assert "Denver" in city and f"run {applied} (import" in city and "fill" in city
    assert "History of changes" in out and "Denver" in out.split("History of changes")[1]
    # Left-aligned columns: field names start their lines, values start in one column.
    assert first_name.startswith("first_name") and city.startswith("city")
    assert first_name.index("Ann") == city.index("Denver")
    # The primary email is the heading; it is not repeated among the other addresses.
    assert "Other addresses: ann.pay@example.com (paypal)" in out
    assert "ann@example.com (" not in out


def test_contact_unknown_exits_1(db_url, capsys):
    code, _, err = run(capsys, "--database-url", db_url, "contact", "nobody@example.com")
    assert code == EXIT_FAILED and "no contact is known by nobody@example.com" in err


def test_rollback_needs_yes_without_a_terminal_then_undoes_once(db_url, applied, capsys):
    code, _, err = run(capsys, "--database-url", db_url, "rollback", str(applied))
    assert code == EXIT_USAGE and "--yes" in err
    assert contact(db_url, "ann@example.com")["city"] == "Denver"

    code, out, _ = run(
        capsys, "--database-url", db_url, "rollback", str(applied), "--yes", "--note", "test"
    )
    assert code == EXIT_OK and "1 field(s) restored" in out  # the city fill
    assert contact(db_url, "ann@example.com")["city"] is None

    code, _, err = run(capsys, "--database-url", db_url, "rollback", str(applied), "--yes")
    assert code == EXIT_FAILED and "already rolled back" in err


def test_merge_by_email_then_unmerge(db_url, capsys):
    survivor, duplicate = insert_contacts(
        db_url,
        dict(email="ann@example.com", first_name="Ann"),
        dict(email="ann.other@example.com", first_name="Ann", city="Denver"),
    )
    code, out, _ = run(
        capsys,
        "--database-url",
        db_url,
        "merge",
        "ann@example.com",
        duplicate,
        "--reason",
        "same person",
    )
    assert code == EXIT_OK
    merge_run = int(out.split("run ")[1].split(".")[0])
    assert contact(db_url, "ann@example.com")["city"] == "Denver"
    assert contact(db_url, "ann.other@example.com")["deleted"]

    code, out, _ = run(capsys, "--database-url", db_url, "unmerge", str(merge_run))
    assert code == EXIT_OK and f"merge run {merge_run} undone" in out
    assert not contact(db_url, "ann.other@example.com")["deleted"]
    assert contact(db_url, "ann@example.com")["city"] is None


def test_merge_of_an_unknown_email_says_what_to_do(db_url, capsys):
    insert_contacts(db_url, dict(email="ann@example.com", first_name="Ann"))
    code, _, err = run(
        capsys,
        "--database-url",
        db_url,
        "merge",
        "ann@example.com",
        "held@example.com",
        "--reason",
        "same person",
    )
    assert code == EXIT_FAILED and "--address-only" in err
    code, out, _ = run(
        capsys,
        "--database-url",
        db_url,
        "merge",
        "ann@example.com",
        "held@example.com",
        "--reason",
        "same person",
        "--address-only",
    )
    assert code == EXIT_OK
    assert (
        count(db_url, "SELECT count(*) FROM contact_emails WHERE email = 'held@example.com'") == 1
    )


def test_unreachable_database_fails_without_showing_the_password(capsys):
    url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere?connect_timeout=2"
    code, _, err = run(capsys, "--database-url", url, "status")
    assert code == EXIT_FAILED and "cannot connect" in err and "s3cret" not in err


def test_the_review_file_to_fill_is_the_last_applied_week_s_own_copy(tmp_path):
    from kajabi_sync.cli import review_file_to_fill
    from kajabi_sync.reports import publish_current

    assert review_file_to_fill(tmp_path) == tmp_path / "current" / "needs_review.csv"
    week_dir = tmp_path / "reports" / "2025-11-17"
    week_dir.mkdir(parents=True)
    review = week_dir / "needs_review_2025-11-17.csv"
    review.write_text("review_id\n")
    publish_current(tmp_path / "current", [review], {"week": "2025-11-17"}, "week 2025-11-17\n")
    assert review_file_to_fill(tmp_path) == review


# Run in a fresh interpreter: the test process itself has loaded dagster for other tests.
DOMAIN_COMMANDS_SCRIPT = """
import json, sys
from kajabi_sync.cli import main
codes = [main(json.loads(argv)) for argv in sys.argv[1:]]
layer = ("dagster", "kajabi_sync.defs", "kajabi_sync.definitions")
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "dagster" or m.startswith(layer))
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def domain_commands_in_a_fresh_process(*commands: list[str]) -> dict:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", DOMAIN_COMMANDS_SCRIPT, *map(json.dumps, commands)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_domain_commands_never_load_the_dagster_layer(db_url, applied, data_dir, tmp_path):
    export = kajabi_csv(data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv", *WEEK)
    db = ["--database-url", db_url]
    commands = {
        "plan": [*db, "plan", str(export), "--out", str(tmp_path / "plan")],
        "contact": [*db, "contact", "ann@example.com"],
        "review": [*db, "review"],
        "push": [*db, "push", "2025-11-10", "--dry-run"],
        "rollback": [*db, "rollback", str(applied), "--yes"],  # run applied + 1
        "merge": [*db, "merge", "ann@example.com", "bob@example.com", "--reason", "a test"],
        "unmerge": [*db, "unmerge", str(applied + 2)],
        # No open item: refused, after loading all that resolve uses.
        "resolve": [*db, "resolve", "--kind", "conflict", "--resolution", "keep_database"],
        "migrate": [*db, "migrate"],
    }
    outcome = domain_commands_in_a_fresh_process(*commands.values())
    codes = dict(zip(commands, outcome["codes"], strict=True))
    assert codes == dict.fromkeys(commands, EXIT_OK) | {"resolve": EXIT_FAILED}, outcome
    assert outcome["loaded"] == []


@pytest.mark.parametrize("push", ["off", "api"])
def test_plan_advises_how_kajabi_converges_by_the_push_setting(
    db_url, data_dir, capsys, tmp_path, monkeypatch, push
):
    monkeypatch.setenv("KAJABI_SYNC_PUSH", push)
    # Bob's phone differs: with no allowance, kajabi_converged warns and says how to converge.
    monkeypatch.setenv("KAJABI_SYNC_MAX_DIVERGENCE_PCT", "0")
    monkeypatch.setenv("KAJABI_SYNC_MIN_DIVERGENCE_LIMIT", "0")
    insert_contacts(db_url, *SEED)
    export = kajabi_csv(data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv", *WEEK)
    _, out, _ = run(
        capsys, "--database-url", db_url, "plan", str(export), "--out", str(tmp_path / "plan")
    )
    converged = next((ln for ln in out.splitlines() if "kajabi_converged" in ln), out)
    importing = "import kajabi_updates_only.csv into Kajabi"
    if push == "api":
        assert importing not in converged
        assert "the push (KAJABI_SYNC_PUSH=api) sends the database's values" in converged
    else:
        assert importing in converged and "push" not in converged


def test_status_reaches_dagster_through_the_one_module(db_url, applied):
    loaded = domain_commands_in_a_fresh_process(["--database-url", db_url, "status"])["loaded"]
    assert "dagster" in loaded and "kajabi_sync.defs.operate" in loaded
    assert "kajabi_sync.definitions" not in loaded  # listing runs loads no code location
