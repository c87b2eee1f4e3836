"""Reading export files: format, encoding and dialect detection, headers, and raw rows.

Every reader exposes the file as text columns ``c0 .. cN`` (one per header) so that
validation is the same SQL whatever the format. Line numbers are physical lines of a
CSV file (header = line 1), rows of a worksheet, or rows of a Parquet file (first = 1).
A CSV line ends at LF, CRLF or a lone CR (the old-Mac ending), as Python's universal
newlines count them; so CR CR LF is a line and then an empty line.

Encodings: UTF-8 (with or without BOM), UTF-16 with a BOM (LE or BE), Windows-1252 and
Latin-1. A file that is not UTF-8 is read as Windows-1252 and recorded as "windows-1252"
when it holds a byte 0x80-0x9F (Windows' quotes, dashes, euro) and as "latin-1" otherwise
(the two agree on every other byte). The five bytes Windows-1252 leaves undefined (0x81,
0x8D, 0x8F, 0x90, 0x9D) are read as the Latin-1 control characters U+0081.., as the WHATWG
encoding standard that browsers follow does, rather than refusing a whole file for one
stray byte. Anything else (UTF-16 without a BOM, UTF-32, binary) is refused, naming what
was found. Files DuckDB cannot read as they are (gzip, UTF-16, Windows-1252) are first
rewritten as UTF-8 into a private temporary folder, streaming, so memory stays bounded.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import io
import os
import re
import shutil
import zlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from opsdash.ingest.errors import FileRefused

CHUNK = 8 << 20
DELIMITERS = (",", ";", "|", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "|": "pipe", "\t": "tab"}
BATCH_ROWS = 50_000
#: A Python batch is also flushed once its text reaches this many characters (bounded memory for wide rows).
BATCH_CHARS = 32 << 20
#: The longest line (and field) read; DuckDB's reader gets the same bound.
MAX_LINE_BYTES = 16 << 20
csv.field_size_limit(MAX_LINE_BYTES)

#: Encodings a CSV can be read in: recorded name -> Python codec.
CODECS = {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16",
          "windows-1252": "cp1252", "latin-1": "latin-1"}
ENCODING_WORDS = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 (little-endian)", "utf-16-be": "UTF-16 (big-endian)",
                  "windows-1252": "Windows-1252", "latin-1": "Latin-1"}
EXPECTED_TEXT = "expected UTF-8, UTF-16 with a byte-order mark, Windows-1252 or Latin-1 text"
_C1 = re.compile(rb"[\x80-\x9f]")


def _c1_controls(exc: UnicodeError) -> tuple[str, int]:
    """Windows-1252's five undefined bytes as Latin-1 control characters (the WHATWG mapping)."""
    if isinstance(exc, UnicodeDecodeError):
        return "".join(chr(b) for b in exc.object[exc.start:exc.end]), exc.end
    raise exc


codecs.register_error("opsdash-c1", _c1_controls)

#: Settings for bounded resources, read from the environment at each load: name -> (default, meaning).
LIMIT_SETTINGS: dict[str, tuple[float, str]] = {
    "OPSDASH_MAX_UNCOMPRESSED_MB": (1024, "the largest a compressed file may be once uncompressed, in MB: a "
                                          ".csv.gz file's content, and the sum of an .xlsx file's zip members"),
    "OPSDASH_MAX_ZIP_RATIO": (200, "the most an .xlsx file's zip member may expand (uncompressed size / "
                                   "compressed size); more is refused as a zip bomb"),
    "OPSDASH_MAX_CELL_MB": (1, "the longest text an .xlsx cell may hold, in MB (Excel itself stops at 32,767 "
                               "characters)"),
}


@dataclass(frozen=True)
class Limits:
    uncompressed_bytes: int
    zip_ratio: float
    cell_chars: int


