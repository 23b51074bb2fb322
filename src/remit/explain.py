"""Why a call ran instead of being served from the cache, in words.

One reason per call, shared by the ``Run`` lines of a run, ``remit run --dry-run`` and
``remit why``: ``new task``, the task's code changed (naming the function, method, class,
constant or library whose hash changed, from the dependency maps of ``codedeps.py``), an
argument changed (naming it; for a File, naming its path), the cached value could not be
read or no longer holds, ``--no-cache``, ``cache=False``, ``cache_scope``, ``prov=False``.
A miss is compared with the closest earlier finished call of the same task: first one with
the same arguments (then only the code changed), else the one of the same code sharing the
most arguments, else the one of any version sharing the most arguments.

Explaining is batched: all misses of one cache check cost a few queries (``db/history.py``),
and a task never seen before costs one. This module decides nothing about caching.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from remit.hashing import is_valid, iter_nested
from remit.jobs import Job

NO_CACHE = "--no-cache"
CACHE_FALSE = "cache=False"
UNREADABLE = "the cached value could not be read or failed verification"
_MAX_ITEMS = 3


@dataclass
class CallFacts:
    """What explanations compare: one call's task version, code map and arguments."""

    fullname: str
    task_hash: str
    args_hash: str
    eval_hash: str
    deps: dict[str, str]
    args: dict[str, str]  # argument name (as recorded) -> value hash
    files: dict[str, str] = field(default_factory=dict)  # argument name -> path of a File
    before: float | None = None  # compare only with calls finished before this time


@dataclass
class Explanation:
    """A reason in words and the earlier call it was found by comparing with."""

    reason: str
    earlier_call: str | None = None
    earlier_job: tuple[str, str] | None = None  # (job id, execution id), when asked for


class RunExplainer:
    """Explains one run's cache misses against the calls recorded before the run started.

    Calls the run itself made are not "earlier calls": a fresh run of a new task says
    ``new task`` for every call, not ``argument changed`` against its siblings. What was
    recorded before the run does not change while it runs, so the per-task lookups are made
    once per run (``_Memo``), and explaining a million misses costs a few queries per batch.
    """

    def __init__(self, backend: Any, started: float) -> None:
        self.backend = backend
        self.started = started
        self._memo = _Memo()

    def explain(self, jobs: Sequence[Job]) -> None:
        """Set ``job.reason`` for jobs that missed the cache."""
        try:
            with self.backend.engine.connect() as conn:
                facts = [facts_of_job(job, self.started) for job in jobs]
                found = explain_calls(conn, facts, memo=self._memo, runtime=True)
                for job, explanation in zip(jobs, found, strict=True):
                    job.reason = explanation.reason
        except Exception as exc:  # an explanation must never stop a run
            for job in jobs:
                job.reason = job.reason or f"reason unknown ({type(exc).__name__}: {exc})"


@dataclass
class _Memo:
    """Lookups that stay true for a whole run: task versions and each version's newest calls
    (with their arguments), all recorded before the run started."""

    versions: dict[str, dict[str, dict]] = field(default_factory=dict)
    newest: dict[tuple[str, float | None], list] = field(default_factory=dict)
    arguments: dict[str, dict[str, str]] = field(default_factory=dict)


def uncached_reason(use_cache: bool, task_cache: bool, prov: bool, scope: str) -> str:
    """Why a call is not even looked up in the cache ("" when there is no store)."""
    if not use_cache:
        return NO_CACHE
    if not task_cache:
        return CACHE_FALSE
    if not prov:
        return "prov=False: not recorded, so never served from the cache"
    if scope != "BACKEND":
        return f"cache_scope={scope}"
    return ""


def new_task_reason(fullname: str) -> str:
    """The reason for a task with no recorded earlier call."""
    return f"new task: no earlier call of {fullname} recorded"


def invalid_result_reason(result: Any) -> str:
    """Why a cached result no longer holds: the first File in it that changed."""
    for leaf in iter_nested(result):
        if not is_valid(leaf):
            path = getattr(leaf, "path", None)
            if path is not None:
                return f"File {path} in the cached result changed or is gone"
    return "the cached result no longer holds"


