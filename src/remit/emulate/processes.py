"""How the stand-in runs a Batch job's command on this machine: warm or plain local processes.

Owns what a launcher is (``JobSpec`` in, ``JobHandle`` out, ``LaunchError`` when a job cannot
start), the environment of a local job process (the stand-in's own environment under the
job's, with this venv's ``bin`` first on PATH, so ``remit`` and ``python`` are this venv's), and
the choice per job between the two ways of starting it:

* warm (the default): a command whose argv[0] is ``remit`` (this venv's) is forked, ready to
  run, by the zygote (``remit.emulate.zygote``; this module starts it, talks its protocol and
  stops it): the job skips the interpreter start and the imports, but runs remit's real code
  in a separate process with exactly the job's environment, directory and output pipe;
* cold: anything else (and every job with ``warm=False``) is a ``subprocess.Popen``.

Either way the job leads its own session, so killing its process group ends it and whatever
it started. Knows nothing of moto: ``batch_runner`` turns a moto job into a ``JobSpec`` and
drives the returned ``JobHandle``. ``remit.emulate.containers`` is the other launcher.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from remit.emulate.zygote import encode_request, env_identity

logger = logging.getLogger(__name__)

ZYGOTE_START_TIMEOUT = 60.0
"""Seconds the zygote may take to import and answer its first ping."""


class LaunchError(Exception):
    """A job's process or container could not be started; the message is its statusReason."""


@dataclass(frozen=True)
class JobSpec:
    """One attempt of a Batch job, as a launcher needs it (nothing of moto's)."""

    job_id: str
    attempt: int
    command: list[str]
    env: dict[str, str]
    """The job's own variables: its container environment, AWS_BATCH_*, the stand-in's endpoint
    and credentials. A local process gets them over the stand-in's environment; a container
    over its image's."""
    workdir: str
    """A fresh, empty directory for this attempt (local processes start in it)."""
    image: str | None = None
    vcpus: float | None = None
    memory_mib: int | None = None
    labels: dict[str, str] = field(default_factory=dict)


class JobHandle(Protocol):
    """A started job: its output, its end, and a way to kill it."""

    def lines(self) -> Iterator[bytes]:
        """The job's stdout and stderr, merged, line by line until it ends."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the job's end; return its exit code (128+N when killed by signal N).

        Raises ``subprocess.TimeoutExpired`` when ``timeout`` seconds pass first.
        """
        ...

    def kill(self) -> None:
        """Kill the job and everything it started (no error if it already ended)."""
        ...

    def close(self) -> None:
        """Release what the handle holds, once the job ended and its output was read."""
        ...


class Launcher(Protocol):
    """Starts jobs: local processes (``ProcessLauncher``) or containers."""

    description: str
    """What runs the jobs, for messages, e.g. "warm local processes"."""

    def launch(self, spec: JobSpec) -> JobHandle:
        """Start the job; raise ``LaunchError`` when it cannot start."""
        ...

    def close(self) -> None:
        """Stop whatever the launcher runs besides the jobs (the jobs were ended before)."""
        ...


