import subprocess
import time

import pytest

from domain.invoicing import ITEM_NAME
from media.pdf import CertificateView, InvoiceView, certificate_html, certificate_pdf, invoice_pdf

CERT = CertificateView(
    cert_no="HN2026-000123",
    trainee_name="张三",
    id_card_masked="4301**********1234",
    course_title="事业单位人员培训规定解读",
    hours="1.5",
    subject_category_label="公共科目",
    training_type_label="在岗培训",
    training_year=2026,
    school_name="湖南农业大学继续教育学院",
    issued_on="2026年11月28日",
    verify_url="http://127.0.0.1:8000/verify/k3J9xQ2mZpL8",
)

INVOICE = InvoiceView(
    invoice_no="26432000000000000123",
    issued_on="2026年11月28日",
    buyer_title="湖南省某某事业单位",
    buyer_tax_id="12430000444880045L",
    seller_name="湖南农业大学",
    seller_tax_id="12430000444880045L",
    items=[(ITEM_NAME, 8000), (ITEM_NAME, 4000)],
    rate_label="3%",
    net_cents=11650,
    tax_cents=350,
    total_cents=12000,
    drawer="李四",
)


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdfinfo(pdf: bytes) -> str:
    return subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdffonts(pdf: bytes) -> str:
    return subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.fixture(scope="module")
def cert_pdf() -> bytes:
    certificate_pdf(CERT)  # warm-up: first render loads fonts
    started = time.perf_counter()
    pdf = certificate_pdf(CERT)
    elapsed = time.perf_counter() - started
    print(f"\ncertificate render: {elapsed * 1000:.0f} ms, {len(pdf) / 1024:.0f} KB")
    assert elapsed < 1.0
    return pdf


def test_certificate_shows_chinese_text(cert_pdf: bytes) -> None:
    assert cert_pdf.startswith(b"%PDF-")
    text = pdftotext(cert_pdf)
    compact = "".join(text.split())
    for expected in [
        "学习证明",
        "兹证明张三",
        "4301**********1234",
        "《事业单位人员培训规定解读》",
        "公共科目",
        "在岗培训",
        "2026年",
        "1.5学时",
        "湖南农业大学继续教育学院",
        "2026年11月28日",
        "HN2026-000123",
        "扫描二维码查验本证明",
        CERT.verify_url,
    ]:
        assert expected in compact, expected


def test_certificate_is_one_a4_landscape_page_with_embedded_font(cert_pdf: bytes) -> None:
    info = pdfinfo(cert_pdf)
    assert "Pages:           1" in info
    assert "841.89 x 595.276 pts (A4)" in info
    fonts = pdffonts(cert_pdf)
    assert "WQY" in fonts
    assert all(" yes " in line for line in fonts.splitlines()[2:])  # embedded


def test_certificate_has_qr_image(cert_pdf: bytes) -> None:
    images = (
        subprocess.run(["pdfimages", "-list", "-"], input=cert_pdf, capture_output=True, check=True)
        .stdout.decode()
        .splitlines()[2:]
    )
    assert len(images) == 1


def test_long_title_stays_on_one_page_and_markup_is_escaped() -> None:
    long = CertificateView(
        **{**CERT.__dict__, "course_title": "专业技术人员" * 15, "trainee_name": "<b>王五</b>", "hours": 10}
    )
    html = certificate_html(long)
    assert "&lt;b&gt;王五&lt;/b&gt;" in html
    pdf = certificate_pdf(long)
    assert "Pages:           1" in pdfinfo(pdf)
    compact = "".join(pdftotext(pdf).split())
    assert "<b>王五</b>" in compact and "10学时" in compact


def test_invoice_pdf_text() -> None:
    pdf = invoice_pdf(INVOICE)
    compact = "".join(pdftotext(pdf).split())
    for expected in [
        "电子发票（普通发票）",
        "26432000000000000123",
        "湖南省某某事业单位",
        "12430000444880045L",
        ITEM_NAME,
        "¥80.00",
        "¥40.00",
        "3%",
        "金额¥116.50",
        "税额¥3.50",
        "价税合计（大写）",
        "壹佰贰拾元整",
        "（小写）¥120.00",
        "开票人：李四",
    ]:
        assert expected in compact, expected
    assert "红字" not in compact
    assert "Pages:           1" in pdfinfo(pdf)


def test_red_letter_invoice() -> None:
    red = InvoiceView(
        **{
            **INVOICE.__dict__,
            "invoice_no": "26432000000000000200",
            "items": [(ITEM_NAME, -12000)],
            "net_cents": -11650,
            "tax_cents": -350,
            "total_cents": -12000,
            "red_letter_of": "26432000000000000123",
            "buyer_tax_id": None,
        }
    )
    compact = "".join(pdftotext(invoice_pdf(red)).split())
    assert "红字发票" in compact
    assert "被红冲蓝字发票号码：26432000000000000123" in compact
    assert "负壹佰贰拾元整" in compact and "-¥120.00" in compact
    assert "None" not in compact
