"""QR codes as PNG (certificate verification links, payment QR codes)."""

from __future__ import annotations

import base64
import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

# Any of the eight masks is valid for every reader. Choosing the "best" one scores all eight and was
# three quarters of the cost of the cashier's QR page (bench/orders.py).
FIXED_MASK = 0


def qr_modules(url: str, border: int = 2) -> list[list[bool]]:
    """The code's dark (True) and light modules, quiet zone included."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border, mask_pattern=FIXED_MASK)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_png(url: str, box_size: int = 6, border: int = 2) -> bytes:
    """PNG bytes of a QR code encoding ``url``: one pixel per module, scaled up without smoothing
    (drawing each module as a rectangle costs ten times as much)."""
    modules = qr_modules(url, border)
    n = len(modules)
    img = Image.frombytes("L", (n, n), bytes(0 if dark else 255 for row in modules for dark in row))
    out = io.BytesIO()
    img.resize((n * box_size, n * box_size), Image.Resampling.NEAREST).convert("1").save(out, format="PNG")
    return out.getvalue()


def qr_data_uri(url: str, box_size: int = 6) -> str:
    """``data:image/png;base64,...`` of the QR code, for an <img src> or a PDF template."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url, box_size)).decode("ascii")
