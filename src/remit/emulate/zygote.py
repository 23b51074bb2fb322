"""The warm-job zygote: one single-threaded process that forks ready-to-run ``remit`` jobs.

``remit.emulate.processes.Zygote`` starts it as ``python -m remit.emulate.zygote FD``, FD being
a listening unix socket it inherits, and closes its stdin to stop it. At start it imports what
a job process spends most of its time importing (remit's CLI and oneshot code, boto3 and
botocore) and parses the s3, batch and logs service models once, into botocore loaders that
every later session shares (``_share_loaders``). For each job it then forks a child that
becomes exactly what ``remit ARGS`` started by the stand-in would be: its own session, the
job's environment (nothing else), the job's working directory, stdin from /dev/null, stdout and
stderr into the job's output pipe, no boto3 session or client of the zygote's, and then
``remit.cli.main(ARGS)`` with the exit code ending the process. So the job's code really runs,
only the interpreter start and imports are paid once.

Owns this process and its wire protocol (one connection per job):

* client -> zygote: a 4-byte big-endian length sent together with one file descriptor
  (SCM_RIGHTS: the write end of the job's output pipe), then that many bytes of JSON
  ``{"argv": [...], "script": PATH, "env": {...}, "cwd": DIR}``; or ``{"op": "ping"}`` without
  a descriptor, answered ``{"ready": true, "pid": P}``.
* zygote -> client: a JSON line ``{"pid": P}`` once the child leads its own session (so its
  process group can be killed), later ``{"returncode": R}`` (``subprocess`` convention: -N for
  signal N) when it exited, then the zygote closes the connection. A failed request gets
  ``{"error": TEXT}``.
* A client closing its connection early kills that job's process group. EOF on stdin (the
  stand-in closed it, or died) or SIGTERM/SIGINT kills every job's group and ends the zygote.

Imports nothing but the standard library until ``main()`` runs, and knows nothing of moto.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import types
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

HEADER = struct.Struct("!I")
"""The length prefix of a request's JSON body."""
PRELOADED_SERVICES = ("s3", "batch", "logs")
"""The service models parsed before the first fork (what a remit job's clients use)."""
ENV_IDENTITY_PREFIXES = ("PYTHON", "LANG", "LC_", "AWS_DATA_PATH")
"""Environment variables that shape the interpreter or the preloaded state at start.

A job whose values of these differ from the zygote's would not be the same as a fresh process,
so ``processes`` runs it as a plain subprocess instead.
"""
_PRELOADED_MODULES = (
    "remit.aws",
    "remit.cli",
    "remit.cli.oneshot",
    "remit.remote.oneshot",
    "remit.remote.packaging",
    "remit.remote.scratch",
    "remit.loader",
    "remit.task",
    "remit.files",
    "boto3",
    "boto3.session",
    "botocore.session",
)


def env_identity(env: dict[str, str]) -> dict[str, str]:
    """The part of an environment that must match the zygote's for a warm start."""
    return {key: value for key, value in env.items() if key.startswith(ENV_IDENTITY_PREFIXES)}


def encode_request(request: dict[str, Any]) -> tuple[bytes, bytes]:
    """A request as (length header, JSON body)."""
    body = json.dumps(request).encode()
    return HEADER.pack(len(body)), body


def main(argv: Sequence[str] | None = None) -> None:
    """Serve job requests on the inherited listening socket until stdin closes."""
    args = sys.argv[1:] if argv is None else list(argv)
    listener = socket.socket(fileno=int(args[0]))
    # `python -m` put the zygote's working directory first on sys.path; a job's process has
    # its script's directory there instead (set in each child).
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    _preload()
    _Server(listener).serve()


def _preload() -> None:
    import importlib

    for name in _PRELOADED_MODULES:
        importlib.import_module(name)
    _share_loaders()
    import boto3.session

    session = boto3.session.Session(
        aws_access_key_id="preload", aws_secret_access_key="preload", region_name="us-east-1"
    )
    for service in PRELOADED_SERVICES:
        session.client(service)  # builds nothing that talks: no connection is opened
    del session
    gc.collect()
    gc.freeze()  # children's collections then leave the preloaded objects' pages unshared-free


def _share_loaders() -> None:
    """Give every botocore session one shared loader per data path (the JSON models cache).

    botocore creates a loader per session; remit builds its own session in each job process,
    so without this each child would parse the service models again. Loaders hold parsed data
    only (no connections, credentials or threads) and botocore supports sharing them.
    """
    import botocore.session

    create_loader = botocore.session.create_loader
    loaders: dict[str | None, Any] = {}

    def shared_loader(search_path_string: str | None = None) -> Any:
        loader = loaders.get(search_path_string)
        if loader is None:
            loader = loaders[search_path_string] = create_loader(search_path_string)
        return loader

    botocore.session.create_loader = shared_loader


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection mid-request")
        data += chunk
    return bytes(data)


