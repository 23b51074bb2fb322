"""User-defined values: how a type of yours is hashed, checked, parsed and pickled.

Subclass ``Value`` for a class you write, or ``ProxyValue`` (with ``type = TheirClass``) for
a class you cannot change, and override what you need:

- ``get_hash(self) -> str``: the value's identity in cache keys (default: its pickle bytes).
  Two values with the same hash are the same argument; a changed hash re-runs the call.
- ``is_valid(self) -> bool``: whether a cached result holding this value may still be
  served (a File whose content changed is not); False re-runs the call that made it.
- ``parse_arg(cls, raw_type, arg: str)`` (a classmethod): builds the value from the text
  of a ``remit run`` option when a task parameter is annotated with the type.
- pickling: a ``Value`` uses Python's own ``__getstate__``/``__setstate__``; a ProxyValue may
  define ``serialize(self) -> bytes`` and ``deserialize(cls, raw_type, data)``, which then
  serve every pickle of the proxied type (job arguments, results, the cache).

(For the hash alone, any class may instead define ``__remit_normalize__(self)`` returning
plain data to hash in its place.) These hook into ``remit.hashing`` (``normalize``/``is_valid``
dispatch); this module holds no other hashing and no storage. ``parse_arg(raw_type, text)``
is the dispatch the command line uses for annotated parameters.
"""

from __future__ import annotations

import builtins
import copyreg
import pickle
from typing import Any, ClassVar

from remit.hashing import hash_bytes, is_valid, normalize

_proxies: dict[type, type[ProxyValue]] = {}


def _type_name(cls: type) -> str:
    explicit = cls.__dict__.get("type_name")
    return explicit or f"{cls.__module__}.{cls.__qualname__}"


class Value:
    """Base class for a type that decides its own hash, validity and command-line parsing."""

    type_name: ClassVar[str | None] = None  # names the type in hashes; default module.Class

    def get_hash(self) -> str:
        """The value's hash for cache keys (default: of its pickle, so of ``__getstate__``)."""
        return hash_bytes(pickle.dumps(self, protocol=5))

    def is_valid(self) -> bool:
        """Whether a cached result holding this value may still be served."""
        return True

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Any:
        """Build the value from command-line text (default: ``cls(arg)``)."""
        return cls(arg)  # type: ignore[call-arg]


class ProxyValue(Value):
    """Hash, validity, parsing and pickling for instances of another class, ``type``.

    ``ProxyValue(instance)`` wraps one instance; remit builds the proxy whenever it hashes,
    checks or pickles an instance of ``type`` (or of a subclass).
    """

    type: ClassVar[builtins.type | None] = None

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        raw = cls.__dict__.get("type")
        if raw is None:
            return
        _proxies[raw] = cls
        normalize.register(raw, lambda value: ("Value", _type_name(cls), cls(value).get_hash()))
        is_valid.register(raw, lambda value: bool(cls(value).is_valid()))
        if "serialize" in cls.__dict__:
            copyreg.pickle(raw, lambda value: (_deserialize, (cls, cls(value).serialize())))

    def get_hash(self) -> str:
        """The instance's hash (default: of its pickle)."""
        return hash_bytes(pickle.dumps(self.instance, protocol=5))

    @classmethod
    def parse_arg(cls, raw_type: builtins.type, arg: str) -> Any:
        """Build an instance from command-line text (default: ``raw_type(arg)``)."""
        return raw_type(arg)

    def serialize(self) -> bytes:
        """The instance as bytes, for pickling (override together with ``deserialize``)."""
        raise NotImplementedError

    @classmethod
    def deserialize(cls, raw_type: builtins.type, data: bytes) -> Any:
        """Rebuild an instance from ``serialize``'s bytes."""
        raise NotImplementedError


def _deserialize(proxy: type[ProxyValue], data: bytes) -> Any:
    """Unpickle an instance that a ProxyValue serialized."""
    return proxy.deserialize(proxy.type or object, data)


def proxy_for(raw_type: type) -> type[ProxyValue] | None:
    """The ProxyValue registered for a class or its nearest base class, if any."""
    for base in getattr(raw_type, "__mro__", ()):
        if base in _proxies:
            return _proxies[base]
    return None


def parse_arg(raw_type: type, arg: str) -> Any:
    """Build a ``raw_type`` from command-line text: its ProxyValue's ``parse_arg``, else its
    own ``parse_arg(raw_type, arg)`` classmethod, else ``raw_type(arg)``."""
    proxy = proxy_for(raw_type)
    if proxy is not None:
        return proxy.parse_arg(raw_type, arg)
    parse = getattr(raw_type, "parse_arg", None)
    if parse is not None:
        return parse(raw_type, arg)
    return raw_type(arg)


@normalize.register(Value)
def _normalize_value(value: Value) -> tuple:
    return ("Value", _type_name(type(value)), value.get_hash())


@is_valid.register(Value)
def _is_valid_value(value: Value) -> bool:
    return bool(value.is_valid())


__all__ = ["ProxyValue", "Value", "parse_arg", "proxy_for"]
