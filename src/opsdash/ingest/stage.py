"""Stage a file: read it into the temporary table ``_stage``, every row typed and checked by the SELECT that
validate.stage_select compiles, with the line each row came from.

A clean UTF-8 CSV takes the fast path: DuckDB's own reader, its rejects (lines that do not split into the
header's columns) turned into malformed rows with the reasons said for people. Anything it cannot number
exactly (line breaks inside quotes, blank lines, mixed line endings, bytes that are not UTF-8) and every
worksheet takes the Python path, which reads line by line. Parquet is read by DuckDB with its row numbers.
Beside the read, a thread makes the file's full pass (SHA-256, line count, UTF-8 check): see Digest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from opsdash import phi
from opsdash.ingest import readers
from opsdash.ingest.checkpoints import Progress
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.plan import Source
from opsdash.ingest.params import Params
from opsdash.store import StoreError, Tx
from opsdash.store import quote_ident as qi

#: The checkpoint (see checkpoints.py) before the file is read.
CHECKPOINT = "reading"

MAX_LINE_BYTES = readers.MAX_LINE_BYTES
#: Rows that cannot be split into the header's columns are kept as rejects up to this many; a file with more is
#: not delimited text of this table, and refusing it keeps memory bounded whatever the input.
MAX_MALFORMED = 100_000
#: Characters of a malformed line kept in its reject (masked before it is cut).
MALFORMED_KEEP = 4096

#: The staging SELECT over a source: (bound values, source SQL yielding c0..cN, extra columns kept) -> SQL.
Select = Callable[[Params, str, tuple[str, ...]], str]

#: A line that could not be split into the header's columns: (line, column, reason, raw line).
Malformed = tuple[int, str | None, str, str]


class Staged:
    """What staging produced: SQL numbering each row of ``_stage s`` by its line in the file (with the join it
    needs), and the lines that could not be parsed at all."""

    def __init__(self, line_sql: str, line_join: str, malformed: list[Malformed]) -> None:
        self.line_sql = line_sql
        self.line_join = line_join
        self.malformed = malformed


class FastReadFailed(Exception):
    """DuckDB's bulk CSV read failed; the transaction is aborted and the load is retried with the Python reader."""


class Digest:
    """The file's full pass (SHA-256, line count, UTF-8 check) in a thread beside DuckDB's read."""

    def __init__(self, info: readers.FileInfo) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(info,), daemon=True)
        self._thread.start()

    def _run(self, info: readers.FileInfo) -> None:
        try:
            readers.digest_file(info)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the loading thread by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def malformed_reason(expected: int, found: int) -> str:
    """Why a line with the wrong number of fields is malformed, in words."""
    return f"expected {expected} columns (as in the header), found {found}"


def add_malformed(malformed: list[Malformed], name: str, ncols: int, line: int, column: str | None, reason: str,
                  raw: str, length: int | None = None) -> None:
    """Keep one malformed line (its text masked, then cut); refuse a file with more than MAX_MALFORMED of them."""
    if len(malformed) >= MAX_MALFORMED:
        first = malformed[0]
        raise FileRefused(f"{name}: more than {MAX_MALFORMED:,} lines cannot be split into the header's {ncols} "
                          f"columns (the first is line {first[0]}: {first[2]}); expected delimited text with the "
                          "header's columns: check the delimiter and the quotes")
    length = max(length or 0, len(raw))
    if length > phi.MAX_RAW_CHARS:
        # Only the start is looked at (a line may be 16 MB), masked before it is cut, so no piece of an identifier
        # is left behind; the note says how long the whole line was.
        raw = phi.capped(raw[:MALFORMED_KEEP], length)
    malformed.append((line, column, reason, raw))


