"""Courseware checks: an upload is accepted only if PyAV opens it as an MP4 with an H.264 video
stream and a duration. The file name and the browser's content type are never trusted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av

from domain.errors import DomainError

MP4_FORMAT = "mp4"  # FFmpeg's demuxer "mov,mp4,m4a,3gp,3g2,mj2" lists it
VIDEO_CODEC = "h264"


@dataclass(frozen=True)
class Courseware:
    duration_seconds: int
    width: int
    height: int


def _has_ftyp(path: Path) -> bool:
    """An ISO media file starts with its `ftyp` box (FFmpeg's mov demuxer also reads QuickTime)."""
    with path.open("rb") as f:
        head = f.read(12)
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] != b"qt  "


def probe_courseware(path: Path) -> Courseware:
    """The video's duration (whole seconds, rounded up) and size; a DomainError for anything else:
    CoursewareNotVideo (not a video / not MP4), CoursewareCodec (not H.264), CoursewareNoDuration."""
    if not _has_ftyp(path):
        raise DomainError("CoursewareNotVideo")
    try:
        with av.open(str(path), mode="r") as container:
            if MP4_FORMAT not in container.format.name.split(","):
                raise DomainError("CoursewareNotVideo")
            videos = container.streams.video
            if not videos:
                raise DomainError("CoursewareNotVideo")
            stream = videos[0]
            if stream.codec_context.name != VIDEO_CODEC:
                raise DomainError("CoursewareCodec")
            seconds = _duration(container, stream)
            width, height = stream.codec_context.width, stream.codec_context.height
    except av.FFmpegError:
        raise DomainError("CoursewareNotVideo") from None
    if seconds is None or seconds <= 0:
        raise DomainError("CoursewareNoDuration")
    return Courseware(duration_seconds=math.ceil(seconds - 1e-6), width=width, height=height)


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None
