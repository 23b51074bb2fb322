"""Makes sure no child process or container outlives the process that started it.

Two mechanisms, both Linux-first and no-ops where unsupported:

- ``die_with_parent()``: a forked worker asks the kernel (``prctl(PR_SET_PDEATHSIG)``) to
  SIGKILL it when the thread that forked it ends, and exits at once if that already happened.
- A *guard*: a tiny watcher process per remit process, started on first use, that holds the
  read end of a pipe whose write end only this process has. Script subprocesses run in
  process groups of their own and debug containers are registered with it; when the pipe
  reaches end of file (this process exited, however: normally, by a signal, or kill -9), the
  guard kills every group still registered and removes every container, then exits.
  A forked child starts over with a guard of its own.

It knows nothing of jobs or executors: callers register what they start and unregister what
ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

_PR_SET_PDEATHSIG = 1

# The guard: reads +g PGID / -g PGID / +c HOST ID / -c ID lines until end of file, then kills.
_GUARD = r"""
import http.client, os, signal, socket, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
groups, containers = set(), {}
for line in sys.stdin:
    op, kind, *rest = line.split()
    if kind == "g":
        (groups.add if op == "+" else groups.discard)(int(rest[0]))
    elif op == "+":
        containers[rest[1]] = rest[0]
    else:
        containers.pop(rest[0], None)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)
for cid, host in containers.items():
    try:
        if host.startswith("unix://"):
            conn = UnixConnection(host[len("unix://"):])
        else:
            conn = http.client.HTTPConnection(host.split("://")[-1], timeout=60)
        conn.request("DELETE", f"/containers/{cid}?force=true")
        conn.getresponse().read()
    except Exception:
        pass
"""

_lock = threading.Lock()
#: Held while a subprocess starts and while worker processes are forked: a fork (without exec)
#: in the middle of another thread's Popen would inherit the pipe Popen waits on for the
#: exec, and that Popen would then wait forever.
FORK_LOCK = threading.Lock()
_pipe: IO[str] | None = None
_owner_pid = 0
_orphans: list[IO[str]] = []  # inherited pipes, kept from being closed twice


def die_with_parent(parent_pid: int) -> None:
    """In a forked child: be SIGKILLed when the forking thread ends; exit if it already did."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def ensure_guard() -> None:
    """Start this process's guard now (before starting what it will guard)."""
    global _pipe, _owner_pid
    with _lock:
        if _pipe is None or _owner_pid != os.getpid():
            _pipe = _start_guard()
            _owner_pid = os.getpid()


def _send(line: str) -> None:
    ensure_guard()
    with _lock:
        assert _pipe is not None
        try:
            _pipe.write(line + "\n")
            _pipe.flush()
        except OSError:  # the guard is gone: nothing more can be done
            pass


def _start_guard() -> IO[str]:
    with FORK_LOCK:
        guard = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GUARD], stdin=subprocess.PIPE, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            close_fds=True,
        )
    assert guard.stdin is not None
    return guard.stdin


def _forget_after_fork() -> None:
    """In a forked child: fresh locks (a parent thread may have held them at the fork), and
    drop the parent's guard pipe, so the parent's death is seen."""
    global _pipe, _owner_pid, _lock, FORK_LOCK
    _lock, FORK_LOCK = threading.Lock(), threading.Lock()
    pipe, _pipe, _owner_pid = _pipe, None, 0
    if pipe is not None:  # point the inherited descriptor at /dev/null (closing it later is fine)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, pipe.fileno())
        os.close(devnull)
        _orphans.append(pipe)


os.register_at_fork(after_in_child=_forget_after_fork)


def watch_group(pgid: int) -> None:
    """Kill process group ``pgid`` if this process ends before ``release_group(pgid)``."""
    _send(f"+ g {pgid}")


def release_group(pgid: int) -> None:
    """Stop guarding a process group whose processes have all ended."""
    _send(f"- g {pgid}")


def group_alive(pgid: int) -> bool:
    """Whether any process is left in the group."""
    return _answers(os.killpg, pgid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (whoever owns it)."""
    return _answers(os.kill, pid)


def _answers(send: Callable[[int, int], None], target: int) -> bool:
    """Whether signal 0 finds ``target`` (a process we may not signal still exists)."""
    try:
        send(target, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_container(docker_host: str, container_id: str) -> None:
    """Remove the container (force) if this process ends before ``release_container``."""
    _send(f"+ c {docker_host} {container_id}")


def release_container(container_id: str) -> None:
    """Stop guarding a container that was removed."""
    _send(f"- c {container_id}")