def stage(tx: Tx, info: readers.FileInfo, source: Source, select: Select, digest: Digest,
          forced_encoding: str | None, say: Progress, work: Path, lim: readers.Limits,
          python_reader: bool) -> Staged:
    """Read the file into the temporary table _stage (typed columns plus checks)."""
    headers, delim = source.headers, source.delimiter
    if info.format == "parquet":
        params = Params()
        src = ", ".join(f"CAST({qi(h)} AS VARCHAR) AS c{i}" for i, h in enumerate(source.sql_names))
        sql = select(params, f"SELECT {src}, file_row_number + 1 AS _line FROM read_parquet("
                             f"{params(str(info.read_path))}, file_row_number=true)", ("_line",))
        tx.execute(f"CREATE TEMP TABLE _stage AS {sql}", params.values)
        return Staged("s._line", "", [])
    if info.format != "csv":
        assert source.xlsx_rows is not None
        return stage_python(tx, source.xlsx_rows, headers, "\t", select, info.name)
    staged: Staged | None = None
    view = readable(info, work, lim, say)
    if not python_reader and not view.lone_cr:
        staged = stage_csv_fast(tx, view, delim, headers, select, digest)
        if staged is None and not view.utf8_valid and not forced_encoding:
            # The first chunk looked like UTF-8 but the rest is not: it is Windows-1252 (or Latin-1).
            info.encoding = "windows-1252"
            view = readable(info, work, lim, say)
            staged = stage_csv_fast(tx, view, delim, headers, select, digest)
    if staged is None:
        digest.wait()
        if not view.utf8_valid and not forced_encoding:
            info.encoding = "windows-1252"
            view = readable(info, work, lim, say)
        say("reading (exact line numbers)")
        staged = stage_python(tx, readers.iter_csv_records(view, delim), headers, delim, select, info.name)
    return staged


def readable(info: readers.FileInfo, work: Path, lim: readers.Limits, say: Progress) -> readers.FileInfo:
    """The CSV as DuckDB can read it: plain UTF-8 at a literal path (rewritten into `work` when it is not)."""
    if info.gzip or info.encoding != "utf-8":
        say("reading (as UTF-8)")
        return readers.transcode(info, work / "utf8.csv", lim)
    info.read_path = readers.literal_path(info.path, work)
    return info


