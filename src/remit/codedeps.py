"""Code dependencies of a task: what its hash covers besides the task's own source.

``dependencies(func)`` follows what a task function reads, transitively, and returns a map
*label -> hash*, one entry per dependency (labels ``function MODULE:QUALNAME``,
``class MODULE:QUALNAME``, ``constant MODULE:NAME``, ``library DIST`` whose "hash" is the
version itself):

- functions and classes of the user's own modules (any module outside site-packages and the
  standard library) it references through globals, closures, ``module.attr`` chains and
  ``from m import f`` inside the body, by their normalized source (no comments, docstrings or
  formatting); a class counts by its body and each of its methods, and what those reference
  is followed too;
- module-level names whose value, when the run starts, is a simple literal (str, bytes,
  numbers, bool, None, and lists, tuples, dicts, sets of them), by value;
- library code (site-packages, the standard library, remit itself) by distribution name and
  version, never by source;
- other objects held in globals (instances) by their class only, never their state.

Tasks referenced from a task are not dependencies: each call of another task is a call of
its own, cached by that task's own hash. Each module's source is parsed once per process and
each function's references are read once per process. This module computes hashes only: the
task hash itself is composed in ``task.py``; what changed between two maps is ``explain.py``'s.
"""

from __future__ import annotations

import ast
import dis
import functools
import importlib
import importlib.util
import os
import sys
import types
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from remit.errors import RemitError, TaskError
from remit.hashing import hash_token, hash_value
from remit.task import PartialTask, Task

_SIMPLE = (str, bytes, int, float, complex, bool, type(None))
_NOT_FOUND = object()
_FREE = "\0free:"  # marks a chain that starts from a closure variable
_IMPORT = "\0import:"  # marks a chain that starts from a module imported in the body

_module_maps: dict[str, dict[str, str]] = {}
_refs_memo: dict[types.CodeType, tuple[tuple[str, ...], ...]] = {}


def is_constant(value: Any) -> bool:
    """Whether a value is a simple literal or a container of them (hashed by value)."""
    kind = type(value)
    if kind in _SIMPLE:
        return True
    if kind in (list, tuple, set, frozenset):
        return all(is_constant(v) for v in value)
    if kind is dict:
        return all(is_constant(k) and is_constant(v) for k, v in value.items())
    return False


def dependencies(func: Callable[..., Any], includes: Iterable[Any] = ()) -> dict[str, str]:
    """Label -> hash of everything ``func`` depends on (not its own source), and of
    ``includes`` (a task's ``hash_includes``: functions and classes are followed like
    references, any other value is hashed by value)."""
    deps: dict[str, str] = {}
    queue: deque[tuple[Any, str, str]] = deque()
    seen: set[int] = {id(func)}
    _queue_function_refs(func, queue)
    for i, extra in enumerate(includes):
        if isinstance(extra, types.FunctionType | type):
            queue.append((extra, _module_of(func), f"hash_includes[{i}]"))
        else:
            deps[f"hash_includes[{i}]"] = hash_value(extra)
    while queue:
        obj, module_name, name = queue.popleft()
        if _constant(obj):  # by name: equal small values are often one shared object
            _put(deps, f"constant {module_name}:{name}", hash_value(obj))
        elif id(obj) not in seen:
            seen.add(id(obj))
            _add_dependency(obj, module_name, name, deps, queue)
    return deps


def check_hash_includes(task_name: str, includes: Any) -> None:
    """A clear error, at ``@task``, for a ``hash_includes`` that is not a list of hashable
    values, functions or classes."""
    if not isinstance(includes, list | tuple):
        raise TaskError(f"@task(hash_includes=...) on {task_name} must be a list, "
                        f"got {type(includes).__name__}")
    for i, extra in enumerate(includes):
        if isinstance(extra, types.FunctionType | type):
            continue
        try:
            hash_value(extra)
        except RemitError as exc:
            raise TaskError(f"@task(hash_includes=...) on {task_name}: item {i} cannot be "
                            f"hashed: {exc}") from None


