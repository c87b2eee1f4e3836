"""Reading export files: format, encoding and dialect detection, headers, and raw rows.

Every reader exposes the file as text columns ``c0 .. cN`` (one per header) so that
validation is the same SQL whatever the format. Line numbers are physical lines of a
CSV file (header = line 1), rows of a worksheet, or rows of a Parquet file (first = 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import zlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from opsdash.ingest.errors import FileRefused

CHUNK = 8 << 20
DELIMITERS = (",", ";", "|", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "|": "pipe", "\t": "tab"}
BATCH_ROWS = 50_000
csv.field_size_limit(1 << 30)


@dataclass
class FileInfo:
    path: Path
    sha256: str
    size: int
    format: str  # csv | parquet | xlsx
    gzip: bool = False
    encoding: str = "utf-8"
    bom: bool = False
    lines: int = 0  # physical lines of a (decompressed) CSV
    trailing_blank_lines: int = 0
    utf8_valid: bool = True
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def sniff_file(path: Path, forced_encoding: str | None = None) -> FileInfo:
    """Format by content, and for CSV a first guess of the encoding, from the file's first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(CHUNK)
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise FileRefused(f"{path}: no such file") from exc
    except OSError as exc:
        raise FileRefused(f"{path}: cannot be read ({exc.strerror})") from exc
    fmt, gz = _sniff_format(path, head)
    info = FileInfo(path=path, sha256="", size=size, format=fmt, gzip=gz)
    if fmt == "csv":
        try:
            data = zlib.decompressobj(wbits=47).decompress(head) if gz else head
        except zlib.error as exc:
            raise FileRefused(f"{path.name}: not a readable gzip file ({exc})") from exc
        info.bom = data.startswith(codecs.BOM_UTF8)
        try:  # a head that is the whole file must end on a whole character too
            codecs.getincrementaldecoder("utf-8")().decode(data, final=len(head) < CHUNK and not gz)
            guess = "utf-8"
        except UnicodeDecodeError:
            guess = "latin-1"
        info.encoding = forced_encoding or guess
    return info


def digest_file(info: FileInfo) -> FileInfo:
    """One full pass over the bytes: SHA-256 and, for CSV, line count, trailing blank lines and UTF-8 validity.

    Runs beside DuckDB's read of the same file (hashlib releases the GIL), so it costs little wall time.
    """
    sha = hashlib.sha256()
    decomp = zlib.decompressobj(wbits=47) if info.gzip else None
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    newlines = 0
    last = b""
    with info.path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            if info.format != "csv":
                continue
            try:
                data = decomp.decompress(chunk) if decomp else chunk
            except zlib.error as exc:
                raise FileRefused(f"{info.name}: not a readable gzip file ({exc})") from exc
            if data:
                newlines += data.count(b"\n")
                last = (last + data)[-256:]
                if utf8_ok and not data.isascii():
                    try:
                        utf8.decode(data)
                    except UnicodeDecodeError:
                        utf8_ok = False
    if decomp is not None and not decomp.eof:
        raise _cut_short(info)
    info.sha256 = sha.hexdigest()
    if info.format == "csv":
        if utf8_ok:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
        info.utf8_valid = utf8_ok
        info.lines = newlines + (1 if last and not last.endswith(b"\n") else 0)
        tail = last.replace(b"\r", b"")
        info.trailing_blank_lines = max(0, len(tail) - len(tail.rstrip(b"\n")) - 1)
    return info


def _sniff_format(path: Path, head: bytes) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    by_name = "xlsx" if suffixes[-1:] in ([".xlsx"], [".xlsm"]) else "parquet" if suffixes[-1:] in ([".parquet"], [".pq"]) else None
    if head.startswith(b"PAR1"):
        return "parquet", False
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", False
    if by_name == "xlsx":
        raise FileRefused(f"{path.name}: not an Excel workbook (an .xlsx file is a zip archive; this one is not); "
                          "expected an .xlsx saved by Excel or exported as such")
    if by_name == "parquet":
        raise FileRefused(f"{path.name}: not a Parquet file (no PAR1 header); expected a Parquet file")
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRefused(f"{path.name}: the file is empty; expected a header row and data rows")
    return "csv", head.startswith(b"\x1f\x8b")


# -- CSV ------------------------------------------------------------------------------------

def _open_text(info: FileInfo) -> IO[str]:
    raw: IO[bytes]
    if info.gzip:
        import gzip

        raw = gzip.open(info.path, "rb")
    else:
        raw = info.path.open("rb")
    enc = "utf-8-sig" if info.encoding == "utf-8" else info.encoding
    return io.TextIOWrapper(raw, encoding=enc, newline="")


