"""Resource limits: at most so many running jobs may hold a named resource at once.

``[limits]`` gives each resource an amount (``db = 10``); ``@task(limits=["db"])`` makes
every running job of the task hold one unit of ``db``, and ``@task(limits={"db": 2})`` two.
A resource the config does not name has an amount of 1, as in redun. A job holds its units
from the moment it is handed to its executor until its body returns or fails (not while
the calls it returned are evaluated); one that does not fit waits, in call order, and
cached calls hold nothing. This module counts; the scheduler decides when to ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remit.config import Config, parse_int
from remit.errors import TaskError

DEFAULT_AMOUNT = 1


class ResourceLimits:
    """The amounts from ``[limits]`` and the units running jobs hold now."""

    def __init__(self, config: Config) -> None:
        self.amounts = {name: parse_int(raw, config.where("limits", name), minimum=1)
                        for name, raw in config.limits.items()}
        self.used: dict[str, int] = {}

    def fits(self, wanted: Mapping[str, int]) -> bool:
        """Whether a job holding ``wanted`` may start now."""
        return all(self.used.get(name, 0) + units <= self.amounts.get(name, DEFAULT_AMOUNT)
                   for name, units in wanted.items())

    def take(self, wanted: Mapping[str, int]) -> None:
        """A job holding ``wanted`` starts."""
        for name, units in wanted.items():
            self.used[name] = self.used.get(name, 0) + units

    def give_back(self, held: Mapping[str, int]) -> None:
        """A job holding ``held`` has finished its body."""
        for name, units in held.items():
            self.used[name] -= units

    def check(self, fullname: str, wanted: Mapping[str, int]) -> None:
        """Raise TaskError for a job that could never start: it wants more than there is."""
        for name, units in wanted.items():
            amount = self.amounts.get(name, DEFAULT_AMOUNT)
            if units > amount:
                there = (f"[limits] {name} = {amount}" if name in self.amounts else
                         f"[limits] does not name {name!r}, so there is {amount}")
                raise TaskError(
                    f"task {fullname} holds {units} of resource {name!r} per job, but {there}; "
                    f"set '{name} = {units}' or more in [limits], or lower the task's limits")


def task_limits(fullname: str, option: Any) -> dict[str, int]:
    """The units per job a task's ``limits`` option asks for: a list of names (one each) or
    a mapping of name to units; TaskError naming the task for anything else."""
    if option is None or option == [] or option == {}:
        return {}
    if isinstance(option, str):
        option = [option]
    if isinstance(option, list | tuple | set | frozenset):
        option = dict.fromkeys(option, 1)
    if not isinstance(option, Mapping):
        raise TaskError(f"task {fullname}: limits must be a list of resource names or a dict "
                        f"of name to units, got {option!r}")
    wanted: dict[str, int] = {}
    for name, units in option.items():
        if not isinstance(name, str) or isinstance(units, bool) or not isinstance(units, int) \
                or units < 1:
            raise TaskError(f"task {fullname}: limits[{name!r}] must be a whole number of "
                            f"units >= 1, got {units!r}")
        wanted[name] = units
    return wanted

