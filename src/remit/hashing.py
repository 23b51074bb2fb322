"""All of remit's hashing: values by type, tasks' calls, and the validity of cached values.

A value is hashed by first *normalizing* it into a canonical token made only of
str, bytes, int, float, bool, None and tuples, then hashing ``repr(token)`` with BLAKE2b
(40 hex digits). ``normalize`` is a ``functools.singledispatch`` function: a new type joins
by registering itself (``remit.files`` does so for File and Dir)::

    @normalize.register(MyType)
    def _(value: MyType) -> tuple:
        return ("MyType", value.key)

Objects of unregistered types are normalized by their pickle bytes; an object that cannot be
pickled is a HashingError that says how to register a normalizer. Large leaves (str and bytes,
and pickles, of ``LARGE`` bytes or more) enter the token as ``("digest", kind, size, hash)``
instead of themselves, hashed in place or as the pickle streams out: hashing a 200 MB value
costs no copy of it. A list of more than ``LONG`` items is hashed ``LONG`` items at a time
(its token holds the chunks' hashes), so a million lazy calls are not normalized all at once.

``is_valid`` tells whether a cached value still stands (a File whose content changed does not);
``refresh`` re-reads what a value snapshots (a File's current hash); both dispatch the same
way. This module knows nothing of tasks' execution or storage.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import pathlib
import pickle
import uuid
from collections.abc import Callable
from functools import singledispatch
from typing import Any

from remit.errors import HashingError
from remit.pickling import SpillFile

HASH_LEN = 40
LARGE = 64 * 1024
LONG = 10_000  # lists longer than this are hashed by chunks of this many items
_PRIMITIVES = (str, bytes, int, float, bool, type(None))
_SCALARS = (int, float, bool, type(None))
_STRINGS = (str, bytes)


def hash_bytes(data: bytes) -> str:
    """Return the 40-hex-digit BLAKE2b hash of raw bytes."""
    return hashlib.blake2b(data, digest_size=HASH_LEN // 2).hexdigest()


def hash_token(token: Any) -> str:
    """Hash an already-normalized token (primitives and tuples only)."""
    return hash_bytes(_token_repr(token).encode("utf-8", "surrogatepass"))


def _token_repr(token: Any) -> str:
    try:
        return repr(token)
    except RecursionError:  # nested deeper than the recursion limit: the same text, iteratively
        from remit.display import deep_repr

        return deep_repr(token)


def hash_value(value: Any) -> str:
    """Return the content hash of any hashable value (40 hex digits)."""
    try:
        token = normalize(value)
    except RecursionError:
        token = _normalize_deep(value)
    return hash_token(token)


def hash_struct(*parts: Any) -> str:
    """Hash a tuple of already-normalized parts, e.g. ("Eval", task_hash, args_hash)."""
    return hash_token(parts)


def hash_eval(task_hash: str, args_hash: str) -> str:
    """The key of one call: the task's hash combined with its arguments' hash."""
    return hash_token(("Eval", task_hash, args_hash))


def hash_arguments(args: tuple, kwargs: dict[str, Any]) -> str:
    """Hash a call's arguments, each by value, as the scheduler keys a call."""
    return combine_argument_hashes(
        [hash_value(a) for a in args], {k: hash_value(v) for k, v in kwargs.items()}
    )


def combine_argument_hashes(arg_hashes: list[str], kwarg_hashes: dict[str, str]) -> str:
    """The arguments' hash from each argument's own hash (positional, then by keyword)."""
    return hash_token(("Args", tuple(arg_hashes), tuple(sorted(kwarg_hashes.items()))))


