"""A task's parameters as command-line options: types from annotations, defaults kept as objects.

``remit run FILE TASK --x 1 --numbers 1 2 3 --color green --flag/--no-flag --cfg '{"a": 1}'``.
Owns the mapping from annotations to click types and the parsing of a task's own options:

- ``int``/``float``/``str``: the usual click types; ``bool``: ``--flag/--no-flag``.
- ``list[X]``/``tuple[X, ...]``/``set[X]``: ``--numbers 1 2 3`` or the option repeated.
- ``Enum`` subclasses: a member's name (``green``), ``Color.green``, or its value.
- ``dict``, bare ``list``/``tuple`` and un-annotated object defaults: JSON on the command line.
- ``Literal[...]``: one of the listed values. ``Optional[X]``: as X.
- A class with a classmethod ``parse_arg(cls, raw_type, arg)`` parses its own text (duck
  typed: remit.value.Value and user types); any other class is built as ``cls(text)``
  (``File``/``Dir`` from a path or URL).

A default is never turned into text and back: an option left out gets the parameter's default
object as it is. A missing required option is a usage error raised before anything runs. This
module runs nothing and opens no database.
"""

from __future__ import annotations

import enum
import inspect
import json
import sys
import types
import typing
from typing import Any

import click

_SCALARS: dict[Any, click.ParamType] = {
    int: click.INT, float: click.FLOAT, str: click.STRING,
}
_SEQUENCES = (list, tuple, set, frozenset)
_UNSET = object()


class JSONType(click.ParamType):
    """A JSON value (dicts, lists, numbers...) for ``dict``/``list`` parameters."""

    name = "JSON"

    def __init__(self, expected: type | None = None) -> None:
        self.expected = expected

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"{value!r} is not valid JSON ({exc.msg}); e.g. '{{\"a\": 1}}' or "
                      "'[1, 2]'", param, ctx)
        if self.expected is not None and not isinstance(parsed, self.expected):
            if self.expected in (tuple, set, frozenset) and isinstance(parsed, list):
                return self.expected(parsed)
            self.fail(f"{value!r} is JSON but not a {self.expected.__name__}", param, ctx)
        return parsed


class EnumType(click.ParamType):
    """An Enum member by name (``green``), qualified name (``Color.green``) or value."""

    def __init__(self, enum_cls: type[enum.Enum]) -> None:
        self.enum_cls = enum_cls
        self.name = enum_cls.__name__

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        return "[" + "|".join(self.enum_cls.__members__) + "]"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, self.enum_cls):
            return value
        text = str(value)
        prefix = self.enum_cls.__name__ + "."
        name = text[len(prefix):] if text.startswith(prefix) else text
        if name in self.enum_cls.__members__:
            return self.enum_cls.__members__[name]
        for member in self.enum_cls:
            if str(member.value) == text:
                return member
        choices = ", ".join(self.enum_cls.__members__)
        self.fail(f"{text!r} is not a {self.name}; choose one of: {choices}", param, ctx)


class LiteralType(click.ParamType):
    """One of a ``Literal[...]``'s values, given as text (``Literal[1, 2]`` gives ints)."""

    name = "choice"

    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        return "[" + "|".join(str(v) for v in self.values) + "]"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        for choice in self.values:
            if value == choice or str(choice) == str(value):
                return choice
        options = ", ".join(str(v) for v in self.values)
        self.fail(f"{value!r} is not one of: {options}", param, ctx)


class ParseArgType(click.ParamType):
    """A type that parses its own text: ``cls.parse_arg(raw_type, text)``."""

    def __init__(self, cls: Any, raw_type: Any) -> None:
        self.cls = cls
        self.raw_type = raw_type
        self.name = getattr(cls, "__name__", str(cls))

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.cls.parse_arg(self.raw_type, value)
        except Exception as exc:
            self.fail(f"{value!r} is not a valid {self.name}: {exc}", param, ctx)


