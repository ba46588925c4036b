"""Upload checks: the content decides the type (never the file name or the browser's claim).

Images are decoded and re-encoded, which drops metadata (EXIF, GPS, text chunks) and anything
appended to or hidden in the file. PDFs are kept as they are: serve them as attachments with
``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from domain.errors import DomainError

#: Refuse images above this many pixels (decompression bombs) before decoding them.
MAX_PIXELS = 40_000_000

_MAGIC: tuple[tuple[str, bytes], ...] = (
    ("png", b"\x89PNG\r\n\x1a\n"),
    ("jpeg", b"\xff\xd8\xff"),
    ("gif", b"GIF87a"),
    ("gif", b"GIF89a"),
    ("bmp", b"BM"),
)
_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
PDF_CONTENT_TYPE = "application/pdf"


def _magic_kind(data: bytes) -> str | None:
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for kind, magic in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def sniff_image(data: bytes) -> str | None:
    """ "png" | "jpeg" | "gif" | "webp" | "bmp" if the bytes are such an image (magic bytes agree
    with what Pillow finds, and Pillow's verify passes), else None."""
    kind = _magic_kind(data)
    if kind is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != _PIL_FORMAT[kind]:
                    return None
                w, h = img.size
                if w <= 0 or h <= 0 or w * h > MAX_PIXELS:
                    return None
                img.verify()
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        EOFError,
    ):
        return None
    return kind


def sniff_pdf(data: bytes) -> bool:
    """True if the bytes look like a PDF: the ``%PDF-1.x``/``%PDF-2.x`` header and an ``%%EOF``
    marker near the end."""
    if not (data.startswith(b"%PDF-1.") or data.startswith(b"%PDF-2.")):
        return False
    return b"%%EOF" in data[-2048:]


def reencode_image_typed(data: bytes, max_side: int = 2000) -> tuple[bytes, str]:
    """(re-encoded bytes, content type). JPEG and WEBP become JPEG, other images PNG; orientation
    from EXIF is applied, then all metadata is dropped; RGB only; longest side at most
    ``max_side``. Raises ``ValueError`` if ``data`` is not an image we accept."""
    kind = sniff_image(data)
    if kind is None:
        raise ValueError("not an accepted image")
    with Image.open(io.BytesIO(data)) as src:
        src.seek(0)
        img = ImageOps.exif_transpose(src)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            img = flat
        else:
            img = img.convert("RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind in ("jpeg", "webp"):
        img.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue(), CONTENT_TYPES["jpeg"]
    img.save(out, format="PNG", optimize=True)
    return out.getvalue(), CONTENT_TYPES["png"]


def reencode_image(data: bytes, max_side: int = 2000) -> bytes:
    """Re-encoded image bytes (see ``reencode_image_typed``)."""
    return reencode_image_typed(data, max_side)[0]


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise DomainError("UploadTooLarge", f"文件过大（不能超过{_size_label(max_bytes)}）")


def _size_label(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g}MB"
    if n >= 1024:
        return f"{n / 1024:g}KB"
    return f"{n}字节"


def accept_authorization_image(data: bytes, max_bytes: int) -> bytes:
    """A letter of authorization (委托书): an image only; returns the re-encoded image.

    ``UploadTooLarge`` above ``max_bytes``; ``AuthorizationImageOnly`` for anything else (a PDF,
    a text file renamed .png, a broken image)."""
    _check_size(data, max_bytes)
    if sniff_image(data) is None:
        raise DomainError("AuthorizationImageOnly")
    return reencode_image(data)


def accept_evidence(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """Evidence for an hours entry: an image (re-encoded) or a PDF (kept as is), with its
    content type. ``UploadTooLarge`` / ``EvidenceFileType``."""
    _check_size(data, max_bytes)
    if sniff_image(data) is not None:
        return reencode_image_typed(data)
    if sniff_pdf(data):
        return data, PDF_CONTENT_TYPE
    raise DomainError("EvidenceFileType")