def limits() -> Limits:
    """The resource limits in force (environment, else the defaults in LIMIT_SETTINGS)."""
    got: dict[str, float] = {}
    for name, (default, _meaning) in LIMIT_SETTINGS.items():
        raw = os.environ.get(name) or str(default)
        try:
            got[name] = float(raw)
        except ValueError:
            raise FileRefused(f"{name}={raw!r} is not a number; expected a number such as {default:g}") from None
        if got[name] <= 0:
            raise FileRefused(f"{name}={raw!r} must be more than 0")
    return Limits(int(got["OPSDASH_MAX_UNCOMPRESSED_MB"] * (1 << 20)), got["OPSDASH_MAX_ZIP_RATIO"],
                  int(got["OPSDASH_MAX_CELL_MB"] * (1 << 20)))


def _mb(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= (1 << 20) else f"{n / (1 << 20):,.3g} MB"


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
    lone_cr: bool = False  # a CR not followed by LF ends a line somewhere (DuckDB's reader cannot mix endings)
    delimiter: str | None = None
    read_path: Path | None = None  # what readers open: a pattern-free link, or the file rewritten as UTF-8
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def source(self) -> Path:
        return self.read_path or self.path


def detect_encoding(data: bytes, name: str) -> tuple[str, bool]:
    """(encoding, has BOM) from a file's first bytes; FileRefused naming what was found for what opsdash cannot read."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise FileRefused(f"{name}: the file is UTF-32 text (it starts with a UTF-32 byte-order mark); "
                          f"{EXPECTED_TEXT}: save it again as UTF-8")
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", True
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", True
    bom = data.startswith(codecs.BOM_UTF8)
    sample = data[:65536]
    first_nul = sample.find(b"\x00")
    if first_nul >= 0:
        n = len(sample) // 4 * 4
        quads = [sample[i:n:4].count(0) / max(1, n // 4) for i in range(4)]
        pairs = [sample[i:n:2].count(0) / max(1, n // 2) for i in range(2)]
        if n and (quads[1] > 0.9 and quads[2] > 0.9 and quads[3] > 0.9 or quads[0] > 0.9 and quads[1] > 0.9 and quads[2] > 0.9):
            raise FileRefused(f"{name}: looks like UTF-32 text without a byte-order mark (three bytes in every four "
                              f"are 0x00); {EXPECTED_TEXT}: save it again as UTF-8")
        if n and (pairs[1] > 0.9 and pairs[0] < 0.5 or pairs[0] > 0.9 and pairs[1] < 0.5):
            order = "little" if pairs[1] > 0.9 else "big"
            raise FileRefused(f"{name}: looks like UTF-16 ({order}-endian) without a byte-order mark (every other "
                              f"byte is 0x00); {EXPECTED_TEXT}: save it again as UTF-8, or as UTF-16 with a BOM")
        raise FileRefused(f"{name}: holds 0x00 bytes (the first at byte {first_nul + 1}), so it is a binary file, "
                          f"not delimited text; {EXPECTED_TEXT}")
    try:  # the head may end inside a character: only a complete file must end on a whole one
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        return "utf-8", bom
    except UnicodeDecodeError:
        return "windows-1252", bom


def sniff_file(path: Path, forced_encoding: str | None = None) -> FileInfo:
    """Format by content, and for CSV the encoding, from the file's first bytes."""
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
            data = zlib.decompressobj(wbits=47).decompress(head, CHUNK) if gz else head
        except zlib.error as exc:
            raise FileRefused(f"{path.name}: not a readable gzip file ({exc})") from exc
        encoding, info.bom = detect_encoding(data, path.name)
        if not encoding.startswith("utf-16"):
            info.lone_cr = _has_lone_cr(data if len(head) < CHUNK and not gz else data[:-1])
        info.encoding = forced_encoding or encoding
    return info


#: A CR that does not start a CRLF. One pass of the regular expression engine costs a third of counting CRs
#: and CRLFs (the CRLF count is a two-byte search), and the digest does it over the whole file.
_LONE_CR = re.compile(rb"\r(?!\n)")


def _has_lone_cr(data: bytes) -> bool:
    return _LONE_CR.search(data) is not None


class LineCounter:
    """Counts lines (LF, CRLF or lone CR), trailing blank lines and lone CRs of text fed in chunks."""

    def __init__(self) -> None:
        self.newlines = 0
        self.lone_cr = False
        self._cr_pending = False
        self._last = b""

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._cr_pending and not data.startswith(b"\n"):
            self.lone_cr = True
        self.newlines += data.count(b"\n")
        if not self.lone_cr:
            # A CR that ends the chunk is settled by the next one (pending), so a match there is not yet lone.
            found = _LONE_CR.search(data)
            self.lone_cr = found is not None and found.start() != len(data) - 1
        self._cr_pending = data.endswith(b"\r")
        self._last = (self._last + data[-256:])[-256:]  # not the whole chunk: that copied 8 MB per chunk

    def finish(self, info: FileInfo) -> None:
        if self._cr_pending:
            self.lone_cr = True
        last = self._last
        info.lone_cr = self.lone_cr
        info.lines = self.newlines + (1 if last and not last.endswith(b"\n") else 0)
        tail = last.replace(b"\r", b"")
        info.trailing_blank_lines = max(0, len(tail) - len(tail.rstrip(b"\n")) - 1)


def digest_file(info: FileInfo) -> FileInfo:
    """One full pass over the bytes: SHA-256 and, for a plain UTF-8 CSV, lines, trailing blank lines, lone CRs
    and UTF-8 validity (a gzip or non-UTF-8 CSV is counted by ``transcode`` instead).

    Runs beside DuckDB's read of the same file (hashlib releases the GIL), so it costs little wall time.
    """
    sha = hashlib.sha256()
    count = info.format == "csv" and not info.gzip and info.encoding == "utf-8"
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    lines = LineCounter()
    with info.path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            if not count:
                continue
            lines.feed(chunk)
            if utf8_ok and not chunk.isascii():
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
    info.sha256 = sha.hexdigest()
    if count:
        if utf8_ok:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
        info.utf8_valid = utf8_ok
        lines.finish(info)
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


# -- paths DuckDB can take ---------------------------------------------------------------------

#: Characters DuckDB's file readers treat as a glob pattern.
GLOB_CHARS = frozenset("*?[]{}")


def literal_path(path: Path, workdir: Path) -> Path:
    """A path DuckDB reads as exactly this one file: never a pattern.

    DuckDB expands ``*``, ``?``, ``[...]`` (and more) in every path given to read_csv or read_parquet, with no
    option to turn that off, so a file whose path holds one of them is read through a symbolic link with a
    plain name in the load's private temporary folder.
    """
    resolved = path.resolve()
    if not GLOB_CHARS & set(str(resolved)):
        return resolved
    if GLOB_CHARS & set(str(workdir)):
        raise FileRefused(f"{path.name}: the temporary folder {workdir} holds a character DuckDB reads as a "
                          "pattern; set TMPDIR to a plain folder")
    link = workdir / ("input" + "".join(s for s in resolved.suffixes if not GLOB_CHARS & set(s))[-16:])
    link.unlink(missing_ok=True)
    os.symlink(resolved, link)
    return link


# -- CSV ------------------------------------------------------------------------------------

def _open_raw(info: FileInfo) -> IO[bytes]:
    if info.gzip and info.read_path is None:
        return gzip.open(info.path, "rb")
    return info.source.open("rb")


def _open_text(info: FileInfo) -> IO[str]:
    errors = "opsdash-c1" if info.encoding == "windows-1252" else "strict"
    return io.TextIOWrapper(_open_raw(info), encoding=CODECS.get(info.encoding, info.encoding), errors=errors,
                            newline="")


def transcode(info: FileInfo, dest: Path, lim: Limits) -> FileInfo:
    """Rewrite a gzip or non-UTF-8 CSV as plain UTF-8 at dest, streaming; the view of it that readers use.

    Counts lines as digest_file does, settles Windows-1252 against Latin-1, and stops at the uncompressed-size
    limit (a gzip file's content may be hundreds of times its size).
    """
    errors = "opsdash-c1" if info.encoding == "windows-1252" else "strict"
    decoder = codecs.getincrementaldecoder(CODECS.get(info.encoding, info.encoding))(errors)
    lines = LineCounter()
    c1 = False
    raw_total = 0
    plain_utf8 = info.encoding == "utf-8"
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    try:
        with _open_raw(info) as src, dest.open("wb") as out:
            while True:
                chunk = src.read(CHUNK)
                final = not chunk
                raw_total += len(chunk)
                if info.gzip and raw_total > lim.uncompressed_bytes:
                    raise FileRefused(
                        f"{info.name}: uncompressed, this gzip file is more than {_mb(lim.uncompressed_bytes)} "
                        f"(the limit, OPSDASH_MAX_UNCOMPRESSED_MB; its compressed size is {_mb(info.size)}); "
                        "expected a smaller export, or split it into several files")
                if not c1 and info.encoding == "windows-1252" and _C1.search(chunk):
                    c1 = True
                if plain_utf8:
                    # UTF-8 already (a gzip file): copied as it is, only checked, and without its BOM.
                    if raw_total == len(chunk) and chunk.startswith(codecs.BOM_UTF8):
                        chunk = chunk[len(codecs.BOM_UTF8):]
                    if utf8_ok and not chunk.isascii():
                        try:
                            utf8.decode(chunk)
                        except UnicodeDecodeError:
                            utf8_ok = False
                    lines.feed(chunk)
                    out.write(chunk)
                    if final:
                        break
                    continue
                try:
                    text = decoder.decode(chunk, final=final)
                except UnicodeDecodeError as exc:
                    raise FileRefused(
                        f"{info.name}: not valid {ENCODING_WORDS.get(info.encoding, info.encoding)} near line "
                        f"{lines.newlines + 1} (bytes {exc.object[exc.start:exc.start + 4].hex(' ')}: {exc.reason}); "
                        f"{EXPECTED_TEXT}") from exc
                data = text.encode("utf-8")
                lines.feed(data)
                out.write(data)
                if final:
                    break
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        dest.unlink(missing_ok=True)
        raise _cut_short(info) from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    if info.encoding == "windows-1252" and not c1:
        info.encoding = "latin-1"  # no byte where the two differ: say what it is
    if plain_utf8 and utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    view = replace(info, read_path=dest, gzip=False, encoding="utf-8", bom=False, utf8_valid=utf8_ok)
    lines.finish(view)
    return view


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


def _too_long(info: FileInfo, line: int) -> FileRefused:
    return FileRefused(f"{info.name}: line {line} is longer than {_mb(MAX_LINE_BYTES)}; expected lines of "
                       "delimited text (a file that is not a CSV, or a quote that is never closed, reads as one "
                       "endless line)")


def _line_ends(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _not_decodable(info: FileInfo, exc: UnicodeDecodeError) -> FileRefused:
    """Name the line of the first byte that does not decode (the text layer decodes ahead, so it is found again)."""
    decoder = codecs.getincrementaldecoder(CODECS.get(info.encoding, info.encoding))("strict")
    line, bad = 1, exc.object[exc.start]
    with _open_raw(info) as fh:
        while chunk := fh.read(1 << 16):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as found:
                line += _line_ends(found.object[:found.start])
                bad = found.object[found.start]
                break
            line += _line_ends(chunk)
    return FileRefused(f"{info.name}: line {line} is not valid {ENCODING_WORDS.get(info.encoding, info.encoding)} "
                       f"(byte 0x{bad:02x}); {EXPECTED_TEXT}, or a mapping file naming the encoding")


def _physical_lines(fh: IO[str], info: FileInfo) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE_BYTES characters (a longer one is refused, naming it)."""
    n = 0
    while True:
        try:
            s = fh.readline(MAX_LINE_BYTES + 1)
        except UnicodeDecodeError as exc:
            raise _not_decodable(info, exc) from exc
        if not s:
            return
        n += 1
        if len(s) > MAX_LINE_BYTES:
            raise _too_long(info, n)
        yield s


def read_csv_header(info: FileInfo, forced_delimiter: str | None = None) -> tuple[list[str], str]:
    try:
        with _open_text(info) as fh:
            first_line = next(_physical_lines(fh, info), "")
    except (EOFError, zlib.error, OSError) as exc:
        raise _cut_short(info) from exc
    if not first_line.strip():
        raise FileRefused(f"{info.name}: the first line is empty; expected the header row on line 1")
    delim = forced_delimiter or detect_delimiter(first_line)
    header = next(csv.reader([first_line.rstrip("\r\n")], delimiter=delim, quotechar='"'))
    return header, delim


def iter_csv_records(info: FileInfo, delim: str) -> Iterator[tuple[int, list[str]]]:
    """Data records with the physical line each starts on (the header is skipped)."""
    with _open_text(info) as fh:
        reader = csv.reader(_physical_lines(fh, info), delimiter=delim, quotechar='"', doublequote=True)
        prev = 0
        i = 0
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger" not in str(exc):
                    raise FileRefused(f"{info.name}: line {reader.line_num} cannot be read as delimited text "
                                      f"({exc}); expected fields separated by {DELIMITER_NAMES.get(delim, delim)}s, "
                                      "quoted with \"") from exc
                raise FileRefused(f"{info.name}: a field that starts on line {prev + 1} is longer than "
                                  f"{_mb(MAX_LINE_BYTES)} (by line {reader.line_num}); expected fields of a CSV, "
                                  "with every quote closed") from exc
            start = prev + 1
            prev = reader.line_num
            i += 1
            if i == 1 or not rec:
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


def column_letter(index: int) -> str:
    """Excel's column letters for a 1-based column number (1 -> A, 27 -> AA)."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


class _CellTooLong(Exception):
    def __init__(self, ref: str | None) -> None:
        self.ref = ref


@dataclass
class _PartScan:
    """What one XML part of a workbook holds that openpyxl would not say: formulas without a saved value."""

    formulas_without_value: list[str] = field(default_factory=list)
    count: int = 0


def _scan_part(stream: IO[bytes], cell_chars: int) -> _PartScan:
    """Stream one XML part through expat: refuse any text run over cell_chars; list formula cells with no value.

    expat hands character data over in pieces, so a 300 MB cell is measured without ever being held.
    """
    from xml.parsers import expat

    scan = _PartScan()
    parser = expat.ParserCreate()
    parser.buffer_text = False
    state: dict[str, Any] = {"run": 0, "ref": None, "row": 0, "col": 0, "f": False, "v": False, "in_v": False,
                             "t": None}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        state["run"] = 0
        if local == "row":
            state["row"] = int(attrs["r"]) if attrs.get("r", "").isdigit() else state["row"] + 1
            state["col"] = 0
        elif local == "c":
            ref = attrs.get("r")
            m = re.match(r"([A-Z]+)(\d+)$", ref or "")
            if m:
                state["col"] = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(m.group(1))))
            else:
                state["col"] += 1
                ref = f"{column_letter(state['col'])}{state['row']}"
            state.update(ref=ref, f=False, v=False, t=attrs.get("t"))
        elif local == "f":
            state["f"] = True
        elif local == "v":
            state["in_v"] = True
        elif local == "is":
            state["v"] = True

    def end(name: str) -> None:
        local = name.rsplit(":", 1)[-1]
        state["run"] = 0
        if local == "v":
            state["in_v"] = False
        elif local == "c":
            # An empty cached value is a value only for a text formula (Excel writes ="" so).
            if state["f"] and not state["v"] and state["t"] != "str":
                scan.count += 1
                if len(scan.formulas_without_value) < 10:
                    scan.formulas_without_value.append(state["ref"])
            state["ref"] = None

    def text(data: str) -> None:
        state["run"] += len(data)
        if state["in_v"] and data.strip():
            state["v"] = True
        if state["run"] > cell_chars:
            raise _CellTooLong(state["ref"])

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    while chunk := stream.read(1 << 20):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return scan


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _needs_scan(stream: IO[bytes], cell_chars: int) -> bool:
    """Whether a part may hold a text over the limit or a formula: a quick pass in C before expat's slow one.

    A text run is the bytes between two '<' (at least its characters), and a formula is an <f> element; most
    exported sheets have neither, and are then read by expat no more than openpyxl reads them.
    """
    run = 0
    tail = b""
    while chunk := stream.read(1 << 20):
        if _FORMULA.search(tail + chunk):
            return True
        tail = chunk[-8:]
        pieces = chunk.split(b"<")
        if len(pieces) == 1:
            run += len(chunk)
        else:
            if run + len(pieces[0]) > cell_chars or max(map(len, pieces)) > cell_chars:
                return True
            run = len(pieces[-1])
        if run > cell_chars:
            return True
    return False