def printable(text: str, limit: int = 40) -> str:
    """Text from a file as it may appear in a message: control characters replaced, shortened."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter seen most often outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cut_short(info: FileInfo) -> FileRefused:
    return FileRefused(f"{info.name}: the gzip file is cut short (it ends before its end-of-stream marker); "
                       "expected a complete .gz file")


def read_csv_header(info: FileInfo, forced_delimiter: str | None = None) -> tuple[list[str], str]:
    try:
        with _open_text(info) as fh:
            first_line = fh.readline()
    except (EOFError, zlib.error, OSError) as exc:
        raise _cut_short(info) from exc
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{info.name}: the header row is not valid {info.encoding} (byte 0x{exc.object[exc.start]:02x} "
                          f"at position {exc.start}); expected UTF-8 or Latin-1 text, or a mapping file naming the "
                          "encoding") from exc
    if not first_line.strip():
        raise FileRefused(f"{info.name}: the first line is empty; expected the header row on line 1")
    delim = forced_delimiter or detect_delimiter(first_line)
    header = next(csv.reader([first_line.rstrip("\r\n")], delimiter=delim, quotechar='"'))
    return header, delim


def iter_csv_records(info: FileInfo, delim: str) -> Iterator[tuple[int, list[str]]]:
    """Data records with the physical line each starts on (the header is skipped)."""
    with _open_text(info) as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar='"', doublequote=True)
        prev = 0
        for i, rec in enumerate(reader):
            start = prev + 1
            prev = reader.line_num
            if i == 0 or not rec:
                continue
            yield start, rec


# -- xlsx -----------------------------------------------------------------------------------

def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def open_xlsx(info: FileInfo, sheet: str | None) -> tuple[list[str], Iterator[tuple[int, list[str | None]]], Callable[[], None]]:
    """Header and data rows (with Excel row numbers) of the named or first worksheet."""
    import openpyxl

    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(info.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
        raise FileRefused(f"{info.name}: not a readable Excel workbook ({exc}); expected an .xlsx file") from exc
    worksheets = [ws for ws in wb.worksheets if hasattr(ws, "iter_rows")]
    if sheet is not None:
        if sheet not in wb.sheetnames or not hasattr(wb[sheet], "iter_rows"):
            wb.close()
            raise FileRefused(f"{info.name}: no worksheet named {sheet!r}; the workbook has "
                              + ", ".join(repr(s.title) for s in worksheets))
        ws = wb[sheet]
    elif worksheets:
        ws = worksheets[0]
        skipped = [n for n in wb.sheetnames if n != ws.title and wb.sheetnames.index(n) < wb.sheetnames.index(ws.title)]
        if skipped:
            info.warnings.append(f"read worksheet {ws.title!r}; skipped non-data sheet(s) {', '.join(skipped)}")
    else:
        wb.close()
        raise FileRefused(f"{info.name}: the workbook has no worksheet with cells; expected data on the first worksheet")
    rows = ws.iter_rows(values_only=True)
    header: list[str] | None = None
    header_row = 0
    for r, values in enumerate(rows, start=1):
        if any(v is not None and str(v).strip() for v in values):
            header = [_cell_text(v) or "" for v in values]
            header_row = r
            break
    if header is None:
        wb.close()
        raise FileRefused(f"{info.name}: worksheet {ws.title!r} is empty; expected a header row and data rows")
    while header and not header[-1]:
        header.pop()

    def data() -> Iterator[tuple[int, list[str | None]]]:
        for r, values in enumerate(rows, start=header_row + 1):
            cells = [_cell_text(v) for v in values]
            while cells and (cells[-1] is None or cells[-1] == ""):
                cells.pop()
            if cells:
                # Empty trailing cells are empty values; only values beyond the header make a row ragged.
                yield r, cells + [None] * (len(header) - len(cells))

    return header, data(), wb.close


# -- turning Python rows into a DuckDB table ----------------------------------------------------

def arrow_batches(records: Iterator[tuple[int, list[Any]]], ncols: int,
                  on_ragged: Callable[[int, list[Any]], None]) -> Iterator[pa.Table]:
    """Batches of ``c0..cN`` text columns plus ``_line``; ragged records go to ``on_ragged``."""
    names = [f"c{i}" for i in range(ncols)] + ["_line"]
    cols: list[list[Any]] = [[] for _ in range(ncols)]
    lines: list[int] = []
    for line, rec in records:
        if len(rec) != ncols:
            on_ragged(line, rec)
            continue
        for i, v in enumerate(rec):
            cols[i].append(v)
        lines.append(line)
        if len(lines) >= BATCH_ROWS:
            yield pa.table([pa.array(c, pa.string()) for c in cols] + [pa.array(lines, pa.int64())], names=names)
            cols = [[] for _ in range(ncols)]
            lines = []
    yield pa.table([pa.array(c, pa.string()) for c in cols] + [pa.array(lines, pa.int64())], names=names)
