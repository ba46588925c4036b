"""Where uploaded files live: a small interface, so production can put courseware in an object store.

Keys are relative, slash-separated names (``courseware/3f2a….mp4``). ``FileStorage`` keeps them
under a folder (``var/media`` by default, which the web app serves at ``/media``); an object-store
class implements the same four methods (``put`` streams from a local file: uploads are large).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class Storage(Protocol):
    def put_file(self, key: str, source: Path) -> None:
        """Stores the file at ``source`` under ``key`` (replacing what was there)."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Removes ``key``; a missing key is not an error (deletes are retried)."""

    def url(self, key: str) -> str:
        """Where a browser fetches it."""


def _safe(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"bad storage key: {key!r}")
    return path


class FileStorage:
    """Files under ``root``, served by the web app at ``url_prefix``. Writes are atomic (a temporary
    name in the same folder, then a rename), so a reader never sees half a file."""

    def __init__(self, root: Path, url_prefix: str = "/media") -> None:
        self.root = Path(root)
        self.url_prefix = url_prefix.rstrip("/")

    def path(self, key: str) -> Path:
        return self.root / _safe(key)

    def _atomic(self, key: str) -> tuple[Path, str]:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        os.close(fd)
        return target, tmp

    def put_file(self, key: str, source: Path) -> None:
        target, tmp = self._atomic(key)
        try:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        target, tmp = self._atomic(key)
        try:
            Path(tmp).write_bytes(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{_safe(key)}"
