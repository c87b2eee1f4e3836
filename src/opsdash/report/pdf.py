"""The pack as PDF: the HTML pack printed by Chromium (Debian's, driven by Playwright), so charts stay vector
and the PDF shows exactly what the HTML shows. Landscape A4 or Letter, page numbers in the footer."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("OPSDASH_CHROMIUM", "/usr/bin/chromium"))
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
          '{title} · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>')


class PdfError(RuntimeError):
    pass


def render(html_text: str, title: str, paper: str = "A4") -> bytes:
    if not CHROMIUM.exists():
        raise PdfError(f"PDF packs need Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; `make run` "
                       "installs it when run as root), or set OPSDASH_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PdfError("PDF packs need Playwright: pip install playwright (make run installs it)") from exc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.set_content(html_text, wait_until="load")
            page.wait_for_function("() => [...document.querySelectorAll('.chart .plotly-graph-div')]"
                                   ".every(d => d.querySelector('.main-svg'))", timeout=60_000)
            page.emulate_media(media="print")
            return page.pdf(format=paper, landscape=True, print_background=True, display_header_footer=True,
                            header_template="<div></div>", footer_template=FOOTER.format(title=title),
                            margin={"top": "12mm", "bottom": "16mm", "left": "10mm", "right": "10mm"})
        finally:
            browser.close()
