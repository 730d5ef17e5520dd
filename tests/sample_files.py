"""Real files for the loader tests, made on the spot: PDFs with a Chinese text layer, a CJK system font."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A real PDF with a Chinese text layer (Adobe CID font, no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("STSong-Light", 11)
        y = 800
        for line in lines:
            c.drawString(40, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


def cjk_font() -> str | None:
    """A system font with Chinese glyphs (Debian: fonts-wqy-microhei or fonts-noto-cjk)."""
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
        files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
        if files:
            return sorted(files)[0]
    return None
