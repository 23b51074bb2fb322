"""Ready-made tasks redun users import from ``redun.tools``: copying Files and Dirs (in
parallel, with provenance), rendering a jinja2 template, and stopping in pdb mid-workflow.

They live in the ``remit`` namespace with a fixed ``version``, so their cache survives remit
upgrades; ``skip_if_exists`` and ``copy_options`` are ``config_args`` (not in the cache key).
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from remit.files import Dir, File
from remit.task import task

T = TypeVar("T")


@task(namespace="remit", version="1", cache=False)
def debug_task(value: T) -> T:
    """Stop in pdb with ``value`` evaluated (run with ``remit run --pdb`` or a terminal)."""
    import pdb

    pdb.set_trace()
    return value


@task(namespace="remit", version="1", config_args=["skip_if_exists"])
def copy_file(src_file: File, dest_path: str, skip_if_exists: bool = False) -> File:
    """Copy a File to ``dest_path`` (a path ending in "/" keeps the file's name)."""
    if dest_path.endswith("/"):
        dest_path += src_file.basename
    dest = File(dest_path)
    if skip_if_exists and dest.exists():
        return dest
    return src_file.copy_to(dest)


@task(namespace="remit", version="1", config_args=["skip_if_exists", "copy_options"])
def copy_files(src_files: list[File], dest_paths: list[str], skip_if_exists: bool = False,
               copy_options: dict[str, Any] | None = None) -> list[File]:
    """Copy Files to paths, one ``copy_file`` call each (so in parallel)."""
    copy = copy_file.options(**copy_options) if copy_options else copy_file
    return [copy(src, dest, skip_if_exists=skip_if_exists)
            for src, dest in zip(src_files, dest_paths, strict=True)]


@task(namespace="remit", version="1", config_args=["skip_if_exists", "copy_options"])
def copy_dir(src_dir: Dir, dest_path: str, skip_if_exists: bool = False,
             copy_options: dict[str, Any] | None = None) -> Dir:
    """Copy every file below a Dir to ``dest_path``, in parallel; the result is the new Dir."""
    prefix = src_dir.path.rstrip("/") + "/"
    sources = src_dir.files()
    dests = [dest_path.rstrip("/") + "/" + f.path[len(prefix):] for f in sources]
    return _dir_after(copy_files(sources, dests, skip_if_exists, copy_options), dest_path)


@task(namespace="remit", version="1")
def _dir_after(copied: list[File], dest_path: str) -> Dir:
    """The Dir at ``dest_path``, hashed once its files are copied."""
    return Dir(dest_path)


_dir_after.internal = True  # remit's own helper


@task(namespace="remit", version="1")
def render_template(out_path: str, template: File, context: dict[str, Any],
                    template_dir: str | None = None) -> File:
    """Render a jinja2 template File with ``context`` into a File at ``out_path``."""
    try:
        import jinja2
    except ImportError:
        raise ImportError("render_template needs jinja2: pip install jinja2 (or remit[ui])") \
            from None
    folder = template_dir or template.dirname
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=False)
    rendered = env.get_template(os.path.relpath(template.path, folder)).render(context)
    out = File(out_path)
    out.write(rendered)
    return out


__all__ = ["copy_dir", "copy_file", "copy_files", "debug_task", "render_template"]
