"""The one place that reads fastapi's UploadFile: routers hand the services plain bytes or a saved
file, so no web type reaches below them.

Both readers take at most one byte over the limit and leave the refusal to the service, so a
huge upload is never held (or written) in full and every check keeps the order the service gives it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from domain.errors import DomainError
from media.uploads import _size_label

CHUNK = 1024 * 1024
NAME_LENGTH = 200  # the longest file name kept (HoursRecord.evidence_name is String(200))


@dataclass(frozen=True)
class Upload:
    """A chosen file read into memory (evidence, images): small by the limit it was read with."""

    data: bytes
    filename: str
    content_type: str


@dataclass(frozen=True)
class SavedUpload:
    """A chosen file streamed to disk (courseware videos are too big for memory). ``size`` is at
    most the limit plus one: a larger value means the file was cut off and must be refused."""

    path: Path
    filename: str
    content_type: str
    size: int


def _name(upload: UploadFile) -> str:
    return Path(upload.filename or "").name[:NAME_LENGTH]


def refuse_oversize(size: int, max_bytes: int) -> None:
    """``UploadTooLarge`` with the limit in the message, as media.uploads words it."""
    if size > max_bytes:
        raise DomainError("UploadTooLarge", f"文件过大（不能超过{_size_label(max_bytes)}）")


async def read_upload(upload: UploadFile | None, max_bytes: int) -> Upload | None:
    """The chosen file's bytes; None when no file was chosen (the form still sends the field, with
    an empty file name)."""
    if upload is None or not upload.filename:
        return None
    try:
        data = await upload.read(max_bytes + 1)
    finally:
        await upload.close()
    return Upload(data=data, filename=_name(upload), content_type=upload.content_type or "")


async def save_upload_to(upload: UploadFile, path: Path, max_bytes: int) -> int:
    """Streams the upload into ``path`` chunk by chunk; returns the bytes written (at most
    ``max_bytes + 1``). Whatever goes wrong, ``path`` is removed again."""
    written = 0
    try:
        with path.open("wb") as out:
            while written <= max_bytes and (chunk := await upload.read(min(CHUNK, max_bytes + 1 - written))):
                out.write(chunk)
                written += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        await upload.close()
    return written


@asynccontextmanager
async def saved_upload(upload: UploadFile | None, max_bytes: int, suffix: str) -> AsyncIterator[SavedUpload | None]:
    """The chosen file in a temporary file for the length of the block (None when none was
    chosen); the temporary file is gone afterwards, whether the service kept a copy or refused it."""
    if upload is None or not upload.filename:
        yield None
        return
    fd, name = tempfile.mkstemp(suffix=suffix)
    os.close(fd)  # save_upload_to opens it by path
    path = Path(name)
    try:
        size = await save_upload_to(upload, path, max_bytes)
        yield SavedUpload(path=path, filename=_name(upload), content_type=upload.content_type or "", size=size)
    finally:
        path.unlink(missing_ok=True)