@singledispatch
def normalize(value: Any) -> Any:
    """Turn a value into a canonical token of primitives and tuples (dispatched by type)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            "dataclass",
            _qualname(type(value)),
            tuple((f.name, normalize(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    custom = getattr(value, "__remit_normalize__", None)
    if custom is not None:
        return ("custom", _qualname(type(value)), normalize(custom()))
    sink = SpillFile(LARGE - 1, hash_only=True)
    try:
        pickle.Pickler(sink, protocol=5).dump(value)
    except Exception as exc:
        raise HashingError(
            f"cannot hash a value of type {_qualname(type(value))}: it is not picklable "
            f"({exc}). Pass a picklable value, or register a normalizer with "
            "@remit.hashing.normalize.register(YourType)."
        ) from exc
    data: Any = ("digest", "pickle", sink.size, sink.hexdigest()) if sink.spilled \
        else sink.getvalue()
    return ("pickle", _qualname(type(value)), data)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _identity(value: Any) -> Any:
    return value


for _type in _SCALARS:
    normalize.register(_type, _identity)


@normalize.register(bytes)
def _normalize_bytes(value: bytes) -> Any:
    if len(value) < LARGE:
        return value
    return ("digest", "bytes", len(value), hashlib.blake2b(value, digest_size=HASH_LEN // 2)
            .hexdigest())


@normalize.register(str)
def _normalize_str(value: str) -> Any:
    if len(value) < LARGE:
        return value
    digest = hashlib.blake2b(digest_size=HASH_LEN // 2)
    for start in range(0, len(value), LARGE):  # encoded a slice at a time: no full copy
        digest.update(value[start:start + LARGE].encode("utf-8", "surrogatepass"))
    return ("digest", "str", len(value), digest.hexdigest())


@normalize.register(list)
def _normalize_list(value: list) -> Any:
    if len(value) > LONG:  # hashed a chunk at a time: no token of a million items at once
        return ("list-chunks", len(value), tuple(
            hash_token(_normalize_list(value[start:start + LONG]))
            for start in range(0, len(value), LONG)
        ))
    return ("list", tuple(
        v if type(v) in _SCALARS or (type(v) in _STRINGS and len(v) < LARGE) else normalize(v)
        for v in value
    ))


@normalize.register(tuple)
def _normalize_tuple(value: tuple) -> Any:
    items = tuple(
        v if type(v) in _SCALARS or (type(v) in _STRINGS and len(v) < LARGE) else normalize(v)
        for v in value
    )
    if hasattr(value, "_fields"):
        return ("namedtuple", _qualname(type(value)), items)
    return ("tuple", items)


def _normalize_mapping(value: dict) -> tuple:
    items = [(normalize(k), normalize(v)) for k, v in value.items()]
    items.sort(key=lambda kv: repr(kv[0]))
    return tuple(items)


@normalize.register(dict)
def _normalize_dict(value: dict) -> Any:
    return ("dict", _normalize_mapping(value))


@normalize.register(set)
@normalize.register(frozenset)
def _normalize_set(value: set | frozenset) -> Any:
    return ("set", tuple(sorted((normalize(v) for v in value), key=repr)))


@normalize.register(enum.Enum)
def _normalize_enum(value: enum.Enum) -> Any:
    return ("enum", _qualname(type(value)), normalize(value.value))


@normalize.register(datetime.date)
@normalize.register(datetime.time)
@normalize.register(datetime.timedelta)
@normalize.register(decimal.Decimal)
@normalize.register(uuid.UUID)
@normalize.register(pathlib.PurePath)
def _normalize_by_repr(value: Any) -> Any:
    return ("repr", _qualname(type(value)), repr(value))


@normalize.register(type)
def _normalize_class(value: type) -> Any:
    return ("class", _qualname(value))


def _normalize_deep(value: Any) -> Any:
    """``normalize`` without recursion through lists, tuples, dicts and sets: the same token
    for values nested deeper than Python's recursion limit allows."""
    kinds = {_normalize_list: "list", _normalize_tuple: "tuple", _normalize_dict: "dict",
             _normalize_set: "set"}
    top: list[Any] = []
    # Frames: (kind, value, children, their tokens so far, where the finished token goes).
    stack: list[tuple[str, Any, list[Any], list[Any], list[Any]]] = []

    def visit(item: Any, out: list[Any]) -> None:
        if type(item) in _PRIMITIVES:
            out.append(item)
            return
        kind = kinds.get(normalize.dispatch(type(item)))  # type: ignore[call-overload]
        if kind is None:
            out.append(normalize(item))
            return
        children = [x for pair in item.items() for x in pair] if kind == "dict" else list(item)
        stack.append((kind, item, children, [], out))

    visit(value, top)
    while stack:
        kind, item, children, tokens, out = stack[-1]
        if len(tokens) < len(children):
            visit(children[len(tokens)], tokens)
            continue
        stack.pop()
        if kind == "list":
            out.append(("list", tuple(tokens)))
        elif kind == "tuple" and hasattr(item, "_fields"):
            out.append(("namedtuple", _qualname(type(item)), tuple(tokens)))
        elif kind == "tuple":
            out.append(("tuple", tuple(tokens)))
        elif kind == "dict":
            pairs = list(zip(tokens[0::2], tokens[1::2], strict=True))
            out.append(("dict", tuple(sorted(pairs, key=lambda kv: _token_repr(kv[0])))))
        else:
            out.append(("set", tuple(sorted(tokens, key=_token_repr))))
    return top[0]


@singledispatch
def is_valid(value: Any) -> bool:
    """Whether a cached value still holds (dispatched by type; plain values always do)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(is_valid(getattr(value, f.name)) for f in dataclasses.fields(value))
    return True


@is_valid.register(list)
@is_valid.register(tuple)
@is_valid.register(set)
@is_valid.register(frozenset)
@is_valid.register(dict)
def _is_valid_items(value: Any) -> bool:
    # Iterative: a value nested thousands deep must not exhaust the recursion limit.
    return all(is_valid(leaf) for leaf in iter_nested(value) if type(leaf) not in _PRIMITIVES)


@singledispatch
def refresh(value: Any) -> None:
    """Re-read the outside state a value snapshots (a File's hash); most values have none."""


def map_nested(func: Callable[[Any], Any], value: Any) -> Any:
    """Apply func to every leaf of nested lists, tuples, dicts and sets, keeping their shape."""
    kind = type(value)
    if kind in _PRIMITIVES:
        return func(value)
    if kind is list:
        return [map_nested(func, v) for v in value]
    if kind is tuple:
        return tuple(map_nested(func, v) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return kind(*(map_nested(func, v) for v in value))
    if kind is dict:
        return {k: map_nested(func, v) for k, v in value.items()}
    if kind in (set, frozenset):
        return kind(map_nested(func, v) for v in value)
    return func(value)


def iter_nested(value: Any) -> Any:
    """Yield every leaf of nested lists, tuples, dicts and sets, in order."""
    stack = [iter((value,))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list | tuple | set | frozenset):
                stack.append(iter(item))
                break
            if isinstance(item, dict):
                stack.append(iter(item.values()))
                break
            yield item
        else:
            stack.pop()
