"""The printable certificate: number, holder, occupation, level, issuing body, date, and a
QR code that opens the public verification of the number."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Final

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from policy.catalogue import NATIONAL_LEVEL_NAMES
from printing.fonts import SONG

_RED: Final = HexColor("#9b1c1c")
_INK: Final = HexColor("#1f2933")
_QR_SIZE: Final = 42 * mm


@dataclass(frozen=True)
class PrintedCertificate:
    certificate_number: str
    holder_name: str
    occupation_code: str
    occupation_name: str
    level: int
    body_name: str
    issued_on: date
    verification_url: str
    revoked: bool = False


def _qr(canvas: Canvas, content: str, x: float, y: float) -> None:
    widget = QrCodeWidget(content, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(
        _QR_SIZE,
        _QR_SIZE,
        transform=[_QR_SIZE / (right - left), 0, 0, _QR_SIZE / (top - bottom), 0, 0],
    )
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def certificate_pdf(certificate: PrintedCertificate) -> bytes:
    """One landscape A4 page."""
    out = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(out, pagesize=(width, height), invariant=True)
    canvas.setTitle(f"职业技能等级证书 {certificate.certificate_number}")
    canvas.setAuthor(certificate.body_name)
    # A double frame, as a printed certificate has.
    canvas.setStrokeColor(_RED)
    canvas.setLineWidth(3)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    canvas.setFillColor(_RED)
    canvas.setFont(SONG, 34)
    canvas.drawCentredString(width / 2, height - 45 * mm, "职业技能等级证书")
    canvas.setFont(SONG, 12)
    canvas.drawCentredString(width / 2, height - 54 * mm, "Vocational Skill Level Certificate")

    level_name = NATIONAL_LEVEL_NAMES[certificate.level]
    rows = [
        ("证书编号", certificate.certificate_number),
        ("姓　　名", certificate.holder_name),
        ("职业（工种）", f"{certificate.occupation_name}（{certificate.occupation_code}）"),
        ("等　　级", f"{level_name}（{certificate.level}级）"),
        ("评价机构", certificate.body_name),
        ("发证日期", certificate.issued_on.strftime("%Y年%m月%d日")),
    ]
    canvas.setFillColor(_INK)
    y = height - 78 * mm
    for label, value in rows:
        canvas.setFont(SONG, 15)
        canvas.drawString(40 * mm, y, f"{label}：")
        canvas.setFont(SONG, 17)
        canvas.drawString(80 * mm, y, value)
        y -= 14 * mm

    qr_x, qr_y = width - 40 * mm - _QR_SIZE, 30 * mm
    _qr(canvas, certificate.verification_url, qr_x, qr_y)
    canvas.setFont(SONG, 9)
    canvas.drawCentredString(qr_x + _QR_SIZE / 2, qr_y - 5 * mm, "扫码查验 Scan to verify")
    canvas.setFont(SONG, 8)
    canvas.drawString(40 * mm, 24 * mm, f"查验地址 {certificate.verification_url}")
    if certificate.revoked:
        # A revoked certificate is still printable for the record, never as a valid one.
        canvas.saveState()
        canvas.setFillColor(_RED)
        canvas.setFont(SONG, 60)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(20)
        canvas.drawCentredString(0, 0, "已撤销 REVOKED")
        canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return out.getvalue()
