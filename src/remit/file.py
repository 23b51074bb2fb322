"""redun's import path for files: ``from redun.file import File, glob_file`` becomes
``from remit.file import ...`` after the rename. Everything lives in ``remit.files``."""

from remit.files import (
    Dir,
    File,
    FileSystem,
    StagingDir,
    StagingFile,
    get_filesystem,
    glob_file,
)

__all__ = ["Dir", "File", "FileSystem", "StagingDir", "StagingFile", "get_filesystem",
           "glob_file"]
