"""The CID fonts every printed document uses (Adobe's Asian font packs cover them in any
PDF reader; nothing is embedded, so documents stay small)."""

from __future__ import annotations

from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

SONG: Final = "STSong-Light"

pdfmetrics.registerFont(UnicodeCIDFont(SONG))
