import base64
import io

from PIL import Image

from media.qr import qr_data_uri, qr_png

URL = "http://127.0.0.1:8000/verify/k3J9xQ2mZpL8"


def test_qr_png_is_a_square_black_and_white_png() -> None:
    data = qr_png(URL)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
        assert w == h and w >= 100
        colours = {c for _, c in (img.convert("L").getcolors() or [])}
    assert colours == {0, 255}


def test_box_size_scales_image() -> None:
    with (
        Image.open(io.BytesIO(qr_png(URL, box_size=3))) as small,
        Image.open(io.BytesIO(qr_png(URL, box_size=6))) as big,
    ):
        assert big.size[0] == 2 * small.size[0]


def test_different_urls_give_different_codes() -> None:
    assert qr_png(URL) != qr_png(URL + "x")


def test_data_uri() -> None:
    uri = qr_data_uri(URL)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == qr_png(URL)


def test_pixels_are_the_ones_the_qrcode_library_draws() -> None:
    """The fast rendering shows exactly the modules of the library's own drawing of the same code."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from media.qr import FIXED_MASK

    reference = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=6, border=2, mask_pattern=FIXED_MASK)
    reference.add_data(URL)
    reference.make(fit=True)
    drawn = io.BytesIO()
    reference.make_image(fill_color="black", back_color="white").save(drawn, format="PNG")
    with Image.open(io.BytesIO(qr_png(URL))) as ours, Image.open(drawn) as theirs:
        assert ours.size == theirs.size
        assert list(ours.convert("L").getdata()) == list(theirs.convert("L").getdata())