def hash_user_tasks(tasks: Iterable[Task]) -> None:
    """Compute the hash of every task defined in the user's own code now, before any task
    body runs, so that module constants count with the values they have at the start of a
    run (a body that changes a module-level list cannot change another task's hash). Tasks
    of library code read nothing of the user's: they are hashed when first called."""
    for task in tasks:
        if _library_of(_module_of(task.__wrapped__)) is None:
            try:
                task.hash  # noqa: B018 - computed once per process
            except RemitError:
                continue  # e.g. an unhashable hash_includes: the task's own calls fail on it


def normalized_function_source(source: str, strip_decorators: bool = True) -> str:
    """A function's source without docstring, comments or formatting (nor decorators)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if strip_decorators:
                node.decorator_list = []
            _strip_docstring(node)
            break
    return ast.unparse(tree)


# -- one dependency -----------------------------------------------------------------------

def _add_dependency(
    obj: Any, module_name: str, name: str, deps: dict[str, str], queue: deque
) -> None:
    if isinstance(obj, Task | PartialTask):  # a task: each call of it is cached on its own
        return
    if isinstance(obj, _Library):
        if obj.distribution != "builtins":
            _put(deps, f"library {obj.distribution}", obj.version)
        return
    if isinstance(obj, types.ModuleType):
        library = _library_of(obj.__name__)
        if library is not None and library[0] != "builtins":
            _put(deps, f"library {library[0]}", library[1])
        return
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    if isinstance(obj, functools.partial):  # the function and the values bound to it
        queue.append((obj.func, module_name, name))
        bound = (obj.args, obj.keywords)
        if _constant(bound):
            queue.append((bound, module_name, f"{name} bound"))
        else:
            queue.extend((v, module_name, f"{name} bound") for v in (*obj.args,
                                                                   *obj.keywords.values()))
        return
    wrapped = getattr(obj, "__wrapped__", None)
    if isinstance(wrapped, types.FunctionType) and not isinstance(obj, types.FunctionType):
        obj = wrapped  # e.g. an lru_cache'd helper: its source, not the cache object's class
    try:
        owner = getattr(obj, "__module__", None) if callable(obj) else type(obj).__module__
    except Exception:  # noqa: BLE001 - a proxy object that refuses: count its class
        owner = type(obj).__module__
    if not isinstance(owner, str):
        return
    library = _library_of(owner)
    if library is not None:
        if library[0] != "builtins":
            _put(deps, f"library {library[0]}", library[1])
        return
    if isinstance(obj, types.FunctionType):
        _put(deps, f"function {owner}:{obj.__qualname__}", _function_hash(obj, owner))
        _queue_function_refs(obj, queue)
    elif isinstance(obj, type):
        _add_class(obj, owner, deps, queue)
    else:  # an instance of a user class: its class counts, its state does not
        queue.append((type(obj), owner, type(obj).__qualname__))


def _add_class(cls: type, owner: str, deps: dict[str, str], queue: deque) -> None:
    table = _module_map(owner)
    qualname = cls.__qualname__
    _put(deps, f"class {owner}:{qualname}", table.get(qualname) or hash_token(qualname))
    module_file = _module_file(owner)
    for attr, member in vars(cls).items():
        for func in _functions_in(member):
            code = func.__code__
            if module_file and os.path.abspath(code.co_filename) != module_file:
                continue  # generated (dataclass __init__ ...): covered by the class body
            label = f"function {owner}:{qualname}.{attr}"
            _put(deps, label, table.get(f"{qualname}.{attr}") or _code_hash(code))
            _queue_function_refs(func, queue)
    for base in cls.__bases__:
        if base is not object:
            queue.append((base, owner, base.__qualname__))


def _functions_in(member: Any) -> list[types.FunctionType]:
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    if isinstance(member, property):
        return [f for f in (member.fget, member.fset, member.fdel)
                if isinstance(f, types.FunctionType)]
    return [member] if isinstance(member, types.FunctionType) else []


def _constant(value: Any) -> bool:
    try:
        return is_constant(value)
    except RecursionError:  # a list that contains itself
        return False


def _put(deps: dict[str, str], label: str, digest: str) -> None:
    old = deps.get(label)
    deps[label] = digest if old is None or old == digest else hash_token((old, digest))


# -- references of a function --------------------------------------------------------------

def _queue_function_refs(func: Any, queue: deque) -> None:
    """Queue what ``func`` reads: globals, closure values, attributes of modules."""
    for target in (func, getattr(func, "__wrapped__", None)):
        if not isinstance(target, types.FunctionType):
            continue
        module_name = _module_of(target)
        globals_ = target.__globals__
        free = dict(zip(target.__code__.co_freevars,
                        (c.cell_contents if _cell_full(c) else _NOT_FOUND
                         for c in target.__closure__ or ()), strict=False))
        for chain in _code_refs(target.__code__):
            obj, name = _resolve(chain, globals_, free)
            if obj is not _NOT_FOUND:
                queue.append((obj, module_name, name))
        defaults = (*(target.__defaults__ or ()), *(target.__kwdefaults__ or {}).values())
        if defaults and _constant(defaults):  # evaluated once, at def: `scale=SCALE` counts
            queue.append((defaults, module_name, f"{target.__qualname__}() defaults"))
        elif defaults:
            queue.extend((d, module_name, f"{target.__qualname__}() default") for d in defaults)


def _cell_full(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _code_refs(code: types.CodeType) -> tuple[tuple[str, ...], ...]:
    """Name chains a code object (and the code nested in it) loads: ("helpers", "norm")."""
    memo = _refs_memo.get(code)
    if memo is not None:
        return memo
    chains: list[tuple[str, ...]] = []
    imported: dict[str, str] = {}  # local name -> module imported into it
    instructions = list(dis.get_instructions(code))
    for i, ins in enumerate(instructions):
        start: str | None = None
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            start = ins.argval
        elif ins.opname == "LOAD_DEREF":
            start = _FREE + ins.argval
        elif ins.opname == "LOAD_FAST" and ins.argval in imported:
            start = _IMPORT + imported[ins.argval]
        elif ins.opname == "IMPORT_FROM":
            module = _import_target(instructions, i)
            if module:
                chains.append((_IMPORT + module, ins.argval))
            continue
        elif ins.opname == "IMPORT_NAME" and i + 1 < len(instructions):
            after = instructions[i + 1]
            if after.opname == "STORE_FAST" and "." not in ins.argval:
                imported[after.argval] = ins.argval
            continue
        else:
            continue
        chain = [start]
        for follow in instructions[i + 1:]:
            if follow.opname not in ("LOAD_ATTR", "LOAD_METHOD"):
                break
            chain.append(follow.argval)
        chains.append(tuple(chain))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            chains.extend(_code_refs(const))
    result = _refs_memo[code] = tuple(chains)
    return result


def _import_target(instructions: list[dis.Instruction], index: int) -> str | None:
    """The module of an IMPORT_FROM: the nearest IMPORT_NAME before it (absolute only)."""
    for ins in reversed(instructions[:index]):
        if ins.opname == "IMPORT_NAME":
            return str(ins.argval)
    return None


def _resolve(chain: tuple[str, ...], globals_: dict[str, Any],
             free: dict[str, Any]) -> tuple[Any, str]:
    """The object a name chain reaches, following attributes of the user's modules."""
    head = chain[0]
    if head.startswith(_FREE):
        head = head[len(_FREE):]
        obj = free.get(head, _NOT_FOUND)
    elif head.startswith(_IMPORT):
        head = head[len(_IMPORT):]
        obj = _imported_in_body(head)
    elif head in globals_:
        obj = globals_[head]
    else:
        return _NOT_FOUND, head  # a builtin, or a name that does not exist (yet)
    names = [head]
    for attr in chain[1:]:
        if not (isinstance(obj, types.ModuleType) and _library_of(obj.__name__) is None):
            break
        found = getattr(obj, attr, _NOT_FOUND)
        if found is _NOT_FOUND:
            break
        obj = found
        names.append(attr)
    return obj, ".".join(names)