def exit_code(returncode: int) -> int:
    """A process's return code as a container reports it: 128+N for a signal N."""
    return returncode if returncode >= 0 else 128 - returncode


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (no error if it is gone)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ProcessLauncher:
    """Runs jobs as local processes in their attempt's directory, warm where possible."""

    def __init__(self, warm: bool = True) -> None:
        self.warm = warm
        self.description = "warm local processes" if warm else "local processes"
        self._zygote: Zygote | None = Zygote() if warm else None

    def start(self) -> ProcessLauncher:
        """Start the zygote (warm only) without waiting for it to be ready."""
        if self._zygote is not None:
            self._zygote.start()
        return self

    def wait_ready(self, timeout: float = ZYGOTE_START_TIMEOUT) -> None:
        """Wait until the zygote answers (it imports remit, boto3 and botocore first)."""
        if self._zygote is not None:
            self._zygote.wait_ready(timeout)

    def environment(self, spec: JobSpec) -> dict[str, str]:
        """The environment of the job's process: this process's, the job's over it."""
        env = dict(os.environ)
        env.update(spec.env)
        venv_bin = os.path.dirname(sys.executable)  # `python` and `remit` are this venv's
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", os.defpath)])
        return env

    def launch(self, spec: JobSpec) -> JobHandle:
        """Start the job's command: forked by the zygote if it is ``remit``, else Popen."""
        env = self.environment(spec)
        script = self._warm_script(spec.command, env)
        if script is not None:
            assert self._zygote is not None
            return self._zygote.spawn(spec.command, script, env, spec.workdir)
        try:
            proc = subprocess.Popen(
                spec.command,
                cwd=spec.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (OSError, ValueError) as err:  # no such executable, empty command
            raise LaunchError(f"CannotStartContainerError: {err}") from err
        return _Subprocess(proc)

    def _warm_script(self, command: list[str], env: dict[str, str]) -> str | None:
        """This venv's ``remit`` script if the zygote can start ``command`` as it would run."""
        zygote = self._zygote
        if zygote is None or not command or command[0] != "remit":
            return None
        script = shutil.which("remit", path=env.get("PATH"))
        if script is None or os.path.dirname(script) != os.path.dirname(sys.executable):
            return None
        if env_identity(env) != zygote.identity:
            return None  # the interpreter would start differently: let a fresh one do it
        return script

    def close(self) -> None:
        """Stop the zygote (its remaining children are killed)."""
        if self._zygote is not None:
            self._zygote.stop()


class _Subprocess:
    """A ``JobHandle`` for a ``subprocess.Popen`` started in its own session."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def lines(self) -> Iterator[bytes]:
        stdout = self.proc.stdout
        assert stdout is not None
        with stdout:
            yield from stdout

    def wait(self, timeout: float | None = None) -> int:
        return exit_code(self.proc.wait(timeout))

    def kill(self) -> None:
        kill_group(self.proc.pid)

    def close(self) -> None:
        pass


class Zygote:
    """The client side of the warm-job zygote process: start, spawn jobs, stop."""

    def __init__(self) -> None:
        self.identity: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._path = ""
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the zygote process on a fresh unix socket (it serves once it has imported)."""
        self._dir = tempfile.mkdtemp(prefix="remit-zygote-")
        self._path = os.path.join(self._dir, "zygote.sock")
        self._spawn_process()

    def _spawn_process(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self._path)
            listener.listen(128)  # connections queue here while the zygote still imports
            env = dict(os.environ)
            self.identity = env_identity(env)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "remit.emulate.zygote", str(listener.fileno())],
                pass_fds=[listener.fileno()],
                stdin=subprocess.PIPE,  # closing it stops the zygote; so does our death
                stdout=subprocess.DEVNULL,
                cwd=self._dir,
                env=env,
                start_new_session=True,  # Ctrl-C at the stand-in's terminal is for the stand-in
            )
        finally:
            listener.close()

    def wait_ready(self, timeout: float) -> None:
        """Block until the zygote answers a ping; raise RuntimeError if it does not."""
        deadline = time.monotonic() + timeout
        try:
            with self._connect(timeout) as conn:
                header, body = encode_request({"op": "ping"})
                conn.sendall(header + body)
                reply = _Replies(conn).next(max(0.1, deadline - time.monotonic()))
        except (OSError, ValueError, subprocess.TimeoutExpired) as err:
            raise RuntimeError(f"the stand-in's warm-job zygote did not start: {err!r}") from err
        if not reply.get("ready"):
            raise RuntimeError(f"the stand-in's warm-job zygote did not start: {reply}")

    def _connect(self, timeout: float) -> socket.socket:
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                logger.warning(
                    "AWS stand-in: the warm-job zygote exited (%s); starting a new one",
                    self._proc.returncode,
                )
                os.unlink(self._path)
                self._spawn_process()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(timeout)
            conn.connect(self._path)
        except BaseException:
            conn.close()
            raise
        return conn

    def spawn(self, command: list[str], script: str, env: dict[str, str], cwd: str) -> JobHandle:
        """Have the zygote fork the job ``command`` (``remit ...``); return its handle."""
        read_fd, write_fd = os.pipe()
        conn: socket.socket | None = None
        try:
            conn = self._connect(ZYGOTE_START_TIMEOUT)
            request = {"argv": command, "script": script, "env": env, "cwd": cwd}
            header, body = encode_request(request)
            socket.send_fds(conn, [header], [write_fd])
            conn.sendall(body)
            os.close(write_fd)
            write_fd = -1
            replies = _Replies(conn)
            reply = replies.next(ZYGOTE_START_TIMEOUT)
            if "pid" not in reply:
                raise LaunchError(
                    f"CannotStartContainerError: the warm-job zygote: {reply.get('error')}"
                )
        except (OSError, ValueError, subprocess.TimeoutExpired) as err:
            if conn is not None:
                conn.close()
            os.close(read_fd)
            raise LaunchError(f"CannotStartContainerError: the warm-job zygote: {err!r}") from err
        except BaseException:
            if conn is not None:
                conn.close()
            os.close(read_fd)
            raise
        finally:
            if write_fd >= 0:
                os.close(write_fd)
        return _WarmProcess(replies, int(reply["pid"]), os.fdopen(read_fd, "rb"))

    def stop(self, timeout: float = 10.0) -> None:
        """Close the zygote's stdin (it kills its children and exits); wait, then clean up."""
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class _Replies:
    """The zygote's JSON lines on one connection, each read with its own timeout."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self._buffer = b""

    def next(self, timeout: float | None) -> dict[str, Any]:
        """The next reply; ``subprocess.TimeoutExpired`` after ``timeout`` s, EOFError at EOF."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired("zygote", timeout or 0.0)
                self.conn.settimeout(remaining)
            else:
                self.conn.settimeout(None)
            try:
                chunk = self.conn.recv(4096)
            except TimeoutError:
                continue  # the deadline check above raises
            if not chunk:
                raise EOFError("the warm-job zygote closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply


class _WarmProcess:
    """A ``JobHandle`` for a job the zygote forked: it reports the exit, we kill by group."""

    def __init__(self, replies: _Replies, pid: int, output: IO[bytes]) -> None:
        self.pid = pid
        self._replies = replies
        self._output = output
        self._code: int | None = None

    def lines(self) -> Iterator[bytes]:
        with self._output:
            yield from self._output

    def wait(self, timeout: float | None = None) -> int:
        if self._code is None:
            try:
                reply = self._replies.next(timeout)
            except subprocess.TimeoutExpired:
                raise subprocess.TimeoutExpired(f"job process {self.pid}", timeout or 0.0) from None
            except (EOFError, OSError) as err:
                kill_group(self.pid)
                message = f"lost the warm-job zygote while job process {self.pid} ran"
                raise RuntimeError(message) from err
            self._code = exit_code(int(reply["returncode"]))
        return self._code

    def kill(self) -> None:
        kill_group(self.pid)

    def close(self) -> None:
        self._replies.conn.close()
