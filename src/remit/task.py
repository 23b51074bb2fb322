"""Tasks: the `@task` decorator, task options, the task registry and the task hash.

A Task wraps a plain function (or an ``async def``, run to completion where the job runs).
Calling it does not run it: it returns a lazy TaskExpression that the Scheduler evaluates.
``task.options(...)`` makes a call-site copy with other options; ``task.partial(...)`` binds
some arguments (a PartialTask, itself a value that can be passed to other tasks). The task
hash (what makes a cached result stale) comes from the function's normalized source
(comments, whitespace, decorators and the docstring do not count) and the code it depends on
(``codedeps.py``: helpers, classes, module constants, library versions, ``hash_includes``),
or from an explicit ``version=`` alone. This module never evaluates anything.
"""

from __future__ import annotations

import functools
import inspect
import textwrap
import threading
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from remit.cache_options import CacheCheckValid, CacheScope, cache_policy
from remit.errors import TaskError
from remit.hashing import hash_struct, hash_token, normalize

F = TypeVar("F", bound=Callable[..., Any])

# Options consumed by the scheduler itself; every other option goes to the executor.
SCHEDULER_OPTIONS = frozenset({
    "executor", "cache", "version", "name", "namespace", "nout", "hash_includes",
    "cache_scope", "check_valid", "prov", "tags", "limits", "config_args", "_context_override",
    "_ultimate_only",
})

_registry: dict[str, Task] = {}
_current_namespace = ""  # set by namespace(): for tasks whose module names none