class _Server:
    """The zygote's loop: accept requests, fork children, report their exit, reap them."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, socket.socket | None] = {}  # pid -> its client (None: gone)
        self.running = True
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        """Run until stdin reaches EOF or SIGTERM/SIGINT; then kill every child's group."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, _ignore_signal)  # a handler (not SIG_IGN): we reap
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._drain_wakeups)
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, self._parent_input)
        try:
            while self.running:
                for key, _ in self.selector.select(timeout=1.0):
                    callback: Callable[[Any], None] = key.data
                    callback(key.fileobj)
                self._reap()
        finally:
            self._kill_all()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.running = False

    def _drain_wakeups(self, fd: int) -> None:
        try:
            while os.read(fd, 512):
                pass
        except BlockingIOError:
            pass

    def _parent_input(self, fd: int) -> None:
        if not os.read(fd, 4096):
            self.running = False

    def _accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        try:
            self._handle(conn)
        except Exception as err:  # a bad request must not end the zygote
            try:
                _send(conn, {"error": f"{type(err).__name__}: {err}"})
            except OSError:
                pass
            conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        data, fds, _, _ = socket.recv_fds(conn, HEADER.size, 1)
        try:
            if not data:
                conn.close()
                return
            data += _recv_exactly(conn, HEADER.size - len(data))
            (size,) = HEADER.unpack(data)
            request = json.loads(_recv_exactly(conn, size))
            if request.get("op") == "ping":
                _send(conn, {"ready": True, "pid": os.getpid()})
                conn.close()
                return
            if len(fds) != 1:
                raise ValueError("a job request must carry its output pipe")
            pid = self._fork(request, fds[0])
        finally:
            for fd in fds:
                os.close(fd)
        try:
            _send(conn, {"pid": pid})
        except OSError:  # the client is gone already: so is the job
            _kill_group(pid)
            conn.close()
            self.children[pid] = None
            return
        self.children[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, self._client_event)

    def _fork(self, request: dict[str, Any], out_fd: int) -> int:
        sync_r, sync_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, measured through the jobs it runs
            os.close(sync_r)
            _become_job(request, out_fd, sync_w, self)
        os.close(sync_w)
        os.read(sync_r, 1)  # the child now leads its own session (or is already gone)
        os.close(sync_r)
        return pid

    def _client_event(self, conn: socket.socket) -> None:
        """The client closed its connection before its job ended: kill the job."""
        try:
            gone = not conn.recv(1)
        except OSError:
            gone = True
        if not gone:
            return
        self.selector.unregister(conn)
        conn.close()
        for pid, client in self.children.items():
            if client is conn:
                self.children[pid] = None
                _kill_group(pid)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            try:
                _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass
            self.selector.unregister(conn)
            conn.close()

    def _kill_all(self) -> None:
        """Kill every job's process group and report each job's end (killed) to its client."""
        for pid in self.children:
            _kill_group(pid)
        for pid, conn in list(self.children.items()):
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = 0
            if conn is not None:
                try:
                    _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass
                conn.close()
        self.children.clear()

    def forget(self) -> None:
        """In a child: let go of the zygote's sockets without closing anything later."""
        self.selector.close()
        for conn in [self.listener, *self.children.values()]:
            if conn is not None:
                conn.detach()


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _become_job(request: dict[str, Any], out_fd: int, sync_w: int, server: _Server) -> None:
    """In the forked child: turn into the job's ``remit`` process, run it, and exit."""
    code = 1
    try:
        os.setsid()
        os.write(sync_w, b"\0")
        os.close(sync_w)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        server.forget()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _become_script(request["script"], request["argv"])
        _forget_aws_state()
        code = _run_remit(request["argv"][1:])
    except BaseException:
        sys.excepthook(*sys.exc_info())
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _become_script(script: str, argv: list[str]) -> None:
    """Look like ``python SCRIPT ARGS``: argv, sys.path[0], and a __main__ that is no package.

    (click names the program from them: "remit", not "python -m remit.emulate.zygote".)
    """
    sys.argv = [script, *argv[1:]]
    sys.path.insert(0, os.path.dirname(script))
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__package__ = None
    main.__spec__ = None
    sys.modules["__main__"] = main


def _forget_aws_state() -> None:
    """Drop boto3's default session and remit's cached clients: none may cross a fork."""
    import boto3

    from remit import aws

    boto3.DEFAULT_SESSION = None
    aws.reset_clients()


def _run_remit(args: list[str]) -> int:
    """``remit ARGS`` as its console script would run it; returns the process's exit code."""
    from remit.cli import main

    try:
        main(args=args)
        code = 0
    except SystemExit as exit:
        code = _exit_code(exit.code)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        code = 128 + signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    _finalize()
    return code


def _exit_code(code: object) -> int:
    """What the interpreter exits with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _finalize() -> None:
    """What interpreter shutdown does before exiting: join threads, run atexit handlers."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except Exception:
        sys.excepthook(*sys.exc_info())
    atexit._run_exitfuncs()


if __name__ == "__main__":
    main()
