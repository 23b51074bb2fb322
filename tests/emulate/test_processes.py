"""Job processes of the stand-in: a warm job (forked by the zygote) is the same process a cold
one (a fresh ``remit``) would be, and both obey kill, exit codes and output the same way.

These drive ``remit.emulate.processes`` directly (no moto): ``remit oneshot`` reads and writes
local scratch files here, so the probe task reports what its process looked like.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remit.__about__ import __version__
from remit.emulate.processes import JobHandle, JobSpec, LaunchError, ProcessLauncher
from remit.remote import scratch

PROBE = '''
import os, signal, sys, threading
import boto3
from remit import task


@task()
def facts(marker: str) -> dict:
    main = sys.modules["__main__"]
    return {
        "marker": marker,
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "path": [p for p in sys.path if p != os.getcwd()],
        "flags": tuple(sys.flags),
        "session_leader": os.getsid(0) == os.getpid() == os.getpgid(0),
        "stdin": sys.stdin.read(),
        "stdout": (sys.stdout.isatty(), sys.stdout.encoding, sys.stdout.line_buffering),
        "stderr": (sys.stderr.isatty(), sys.stderr.encoding, sys.stderr.line_buffering),
        "main": (getattr(main, "__file__", None), main.__package__, main.__spec__),
        "signals": [str(signal.getsignal(s)) for s in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE)],
        "wakeup_fd": signal.set_wakeup_fd(-1),
        "boto3_default_session": boto3.DEFAULT_SESSION,
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))[:3],
        "threads": threading.active_count(),
    }
'''


@pytest.fixture(scope="module")
def warm() -> Iterator[ProcessLauncher]:
    """A warm launcher (its own zygote) for this module."""
    launcher = ProcessLauncher(warm=True).start()
    launcher.wait_ready()
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def cold() -> ProcessLauncher:
    """A launcher of plain subprocesses."""
    return ProcessLauncher(warm=False)


def run(launcher: ProcessLauncher, spec: JobSpec) -> tuple[int, list[bytes]]:
    """Launch, read all output, wait; return the exit code and the output lines."""
    handle = launcher.launch(spec)
    try:
        lines = list(handle.lines())
        return handle.wait(30), lines
    finally:
        handle.kill()
        handle.close()


def probe_spec(workdir: Path, marker: str) -> JobSpec:
    """A `remit oneshot` job of the probe task with local scratch files in `workdir`."""
    (workdir / "probe.py").write_text(PROBE)
    scratch.write_pickle(str(workdir / "input"), ((marker,), {}))
    command = ["remit", "--check-version", ">=0.1", "oneshot", "probe", "facts",
               "--import-path", ".", "--input", str(workdir / "input"),
               "--output", str(workdir / "output"), "--error", str(workdir / "error")]
    env = {"AWS_BATCH_JOB_ID": f"job-{marker}", "REMIT_PROBE": marker}
    return JobSpec(job_id=f"job-{marker}", attempt=1, command=command, env=env,
                   workdir=str(workdir))


def test_warm_job_is_the_process_a_cold_one_would_be(
    warm: ProcessLauncher, cold: ProcessLauncher, tmp_path: Path
) -> None:
    results: dict[str, Any] = {}
    for marker, launcher in (("m1", warm), ("m2", cold)):
        workdir = tmp_path / marker
        workdir.mkdir()
        code, lines = run(launcher, probe_spec(workdir, marker))
        assert code == 0, b"".join(lines).decode()
        assert any(line.startswith(b"[remit] oneshot:  remit --check-version") for line in lines)
        facts = scratch.read_pickle(str(workdir / "output"))
        assert facts["marker"] == marker and facts["cwd"] == str(workdir)
        assert facts["env"]["REMIT_PROBE"] == marker
        results[marker] = _normalized(facts, {str(workdir): "WORKDIR", marker: "MARKER"})

    # The same process, environment included: exactly the job's, nothing of the zygote's own.
    warm_facts, cold_facts = results["m1"], results["m2"]
    assert warm_facts == cold_facts
    expected_env = cold.environment(probe_spec(tmp_path, "MARKER"))
    assert warm_facts["env"] == expected_env
    assert warm_facts["session_leader"] and warm_facts["stdin"] == ""
    assert warm_facts["argv"][0] == os.path.join(os.path.dirname(sys.executable), "remit")


def _normalized(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _normalized(v, replacements) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_normalized(v, replacements) for v in value)
    return value


def test_exit_codes_and_output_of_a_failing_warm_job(
    warm: ProcessLauncher, tmp_path: Path
) -> None:
    spec = JobSpec(job_id="j", attempt=1, command=["remit", "oneshot", "--no-such-option"],
                   env={}, workdir=str(tmp_path))
    code, lines = run(warm, spec)
    assert code == 2  # click's usage error, as from a fresh `remit`
    assert b"Error: No such option '--no-such-option'.\n" in lines
    assert any(line.startswith(b"Usage: remit oneshot") for line in lines)


def test_non_remit_commands_and_other_pythons_stay_cold(
    warm: ProcessLauncher, tmp_path: Path
) -> None:
    spec = JobSpec(job_id="j", attempt=1, command=["sh", "-c", "echo $$; exit 4"], env={},
                   workdir=str(tmp_path))
    code, lines = run(warm, spec)
    assert code == 4
    handle = warm.launch(spec)
    assert type(handle).__name__ == "_Subprocess"
    handle.wait(10)
    handle.close()
    # an interpreter setting the zygote did not start with: a fresh process must run it
    env_spec = JobSpec(job_id="j", attempt=1, command=["remit", "--version"],
                       env={"PYTHONHASHSEED": "123"}, workdir=str(tmp_path))
    handle = warm.launch(env_spec)
    assert type(handle).__name__ == "_Subprocess"
    assert handle.wait(30) == 0
    handle.close()
    with pytest.raises(LaunchError, match="CannotStartContainerError"):
        warm.launch(JobSpec(job_id="j", attempt=1, command=["no-such-command-here"], env={},
                            workdir=str(tmp_path)))


WAIT_FOREVER = '''
import os, subprocess, time
from remit import task


@task()
def forever(pid_file: str) -> None:
    child = subprocess.Popen(["sleep", "60"])
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    time.sleep(60)
'''


def test_kill_ends_a_warm_job_and_what_it_started(warm: ProcessLauncher, tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(textwrap.dedent(WAIT_FOREVER))
    pid_file = tmp_path / "pids"
    scratch.write_pickle(str(tmp_path / "input"), ((str(pid_file),), {}))
    command = ["remit", "oneshot", "probe", "forever", "--import-path", ".",
               "--input", str(tmp_path / "input"), "--output", str(tmp_path / "output"),
               "--error", str(tmp_path / "error")]
    handle: JobHandle = warm.launch(JobSpec("j", 1, command, {}, str(tmp_path)))
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            handle.wait(0.2)
        deadline = time.monotonic() + 20
        while not pid_file.exists() or len(pid_file.read_text().split()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pids = [int(pid) for pid in pid_file.read_text().split()]
        handle.kill()
        assert handle.wait(10) == 128 + signal.SIGKILL
    finally:
        handle.kill()
        handle.close()
    for pid in pids:
        deadline = time.monotonic() + 5
        while _alive(pid):
            assert time.monotonic() < deadline, f"process {pid} survived the kill"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed grandchild may linger as a zombie until init reaps it
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _launch_forever_job(launcher: ProcessLauncher, tmp_path: Path) -> tuple[Any, Path]:
    """Launch a `remit oneshot` job that never ends; wait until it wrote its pids."""
    (tmp_path / "probe.py").write_text(textwrap.dedent(WAIT_FOREVER))
    pid_file = tmp_path / "pids"
    scratch.write_pickle(str(tmp_path / "input"), ((str(pid_file),), {}))
    command = ["remit", "oneshot", "probe", "forever", "--import-path", ".",
               "--input", str(tmp_path / "input"), "--output", str(tmp_path / "output"),
               "--error", str(tmp_path / "error")]
    handle = launcher.launch(JobSpec("j", 1, command, {}, str(tmp_path)))
    deadline = time.monotonic() + 20
    while not pid_file.exists() or len(pid_file.read_text().split()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return handle, pid_file


def test_zygote_stops_with_its_launcher_and_kills_its_jobs(tmp_path: Path) -> None:
    launcher = ProcessLauncher(warm=True).start()
    launcher.wait_ready()
    zygote = launcher._zygote
    assert zygote is not None and zygote._proc is not None
    zygote_pid = zygote._proc.pid
    handle, pid_file = _launch_forever_job(launcher, tmp_path)
    launcher.close()
    assert handle.wait(10) == 128 + signal.SIGKILL
    handle.close()
    for pid in [zygote_pid, *map(int, pid_file.read_text().split())]:
        deadline = time.monotonic() + 5
        while _alive(pid):
            assert time.monotonic() < deadline, f"process {pid} survived the zygote's stop"
            time.sleep(0.05)


def test_a_lost_zygote_fails_its_running_job_and_is_replaced(tmp_path: Path) -> None:
    launcher = ProcessLauncher(warm=True).start()
    try:
        launcher.wait_ready()
        zygote = launcher._zygote
        assert zygote is not None and zygote._proc is not None
        handle, pid_file = _launch_forever_job(launcher, tmp_path)
        old = zygote._proc
        old.kill()
        old.wait()
        with pytest.raises(RuntimeError, match="lost the warm-job zygote"):
            handle.wait(10)  # and the job's process group was killed
        handle.close()
        for pid in map(int, pid_file.read_text().split()):
            deadline = time.monotonic() + 5
            while _alive(pid):
                assert time.monotonic() < deadline, f"process {pid} survived"
                time.sleep(0.05)

        spec = JobSpec("j", 2, ["remit", "--version"], {}, str(tmp_path))
        handle = launcher.launch(spec)  # a new zygote (with a warning)
        assert type(handle).__name__ == "_WarmProcess"
        assert list(handle.lines()) == [f"remit, version {__version__}\n".encode()]
        assert handle.wait(30) == 0
        handle.close()
        assert zygote._proc is not old
    finally:
        launcher.close()
