"""The printable certificate and the archive transcript, through the HTTP API, looked at
as a person would: each PDF's first page rendered to an image (pypdfium2) and checked to
carry ink where the title, the holder's details and the QR code go, and its text read
back. The tests need a CJK font on the machine for the renderer (scripts/setup-env
installs one); the PDFs themselves use a reader's built-in Chinese font."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from PIL import Image

from policy.idnumber import person_key
from skillflow.settings import Role
from tests.integration.steps import Auth, eventually, new_id_number, today
from tests.integration.test_credentials import HOLDER, issued_certificate
from tests.integration.test_prior_certificates import import_prior, older_number, prior

# The worker and the consumers run for every test here (certificates issued, then archived).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker", "consumers")]


def first_page(pdf: bytes, png: Path) -> tuple[Image.Image, str, int]:
    """The first page as an image (also saved to ``png``), all pages' text, the page count."""
    document = pdfium.PdfDocument(pdf)
    image = document[0].render(scale=1.5).to_pil().convert("RGB")
    image.save(png)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    return image, text, len(document)


def ink(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    """The share of non-white pixels in ``box`` (fractions of the width and height)."""
    width, height = image.size
    region = image.crop(
        (int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height))
    ).convert("L")
    histogram = region.histogram()
    return sum(histogram[:160]) / sum(histogram)


async def test_printable_certificate_and_archive_transcript(
    stack: Any, api: httpx.AsyncClient, auth: Auth, events: Any, tmp_path: Path
) -> None:
    id_number = new_id_number()
    key = person_key(id_number, stack.settings.person_key_secret_bytes)
    earlier = older_number()
    await import_prior(api, auth, prior(id_number, earlier, 5, today() - timedelta(days=3000)))
    number = await issued_certificate(api, auth, events, id_number)

    path = f"/certificates/{number}/certificate.pdf"
    assert (await api.post(path, json={"holder_name": "李四"})).status_code == 404
    response = await api.post(path, json={"holder_name": HOLDER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    image, text, pages = first_page(response.content, tmp_path / "certificate.png")
    assert pages == 1 and image.size[0] > image.size[1], "one landscape page"
    for shown in (number, HOLDER, "钳工", "五级/初级工", "职业技能等级证书", "扫码查验"):
        assert shown in text, shown
    assert f"{stack.settings.credential_base_url}/certificates/{number}" in text
    assert ink(image, (0, 0, 1, 1)) > 0.02, "the page is not blank"
    assert ink(image, (0.3, 0.15, 0.7, 0.25)) > 0.03, "the Chinese title is drawn"
    qr = ink(image, (0.72, 0.66, 0.86, 0.86))
    assert 0.25 < qr < 0.75, f"the QR code's modules are drawn ({qr:.2f} dark)"

    revoked = await api.post(
        f"/certificates/{number}/revocation",
        headers=auth(Role.REGULATOR),
        json={"reason": "the practical score was altered"},
    )
    assert revoked.status_code == 200, revoked.text

    async def archived() -> Any:
        response = await api.get(f"/records/archives/{key}", headers=auth(Role.RECORDS_OFFICER))
        kinds = [e["entry_kind"] for e in response.json().get("timeline", [])]
        return response.json() if "certificate_revoked" in kinds else None

    archive = await eventually(archived, timeout=60)

    exported = await api.get(
        f"/records/archives/{key}/export.json", headers=auth(Role.RECORDS_OFFICER)
    )
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    assert exported.json()["archive"]["person_key"] == key
    assert {c["certificate_number"] for c in exported.json()["archive"]["certificates"]} == {
        earlier,
        number,
    }
    refused = await api.get(f"/records/archives/{key}/transcript.pdf", headers=auth(Role.CENTRE))
    assert refused.status_code == 403

    response = await api.get(
        f"/records/archives/{key}/transcript.pdf", headers=auth(Role.RECORDS_OFFICER)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    image, text, _ = first_page(response.content, tmp_path / "transcript.png")
    assert ink(image, (0, 0, 1, 1)) > 0.005, "the page is not blank"
    assert ink(image, (0.05, 0.18, 0.95, 0.5)) > 0.02, "the tables are drawn"
    assert ink(image, (0.3, 0.0, 0.7, 0.08)) > 0.01, "the Chinese title is drawn"
    assert HOLDER in text and earlier in text and number in text
    # Entries in order, the revocation a later entry than the issue it corrects.
    kinds = [e["entry_kind"] for e in archive["timeline"]]
    assert kinds.index("certificate_imported") < kinds.index("certificate_issued")
    assert kinds.index("certificate_issued") < kinds.index("certificate_revoked")
    flat = text.replace("\r", "").replace("\n", "")
    assert flat.index("导入既有证书") < flat.index("颁发证书") < flat.index("证书撤销")
    assert "撤销 revoked" in flat and "导入 imported" in flat