def stage_csv_fast(tx: Tx, info: readers.FileInfo, delim: str, headers: list[str], select: Select,
                   digest: Digest) -> Staged | None:
    """Bulk-read a CSV with DuckDB; None when line numbers could not be exact (use the Python reader)."""
    ncols = len(headers)
    # The path is a literal one (readers.literal_path): DuckDB would expand a pattern.
    assert info.read_path is not None and info.encoding == "utf-8" and not info.gzip
    p = Params()
    src = (f"SELECT {', '.join(f'c{i}' for i in range(ncols))} FROM read_csv({p(str(info.read_path))}, "
           f"header=false, skip=1, auto_detect=false, columns={p({f'c{i}': 'VARCHAR' for i in range(ncols)})}, "
           f"delim={p(delim)}, quote={p(chr(34))}, escape={p(chr(34))}, encoding={p('utf-8')}, "
           f"compression={p('none')}, store_rejects=true, rejects_table='_rej_err', rejects_scan='_rej_scan', "
           f"max_line_size={MAX_LINE_BYTES}, strict_mode=true, null_padding=false)")
    try:
        tx.execute(f"CREATE TEMP TABLE _stage AS {select(p, src, ())}", p.values)
    except StoreError as exc:
        # DuckDB's CSV errors (mixed line endings, an over-long line, bytes that are not UTF-8) name no line
        # a person can use, and leave the transaction aborted: the load starts again with the Python reader,
        # which reads what DuckDB cannot and names the line of what it cannot either.
        raise FastReadFailed(str(exc)) from exc
    staged = tx.fetchone("SELECT count(*) FROM _stage")[0]  # type: ignore[index]
    n_rej = tx.fetchone("SELECT count(DISTINCT line) FROM _rej_err")[0]  # type: ignore[index]
    rej = tx.fetchall("SELECT line, min(column_name), list(DISTINCT error_type), list(error_message)[1], "
                      "left(any_value(csv_line), ?), max(length(csv_line)) FROM _rej_err "
                      "GROUP BY line ORDER BY line LIMIT ?", [MALFORMED_KEEP, MAX_MALFORMED + 1])
    tx.execute("DROP TABLE IF EXISTS _rej_err")
    tx.execute("DROP TABLE IF EXISTS _rej_scan")
    digest.wait()
    if (not info.utf8_valid and info.encoding == "utf-8") or info.lone_cr:
        tx.execute("DROP TABLE _stage")
        return None
    single_line = all("\n" not in (r[4] or "").rstrip("\r\n") for r in rej)
    if info.lines - info.trailing_blank_lines != 1 + staged + n_rej or not single_line:
        tx.execute("DROP TABLE _stage")
        return None
    malformed: list[Malformed] = []
    for line, column, types, message, raw, length in rej:
        found = message.rsplit("Found:", 1)[-1].strip() if "Found:" in message else None
        if found and found.isdigit():
            reason = malformed_reason(ncols, int(found))
        elif "LINE SIZE OVER MAXIMUM" in types:
            reason = f"the line is longer than {MAX_LINE_BYTES >> 20} MB; expected lines of at most {MAX_LINE_BYTES >> 20} MB"
        elif "UNQUOTED VALUE" in types or "UNTERMINATED QUOTES" in types:
            reason = "a quote is not closed or stray text follows a quoted value; expected fields quoted with \" and quotes doubled inside"
        else:
            reason = f"cannot be parsed ({', '.join(types).lower()}); expected {ncols} delimited fields"
        header = headers[int(column[1:])] if column and column[1:].isdigit() and int(column[1:]) < ncols else None
        add_malformed(malformed, info.name, ncols, int(line), header, reason, (raw or "").rstrip("\r\n"), length)
    # Rows of a table created inside a transaction have offset rowids: number lines from the first one.
    base = int(tx.fetchone("SELECT coalesce(min(rowid), 0) FROM _stage")[0])  # type: ignore[index]
    if not malformed:
        return Staged(f"(s.rowid - {base} + 2)", "", [])
    # Survivor i sits after every rejected line j whose position among data lines is <= i.
    shifts: dict[int, int] = {}
    for j, (line, *_rest) in enumerate(malformed, start=1):
        shifts[base + line - 1 - j] = j
    tx.execute("CREATE TEMP TABLE _shift AS SELECT unnest(?::BIGINT[]) AS pos, unnest(?::BIGINT[]) AS shift",
               [list(shifts), list(shifts.values())])
    return Staged(f"(s.rowid - {base} + 2 + coalesce(sh.shift, 0))", "ASOF LEFT JOIN _shift sh ON s.rowid >= sh.pos",
                  malformed)


def stage_python(tx: Tx, records: Iterable[tuple[int, list[Any]]], headers: list[str], delim: str, select: Select,
                 name: str) -> Staged:
    """Stage rows that Python read (worksheets, and CSV files with blank lines or line breaks inside quotes)."""
    ncols = len(headers)
    cols = ", ".join(f"c{i} VARCHAR" for i in range(ncols))
    tx.execute(f"CREATE TEMP TABLE _src ({cols}, _line BIGINT)")
    malformed: list[Malformed] = []

    def ragged(line: int, rec: list[Any]) -> None:
        column = headers[len(rec)] if len(rec) < ncols else None
        reason = malformed_reason(ncols, len(rec))
        spans = delim.join("" if v is None else str(v) for v in rec).rstrip("\r\n").count("\n")
        if spans:
            reason += f"; a quoted field opened on line {line} runs to line {line + spans} (a quote is not closed)"
        add_malformed(malformed, name, ncols, line, column, reason, delim.join("" if v is None else str(v) for v in rec))

    for batch in readers.arrow_batches(iter(records), ncols, ragged):
        if batch.num_rows:
            tx.register("_batch", batch)
            tx.execute("INSERT INTO _src SELECT * FROM _batch")
            tx.unregister("_batch")
    p = Params()
    tx.execute(f"CREATE TEMP TABLE _stage AS {select(p, 'SELECT * FROM _src ORDER BY _line', ('_line',))}", p.values)
    tx.execute("DROP TABLE _src")
    return Staged("s._line", "", malformed)