class ConvertedType(click.ParamType):
    """Builds a value of the annotated class from the option's text with
    ``remit.value.parse_arg``: a registered ProxyValue's parser, the class's own
    ``parse_arg``, else ``cls(text)`` (e.g. File(path))."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, self.cls):
            return value
        from remit.value import parse_arg

        try:
            return parse_arg(self.cls, value)
        except Exception as exc:
            self.fail(f"{value!r} is not a valid {self.name}: {exc}", param, ctx)


class JSONOrText(click.ParamType):
    """An un-annotated parameter whose default is lazy: JSON if it parses, else the text."""

    name = "VALUE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value


def _is_lazy(value: Any) -> bool:
    from remit.expression import Expression

    return isinstance(value, Expression)


class BoolText(click.ParamType):
    """true/false text for a ``list[bool]`` item."""

    name = "BOOLEAN"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        return click.BOOL.convert(value, param, ctx)


def param_type(annotation: Any, default: Any = _UNSET) -> tuple[click.ParamType, bool, Any]:
    """The click type for an annotation, whether it takes many values, and a collection type.

    The collection type is what the values are gathered into (``list``, ``tuple``, ...)
    when the option takes many values, else None.
    """
    if annotation is inspect.Parameter.empty or annotation in (typing.Any, object):
        if default is _UNSET or default is None:
            return click.STRING, False, None
        if _is_lazy(default):  # e.g. get_context("x.y", 1): the value comes at run time
            return JSONOrText(), False, None
        annotation = type(default)
    if isinstance(annotation, type) and hasattr(annotation, "parse_arg"):
        return ConvertedType(annotation), False, None
    origin = typing.get_origin(annotation)
    if origin is not None and hasattr(origin, "parse_arg"):
        return ParseArgType(origin, annotation), False, None
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return param_type(options[0])
        return click.STRING, False, None
    if origin is typing.Literal:
        return LiteralType(typing.get_args(annotation)), False, None
    if origin in _SEQUENCES:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(set(args)) == 1 or (origin is not tuple and args):
            inner, _, _ = param_type(args[0])
            return (BoolText() if args[0] is bool else inner), True, origin
        return JSONType(origin), False, None
    if origin is dict or annotation is dict or annotation in _SEQUENCES:
        return JSONType(origin or annotation), False, None
    if annotation is bool:
        return click.BOOL, False, None
    if annotation in _SCALARS:
        return _SCALARS[annotation], False, None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return EnumType(annotation), False, None
    if isinstance(annotation, type):
        return ConvertedType(annotation), False, None
    return click.STRING, False, None


def _type_hints(func: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # an annotation naming something not importable: use the raw ones
        return {}


def describe_annotation(annotation: Any) -> str:
    """An annotation as a reader would write it: ``list[int]``, ``Color``, ``File | None``."""
    if annotation is inspect.Parameter.empty:
        return ""
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(describe_annotation(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin).replace("typing.", ""))
        inner = ", ".join("..." if a is Ellipsis else describe_annotation(a) for a in args)
        return f"{name}[{inner}]" if args else name
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def task_options(task: Any) -> list[click.Parameter]:
    """The click options of a task's parameters (defaults are shown, never converted)."""
    signature = inspect.signature(task.func)
    hints = _type_hints(task.func)
    params: list[click.Parameter] = []
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name, parameter.annotation)
        has_default = parameter.default is not parameter.empty
        default = parameter.default if has_default else _UNSET
        ptype, many, _ = param_type(annotation, default)
        option = "--" + name.replace("_", "-")
        text = _help_text(annotation, many, default)
        if ptype is click.BOOL:
            params.append(click.Option([f"{option}/--no-{option[2:]}", name], default=None,
                                       required=not has_default, help=text))
            continue
        params.append(click.Option([option, name], type=ptype, multiple=many, default=None,
                                   required=not has_default, help=text))
    return params


def _help_text(annotation: Any, many: bool, default: Any) -> str | None:
    text = describe_annotation(annotation)
    if many:
        text += " (one or more values, or repeat the option)"
    if default is not _UNSET:
        text += f"  [default: {_show_default(default)}]"
    return text.strip() or None


def _show_default(default: Any) -> str:
    if isinstance(default, enum.Enum):
        return default.name
    if isinstance(default, dict | list | tuple):
        try:
            return json.dumps(default)
        except TypeError:
            return repr(default)
    return repr(default)


def expand_multi_values(task: Any, args: list[str]) -> list[str]:
    """Rewrite ``--numbers 1 2 3`` as ``--numbers 1 --numbers 2 --numbers 3`` for click.

    Values continue until the next token starting with ``-`` (except negative numbers) or
    ``--``.
    """
    multi = {p.opts[0] for p in task_options(task) if isinstance(p, click.Option) and p.multiple}
    out: list[str] = []
    current: str | None = None
    first = True
    for token in args:
        if token.startswith("-") and not _is_number(token):
            name, equals, _ = token.partition("=")
            current = name if name in multi and not equals else None
            first = True
        elif current is not None:
            if not first:
                out.append(current)
            first = False
        out.append(token)
    return out


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_task_args(task: Any, args: list[str] | tuple[str, ...], prog: str) -> dict[str, Any]:
    """Parse TASK's options into keyword arguments; ``--help`` prints the task's help and exits.

    Options left out take the parameter's default object (a dict default stays that dict).
    """
    signature = inspect.signature(task.func)
    params = task_options(task)
    parsed: dict[str, Any] = {}
    command = click.Command(
        task.fullname, params=params, callback=lambda **kw: parsed.update(kw),
        help=task_help_text(task), epilog=f"Example: {prog} " + _example(params),
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    code = command.main(expand_multi_values(task, list(args)), prog_name=prog,
                        standalone_mode=False)
    if code is not None:  # --help was shown: the callback did not run
        sys.exit(code)
    hints = _type_hints(task.func)
    kwargs: dict[str, Any] = {}
    for name, value in parsed.items():
        parameter = signature.parameters[name]
        if value is None or value == ():
            if parameter.default is not parameter.empty:
                kwargs[name] = parameter.default
            continue
        if isinstance(value, tuple):
            _, _, collection = param_type(hints.get(name, parameter.annotation))
            value = (collection or list)(value)
        kwargs[name] = value
    return kwargs


def task_help_text(task: Any) -> str:
    """The task's docstring (or a one-line description) for its --help."""
    return inspect.getdoc(task.func) or f"Run task {task.fullname}."


def _example(params: list[click.Parameter]) -> str:
    parts = []
    for param in params:
        if isinstance(param, click.Option) and param.required:
            parts.append(f"{param.opts[0]} VALUE")
    return " ".join(parts) or "(no options needed)"