class TaskOptions(dict):
    """A task's options, read as a dict (``task.options["memory"]``); calling it as
    ``task.options(memory=8)`` returns a copy of the task with those options overridden,
    as redun's ``Task.options()`` does."""

    __slots__ = ("_task",)

    def __init__(self, task: Task, options: dict[str, Any]) -> None:
        super().__init__(options)
        self._task = task

    def __call__(self, **overrides: Any) -> Task:
        return self._task.with_options(**overrides)

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))


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
        self.__wrapped__ = func
        self.func = _run_to_completion(func) if inspect.iscoroutinefunction(func) else func
        self.name = name or func.__name__
        if namespace is None:
            namespace = getattr(func, "__globals__", {}).get("remit_namespace")
        if namespace is None:
            namespace = _current_namespace
        self.namespace = namespace or ""
        self.fullname = f"{self.namespace}.{self.name}" if self.namespace else self.name
        self.version = version
        self._options = TaskOptions(self, options or {})
        self._hash: str | None = None
        self._deps: dict[str, str] | None = None
        self._source: str | None = None
        self.internal = False  # a helper of remit's own (functools...), hidden by displays
        self.__doc__ = func.__doc__

    @property
    def options(self) -> TaskOptions:
        """Task options (executor, cache and executor-specific ones such as memory).

        Read it as a dict, or call it, ``task.options(memory=8)``, for a copy of the task
        with some options overridden (redun's spelling of ``with_options``).
        """
        return self._options

    @property
    def nout(self) -> int | None:
        """How many results a call unpacks into (``a, b = t()``): the ``nout`` option, else
        the length of a ``tuple[X, Y]`` return annotation, else None (not unpackable)."""
        nout = self._options.get("nout")
        if nout is None:
            nout = _tuple_length(self.__wrapped__)
        return nout

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
                self._source = textwrap.dedent(inspect.getsource(self.__wrapped__))
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

            source = _normalized_source(self.__wrapped__, self.source)
            deps = dependencies(self.__wrapped__, self._options.get("hash_includes") or ())
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
        """Return a copy of this task with some options overridden (for one call site).

        The copy keeps the task's name and hash: options choose where and how a call runs,
        not what it computes, so results are shared with the original task's cache.
        """
        merged = {**self._options, **options}
        clone = Task(self.__wrapped__, self.name, self.namespace, self.version, merged)
        clone._source, clone.internal = self._source, self.internal
        if "hash_includes" not in options:
            clone._hash, clone._deps = self._hash, self._deps
        return clone

    def update_context(self, context: dict[str, Any] | None = None, **values: Any) -> Task:
        """A copy of this task whose calls (and their callees) see ``context`` merged in."""
        from remit.context import merge_context

        update = merge_context(dict(context or {}), values)
        current = self._options.get("_context_override") or {}
        return self.with_options(_context_override=merge_context(current, update))

    def partial(self, *args: Any, **kwargs: Any) -> PartialTask:
        """Bind some arguments now; the PartialTask takes the rest when called later.

        ``inc = add.partial(1)`` then ``inc(5)`` is ``add(1, 5)``. A PartialTask can be
        passed to other tasks; it hashes by its task and the bound arguments.
        """
        return PartialTask(self, args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from remit.expression import TaskExpression

        return TaskExpression(self, args, kwargs)

    def __repr__(self) -> str:
        return f"Task({self.fullname!r})"

    def __reduce__(self) -> tuple:
        if _registry.get(self.fullname) is self:
            return (get_task, (self.fullname,))
        return (_task_with_options, (self.fullname, dict(self._options)))


def _task_with_options(fullname: str, options: dict[str, Any]) -> Task:
    """Unpickle a call-site copy made with ``task.options(...)``."""
    return get_task(fullname).with_options(**options)


class PartialTask:
    """A task with some arguments bound: calling it calls the task with all of them.

    The bound arguments are kept as they are, unevaluated, until the call (so
    ``identity.partial(expr)`` delays ``expr``). It pickles by the task's name and the
    arguments, and hashes by the task's hash and the arguments' hashes.
    """

    __slots__ = ("task", "args", "kwargs")

    def __init__(self, task: Task, args: tuple, kwargs: dict[str, Any]) -> None:
        self.task = task
        self.args = tuple(args)
        self.kwargs = dict(kwargs)

    @property
    def fullname(self) -> str:
        """The full name of the underlying task."""
        return self.task.fullname

    @property
    def name(self) -> str:
        """The name of the underlying task."""
        return self.task.name

    @property
    def nout(self) -> int | None:
        """The underlying task's ``nout``."""
        return self.task.nout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.task(*self.args, *args, **{**self.kwargs, **kwargs})

    def partial(self, *args: Any, **kwargs: Any) -> PartialTask:
        """Bind more arguments (after the ones already bound)."""
        return PartialTask(self.task, self.args + args, {**self.kwargs, **kwargs})

    def options(self, **options: Any) -> PartialTask:
        """The same partial application of a copy of the task with options overridden."""
        return PartialTask(self.task.with_options(**options), self.args, self.kwargs)

    with_options = options

    def __reduce__(self) -> tuple:
        return (PartialTask, (self.task, self.args, self.kwargs))

    def __repr__(self) -> str:
        bound = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.task.fullname}.partial({', '.join(bound)})"


@normalize.register(Task)
def _normalize_task(value: Task) -> tuple:
    return ("Task", value.fullname, value.hash)


@normalize.register(PartialTask)
def _normalize_partial_task(value: PartialTask) -> tuple:
    return ("PartialTask", _normalize_task(value.task), normalize(value.args),
            normalize(value.kwargs))


@normalize.register(types.FunctionType)
def _normalize_function(value: types.FunctionType) -> tuple:
    # A function passed as a value (apply_func(f, x), as_task(f)) is part of the cache key
    # by its code, as a task is: editing it re-runs the calls that received it.
    name = f"{value.__module__}.{value.__qualname__}"
    seen = _functions_in_progress.__dict__.setdefault("ids", set())
    if id(value) in seen:  # a function that refers to itself through its closure
        return ("function", name, "recursive")
    seen.add(id(value))
    try:
        # Values it closes over and its defaults count too (make_adder(1) differs from (2)).
        captured = tuple(cell.cell_contents for cell in value.__closure__ or ())
        extra = normalize((captured, value.__defaults__, value.__kwdefaults__))
    finally:
        seen.discard(id(value))
    return ("function", name, _function_code_hash(value), extra)


