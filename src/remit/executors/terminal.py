"""Attaches the user's terminal to a container's TTY (interactive debug jobs, e.g. pdb).

The terminal is put in raw mode and bytes are pumped both ways between it and the
container's attach socket until the container closes its output; the terminal's settings
are restored afterwards, whatever happens.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import termios
import tty
from typing import Any

from remit.progress import terminal_handoff


def attach_terminal(container: Any) -> None:
    """Start ``container`` (created with tty and stdin_open) with this terminal attached."""
    stream = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1,
                                             "stream": 1, "logs": 1})
    sock = getattr(stream, "_sock", stream)
    container.start()
    size = shutil.get_terminal_size()
    try:
        container.resize(height=size.lines, width=size.columns)
    except Exception:  # some engines refuse a resize before the TTY exists; not fatal
        pass
    with terminal_handoff():
        _pump(sock, sys.stdin.fileno(), sys.stdout.fileno())


def _pump(sock: Any, in_fd: int, out_fd: int) -> None:
    """Copy bytes both ways in raw mode until the container closes its output."""
    saved = termios.tcgetattr(in_fd)
    tty.setraw(in_fd)
    try:
        while True:
            readable, _, _ = select.select([sock, in_fd], [], [])
            if sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(out_fd, data)
            if in_fd in readable:
                data = os.read(in_fd, 4096)
                if not data:
                    return
                sock.sendall(data)
    finally:
        termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        sock.close()
