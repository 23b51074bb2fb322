"""remit's exception tree: every error remit raises on purpose derives from RemitError.

    RemitError
    ├── ConfigError            bad or missing configuration (names file, section, option)
    ├── TaskError              bad task definition or lookup (unknown task, bad options)
    │   └── ArgumentMutatedError a task changed an argument object in place (thread executor)
    ├── HashingError           a value that cannot be hashed deterministically
    ├── SerializationError     a value that cannot be pickled for a job or the store
    ├── ExecutorError          an executor could not run a job
    │   ├── JobSubmitError     submission was refused (e.g. AWS Batch SubmitJob)
    │   ├── JobLostError       a submitted job vanished (no output, no error)
    │   ├── JobTimeoutError    a job exceeded its time limit
    │   ├── ContainerEngineError no container engine reachable (debug mode, docker executor)
    │   ├── AWSUnavailableError  AWS calls kept failing for ``api_timeout`` (an outage)
    │   └── AWSResourceError   a queue, bucket or job definition is missing (names region)
    ├── ScriptError            a script task exited non-zero (exit code, stderr tail)
    ├── RemoteJobError         a task failed in another process or machine (remote traceback)
    ├── FileError              a File or Dir could not be read, written or staged
    └── DBError                the provenance store is unreachable or inconsistent
        └── NoDatabaseError    nothing recorded yet where a reader looked (no database)

This module owns only the classes; it imports nothing from remit.
"""

from __future__ import annotations


class RemitError(Exception):
    """Base class of every error remit raises on purpose."""


class ConfigError(RemitError):
    """Configuration is malformed, incomplete or names something unknown."""


class TaskError(RemitError):
    """A task is defined or called incorrectly, or cannot be found."""


class ArgumentMutatedError(TaskError):
    """A task body changed one of its argument objects in place."""


class HashingError(RemitError):
    """A value cannot be hashed deterministically."""


class SerializationError(RemitError):
    """A value cannot be serialized for transport or storage."""


class ExecutorError(RemitError):
    """An executor could not run a job."""


class JobSubmitError(ExecutorError):
    """A job submission was refused."""


class JobLostError(ExecutorError):
    """A submitted job finished without leaving an output or an error."""


class JobTimeoutError(ExecutorError):
    """A job exceeded its time limit."""


class ContainerEngineError(ExecutorError):
    """No container engine is reachable."""


class AWSUnavailableError(ExecutorError):
    """AWS API calls failed (throttling, 5xx, connection errors) for longer than allowed."""


class AWSResourceError(ExecutorError):
    """A queue, bucket or job definition the configuration names does not exist there."""


class ScriptError(RemitError):
    """A script task exited with a non-zero status."""

    def __init__(self, exit_code: int, stderr_tail: str, command: str = "") -> None:
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        self.command = command
        super().__init__(exit_code, stderr_tail, command)

    def __str__(self) -> str:
        tail = self.stderr_tail.rstrip()
        text = f"script exited with code {self.exit_code}"
        return f"{text}; last lines of stderr:\n{tail}" if tail else text


class RemoteJobError(RemitError):
    """A task failed in another process or machine; carries the remote traceback text."""

    def __init__(self, message: str, remote_traceback: str = "") -> None:
        self.remote_traceback = remote_traceback
        super().__init__(message, remote_traceback)

    def __str__(self) -> str:
        return str(self.args[0])


class FileError(RemitError):
    """A File or Dir could not be read, written or staged."""


class DBError(RemitError):
    """The provenance store is unreachable or inconsistent."""


class NoDatabaseError(DBError):
    """A read-only command found no provenance database (nothing was recorded there yet)."""