def _imported_in_body(module_name: str) -> Any:
    """A module a task body imports: the user's own is imported now (as the body would);
    a library is not (it may be slow to import), it counts by its distribution."""
    module = sys.modules.get(module_name)
    if module is not None:
        return module
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return _NOT_FOUND
    if spec is None:
        return _NOT_FOUND
    origin = os.path.abspath(spec.origin) if spec.origin and os.sep in spec.origin else None
    library = _classify(module_name, origin)
    if library is not None:
        return _Library(*library)
    try:
        return importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - it fails again, loudly, when the body runs
        return _NOT_FOUND


class _Library(NamedTuple):
    """A library module known by its distribution without importing it."""

    distribution: str
    version: str


# -- sources ------------------------------------------------------------------------------

def _function_hash(func: types.FunctionType, owner: str) -> str:
    digest = _module_map(owner).get(func.__qualname__)
    return digest if digest is not None else _code_hash(func.__code__)


def _code_hash(code: types.CodeType) -> str:
    """Hash of a code object whose source is not at hand (a lambda, a generated function)."""
    def token(c: types.CodeType) -> tuple:
        consts = tuple(token(k) if isinstance(k, types.CodeType)
                       else repr(sorted(k, key=repr)) if isinstance(k, frozenset) else repr(k)
                       for k in c.co_consts)  # a frozenset's order varies between processes
        return (c.co_code, consts, c.co_names, c.co_varnames)

    return hash_token(token(code))


