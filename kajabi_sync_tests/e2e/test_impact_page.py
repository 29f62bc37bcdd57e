"""In a real browser: the operator's week in the Dagster UI, blocked, then deliberately let through.

Starts ``dagster-webserver`` on a free local port (temporary DAGSTER_HOME; runs launched from the
UI start at once, without a daemon), runs the demo's two weeks with ``kajabi-sync demo`` against
a scratch database, then a third week whose export was cut in half. In headless Chromium
(Selenium) it checks that the third week's summary begins with BLOCKED and names
``truncated_export``, that the runs list shows the verdict tag, and that the check's override
snippet, pasted into the Launchpad with a reason, launches a run that applies. No page it visits
may show a demo contact's full name, street line or postcode.

Screenshots go to the test's temporary folder, or to ``KAJABI_SYNC_SCREENSHOTS`` (a folder) when
set: ``docs/`` for the README (``impact_analysis.png``, ``blocked_check.png``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajabi_sync import settings

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
BIN = Path(sys.executable).parent
SERVER_START_SECONDS = 180
PAGE_SECONDS = 90
DEMO_WEEKS = ("2025-11-10", "2025-11-17")  # DemoSpec()'s two weekly exports
BLOCKED_WEEK = "2025-11-24"  # the third week: week 2's file cut in half

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="headless browser test needs Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver; scripts/test.sh installs them as root)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"dagster-webserver exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url + "/server_info", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(
        f"dagster-webserver did not answer within {SERVER_START_SECONDS}s:\n{log.read_text()[-3000:]}"
    )


def stop(server: subprocess.Popen) -> None:
    """The server and its code-location child: its whole process group, which it leads."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture
def environment(db_url: str, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = (settings.REPO_ROOT / "dagster_home" / "dagster.yaml").read_text()
    # Runs launched from the Launchpad start at once (the default queue needs the daemon).
    config += (
        "\nrun_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    (home / "dagster.yaml").write_text(config)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        settings.DATABASE_URL_ENV: db_url,
        settings.DATA_DIR_ENV: str(tmp_path / "data"),
    }


@pytest.fixture
def webserver(environment: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "webserver.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-m",
                "kajabi_sync.definitions",
            ],
            cwd=settings.REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_server(url, server, log)
        yield url
    finally:
        stop(server)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1440,2200",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
    )
    try:
        yield driver
    finally:
        driver.quit()


