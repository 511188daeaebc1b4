"""The street invite as pictures: a QR code (PNG) and a printable A5 sign-up card (PDF).

Pure Python: ``segno`` draws the QR code, ``fpdf2`` the PDF with a Unicode TrueType font and
text shaping (``uharfbuzz``), so Arabic is joined and runs right to left. The font is DejaVu
Sans from Debian's ``fonts-dejavu-core`` (Latin, Cyrillic and Arabic glyphs); another font can
be named with ``GANGMAKER_CARD_FONT``.

No error keys: nothing here is something a person can do wrong.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.i18n import translator

# The languages on the card: the most spoken in Rotterdam's streets after Dutch.
CARD_LANGUAGES = ("nl", "en", "tr", "ar", "pl", "uk")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
QR_BORDER = 4  # quiet zone in modules, as the QR standard asks
QR_SCALE = 10  # pixels per module in the PNG


class FontMissing(RuntimeError):
    """No TrueType font with Arabic glyphs: install fonts-dejavu-core (Debian)."""


def font_path() -> Path:
    configured = os.environ.get("GANGMAKER_CARD_FONT")
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("no font for the invite card: apt-get install fonts-dejavu-core")


def qr_code(link: str) -> segno.QRCode:
    # Error level M: a card that is folded or a little dirty still scans.
    return segno.make_qr(link, error="m")


def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    qr_code(link).save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


def card_pdf(*, link: str, street: str, languages: tuple[str, ...] = CARD_LANGUAGES) -> bytes:
    """An A5 page: the street's name, the QR code, the link, and per language a title ("Street
    news of <street>") and two lines. Right-to-left languages are right-aligned and shaped.
    A long street name makes the text smaller until the card fits on the page."""
    for scale in (1.0, 0.92, 0.85, 0.78, 0.72, 0.66):
        pdf = _card(link=link, street=street, languages=languages, scale=scale)
        if pdf.get_y() <= pdf.h - BOTTOM_MARGIN:
            break
    return bytes(pdf.output())


BOTTOM_MARGIN = 6  # mm


def _card(*, link: str, street: str, languages: tuple[str, ...], scale: float) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format=(148, 210))  # A5
    pdf.set_title(f"Street news {street}")
    pdf.set_creator("gangmaker-bot")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(12, 9, 12)
    pdf.add_font("card", "", str(font_path()))
    pdf.set_text_shaping(True)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def lines(text: str, size: float, height: float, align: str) -> None:
        pdf.set_font("card", size=size * scale)
        pdf.multi_cell(
            width, height * scale, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    # The street's own name (no language) as the heading; the titles follow per language.
    lines(street, 18, 8, "C")
    pdf.ln(1)
    size = 52 * min(1.0, scale + 0.1)
    pdf.image(io.BytesIO(qr_png(link)), x=(pdf.w - size) / 2, y=pdf.get_y(), w=size, h=size)
    pdf.set_y(pdf.get_y() + size + 1)
    lines(link, 8, 4, "C")
    pdf.ln(1.5)

    for code in languages:
        t = translator(code)
        align = "R" if t.rtl else "L"
        # Direction marks around the street name are for chat apps; the PDF's own bidi
        # algorithm places a Latin name inside an Arabic line.
        title = "".join(
            ch for ch in t._("Street news of {street}", street=street) if ch not in ISOLATES
        )
        lines(title, 10.5, 5, align)
        lines(t._("Scan the code with the camera of your phone."), 8.5, 3.9, align)
        lines(
            t._(
                "You get the news of your street in your own language, and you can send your"
                " gangmakers a tip. No name needed. Stop at any time."
            ),
            7.5,
            3.5,
            align,
        )
        pdf.ln(1.4 * scale)
    return pdf


ISOLATES = frozenset("\u2066\u2067\u2068\u2069\u200e\u200f")