def _module_map(module_name: str) -> dict[str, str]:
    """qualname -> hash of normalized source, for every function and class of a module."""
    table = _module_maps.get(module_name)
    if table is not None:
        return table
    table = _module_maps[module_name] = {}
    path = _module_file(module_name)
    try:
        with open(path or "", encoding="utf-8") as stream:
            tree = ast.parse(stream.read())
    except (OSError, SyntaxError, ValueError):
        return table
    _walk_definitions(tree.body, "", table)
    return table


def _walk_definitions(body: list[ast.stmt], prefix: str, table: dict[str, str]) -> None:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _strip_docstring(node)
            table[prefix + node.name] = hash_token(ast.unparse(node))
        elif isinstance(node, ast.ClassDef):
            qualname = prefix + node.name
            _walk_definitions(node.body, qualname + ".", table)
            _strip_docstring(node)
            node.body = [stmt for stmt in node.body if not isinstance(
                stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)] or [ast.Pass()]
            table[qualname] = hash_token(ast.unparse(node))
        elif isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, getattr(node, "finalbody", [])):
                _walk_definitions(block, prefix, table)


def _strip_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
    body = node.body
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        node.body = body[1:] or [ast.Pass()]


# -- whose code is it ---------------------------------------------------------------------

def _module_of(func: Any) -> str:
    return getattr(func, "__module__", None) or "?"


@functools.cache
def _module_file(module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    return os.path.abspath(path) if path else None


@functools.cache
def _library_of(module_name: str) -> tuple[str, str] | None:
    """(distribution, version) when a module is library code; None for the user's own."""
    top = module_name.partition(".")[0]
    return _classify(module_name, _module_file(module_name) or _module_file(top))


def _classify(module_name: str, path: str | None) -> tuple[str, str] | None:
    """(distribution, version) of a module at ``path`` if it is library code, else None."""
    top = module_name.partition(".")[0]
    if top == "builtins":
        return ("builtins", "")
    if top == "remit":
        from remit.__about__ import __version__

        return ("remit", __version__)
    if path is None:  # built into the interpreter, or not a module at all
        return ("python", _python_version()) if top in sys.stdlib_module_names else None
    roots = _library_roots()
    if path.startswith(roots["site"]):
        return _distribution(top)
    if path.startswith(roots["stdlib"]) or top in sys.stdlib_module_names:
        return ("python", _python_version())
    return None


@functools.cache
def _library_roots() -> dict[str, tuple[str, ...]]:
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    site_dirs = {paths["purelib"], paths["platlib"], *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        site_dirs.add(user_site)
    stdlib = {paths["stdlib"], paths["platstdlib"]}
    return {
        "site": tuple(os.path.abspath(p) + os.sep for p in site_dirs),
        "stdlib": tuple(os.path.abspath(p) + os.sep for p in stdlib),
    }


@functools.cache
def _distribution(top: str) -> tuple[str, str]:
    import importlib.metadata as metadata

    names = metadata.packages_distributions().get(top) or [top]
    for name in names:
        try:
            return (name, metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    module = sys.modules.get(top)
    return (top, str(getattr(module, "__version__", "unknown")))


def _python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"