def facts_of_job(job: Job, before: float | None = None) -> CallFacts:
    """A running call's facts, with arguments named as the recorder names them."""
    from remit.task import positional_names

    params = positional_names(job.task)
    args: dict[str, str] = {}
    files: dict[str, str] = {}
    named = [(params[i] if i < len(params) else f"*{i}", h, v)
             for i, (h, v) in enumerate(zip(job.arg_hashes, job.args, strict=True))]
    named += [(k, job.kwarg_hashes[k], v) for k, v in job.kwargs.items()]
    for name, value_hash, value in named:
        args[name] = value_hash
        describe = getattr(value, "__remit_file_record__", None)
        if describe is not None:
            files[name] = describe()[0]
    return CallFacts(job.task.fullname, job.task_hash, job.args_hash, job.eval_hash,
                     job.task.code_deps, args, files, before)


# -- comparing with earlier calls ----------------------------------------------------------

def explain_calls(
    conn: Any, calls: Sequence[CallFacts], with_jobs: bool = False, memo: _Memo | None = None,
    runtime: bool = False,
) -> list[Explanation]:
    """Explain each call by comparing it with the closest earlier call of its task.

    ``runtime``: the calls are missing the cache now, so one whose cache row exists had a
    value that could not be used. ``memo`` keeps lookups across calls (one run's).
    """
    from remit.db import history

    memo = memo if memo is not None else _Memo()
    unseen = sorted({c.fullname for c in calls} - memo.versions.keys())
    if unseen:
        found = history.task_versions(conn, unseen)
        memo.versions.update({name: found.get(name, {}) for name in unseen})
    versions = {name: known for name, known in memo.versions.items() if known}
    out: list[Explanation | None] = [None] * len(calls)
    todo = []
    for i, call in enumerate(calls):
        if call.fullname not in versions:
            out[i] = Explanation(new_task_reason(call.fullname))
        else:
            todo.append(i)
    if runtime and todo:
        existing = history.existing_evaluations(conn, [calls[i].eval_hash for i in todo])
        for i in todo:
            if calls[i].eval_hash in existing:
                out[i] = Explanation(UNREADABLE)
    todo = [i for i in todo if out[i] is None]
    if todo:
        _explain_by_same_arguments(conn, calls, versions, todo, out)
    todo = [i for i in todo if out[i] is None]
    if todo:
        _explain_by_closest_arguments(conn, calls, versions, todo, out, memo, runtime)
    if with_jobs:
        earlier = [e.earlier_call for e in out if e is not None and e.earlier_call]
        jobs = history.jobs_of_calls(conn, earlier) if earlier else {}
        for e in out:
            if e is not None and e.earlier_call:
                e.earlier_job = jobs.get(e.earlier_call)
    return [e or Explanation("reason unknown") for e in out]


def _explain_by_same_arguments(conn: Any, calls: Sequence[CallFacts], versions: dict,
                               todo: list[int], out: list) -> None:
    """Calls whose arguments were seen with another version of the task: code changed."""
    from remit.db import history

    hashes = sorted({h for i in todo for h in versions[calls[i].fullname]})
    found = history.calls_with_args(conn, hashes, [calls[i].args_hash for i in todo])
    by_args: dict[str, list] = {}
    for earlier in found:
        by_args.setdefault(earlier.args_hash, []).append(earlier)
    described: dict[tuple[str, str], str] = {}  # (old, new task hash) -> words, said once
    for i in todo:
        call = calls[i]
        own = versions[call.fullname]
        matches = [e for e in by_args.get(call.args_hash, ())
                   if e.task_hash in own and e.task_hash != call.task_hash
                   and (call.before is None or e.timestamp < call.before)]
        if matches:
            best = max(matches, key=lambda e: e.timestamp)
            key = (best.task_hash, call.task_hash)
            if key not in described:
                described[key] = describe_code_change(own[best.task_hash], call.deps, call)
            out[i] = Explanation(described[key], best.call_hash)


