"""PDF renderers (WeasyPrint): the study certificate (学习证明) and the electronic invoice.

Chinese text uses WenQuanYi Micro Hei, loaded from its file by ``@font-face`` (fontconfig's
family name is the fallback), so the glyphs are embedded in the PDF.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection
from jinja2 import Environment, FileSystemLoader, select_autoescape
from weasyprint import HTML

from domain.catalog import format_hours, format_money
from domain.money import cny_uppercase
from media.qr import qr_data_uri

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# a browser showing the markup (学习证明预览) may not load a file:// font: the site serves it here
FONT_WEB_PATH = "/fonts/wqy-microhei.ttf"


@dataclass(frozen=True)
class CertificateView:
    cert_no: str
    trainee_name: str
    id_card_masked: str
    course_title: str
    hours: Decimal | float | int | str  # shown as "2" / "1.5"
    subject_category_label: str
    training_type_label: str
    training_year: int
    school_name: str
    issued_on: str  # e.g. "2026年11月28日" or "2026-11-28"
    verify_url: str


@dataclass(frozen=True)
class InvoiceView:
    invoice_no: str
    issued_on: str
    buyer_title: str
    buyer_tax_id: str | None
    seller_name: str
    seller_tax_id: str
    items: list[tuple[str, int]]  # (item name, tax-inclusive amount in fen)
    rate_label: str  # "3%" / "6%" / "免税"
    net_cents: int
    tax_cents: int
    total_cents: int
    remark: str = ""
    drawer: str = ""
    red_letter_of: str | None = None  # the blue invoice a red-letter invoice reverses

    @property
    def total_uppercase(self) -> str:
        """价税合计（大写）, e.g. 壹佰贰拾元整."""
        return cny_uppercase(self.total_cents)


@lru_cache(maxsize=1)
def web_font() -> bytes:
    """The collection's first face as a plain TrueType font: browsers refuse the .ttc file itself
    (Chromium's font sanitizer: "FFTM: misaligned table"); re-saving realigns every table."""
    collection = TTCollection(str(FONT_PATH), lazy=True)
    face = collection.fonts[0]
    if "FFTM" in face:
        del face["FFTM"]  # FontForge's timestamps: of no use to a browser
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]))
    env.filters["money"] = format_money
    env.filters["hours"] = format_hours
    return env


def _html(template: str, font_url: str | None = None, **ctx: object) -> str:
    return _env().get_template(template).render(font_url=font_url or FONT_PATH.as_uri(), **ctx)


def _pdf(html: str) -> bytes:
    pdf = HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf()
    assert pdf is not None
    return pdf


def certificate_html(cert: CertificateView, font_url: str | None = None) -> str:
    """The certificate as HTML (the markup the PDF is made from; usable as a print preview, with
    ``font_url`` = ``FONT_WEB_PATH`` for a browser)."""
    return _html(
        "certificate.html",
        font_url=font_url,
        cert=cert,
        hours=format_hours(cert.hours),
        qr=qr_data_uri(cert.verify_url),
    )


def certificate_pdf(cert: CertificateView) -> bytes:
    """A4 landscape 学习证明 with the verification QR code."""
    return _pdf(certificate_html(cert))


def invoice_html(inv: InvoiceView) -> str:
    return _html("invoice.html", inv=inv)


def invoice_pdf(inv: InvoiceView) -> bytes:
    """电子发票（普通发票） layout with items, tax split and 价税合计 in uppercase."""
    return _pdf(invoice_html(inv))
