"""Printable documents: a certificate to hand to its holder and a worker's archive
transcript, as PDF with Chinese text (reportlab's built-in CID font, no font files)."""
