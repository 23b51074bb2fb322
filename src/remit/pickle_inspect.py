"""Looks inside a pickle without running it: what it would import, and its data as recorded.

Unpickling runs code: a pickle names functions ("globals") that loading imports and calls,
so whoever can write a scratch file or a stored value can run code as whoever loads it.
``inspect_pickle`` replays the pickle with an unpickler whose ``find_class`` never imports
anything: each global becomes an inert stand-in that only remembers the arguments it was
called with, and the few built-ins that plain data needs (set, frozenset, bytearray,
complex, and the codec protocols 0-2 use for bytes) are the only real callables. The result
is the pickle's structure, rendered as ``module.name(args)`` for every non-plain part, and the
list of globals; ``disassemble`` is pickletools' opcode listing. Loading for real is the
caller's decision (``remit view-pickle --unsafe``); this module never does it.
"""

from __future__ import annotations

import _codecs
import io
import pickle
import pickletools
from dataclasses import dataclass, field
from typing import Any

# Globals that plain data (lists, dicts, sets, bytes, ...) needs in older protocols; calling
# them cannot do anything but build a value.
_PLAIN_GLOBALS: dict[tuple[str, str], Any] = {
    (module, kind.__name__): kind
    for module in ("builtins", "__builtin__")  # protocols 0-2 write Python 2's name
    for kind in (set, frozenset, bytearray, complex)
}
_PLAIN_GLOBALS[("_codecs", "encode")] = _codecs.encode


class Opaque:
    """An inert stand-in for something a pickle would build by calling a global."""

    def __init__(self, name: str, args: tuple = (), kwargs: dict | None = None) -> None:
        self._name = name
        self._args = args
        self._kwargs = kwargs or {}
        self._state: Any = None
        self._items: list[Any] = []
        self._entries: dict[Any, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def append(self, item: Any) -> None:
        """What APPEND does to a list-like object: remembered, nothing run."""
        self._items.append(item)

    def extend(self, items: Any) -> None:
        """What APPENDS does to a list-like object: remembered, nothing run."""
        self._items.extend(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._entries[key] = value

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque(f"{self!r}", args, kwargs)

    def __repr__(self) -> str:
        parts = [repr(a) for a in self._args] + [f"{k}={v!r}" for k, v in self._kwargs.items()]
        text = f"{self._name}({', '.join(parts)})"
        if self._state is not None:
            text += f" with state {self._state!r}"
        if self._items:
            text += f" with items {self._items!r}"
        if self._entries:
            text += f" with entries {self._entries!r}"
        return text


class _GlobalMeta(type):
    """The type of stand-ins: a global renders as its name, and calling it only records."""

    _qualified: str

    def __repr__(cls) -> str:
        return cls._qualified

    def __call__(cls, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque(cls._qualified, args, kwargs)


def _stand_in(qualified: str) -> type:
    """A class standing for the global ``qualified`` (NEWOBJ calls ``__new__`` directly)."""

    def new(cls: Any, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque(qualified, args, kwargs)

    return _GlobalMeta(qualified, (), {"_qualified": qualified, "__new__": new})


class _InertUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.imports: list[str] = []

    def find_class(self, module: str, name: str) -> Any:
        qualified = f"{module}.{name}"
        plain = _PLAIN_GLOBALS.get((module, name))
        if plain is not None:
            return plain
        if qualified not in self.imports:
            self.imports.append(qualified)
        return _stand_in(qualified)

    def persistent_load(self, pid: Any) -> Any:
        return Opaque("persistent_id", (pid,))


@dataclass
class PickleReport:
    """What a pickle holds, found without importing or calling anything it names."""

    imports: list[str] = field(default_factory=list)
    value: Any = None
    error: str | None = None

    @property
    def plain(self) -> bool:
        """True when the pickle holds plain data only (nothing imported or called)."""
        return not self.imports and self.error is None


def inspect_pickle(data: bytes) -> PickleReport:
    """Replay a pickle inertly: the globals it names and its structure, nothing executed."""
    unpickler = _InertUnpickler(data)
    report = PickleReport()
    try:
        report.value = unpickler.load()
    except Exception as exc:  # malformed, truncated, or a shape the stand-ins cannot take
        report.error = f"{type(exc).__name__}: {exc}"
    report.imports = list(unpickler.imports)
    for name in _opcode_globals(data):  # also those after the point a replay stopped
        if name not in report.imports and tuple(name.rsplit(".", 1)) not in _PLAIN_GLOBALS:
            report.imports.append(name)
    return report


def _opcode_globals(data: bytes) -> list[str]:
    """Globals named by GLOBAL/INST opcodes and by STACK_GLOBAL after two string pushes."""
    names: list[str] = []
    strings: list[str] = []
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name in ("GLOBAL", "INST"):
                names.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str) and "UNICODE" in opcode.name:
                strings.append(arg)
    except Exception:  # a malformed tail: keep what was read
        pass
    return names


def disassemble(data: bytes) -> str:
    """pickletools' opcode listing of the pickle (a malformed tail ends with the error)."""
    out = io.StringIO()
    try:
        pickletools.dis(data, out)
    except Exception as exc:
        out.write(f"... cannot disassemble further: {type(exc).__name__}: {exc}\n")
    return out.getvalue()
