"""The weekly review pack: content in pack.py, formats in html.py, xlsx.py and pdf.py, files by write()."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from opsdash.report import html, pdf, xlsx
from opsdash.report.pack import NoDataError, Pack, ReportError, build

FORMATS = ("pdf", "html", "xlsx")

__all__ = ["FORMATS", "NoDataError", "Pack", "ReportError", "build", "render", "write"]


def render(pack: Pack, fmt: str, paper: str = "A4") -> bytes:
    if fmt == "html":
        return html.render(pack).encode("utf-8")
    if fmt == "xlsx":
        return xlsx.render(pack)
    if fmt == "pdf":
        return pdf.render(html.render(pack), f"opsdash review · {pack.vendor} · {pack.period_label}", paper)
    raise ReportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write(pack: Pack, formats: list[str], out: Path, paper: str = "A4") -> list[Path]:
    """One file per format, named opsdash-review_<vendor>_<period>.<ext>, each written to a temporary file
    in the same folder and renamed over the old one (a reader never sees half a file)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        data = render(pack, fmt, paper)
        target = out / f"{pack.stem}.{fmt}"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=out)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
