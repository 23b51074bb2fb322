"""Provenance-browser benchmark: how fast the pages of a large execution load.

    .venv/bin/python bench/ui_pages.py --n 10000

Records one ``remit run`` of an ``n``-task fan-out in a fresh directory, serves the store
with ``remit server``'s app on 127.0.0.1, and prints the median time of each page over
``--repeat`` requests (server side plus HTTP on loopback; no browser rendering).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from fanout import FANOUT


def serve(project: Path) -> tuple[str, object]:
    """Start the app on a free port; return its URL and the uvicorn server."""
    import uvicorn

    from remit.config import load_config
    from remit.ui.server import create_app
    from remit.ui.store import readonly_engine

    engine = readonly_engine(load_config(project / ".remit"))
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=0,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server


def fetch(url: str) -> tuple[float, str]:
    """Seconds to fetch a page completely, and its text."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read().decode()
    return time.perf_counter() - start, body


def browser_seconds(url: str) -> tuple[float, float]:
    """Seconds from navigation to the job tree drawn (DOMContentLoaded: the first level is
    in the page) and to the load event (the call-graph picture too), in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(url)
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#job-tree li.job').length > 200"))
        timing = driver.execute_script(
            "const t = performance.getEntriesByType('navigation')[0];"
            "return [t.domContentLoadedEventEnd, t.loadEventEnd];")
        return timing[0] / 1000, timing[1] / 1000
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    """Record the run, then time each page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="tasks in the fan-out")
    parser.add_argument("--repeat", type=int, default=5, help="requests per page")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / ".remit").mkdir()
        (project / "workflow.py").write_text(FANOUT.format(import_line="from remit import task"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "remit", "run", "workflow.py", "main", "--n",
                        str(args.n)], cwd=project, check=True, capture_output=True)
        print(f"recorded a {args.n + 2}-job execution in {time.perf_counter() - start:.1f} s")
        url, server = serve(project)
        _, listing = fetch(url + "/")
        execution = re.search(r'href="/executions/([0-9a-f-]{36})"', listing).group(1)
        _, page = fetch(f"{url}/executions/{execution}")
        root = re.search(r'data-job="([0-9a-f-]{36})"', page).group(1)
        parent = root  # the fan-out's calls are children of main
        pages = {
            "executions list": url + "/",
            "execution page": f"{url}/executions/{execution}",
            "job tree, first 200 children": f"{url}/jobs/{parent}/children",
            "job tree, children 9,800-10,000": f"{url}/jobs/{parent}/children?offset=9800",
            "call graph (SVG)": f"{url}/executions/{execution}/graph.svg",
            "report": f"{url}/executions/{execution}/report",
        }
        print(f"{'page':34} {'median':>9} {'max':>9} {'bytes':>9}")
        for name, page_url in pages.items():
            times, size = [], 0
            for _ in range(args.repeat):
                seconds, body = fetch(page_url)
                times.append(seconds)
                size = len(body)
            print(f"{name:34} {statistics.median(times) * 1000:7.0f}ms "
                  f"{max(times) * 1000:7.0f}ms {size:9,}")
        tree, loaded = browser_seconds(pages["execution page"])
        print(f"execution page in headless Chromium: job tree shown {tree:.2f} s, "
              f"page with its picture loaded {loaded:.2f} s")
        server.should_exit = True  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
