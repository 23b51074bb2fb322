"""Tasks: the `@task` decorator, task options, the task registry and the task hash.

A Task wraps a plain function. Calling it does not run it: it returns a lazy
TaskExpression that the Scheduler evaluates. The task hash (what makes a cached result
stale) comes from the function's normalized source (comments, whitespace, decorators and the
docstring do not count) and the code it depends on (``codedeps.py``: helpers, classes,
module constants, library versions, ``hash_includes``), or from an explicit ``version=``
alone. This module never evaluates anything.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar, overload

from remit.errors import TaskError
from remit.hashing import hash_struct, hash_token, normalize

F = TypeVar("F", bound=Callable[..., Any])

# Options consumed by the scheduler itself; every other option goes to the executor.
SCHEDULER_OPTIONS = frozenset(
    {"executor", "cache", "version", "name", "namespace", "hash_includes"}
)

_registry: dict[str, Task] = {}


class Task:
    """A function registered as a remit task; calling it returns a lazy TaskExpression."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.func = func
        self.name = name or func.__name__
        if namespace is None:
            namespace = getattr(func, "__globals__", {}).get("remit_namespace")
        self.namespace = namespace or ""
        self.fullname = f"{self.namespace}.{self.name}" if self.namespace else self.name
        self.version = version
        self._options = dict(options or {})
        self._hash: str | None = None
        self._deps: dict[str, str] | None = None
        self._source: str | None = None
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    @property
    def options(self) -> dict[str, Any]:
        """Task options (executor, cache and executor-specific ones such as memory)."""
        return self._options

    @property
    def executor(self) -> str:
        """Name of the executor this task runs on."""
        return self._options.get("executor", "default")

    @property
    def cache(self) -> bool:
        """Whether results of this task are served from the cache across runs."""
        return bool(self._options.get("cache", True))

    @property
    def source(self) -> str:
        """The task function's source code as written."""
        if self._source is None:
            try:
                self._source = textwrap.dedent(inspect.getsource(self.func))
            except (OSError, TypeError):
                self._source = ""
        return self._source

    @property
    def hash(self) -> str:
        """Hash of the task's full name, normalized source and code dependencies (or of its
        full name and version alone)."""
        if self._hash is None:
            if self.version is not None:
                body: Any = ("version", str(self.version))
                self._hash = hash_struct("Task", self.fullname, body)
                self._deps = {"version": str(self.version)}
                return self._hash
            from remit.codedeps import dependencies

            source = _normalized_source(self.func, self.source)
            deps = dependencies(self.func, self._options.get("hash_includes") or ())
            parts: tuple = (("source", source),)
            if deps:  # a task without dependencies keeps the hash it always had
                parts += (("deps", tuple(sorted(deps.items()))),)
            self._hash = hash_struct("Task", self.fullname, *parts)
            self._deps = {f"task {self.fullname}": hash_token(source), **deps}
        return self._hash

    @property
    def code_deps(self) -> dict[str, str]:
        """What the task hash covers, label -> hash: ``task NAME`` (its own source),
        ``function MODULE:QUALNAME``, ``class MODULE:QUALNAME``, ``constant MODULE:NAME``,
        ``library DIST`` (its version), ``hash_includes[i]``; or just ``version``."""
        if self._deps is None:
            self.hash  # noqa: B018 - computes both
        assert self._deps is not None
        return self._deps

    def with_options(self, **options: Any) -> Task:
        """Return a copy of this task with some options overridden (for one call site)."""
        merged = {**self._options, **options}
        clone = Task(self.func, self.name, self.namespace, self.version, merged)
        clone._source = self._source
        if "hash_includes" not in options:
            clone._hash, clone._deps = self._hash, self._deps
        return clone

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from remit.expression import TaskExpression

        return TaskExpression(self, args, kwargs)

    def __repr__(self) -> str:
        return f"Task({self.fullname!r})"

    def __reduce__(self) -> tuple:
        return (get_task, (self.fullname,))


@normalize.register(Task)
def _normalize_task(value: Task) -> tuple:
    return ("Task", value.fullname, value.hash)


def _normalized_source(func: Callable[..., Any], source: str) -> str:
    """Source without decorators, docstring, comments or formatting differences."""
    if not source:
        code = func.__code__
        return repr(("bytecode", code.co_code, code.co_consts, code.co_names))
    from remit.codedeps import normalized_function_source

    return normalized_function_source(source)


@overload
def task(func: F) -> Task: ...


@overload
def task(
    func: None = None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    version: str | None = None,
    executor: str | None = None,
    cache: bool = True,
    **options: Any,
) -> Callable[[F], Task]: ...


def task(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    version: str | None = None,
    executor: str | None = None,
    cache: bool = True,
    **options: Any,
) -> Task | Callable[[Callable[..., Any]], Task]:
    """Declare a task; use as ``@task`` or ``@task(executor="batch", memory=4, ...)``.

    Options: ``executor`` (name of an ``[executors.NAME]`` section, default ``default``),
    ``cache`` (False: always re-run), ``version`` (hash by this string instead of the source),
    ``name``/``namespace`` (full name ``namespace.name``; the namespace defaults to the
    module's ``remit_namespace``), and any executor option such as ``memory`` or ``vcpus``.
    """

    def decorate(f: Callable[..., Any]) -> Task:
        if not callable(f):
            raise TaskError(f"@task must decorate a function, not {f!r}")
        opts = dict(options)
        if executor is not None:
            opts["executor"] = executor
        if not cache:
            opts["cache"] = False
        new = Task(f, name=name, namespace=namespace, version=version, options=opts)
        _registry[new.fullname] = new
        return new

    if func is not None:
        return decorate(func)
    return decorate


def get_task(fullname: str) -> Task:
    """Look a task up by its full name, e.g. ``examples.quickstart.main``."""
    try:
        return _registry[fullname]
    except KeyError:
        raise TaskError(
            f"unknown task {fullname!r}; known tasks: {', '.join(sorted(_registry)) or 'none'}"
        ) from None


def registered_tasks() -> dict[str, Task]:
    """All tasks registered so far, by full name."""
    return dict(_registry)
