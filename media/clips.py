"""Small generated courseware clips (H.264 MP4, yuv420p, faststart) for demo chapters.

Each frame is a test pattern — colour bars and a bar sweeping across — with the chapter title drawn
on it, rendered with Pillow and encoded with PyAV. No clock and no progress line: the player loops a
short clip over a longer chapter, and the only time on screen is the player's credited time.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
CLIP_SUFFIX = ".mp4"
CLIP_CONTENT_TYPE = "video/mp4"

_BARS = [
    (192, 192, 192),
    (192, 192, 0),
    (0, 192, 192),
    (0, 192, 0),
    (192, 0, 192),
    (192, 0, 0),
    (0, 0, 192),
]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    try:
        return ImageFont.truetype(str(FONT_PATH), size)
    except OSError:
        return ImageFont.load_default()


def _background(width: int, height: int, title: str) -> Image.Image:
    """The static part of every frame: colour bars, a dark band with the title."""
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    bar_w = width / len(_BARS)
    for i, colour in enumerate(_BARS):
        draw.rectangle([round(i * bar_w), 0, round((i + 1) * bar_w), height], fill=colour)
    band_top = height * 3 // 5
    draw.rectangle([0, band_top, width, height], fill=(20, 24, 40))
    font = _font(max(14, height // 12))
    line_h = max(14, height // 12) * 5 // 4
    for n, line in enumerate(_wrap(draw, title, font, width - 40, max_lines=2)):
        draw.text((20, band_top + height // 24 + n * line_h), line, font=font, fill=(255, 255, 255))
    return img


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, max_width: int, max_lines: int) -> list[str]:
    """Greedy character wrap (Chinese has no spaces); the last line ends in … if cut."""
    lines: list[str] = []
    rest = text.strip()
    while rest and len(lines) < max_lines:
        n = len(rest)
        while n > 1 and draw.textlength(rest[:n], font=font) > max_width:
            n -= 1
        line, rest = rest[:n], rest[n:]
        if rest and len(lines) == max_lines - 1:
            while len(line) > 1 and draw.textlength(line + "…", font=font) > max_width:
                line = line[:-1]
            line += "…"
        lines.append(line)
    return lines


def _frame(base: Image.Image, index: int, fps: int) -> Image.Image:
    img = base.copy()
    draw = ImageDraw.Draw(img)
    w, h = img.size
    band_top = h * 3 // 5
    # a white bar sweeping across the colour bars, one pass per 4 seconds: the picture moves
    x = int((index % (fps * 4)) / (fps * 4) * w)
    draw.rectangle([x, 0, x + max(4, w // 40), band_top - 1], fill=(255, 255, 255))
    return img


def make_clip(
    path: Path, title: str, seconds: int = 20, width: int = 640, height: int = 360, fps: int = 10
) -> Path:
    """Write an H.264 MP4 test-pattern clip of ``seconds`` with ``title`` on it; returns ``path``.

    The file appears atomically (written under a temporary name, then renamed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = max(1, seconds * fps)
    base = _background(width, height, title)
    fd, tmp_name = tempfile.mkstemp(suffix=CLIP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp_name, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.options = {
                "preset": "veryfast",
                "crf": "30",
                "profile": "baseline",
                "g": str(fps * 2),
                "tune": "stillimage",
            }
            for i in range(total):
                frame = av.VideoFrame.from_image(_frame(base, i, fps))
                frame = frame.reformat(format="yuv420p")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def clip_name(key: str) -> str:
    """File name of the clip for ``key`` (e.g. a chapter slug)."""
    return f"{key}{CLIP_SUFFIX}"


def ensure_clips(media_dir: Path, titles: dict[str, str], seconds: int = 20) -> None:
    """Create ``media_dir/<key>.mp4`` for each ``key -> title`` that does not exist yet."""
    media_dir = Path(media_dir)
    for key, title in titles.items():
        target = media_dir / clip_name(key)
        if not target.exists():
            make_clip(target, title, seconds=seconds)