_functions_in_progress = threading.local()


@functools.lru_cache(maxsize=1024)
def _function_code_hash(func: types.FunctionType) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        source = ""
    return hash_struct("function", _normalized_source(func, source))


def _run_to_completion(coroutine_function: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function that runs an ``async def`` task body in its own event loop."""

    @functools.wraps(coroutine_function)
    def run(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        return asyncio.run(coroutine_function(*args, **kwargs))

    return run


def _tuple_length(func: Callable[..., Any]) -> int | None:
    """The length of a ``tuple[X, Y]`` (or NamedTuple) return annotation, if it has one."""
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:  # unresolvable annotations: no inference
        return None
    if typing.get_origin(hint) is tuple:
        items = typing.get_args(hint)
        if not items or Ellipsis in items:
            return None
        return 0 if items == ((),) else len(items)
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        return len(hint._fields)
    return None


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
    module's ``remit_namespace``), ``nout`` (a call unpacks into that many lazy results),
    ``cache_scope``/``check_valid``/``prov`` (see remit.cache_options),
    ``tags=[(key, value), ...]`` (recorded on each job), and any executor option such as
    ``memory`` or ``vcpus``. An option may be ``get_context(...)``.
    """

    def decorate(f: Callable[..., Any]) -> Task:
        if not callable(f):
            raise TaskError(f"@task must decorate a function, not {f!r}")
        opts = dict(options)
        if executor is not None:
            opts["executor"] = executor
        if not cache:
            opts["cache"] = False
        if opts.get("script"):
            raise TaskError(
                f"@task(script=True) on {f.__name__}: remit has no script-returning tasks; "
                "return remit.script('command ...') from a plain task instead"
            )
        nout = opts.get("nout")
        if nout is not None and (type(nout) is not int or nout < 0):
            raise TaskError(f"@task(nout=...) must be a whole number >= 0, got {nout!r}")
        if "hash_includes" in opts:
            from remit.codedeps import check_hash_includes

            check_hash_includes(f.__name__, opts["hash_includes"])
        new = Task(f, name=name, namespace=namespace, version=version, options=opts)
        cache_policy(new)  # a bad cache_scope/check_valid/prov fails here, naming the task
        if opts.get("tags"):
            from remit.tags import task_tags

            task_tags(new)
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


def positional_names(task: Task) -> list[str]:
    """Names of a task's parameters that can be passed by position (cached on the task)."""
    names = task.__dict__.get("_positional_names")
    if names is None:
        try:
            params = list(inspect.signature(task.func).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        task.__dict__["_positional_names"] = names
    return names


def namespace(name: str | None = None) -> None:
    """Set the namespace of tasks defined from now on in modules without a
    ``remit_namespace`` (as redun's ``namespace()``); None or "" unsets it."""
    global _current_namespace
    _current_namespace = name or ""


def get_current_namespace() -> str:
    """The namespace set by ``namespace()`` ("" when none is)."""
    return _current_namespace


class TaskRegistry:
    """The registered tasks, as redun's ``get_task_registry()`` returns them."""

    def get(self, task_name: str | None = None, hash: str | None = None) -> Task | None:
        """A task by full name or by hash; None when there is none."""
        if task_name is not None:
            return _registry.get(task_name)
        if hash is not None:
            return next((t for t in _registry.values() if t.hash == hash), None)
        return None

    def __iter__(self) -> Iterator[Task]:
        return iter(list(_registry.values()))

    def __len__(self) -> int:
        return len(_registry)


def get_task_registry() -> TaskRegistry:
    """The registry of every task defined so far."""
    return TaskRegistry()


__all__ = ["CacheCheckValid", "CacheScope", "Task", "TaskRegistry", "get_current_namespace",
           "get_task", "get_task_registry", "namespace", "registered_tasks", "task"]
