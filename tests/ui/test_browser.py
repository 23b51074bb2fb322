"""The provenance browser in a real headless Chromium: what a person would see."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Set to a directory to refresh the README's screenshots (docs/).
SCREENSHOTS = os.environ.get("REMIT_SCREENSHOTS_DIR")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: apt-get install chromium chromium-driver")
        pytest.skip("Chromium is missing: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,980",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: object, script: str, timeout: float = 15) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def console_errors(driver: object) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def first_execution(server_url: str) -> str:
    with urllib.request.urlopen(server_url + "/", timeout=20) as response:
        html = response.read().decode()
    return re.findall(r'href="/executions/([0-9a-f-]{36})"', html)[-1]


def test_job_tree_expands_and_graph_draws(browser: object, server_url: str,
                                          tmp_path: Path) -> None:
    driver = browser
    driver.get(f"{server_url}/executions/{first_execution(server_url)}")
    # The root is open and its first level arrives from the server.
    wait_for(driver, "return document.querySelectorAll('#job-tree li.job').length >= 4")
    assert "uitest.main(n=8" in driver.find_element("id", "job-tree").text
    squares = "return document.querySelectorAll('#job-tree a.call').length"
    before = driver.execute_script(squares)
    # A person opens the fan-out: its eight calls appear under it.
    summary = driver.find_element(
        "xpath", "//li[@class='job']/details/summary[a[starts-with(., 'uitest.fanout(n=8)')]]")
    summary.click()
    wait_for(driver, f"return document.querySelectorAll('#job-tree a.call').length >= "
                     f"{before + 8}")
    text = driver.find_element("id", "job-tree").text
    assert len(re.findall(r"uitest\.square\(x=\d\)", text)) == 8
    # The call-graph picture is drawn: Graphviz nodes inside the embedded SVG.
    nodes = wait_for(driver, """
        const doc = document.getElementById('graph').contentDocument;
        const found = doc && doc.querySelectorAll('g.node').length;
        return found ? found : null;""")
    assert nodes >= 5
    labels = driver.execute_script(
        "return document.getElementById('graph').contentDocument.documentElement.textContent")
    assert "uitest.square" in labels and "×8" in labels
    assert console_errors(driver) == []
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(Path(SCREENSHOTS or tmp_path) / "execution-page.png"))


def test_report_and_file_pages_render_without_errors(browser: object, server_url: str,
                                                     project: Path) -> None:
    driver = browser
    driver.get(f"{server_url}/executions/{first_execution(server_url)}/report")
    table = driver.find_element("id", "by-task").text
    assert "uitest.square 8 8 0 0" in table
    driver.get(f"{server_url}/files?path={project / 'out.txt'}")
    wait_for(driver, "return document.querySelector('div.graph svg g.node') !== null")
    assert "uitest.write" in driver.find_element("css selector", "div.graph").text
    assert console_errors(driver) == []


def test_screenshot_of_picture(tmp_path: Path, project: Path, server_url: str) -> None:
    """`remit viz` writes the PNG the README shows (refreshed with REMIT_SCREENSHOTS_DIR)."""
    from tests.conftest import run_cli

    if shutil.which("dot") is None:
        pytest.skip("Graphviz is missing: apt-get install graphviz")
    target = Path(SCREENSHOTS or tmp_path) / "call-graph.png"
    proc = run_cli("viz", first_execution(server_url)[:8], "-o", str(target), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
