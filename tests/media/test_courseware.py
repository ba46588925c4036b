"""Courseware is checked by content (PyAV) and kept through the storage interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import DomainError
from media.clips import make_clip
from media.courseware import probe_courseware
from media.storage import FileStorage
from tests.support.courses import mpeg4_clip_bytes


def test_an_h264_mp4_gives_its_duration(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", "测试", seconds=4, width=160, height=90, fps=5)
    video = probe_courseware(clip)
    assert (video.duration_seconds, video.width, video.height) == (4, 160, 90)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"0" * 200, "CoursewareNotVideo"),
        (b"hello, I am a text file renamed .mp4" * 20, "CoursewareNotVideo"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300, "CoursewareNotVideo"),  # an mp4 header, nothing after
        (b"", "CoursewareNotVideo"),
    ],
)
def test_anything_but_a_video_is_refused(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(DomainError) as info:
        probe_courseware(path)
    assert info.value.code == code


def test_an_mp4_that_is_not_h264_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.mp4"
    path.write_bytes(mpeg4_clip_bytes(tmp_path))
    with pytest.raises(DomainError) as info:
        probe_courseware(path)
    assert info.value.code == "CoursewareCodec"


def test_file_storage_puts_atomically_and_refuses_escaping_keys(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "media")
    source = tmp_path / "src.bin"
    source.write_bytes(b"video")
    storage.put_file("courseware/1-a.mp4", source)
    assert storage.exists("courseware/1-a.mp4") and storage.url("courseware/1-a.mp4") == "/media/courseware/1-a.mp4"
    assert (tmp_path / "media" / "courseware" / "1-a.mp4").read_bytes() == b"video"
    assert [p.name for p in (tmp_path / "media" / "courseware").iterdir()] == ["1-a.mp4"]  # no temp file left
    storage.put_bytes("covers/x.png", b"png")
    storage.delete("covers/x.png")
    storage.delete("covers/x.png")  # a second delete is no error
    assert not storage.exists("covers/x.png")
    for bad in ("../etc/passwd", "/abs", ""):
        with pytest.raises(ValueError):
            storage.put_bytes(bad, b"x")
