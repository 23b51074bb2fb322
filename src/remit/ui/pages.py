"""The Jinja environment behind every page, and pages rendered without a server.

The server and `remit report -o report.html` render the same templates; a page written to a
file carries its stylesheet inline and links back to `remit server` for the details.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from remit.display import format_duration, format_time
from remit.ui.queries import STATES

HERE = Path(__file__).parent
SERVER_URL = "http://127.0.0.1:8000"


def make_env() -> Environment:
    """Templates with remit's filters (durations, times, argv, short ids)."""
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(["html"]))
    env.globals.update(STATES=STATES, duration=format_duration, when=format_time,
                       link_base="", inline_css=None)
    env.filters["short"] = lambda text, n=12: text[:n] if text else ""
    env.filters["argv"] = lambda raw: " ".join(json.loads(raw)) if raw else ""
    return env


def render_report_page(report: Any) -> str:
    """A self-contained HTML page of an execution's report."""
    template = make_env().get_template("report.html")
    return template.render(report=report, link_base=SERVER_URL,
                           inline_css=(HERE / "static" / "style.css").read_text())
