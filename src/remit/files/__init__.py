"""Files and directories as workflow values: File, Dir, staging pairs, and their filesystems.

Owns the values (``file.py``), the filesystem interface and its choice by URL
scheme (``filesystem.py``), and the local (``local.py``) and S3 (``s3.py``) implementations.
Importing this package registers File and Dir with ``remit.hashing`` and never imports boto3:
the S3 implementation loads when an ``s3://`` path is first used.
"""

from remit.files.file import Dir, File, StagingDir, StagingFile
from remit.files.filesystem import FileSystem, get_filesystem, glob_file

__all__ = ["Dir", "File", "FileSystem", "StagingDir", "StagingFile", "get_filesystem",
           "glob_file"]
