"""`remit tag list|add|rm`: key/value tags on executions, jobs, tasks, values and Files.

    remit tag list                       every tag
    remit tag list 3f2a9c1b              the tags of one execution, job, value or File
    remit tag list project=acme          what carries project=acme (``project=*``: any value)
    remit tag add 3f2a9c1b project=acme reviewed=yes
    remit tag rm 3f2a9c1b reviewed       (or reviewed=yes: only with that value)

``list`` only reads (no database is created); ``add``/``rm`` write to the configured store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from remit.cli.store import config_option, open_store, remit_errors

if TYPE_CHECKING:
    from remit.db.tags import Entity


@click.group()
def tag() -> None:
    """List, add and remove tags on executions, jobs, tasks, values and Files.

    \b
    Examples:
      remit tag list
      remit tag add 3f2a9c1b project=acme
      remit tag rm 3f2a9c1b project
    """


def _pairs(items: tuple[str, ...], need_value: bool) -> dict[str, str | None]:
    pairs: dict[str, str | None] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not key:
            raise click.UsageError(f"bad tag {item!r}: write KEY=VALUE")
        if need_value and not equals:
            raise click.UsageError(f"tag {item!r} has no value: write {item}=VALUE")
        pairs[key] = value if equals else None
    return pairs


@tag.command(name="list")
@click.argument("items", nargs=-1)
@click.option("-n", "--limit", default=200, show_default=True, help="How many tags to list.")
@config_option
def list_tags(items: tuple[str, ...], limit: int, config_dir: str | None) -> None:
    """List tags: all, an entity's (by id prefix), or what carries KEY=VALUE (KEY=* any).

    \b
    Examples:
      remit tag list
      remit tag list 3f2a9c1b
      remit tag list project=acme
    """
    from remit.db import tags

    ids = [item for item in items if "=" not in item]
    filters = {k: (None if v == "*" else v) for k, v in
               _pairs(tuple(i for i in items if "=" in i), need_value=True).items()}
    if len(ids) > 1 or (ids and filters):
        raise click.UsageError("give one id (that entity's tags) or KEY=VALUE filters "
                               "(KEY=* for any value), not both")
    backend = open_store(config_dir)
    with remit_errors(), backend.engine.connect() as conn:
        if ids:
            entity = tags.resolve(conn, ids[0])
            found = tags.tags_of(conn, entity.id)
            click.echo(f"{entity.kind.capitalize()} {entity.id}")
            for key, value in found.items():
                click.echo(f"  {key}={value}")
            if not found:
                click.echo("  (no tags)")
        else:
            rows = tags.find(conn, filters, limit)
            if not rows:
                click.echo("No tags match." if filters else "No tags recorded yet.")
            kinds: dict[str, str] = {}
            for entity_id, key, value in rows:
                kind = kinds.get(entity_id) or kinds.setdefault(entity_id,
                                                                tags.kind_of(conn, entity_id))
                click.echo(f"{kind:<9} {entity_id[:12]}  {key}={value}")
    backend.close()


@tag.command()
@click.argument("entity")
@click.argument("pairs", nargs=-1, required=True)
@config_option
def add(entity: str, pairs: tuple[str, ...], config_dir: str | None) -> None:
    """Add KEY=VALUE tags to an execution, job, task, value or File (by id prefix).

    \b
    Example:
      remit tag add 3f2a9c1b project=acme reviewed=yes
    """
    from remit.db import tags

    new = {k: v or "" for k, v in _pairs(pairs, need_value=True).items()}
    found = _resolve(entity, config_dir)
    backend = open_store(config_dir, read_only=False)
    with remit_errors(), backend.engine.begin() as conn:
        tags.add(conn, found.id, new)
    backend.close()
    click.echo(f"Tagged {found.kind} {found.id[:12]}: "
               + ", ".join(f"{k}={v}" for k, v in new.items()))


@tag.command()
@click.argument("entity")
@click.argument("keys", nargs=-1, required=True)
@config_option
def rm(entity: str, keys: tuple[str, ...], config_dir: str | None) -> None:
    """Remove tags KEY (or KEY=VALUE) from an execution, job, task, value or File.

    \b
    Example:
      remit tag rm 3f2a9c1b reviewed
    """
    from remit.db import tags

    wanted = _pairs(keys, need_value=False)
    found = _resolve(entity, config_dir)
    backend = open_store(config_dir, read_only=False)
    with remit_errors(), backend.engine.begin() as conn:
        removed = tags.remove(conn, found.id, wanted)
    backend.close()
    if not removed:
        raise click.ClickException(f"{found.kind} {found.id[:12]} has no tag "
                                   f"{', '.join(keys)}; `remit tag list {entity}` shows its tags")
    click.echo(f"Removed {removed} tag(s) from {found.kind} {found.id[:12]}")


def _resolve(prefix: str, config_dir: str | None) -> Entity:
    from remit.db import tags

    backend = open_store(config_dir)
    try:
        with remit_errors(), backend.engine.connect() as conn:
            return tags.resolve(conn, prefix)
    finally:
        backend.close()
