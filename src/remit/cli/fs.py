"""`remit fs cp SRC DST`: copy files between local paths and S3 with remit's own filesystem
layer (``remit.files``): the same code, credentials and endpoint a workflow's Files use.

A directory (``-r``) is copied file by file; a destination ending in ``/`` (or an existing
local directory) receives the source under its own name. Nothing here touches the store.
"""

from __future__ import annotations

import os
import posixpath

import click

from remit.cli.store import one_line


@click.group()
def fs() -> None:
    """Files on local disk and S3, through remit's filesystem layer.

    \b
    Example:
      remit fs cp results/out.tsv s3://my-bucket/results/
    """


def _join(base: str, rel: str) -> str:
    return posixpath.join(base, rel) if "://" in base else os.path.join(base, rel)


def _is_dir_target(dst: str) -> bool:
    return dst.endswith("/") or ("://" not in dst and os.path.isdir(dst))


@fs.command()
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Copy a directory and all it holds.")
def cp(src: str, dst: str, recursive: bool) -> None:
    """Copy SRC to DST; each may be a local path or an s3:// URL.

    \b
    Examples:
      remit fs cp data.tsv s3://bucket/inputs/data.tsv
      remit fs cp s3://bucket/results/out.tsv .
      remit fs cp -r s3://bucket/results/ local-results/
    """
    from remit.errors import RemitError
    from remit.files.filesystem import copy_file, get_filesystem

    try:
        src_fs = get_filesystem(src)
        if recursive:
            entries = src_fs.list(src.rstrip("/"))
            if not entries:
                raise click.ClickException(f"{src} holds no files (or does not exist)")
            for entry in entries:
                target = _join(dst, entry.rel_path)
                if "://" not in target:
                    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                copy_file(_join(src.rstrip("/"), entry.rel_path), target)
            click.echo(f"Copied {len(entries)} file(s) from {src} to {dst}")
            return
        if not src_fs.exists(src):
            hint = " (a directory? add -r)" if src_fs.dir_exists(src.rstrip("/")) else ""
            raise click.ClickException(f"{src} does not exist{hint}")
        if _is_dir_target(dst):
            dst = _join(dst, posixpath.basename(src.rstrip("/")))
        copy_file(src, dst)
    except RemitError as exc:
        raise click.ClickException(one_line(str(exc))) from None
    except OSError as exc:
        raise click.ClickException(f"cannot copy {src} to {dst}: {exc.strerror or exc}") from None
    click.echo(f"Copied {src} to {dst}")
