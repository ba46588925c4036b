import io

import pytest
from fastapi import UploadFile
from PIL import Image, PngImagePlugin

from api.uploads import read_upload, refuse_oversize, saved_upload
from domain.errors import DomainError
from media.uploads import (
    accept_authorization_image,
    accept_evidence,
    reencode_image,
    sniff_image,
    sniff_pdf,
)

MB = 1024 * 1024
MINI_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def image_bytes(fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **save: object) -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    if mode == "RGB":
        img.paste((0, 0, 255), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    img.save(out, format=fmt, **save)
    return out.getvalue()


def jpeg_with_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Corp"  # Make
    exif[0x0131] = "secret-software 1.0"  # Software
    exif[0x0112] = orientation
    return image_bytes("JPEG", exif=exif.tobytes())


@pytest.mark.parametrize(
    ("fmt", "kind"), [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp")]
)
def test_sniff_known_images(fmt: str, kind: str) -> None:
    assert sniff_image(image_bytes(fmt)) == kind


def test_text_file_renamed_png_is_refused() -> None:
    text = "这是一个文本文件，不是图片。\n".encode()
    assert sniff_image(text) is None
    with pytest.raises(DomainError) as info:
        accept_authorization_image(text, 5 * MB)
    assert info.value.message == "委托书文件只能上传图片格式"


def test_fake_magic_bytes_are_refused() -> None:
    fake_png = b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10
    assert sniff_image(fake_png) is None
    truncated = image_bytes("PNG", (200, 200))[:60]
    assert sniff_image(truncated) is None
    with pytest.raises(DomainError):
        accept_authorization_image(fake_png, 5 * MB)


def test_pdf_is_not_an_authorization_image() -> None:
    with pytest.raises(DomainError) as info:
        accept_authorization_image(MINI_PDF, 5 * MB)
    assert info.value.code == "AuthorizationImageOnly"


def test_too_large_upload() -> None:
    data = image_bytes("PNG")
    with pytest.raises(DomainError) as info:
        accept_authorization_image(data, len(data) - 1)
    assert info.value.code == "UploadTooLarge"
    assert info.value.message.startswith("文件过大")
    with pytest.raises(DomainError) as info:
        accept_evidence(b"x" * (5 * MB + 1), 5 * MB)
    assert info.value.message == "文件过大（不能超过5MB）"


def test_reencoded_image_is_still_an_image_without_exif() -> None:
    src = jpeg_with_exif()
    assert b"SpyCam" in src
    out = accept_authorization_image(src, 5 * MB)
    assert b"SpyCam" not in out and b"secret-software" not in out
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG"
        assert img.mode == "RGB"
        assert img.size == (40, 20)
        assert len(img.getexif()) == 0
        left, right = img.getpixel((5, 10)), img.getpixel((35, 10))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[2] > 200 and right[0] > 150  # the picture itself survives


def test_exif_orientation_applied_before_stripping() -> None:
    out = reencode_image(jpeg_with_exif(orientation=6))
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (20, 40)


def test_appended_payload_and_png_text_are_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "hidden-note")
    src = image_bytes("PNG", pnginfo=info) + b"PK\x03\x04appended-zip-payload"
    assert sniff_image(src) == "png"
    out = reencode_image(src)
    assert b"hidden-note" not in out and b"appended-zip-payload" not in out
    assert sniff_image(out) == "png"


def test_transparent_png_flattened_on_white_and_large_image_shrunk() -> None:
    src = image_bytes("PNG", (3000, 1500), mode="RGBA")
    out = reencode_image(src, max_side=2000)
    with Image.open(io.BytesIO(out)) as img:
        assert img.mode == "RGB"
        assert img.size == (2000, 1000)
        assert img.getpixel((10, 10)) == (255, 255, 255)


def test_evidence_image_and_pdf() -> None:
    data, ctype = accept_evidence(image_bytes("GIF"), 5 * MB)
    assert ctype == "image/png" and sniff_image(data) == "png"
    data, ctype = accept_evidence(image_bytes("WEBP"), 5 * MB)
    assert ctype == "image/jpeg" and sniff_image(data) == "jpeg"
    data, ctype = accept_evidence(MINI_PDF, 5 * MB)
    assert (data, ctype) == (MINI_PDF, "application/pdf")


def test_evidence_other_types_refused() -> None:
    for data in [b"hello", b"PK\x03\x04zipfile", b"%PDF-1.4 but never ends", b""]:
        with pytest.raises(DomainError) as info:
            accept_evidence(data, 5 * MB)
        assert info.value.message == "证明材料只能上传图片或PDF文件"


def test_sniff_pdf() -> None:
    assert sniff_pdf(MINI_PDF)
    assert not sniff_pdf(b"%PDF-1.4\nno end marker")
    assert not sniff_pdf(b"<html>%PDF-1.4 %%EOF</html>")


# ---- api/uploads.py: the one reader of UploadFile -------------------------------------------------


def _form_file(data: bytes, filename: str = "clip.mp4") -> UploadFile:
    return UploadFile(io.BytesIO(data), filename=filename)


async def test_no_chosen_file_reads_as_none() -> None:
    assert await read_upload(None, 10) is None
    assert await read_upload(_form_file(b"x", filename=""), 10) is None  # the field, no file chosen
    async with saved_upload(_form_file(b"x", filename=""), 10, ".mp4") as saved:
        assert saved is None


async def test_read_upload_reads_one_byte_over_the_limit_at_most() -> None:
    upload = await read_upload(_form_file(b"a" * 50, filename="../../证明.pdf"), 10)
    assert upload is not None and upload.data == b"a" * 11 and upload.filename == "证明.pdf"
    with pytest.raises(DomainError) as refused:
        refuse_oversize(len(upload.data), 10)
    assert (refused.value.code, refused.value.message) == ("UploadTooLarge", "文件过大（不能超过10字节）")


async def test_saved_upload_streams_to_a_temporary_file_that_is_gone_afterwards() -> None:
    async with saved_upload(_form_file(b"v" * (3 * MB)), 4 * MB, ".mp4") as saved:
        assert saved is not None and saved.size == 3 * MB and saved.filename == "clip.mp4"
        assert saved.path.suffix == ".mp4" and saved.path.read_bytes() == b"v" * (3 * MB)
    assert not saved.path.exists()
    async with saved_upload(_form_file(b"v" * (3 * MB)), MB, ".mp4") as cut:
        assert cut is not None and cut.size == MB + 1 == cut.path.stat().st_size  # refused by the service
    assert not cut.path.exists()