def _explain_by_closest_arguments(conn: Any, calls: Sequence[CallFacts], versions: dict,
                                  todo: list[int], out: list, memo: _Memo,
                                  runtime: bool) -> None:
    """Calls with new arguments: compare with the earlier call sharing the most of them."""
    from remit.db import history

    def newest(task_hash: str, before: float | None) -> list:
        if (task_hash, before) not in memo.newest:
            memo.newest[task_hash, before] = history.newest_calls(conn, task_hash, before)
        return memo.newest[task_hash, before]

    pools: dict[tuple[str, str, float | None], tuple[list, dict[str, int]]] = {}
    plan: dict[int, tuple[list, dict[str, int]]] = {}
    for i in todo:  # the same code's calls first; other versions' only if it has none
        call = calls[i]
        key = (call.fullname, call.task_hash, call.before)
        if key not in pools:
            own = versions[call.fullname]
            pool = newest(call.task_hash, call.before) if call.task_hash in own else []
            if not pool:
                pool = [e for h in own if h != call.task_hash for e in newest(h, call.before)]
                pool.sort(key=lambda e: -e.timestamp)
            pool = pool[:history.CANDIDATES_PER_TASK]
            pools[key] = (pool, {e.call_hash: n for n, e in enumerate(pool)})  # newest first
        plan[i] = pools[key]
    pooled = {e.call_hash for pool, _ in pools.values() for e in pool}
    needed = sorted(pooled - memo.arguments.keys())
    if needed:
        found = history.argument_hashes(conn, needed)
        memo.arguments.update({call_hash: found.get(call_hash, {}) for call_hash in needed})
    arguments = memo.arguments
    index: dict[tuple[str, str], list[str]] = {}
    for call_hash in pooled:
        for item in arguments[call_hash].items():
            index.setdefault(item, []).append(call_hash)
    best_of: dict[int, Any] = {}
    for i, (pool, rank) in plan.items():
        if not pool:
            out[i] = Explanation(
                f"no earlier finished call of {calls[i].fullname} recorded (failed calls are "
                "never cached)" if runtime else new_task_reason(calls[i].fullname))
            continue
        score: Counter = Counter()
        for item in calls[i].args.items():
            score.update(index.get(item, ()))
        matching = [h for h in score if h in rank]
        best = min(matching, key=lambda h: (-score[h], rank[h])) if matching else None
        best_of[i] = pool[rank[best]] if best is not None else pool[0]
    file_hashes = [arguments.get(best_of[i].call_hash, {}).get(name, "")
                   for i in best_of for name in calls[i].files]
    paths = history.file_paths(conn, file_hashes) if any(file_hashes) else {}
    for i, best in best_of.items():
        call = calls[i]
        parts = []
        if best.task_hash != call.task_hash:
            old_deps = versions[call.fullname].get(best.task_hash, {})
            parts.append(describe_code_change(old_deps, call.deps, call))
        parts.append(_describe_argument_change(arguments.get(best.call_hash, {}), call, paths))
        out[i] = Explanation("; ".join(parts), best.call_hash)


def _describe_argument_change(old: dict[str, str], call: CallFacts,
                              paths: dict[str, str]) -> str:
    items = []
    for name, value_hash in call.args.items():
        before = old.get(name)
        if before == value_hash:
            continue
        if before is None:
            items.append(f"argument {name} added")
        elif name in call.files and paths.get(before) == call.files[name]:
            items.append(f"File {call.files[name]} changed")
        else:
            items.append(f"argument {name} changed")
    items += [f"argument {name} removed" for name in old if name not in call.args]
    return _join(items) if items else "arguments changed"


# -- code changes --------------------------------------------------------------------------

def describe_code_change(old: dict[str, str], new: dict[str, str], call: CallFacts) -> str:
    """Name what differs between two code dependency maps (``codedeps.py`` labels)."""
    if not old:  # recorded before remit kept dependency maps
        return f"code of task {_short(call.fullname)}() changed"
    items = []
    for label, digest in new.items():
        before = old.get(label)
        if before is None:
            items.append(f"now depends on {_what(label)}")
        elif before != digest:
            items.append(_changed(label, before, digest))
    items += [f"no longer depends on {_what(label)}" for label in old if label not in new]
    return _join(items) if items else f"code of task {_short(call.fullname)}() changed"


def _what(label: str) -> str:
    kind, _, name = label.partition(" ")
    qualname = name.partition(":")[2] or name
    if kind == "task":
        return f"task {_short(name)}()"
    if kind == "function":
        return f"method {qualname}()" if "." in qualname.replace("<locals>.", "") \
            else f"helper {qualname}()"
    if kind == "constant" and qualname.endswith("() defaults"):
        return f"default values of {qualname[:-len(' defaults')]}"
    if kind in ("class", "constant", "library"):
        return f"{kind} {qualname}"
    return label  # hash_includes[i], version


def _changed(label: str, before: str, after: str) -> str:
    kind = label.partition(" ")[0]
    if kind in ("task", "function"):
        return f"code of {_what(label)} changed"
    if kind in ("library", "version"):
        return f"{_what(label)} changed ({before} -> {after})"
    return f"{_what(label)} changed"


def _short(fullname: str) -> str:
    return fullname.rsplit(".", 1)[-1]


def _join(items: list[str]) -> str:
    if len(items) > _MAX_ITEMS:
        return ", ".join(items[:_MAX_ITEMS]) + f" and {len(items) - _MAX_ITEMS} more"
    return ", ".join(items)
