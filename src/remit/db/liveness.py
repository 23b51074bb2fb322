"""Whether a RUNNING execution is still running: ABANDONED when its scheduler died unclosed.

An execution row carries the heartbeat, pid and host of the `remit run` that writes it. A
RUNNING execution is shown as ABANDONED when, on this host, its process is gone (or the pid
now belongs to something that is not remit), or, from another host, its heartbeat is older
than ``STALE_AFTER``. Reads only; nothing here changes the store.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

STALE_AFTER = 300.0  # seconds without a heartbeat before another host's run counts as dead


@cache
def _host() -> str:
    return socket.gethostname()


def this_process() -> dict[str, Any]:
    """The liveness columns for a row written now by this process."""
    return {"heartbeat": time.time(), "pid": os.getpid(), "host": _host()[:255]}


def shown_status(row: Mapping[str, Any], now: float | None = None) -> str:
    """The execution's status, with RUNNING turned into ABANDONED when its run is dead."""
    status = row["status"]
    if status != "RUNNING":
        return status
    pid, host = row.get("pid"), row.get("host")
    if pid and host == _host():
        return "RUNNING" if _remit_alive(int(pid)) else "ABANDONED"
    last = row.get("heartbeat") or row["start_time"]
    return "ABANDONED" if (now or time.time()) - last > STALE_AFTER else "RUNNING"


def _remit_alive(pid: int) -> bool:
    from remit.childguard import pid_alive

    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"remit" in cmdline.read()
    except OSError:
        return True