def check_workbook(info: FileInfo, lim: Limits) -> dict[str, _PartScan]:
    """Before openpyxl reads anything: refuse zip bombs and over-long cells; scan each worksheet part.

    openpyxl reads every shared string into memory when it opens a workbook, so the sizes are checked from the
    zip directory (zipfile stops at a member's declared size, so the declaration cannot lie) and the text of
    every XML part is measured first, streaming.
    """
    from xml.parsers import expat

    try:
        zf = zipfile.ZipFile(info.path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused(f"{info.name}: not a readable Excel workbook ({exc}); expected an .xlsx file") from exc
    with zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        if total > lim.uncompressed_bytes:
            raise FileRefused(f"{info.name}: uncompressed, the workbook's parts come to {_mb(total)}, more than the "
                              f"limit of {_mb(lim.uncompressed_bytes)} (OPSDASH_MAX_UNCOMPRESSED_MB; the file is "
                              f"{_mb(info.size)}); expected a smaller workbook, or its rows exported as CSV")
        for m in members:
            ratio = m.file_size / max(m.compress_size, 1)
            if m.file_size > (1 << 20) and ratio > lim.zip_ratio:
                raise FileRefused(f"{info.name}: the workbook part {printable(m.filename, 60)} expands {ratio:,.0f} "
                                  f"times ({_mb(m.compress_size)} to {_mb(m.file_size)}), more than the limit of "
                                  f"{lim.zip_ratio:g} (OPSDASH_MAX_ZIP_RATIO); expected a workbook as Excel saves "
                                  "it, not a zip bomb")
        scans: dict[str, _PartScan] = {}
        for m in members:
            if not m.filename.lower().endswith(".xml"):
                continue
            try:
                with zf.open(m) as stream:
                    if not _needs_scan(stream, lim.cell_chars):
                        continue
                with zf.open(m) as stream:
                    scans[m.filename] = _scan_part(stream, lim.cell_chars)
            except _CellTooLong as exc:
                where = f"cell {exc.ref} of part {m.filename}" if exc.ref else f"part {m.filename}"
                raise FileRefused(f"{info.name}: {printable(where, 80)} holds a text longer than {_mb(lim.cell_chars)} "
                                  "(the limit, OPSDASH_MAX_CELL_MB); expected cells as Excel writes them (at most "
                                  "32,767 characters)") from None
            except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise FileRefused(f"{info.name}: not a readable Excel workbook (part {printable(m.filename, 60)}: "
                                  f"{exc}); expected an .xlsx file") from exc
    return scans


def open_xlsx(info: FileInfo, sheet: str | None, lim: Limits | None = None
              ) -> tuple[list[str], Iterator[tuple[int, list[str | None]]], Callable[[], None]]:
    """Header and data rows (with Excel row numbers) of the named or first visible worksheet.

    Hidden and very hidden sheets are passed over (and said in the warnings) unless a mapping names one; a
    worksheet with formula cells that hold no saved value is refused, naming them, since their values would
    otherwise read as empty.
    """
    import openpyxl

    from openpyxl.utils.exceptions import InvalidFileException

    scans = check_workbook(info, lim or limits())
    try:
        wb = openpyxl.load_workbook(info.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
        raise FileRefused(f"{info.name}: not a readable Excel workbook ({exc}); expected an .xlsx file") from exc
    worksheets = [ws for ws in wb.worksheets if hasattr(ws, "iter_rows")]
    visible = [ws for ws in worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if sheet is not None:
        if sheet not in wb.sheetnames or not hasattr(wb[sheet], "iter_rows"):
            wb.close()
            raise FileRefused(f"{info.name}: no worksheet named {sheet!r}; the workbook has "
                              + ", ".join(repr(s.title) for s in worksheets))
        ws = wb[sheet]
        if getattr(ws, "sheet_state", "visible") != "visible":
            info.warnings.append(f"read worksheet {ws.title!r}, which is {ws.sheet_state} in Excel, as the mapping names it")
    elif visible:
        ws = visible[0]
        skipped = [n for n in wb.sheetnames if n != ws.title and wb.sheetnames.index(n) < wb.sheetnames.index(ws.title)]
        hidden = {s.title: s.sheet_state for s in worksheets if s.title in skipped and s not in visible}
        others = [n for n in skipped if n not in hidden]
        if hidden:
            said = ", ".join(f"{t!r} ({'very hidden' if st == 'veryHidden' else st})" for t, st in hidden.items())
            info.warnings.append(f"read worksheet {ws.title!r}, the first visible one; passed over hidden sheet(s) "
                                 f"{said} before it (a mapping file's sheet key reads a named sheet)")
        if others:
            info.warnings.append(f"read worksheet {ws.title!r}; skipped non-data sheet(s) {', '.join(others)}")
    else:
        wb.close()
        what = "only hidden worksheets" if worksheets else "no worksheet with cells"
        raise FileRefused(f"{info.name}: the workbook has {what}; expected data on a visible worksheet")
    scan = scans.get(str(getattr(ws, "_worksheet_path", "")).lstrip("/"))
    if scan and scan.count:
        wb.close()
        cells = ", ".join(scan.formulas_without_value) + (f" and {scan.count - 10} more" if scan.count > 10 else "")
        raise FileRefused(f"{info.name}: worksheet {ws.title!r} has {scan.count} formula cell(s) with no saved value "
                          f"({cells}), which would read as empty; expected values: open the workbook in Excel, let it "
                          "calculate and save it again, or export the sheet as CSV")
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


# -- Parquet --------------------------------------------------------------------------------

def parquet_columns(info: FileInfo) -> list[str]:
    """The column names as the file holds them (DuckDB renames a repeated name, which would hide it)."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(info.path).names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRefused(f"{info.name}: not a readable Parquet file ({exc}); expected a complete Parquet file") from exc


# -- turning Python rows into a DuckDB table ----------------------------------------------------

def arrow_batches(records: Iterator[tuple[int, list[Any]]], ncols: int,
                  on_ragged: Callable[[int, list[Any]], None]) -> Iterator[pa.Table]:
    """Batches of ``c0..cN`` text columns plus ``_line``; ragged records go to ``on_ragged``.

    A batch ends at BATCH_ROWS rows or BATCH_CHARS characters, whichever comes first, so wide rows stay bounded.
    """
    names = [f"c{i}" for i in range(ncols)] + ["_line"]
    cols: list[list[Any]] = [[] for _ in range(ncols)]
    lines: list[int] = []
    chars = 0
    for line, rec in records:
        if len(rec) != ncols:
            on_ragged(line, rec)
            continue
        for i, v in enumerate(rec):
            cols[i].append(v)
            if v is not None:
                chars += len(v)
        lines.append(line)
        if len(lines) >= BATCH_ROWS or chars >= BATCH_CHARS:
            yield pa.table([pa.array(c, pa.string()) for c in cols] + [pa.array(lines, pa.int64())], names=names)
            cols = [[] for _ in range(ncols)]
            lines = []
            chars = 0
    yield pa.table([pa.array(c, pa.string()) for c in cols] + [pa.array(lines, pa.int64())], names=names)