def run_cli(environment: dict[str, str], *args: str, timeout: int = 600):
    return subprocess.run(
        [str(BIN / "kajabi-sync"), *args],
        cwd=settings.REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_week(environment: dict[str, str], week: str) -> str:
    """Run weekly_kajabi_sync for ``week`` on the test's Dagster instance, as the schedule would."""
    script = (
        "import dataclasses, json, sys; from kajabi_sync.defs.operate import run_weekly_job; "
        "print(json.dumps(dataclasses.asdict(run_weekly_job(sys.argv[1]))))"
    )
    done = subprocess.run(
        [str(BIN / "python"), "-c", script, week],
        cwd=settings.REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def truncate_into(source: Path, target: Path) -> None:
    """``source`` cut after half its records, at a line end, as an interrupted download."""
    lines = source.read_bytes().splitlines(keepends=True)
    target.write_bytes(lines[0] + b"".join(lines[1 : 1 + (len(lines) - 1) // 2]))


def personal_values(db_url: str) -> dict[str, set[str]]:
    """The demo database's full names, street lines and postcodes: none may appear on a page."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT first_name, last_name, address_line_1, address_line_2, postal_code "
            "FROM contacts"
        ).fetchall()
    names = {f"{first} {last}" for first, last, *_ in rows if first and last}
    streets = {v for row in rows for v in row[2:4] if v and len(v.strip()) >= 6}
    postcodes = {v.strip() for *_, v in rows if v and len(v.strip()) >= 4}
    return {"name": names, "street": streets, "postcode": postcodes}


def unmasked(text: str, values: dict[str, set[str]]) -> list[str]:
    """Every personal value that ``text`` shows in full (whole words, postcodes whole tokens)."""
    import re

    found = [f"{kind} {v!r}" for kind in ("name", "street") for v in values[kind] if v in text]
    tokens = set(re.findall(r"[A-Za-z0-9-]+", text))
    found += [f"postcode {v!r}" for v in values["postcode"] if v in tokens]
    return found


def test_a_blocked_week_in_the_browser_from_its_summary_to_a_deliberate_override(
    environment, webserver, browser, tmp_path, db_url
):
    import yaml
    from selenium.common.exceptions import ElementClickInterceptedException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    demo = run_cli(environment, "demo", "--contacts", "500", "--weeks", "2")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    data = Path(environment[settings.DATA_DIR_ENV])
    exports = data / "kajabi_exports"
    truncate_into(
        exports / f"kajabi_contacts_{DEMO_WEEKS[1]}.csv",
        exports / f"kajabi_contacts_{BLOCKED_WEEK}.csv",
    )
    outcome = run_week(environment, BLOCKED_WEEK)
    assert "truncated_export" in outcome, outcome
    # The blocked week has its own reports; current/ is still the last applied week's.
    assert (data / "reports" / BLOCKED_WEEK / f"import_impact_analysis_{BLOCKED_WEEK}.csv").exists()
    assert f"week of {DEMO_WEEKS[1]}" in (data / "current" / "README.txt").read_text()

    shots = Path(os.environ.get("KAJABI_SYNC_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    personal = personal_values(db_url)
    visited: dict[str, str] = {}

    def page_text() -> str:
        return browser.find_element(By.TAG_NAME, "body").text

    def remember(name: str) -> str:
        visited[name] = page_text()
        return visited[name]

    def first(xpath: str):
        return lambda driver: next(iter(driver.find_elements(By.XPATH, xpath)), None)

    def skip_dialogs(driver) -> None:
        # A first visit may greet with Dagster's "Join the community" dialog over the page.
        for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            skip.click()

    def wait(condition, what: str, seconds: int = PAGE_SECONDS):
        try:
            return WebDriverWait(
                browser, seconds, ignored_exceptions=(ElementClickInterceptedException,)
            ).until(condition)
        except WebDriverException:
            browser.save_screenshot(str(tmp_path / "timeout.png"))
            pytest.fail(
                f"{what} not on the page after {seconds}s (see {tmp_path / 'timeout.png'}):\n"
                + page_text()[:3000]
            )

    # 1. The blocked week's summary begins with BLOCKED and names the check.
    summary_heading = first(
        "//*[self::h1 or self::h2 or self::h3][contains(normalize-space(.), 'Kajabi import, week of')]"
    )

    def open_summary(week: str):
        def opened(driver) -> bool:
            skip_dialogs(driver)
            heading = summary_heading(driver)
            if heading is not None:
                if week in heading.text:
                    return True
                # Still another partition's summary while the page switches: close, reopen.
                driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
                return False
            link = first("//tr[.//*[text()='summary']]//*[text()='[Show Markdown]']")(driver)
            if link is not None:
                link.click()
            return False

        # The Partitions tab shows the week itself (the Overview shows the latest of any week).
        browser.get(f"{webserver}/assets/impact_analysis?view=partitions&partition={week}")
        wait(opened, f"the summary of the week of {week}")
        return summary_heading(browser)

    heading = open_summary(BLOCKED_WEEK)
    text = remember("blocked summary")
    after_title = text.split(f"Kajabi import, week of {BLOCKED_WEEK}", 1)[1].strip()
    assert after_title.startswith("BLOCKED by truncated_export"), after_title[:300]
    assert "nothing was written" in after_title.splitlines()[0]
    for part in ("This week vs last week", "Decisions per field", f"_{BLOCKED_WEEK}.csv"):
        assert part in text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", heading)
    assert browser.save_screenshot(str(shots / "impact_analysis.png"))

    # 2. The runs list tells the blocked run from a crash by its verdict tag.
    browser.get(f"{webserver}/runs")
    wait(
        lambda d: skip_dialogs(d) or "kajabi_sync/verdict" in page_text(),
        "the verdict tag in the runs list",
    )
    runs = remember("runs list")
    assert "blocked" in runs and "truncated_export" in runs

    # 3. The blocked check gives its override as a block of YAML that survives the markdown.
    browser.get(f"{webserver}/assets/impact_analysis?view=checks&checkDetail=truncated_export")
    block = wait(
        lambda d: (
            skip_dialogs(d)
            or next(
                (
                    e
                    for e in d.find_elements(By.TAG_NAME, "pre")
                    if "kajabi_import_guards" in (e.get_attribute("textContent") or "")
                ),
                None,
            )
        ),
        "the override snippet of truncated_export",
    )
    remember("blocked check")
    snippet = block.get_attribute("textContent").strip()
    config = yaml.safe_load(snippet)  # one YAML document, not a collapsed line
    given = config["ops"]["kajabi_import_guards"]["config"]
    assert given["max_export_drop_pct"] > 10 and given["override_reason"].isupper()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", block)
    assert browser.save_screenshot(str(shots / "blocked_check.png"))

    # 4. Pasted into the Launchpad (the week as the run's partition), the reason written, it
    #    launches a run that applies the week.
    pasted = snippet.replace(
        given["override_reason"], "Kajabi export cut short on purpose in a test"
    )
    location = "__repository__@kajabi_sync.definitions"
    browser.get(
        f"{webserver}/locations/{location}/jobs/weekly_kajabi_sync/playground/setup?"
        f"tags[0][key]=dagster/partition&tags[0][value]={BLOCKED_WEEK}"
    )
    wait(
        lambda d: skip_dialogs(d) or d.find_elements(By.CSS_SELECTOR, ".CodeMirror"),
        "the Launchpad's config editor",
    )
    browser.execute_script(
        "document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0]);", pasted
    )
    remember("launchpad")
    launch = wait(
        first("//button[.//*[normalize-space()='Launch Run'] or normalize-space()='Launch Run']"),
        "the Launch Run button",
    )
    wait(lambda d: launch.is_enabled(), "an enabled Launch Run button (valid config)")
    launch.click()
    import psycopg

    deadline = time.monotonic() + 300
    applied = None
    while time.monotonic() < deadline and applied is None:
        with psycopg.connect(db_url) as conn:
            applied = conn.execute(
                "SELECT id, overrides FROM kajabi_sync.import_runs "
                "WHERE kind = 'import' AND partition_key = %s",
                (BLOCKED_WEEK,),
            ).fetchone()
        time.sleep(2)
    assert applied is not None, "the run launched from the Launchpad applied nothing"
    assert applied[1]["override_reason"] == "Kajabi export cut short on purpose in a test"
    wait(
        lambda d: (
            (data / "current" / "README.txt").exists()
            and f"week of {BLOCKED_WEEK}" in (data / "current" / "README.txt").read_text()
        ),
        "current/ published for the applied week",
        seconds=180,
    )
    open_summary(BLOCKED_WEEK)
    now = remember("applied summary")
    assert now.split(f"Kajabi import, week of {BLOCKED_WEEK}", 1)[1].strip().startswith("APPLIED")

    # 5. No page showed a demo contact's name, street or postcode in full.
    for name, shown in visited.items():
        assert unmasked(shown, personal) == [], name
