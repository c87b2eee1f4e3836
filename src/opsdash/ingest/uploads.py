"""Files that arrive through the browser: checked before anything reads them, saved under safe names.

The Upload page hands every file here first: a size limit (``OPSDASH_UPLOAD_MAX_MB``, default 200), the
extensions opsdash reads, and a look at the first bytes so that a file is what its name says (an .xlsx is a
zip, a .parquet starts with PAR1). A refused file is reported like a refused load and never written to disk.
Then the loader applies the same contract and PHI rules as the command line.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from opsdash.ingest.errors import FileRefused

DEFAULT_MAX_MB = 200
EXTENSIONS = (".csv", ".txt", ".tsv", ".parquet", ".xlsx")
MAPPING_EXTENSIONS = (".toml",)
MAGIC = {".xlsx": (b"PK\x03\x04", "an Excel workbook (a zip archive)"), ".parquet": (b"PAR1", "a Parquet file")}


def max_bytes() -> int:
    raw = os.environ.get("OPSDASH_UPLOAD_MAX_MB") or str(DEFAULT_MAX_MB)
    try:
        mb = float(raw)
    except ValueError:
        raise FileRefused(f"OPSDASH_UPLOAD_MAX_MB={raw!r} is not a number of megabytes") from None
    return int(mb * 1024 * 1024)


def safe_name(name: str) -> str:
    """The browser's file name reduced to a plain file name: no folders, no control or shell characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if ch.isprintable())
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    stem, ext = os.path.splitext(base)
    return (stem[:120] or "upload") + ext.lower()[:10]


@dataclass(frozen=True)
class Checked:
    name: str  # the safe name it is saved under
    data: bytes


def check(name: str, data: bytes, *, mapping: bool = False, limit: int | None = None) -> Checked:
    """The file as it will be saved, or FileRefused saying what is wrong with it."""
    safe = safe_name(name)
    ext = os.path.splitext(safe)[1]
    allowed = MAPPING_EXTENSIONS if mapping else EXTENSIONS
    if ext not in allowed:
        raise FileRefused(f"{safe}: files ending {ext or '(no extension)'} are not accepted; expected "
                          + ", ".join(allowed))
    limit = max_bytes() if limit is None else limit
    if len(data) > limit:
        raise FileRefused(f"{safe}: {len(data) / 1024 / 1024:,.1f} MB is over the upload limit of "
                          f"{limit / 1024 / 1024:,.0f} MB (OPSDASH_UPLOAD_MAX_MB); load larger files with "
                          "`opsdash ingest`")
    if not data:
        raise FileRefused(f"{safe}: the file is empty")
    if ext in MAGIC and not data.startswith(MAGIC[ext][0]):
        raise FileRefused(f"{safe}: the name says {MAGIC[ext][1]} but the content is not one")
    return Checked(safe, data)


def save(files: list[Checked], folder: Path) -> list[Path]:
    """Write checked files into folder; two uploads with one name keep both (name-2.csv)."""
    paths: list[Path] = []
    taken: set[str] = set()
    for f in files:
        stem, ext = os.path.splitext(f.name)
        name, n = f.name, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}{ext}"
        taken.add(name)
        path = folder / name
        path.write_bytes(f.data)
        paths.append(path)
    return paths
