"""QR codes as PNG (certificate verification links, payment QR codes)."""

from __future__ import annotations

import base64
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(url: str, box_size: int = 6, border: int = 2) -> bytes:
    """PNG bytes of a QR code encoding ``url``."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(url)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def qr_data_uri(url: str, box_size: int = 6) -> str:
    """``data:image/png;base64,...`` of the QR code, for an <img src> or a PDF template."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url, box_size)).decode("ascii")
