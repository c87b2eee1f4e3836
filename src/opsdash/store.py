"""The only module that talks to DuckDB: connect, schema, queries, transactions.

Values always travel as bound parameters. Identifiers in SQL built elsewhere come
only from the contract's declarations (see ``quote_ident``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from opsdash import contract

DEFAULT_DB = "opsdash.duckdb"
SCHEMA_VERSION = 1
DEFAULT_TIMEZONE = "UTC"
DEFAULT_WRITE_MEMORY = "1GB"


class StoreError(Exception):
    """A store that cannot be opened or used, said for people."""


class QueryError(StoreError):
    """DuckDB refused a statement (bad file content, constraint, I/O)."""


class StoreBusy(StoreError):
    """Another process holds the store's file (DuckDB allows one writer, or readers only): retry later."""


class StoreFull(StoreError):
    """The disk (or the file-size limit) left no room to write: the transaction was undone and the file cut back."""


#: How the operating system says there is no room, as DuckDB passes it on (ENOSPC, EDQUOT, EFBIG).
_NO_ROOM = ("no space left on device", "disk quota exceeded", "file too large")

#: DuckDB's file layout: three 4 KiB headers, then blocks of the database's block size.
_FILE_HEADERS = 3 * 4096


def _no_room(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(words in text for words in _NO_ROOM)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except duckdb.Error as exc:
        raise QueryError(str(exc).split("\n")[0]) from exc


def _file_sizes(path: Path) -> tuple[int, int]:
    """Sizes of the store's file and its write-ahead log (0 for a missing one)."""
    wal = path.with_name(path.name + ".wal")
    return (path.stat().st_size if path.exists() else 0, wal.stat().st_size if wal.exists() else 0)


def default_db_path() -> Path:
    """``$OPSDASH_DB`` or ``./opsdash.duckdb``."""
    return Path(os.environ.get("OPSDASH_DB") or DEFAULT_DB)


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL (doubling embedded quotes)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """The one way opsdash writes a text value into SQL as a literal: quoted, embedded quotes doubled, every
    other character (backslash, NUL, line breaks, any Unicode) kept as it is; DuckDB reads it back byte for
    byte (tests/test_sql_literals.py feeds it hostile text through real statements).

    Use it only where DuckDB takes no bound parameter: the bodies of views and macros, which cannot be
    prepared, i.e. the PHI-screening macros (ingest.validate.phi_macros) and a scoped reader's vendor views
    (_shadow). Everywhere else a value travels as a bound parameter: DuckDB binds them in SET, in the
    options of read_csv and read_parquet (path, columns, delimiter, quote) and in every part of a SELECT.
    """
    return "'" + str(value).replace("'", "''") + "'"


def _data_table_ddl(table: contract.Table) -> str:
    cols = [f"{quote_ident(c.name)} {contract.SQL_TYPES[c.type]}" for c in table.columns]
    cols += [f"{name} {sql_type}" for name, sql_type in contract.LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table.name)} ({', '.join(cols)})"


def _column(sql_type: str, bind: str = "?") -> Any:
    """A field of a record that is also a column: its SQL type, and how its value is bound in the INSERT."""
    return field(metadata={"sql_type": sql_type, "bind": bind})


#: A moment given as seconds since the epoch, stored as the session's local time (TIMESTAMP).
_EPOCH = "to_timestamp(?)::TIMESTAMP"


@dataclass(frozen=True)
class LoadRecord:
    """One row of ``loads``, what a load records about itself. Its fields are the table's columns, in order:
    the DDL (LOADS_DDL) and the INSERT (insert_sql) are both made from them, so they cannot drift apart."""

    load_id: int = _column("BIGINT PRIMARY KEY")
    file_name: str = _column("VARCHAR")
    file_path: str = _column("VARCHAR")
    sha256: str = _column("VARCHAR")
    file_bytes: int = _column("BIGINT")
    table_name: str = _column("VARCHAR")
    file_format: str = _column("VARCHAR")
    encoding: str | None = _column("VARCHAR")
    delimiter: str | None = _column("VARCHAR")
    mapping_name: str | None = _column("VARCHAR")
    mapping_sha256: str | None = _column("VARCHAR")
    rows_read: int = _column("BIGINT")
    rows_loaded: int = _column("BIGINT")
    rows_rejected: int = _column("BIGINT")
    rows_skipped: int = _column("BIGINT")
    rows_replaced: int = _column("BIGINT")
    rows_superseded: int = _column("BIGINT")
    phi_columns_dropped: list[str] = _column("VARCHAR[]")
    ignored_columns: list[str] = _column("VARCHAR[]")
    warnings: list[str] = _column("VARCHAR[]")
    columns_present: list[str] = _column("VARCHAR[]")
    started_at: float = _column("TIMESTAMP", _EPOCH)  # seconds since the epoch
    finished_at: float = _column("TIMESTAMP", _EPOCH)
    loaded_by: str = _column("VARCHAR")
    opsdash_version: str = _column("VARCHAR")

    @staticmethod
    def insert_sql() -> str:
        """INSERT of one record, its columns named and its values bound in the fields' order."""
        cols = fields(LoadRecord)
        return (f"INSERT INTO loads ({', '.join(c.name for c in cols)}) "
                f"VALUES ({', '.join(c.metadata['bind'] for c in cols)})")

    def values(self) -> list[Any]:
        """The values insert_sql binds."""
        return [getattr(self, c.name) for c in fields(self)]


LOADS_DDL = ("CREATE TABLE IF NOT EXISTS loads ("
             + ", ".join(f"{c.name} {c.metadata['sql_type']}" for c in fields(LoadRecord)) + ")")


SYSTEM_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1",
    LOADS_DDL,
    """CREATE TABLE IF NOT EXISTS rejects (
        load_id BIGINT, file_name VARCHAR, line BIGINT, column_name VARCHAR,
        kind VARCHAR, reason VARCHAR, raw_values VARCHAR)""",
    # Who signed in, downloaded or uploaded (see audit.py): never row data.
    """CREATE TABLE IF NOT EXISTS audit (
        event_id VARCHAR PRIMARY KEY, event_at TIMESTAMP, user_name VARCHAR, role VARCHAR, action VARCHAR,
        page VARCHAR, what VARCHAR, filters VARCHAR, row_count BIGINT, load_ids BIGINT[])""",
    # Each vendor's outlook (capacity.outlook) as made after a load, for the store as it was then (made_for,
    # queries.outlook_stamp) by the code whose fingerprint is `code`; and its headlines, for the Overview.
    """CREATE TABLE IF NOT EXISTS outlooks (
        vendor VARCHAR, made_for VARCHAR, code VARCHAR, made_at TIMESTAMP, seconds DOUBLE, outlook BLOB)""",
    """CREATE TABLE IF NOT EXISTS outlook_headlines (
        vendor VARCHAR, part VARCHAR, what VARCHAR, status VARCHAR, from_day DATE, words VARCHAR,
        forecast_accuracy VARCHAR, made_for VARCHAR, code VARCHAR)""",
    # The denial model trained after a load (denials.kept): its card for each vendor, judged on that vendor's
    # claims only (and, with no vendor, the pooled card, which a scoped reader never sees); and every open claim's
    # score with its reasons.
    """CREATE TABLE IF NOT EXISTS denial_cards (
        vendor VARCHAR, made_for VARCHAR, code VARCHAR, made_at TIMESTAMP, seconds DOUBLE, card BLOB)""",
    """CREATE TABLE IF NOT EXISTS denial_scores (
        vendor VARCHAR, claim_id VARCHAR, stage VARCHAR, facility VARCHAR, payer VARCHAR, claim_type VARCHAR,
        procedure_group VARCHAR,
        received_date DATE, submitted_date DATE, billed_amount DOUBLE, risk DOUBLE, expected_loss DOUBLE,
        reasons VARCHAR, made_for VARCHAR, code VARCHAR)""",
    # The portfolio benchmark loaded from a lake's job (opsdash lake benchmarks): this hospital's value of each
    # vendor's KPIs per month against the quartiles of the same vendor at its other clients, never their names;
    # a vendor column, so a scoped reader sees only its vendors'.
    """CREATE TABLE IF NOT EXISTS benchmarks (
        kpi VARCHAR, vendor VARCHAR, period_start DATE, value DOUBLE, basis BIGINT, others BIGINT,
        others_p25 DOUBLE, others_median DOUBLE, others_p75 DOUBLE, share_below DOUBLE, min_others BIGINT,
        computed_at TIMESTAMP, tenant_sha256 VARCHAR, loaded_at TIMESTAMP, source VARCHAR)""",
    # Alerts (opsdash.alerts): each signal once, under its stable key (rule, vendor, what, period); a vendor
    # column, so a scoped reader sees only its vendors' alerts and acknowledgements (an alert of no vendor, about
    # loads, only admins). The outbox has no vendor column: only admins read it.
    """CREATE TABLE IF NOT EXISTS alerts (
        key VARCHAR PRIMARY KEY, rule VARCHAR, vendor VARCHAR, what VARCHAR, period VARCHAR, raised_at TIMESTAMP,
        state VARCHAR, title VARCHAR, words VARCHAR, evidence VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS alert_acks (
        key VARCHAR, vendor VARCHAR, acked_at TIMESTAMP, user_name VARCHAR, note VARCHAR)""",
    # Every message is written here before it is sent: its bodies and attachments as they will go, its state
    # (pending, sending, sent, failed, withheld, dead), attempts, when it may be tried next and the last error.
    """CREATE TABLE IF NOT EXISTS outbox (
        id VARCHAR PRIMARY KEY, subscription VARCHAR, recipient VARCHAR, channel VARCHAR, person VARCHAR,
        vendors VARCHAR[], rules VARCHAR[], slot VARCHAR, subject VARCHAR, body_text VARCHAR, body_html VARCHAR,
        payload VARCHAR, state VARCHAR, attempts INTEGER, created_at TIMESTAMP, next_try TIMESTAMP,
        lease_until TIMESTAMP, last_error VARCHAR, sent_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS outbox_items (
        subscription VARCHAR, key VARCHAR, message VARCHAR, PRIMARY KEY (subscription, key))""",
    """CREATE TABLE IF NOT EXISTS outbox_files (
        message VARCHAR, name VARCHAR, mime VARCHAR, content BLOB)""",
)


class Tx:
    """One cursor inside one transaction: everything a load does goes through it."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with _translated():
            self._cur.execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with _translated():
            return self._cur.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        with _translated():
            return self._cur.execute(sql, params or []).fetchone()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with _translated():
            return self._cur.execute(sql, params or []).df()

    def progress(self) -> float:
        """Percent done of the statement running on this transaction's cursor (-1 when unknown).

        Safe to call from another thread while the statement runs.
        """
        return float(self._cur.query_progress())

    def register(self, name: str, data: Any) -> None:
        """Expose an Arrow table or pandas frame to SQL under ``name``."""
        self._cur.register(name, data)

    def unregister(self, name: str) -> None:
        self._cur.unregister(name)


@dataclass(frozen=True)
class Scope:
    """Which vendors' rows a reader may see: ``vendors=None`` is every vendor.

    A scoped store shadows every data table (and every roll-up) with a temporary view of the scope's vendors
    only, on every cursor it hands out, so no query written anywhere can read past it. Load metadata keeps only
    what the engine needs, and rejected rows (raw values of any vendor) are hidden.
    """

    vendors: tuple[str, ...] | None = None

    @classmethod
    def of(cls, vendors: Sequence[str] | None) -> Scope:
        return cls(None if vendors is None else tuple(sorted(set(vendors))))

    @property
    def everything(self) -> bool:
        return self.vendors is None

    def allows(self, vendor: str) -> bool:
        return self.vendors is None or vendor in self.vendors

    def __str__(self) -> str:
        return "all vendors" if self.vendors is None else ", ".join(self.vendors) or "no vendors"


ALL = Scope()
# What a scoped reader may see of the load records: enough for as-of and SLA judgement, no file names.
_SCOPED_LOADS = "SELECT load_id, table_name, columns_present, started_at, finished_at FROM {src}"


def _connect(path: Path, read_only: bool, memory_limit: str | None, wait: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying for up to `wait` seconds while another process holds it."""
    if read_only and not path.exists():
        raise StoreError(f"no opsdash store at {path}: run `opsdash demo` or `opsdash ingest` first")
    deadline = time.monotonic() + wait
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.ConnectionException as exc:  # this process has it open in the other mode
            raise StoreBusy(f"cannot open the store {path} for {'reading' if read_only else 'writing'}: this "
                            f"process has it open in the other mode ({str(exc).splitlines()[0][:120]})") from exc
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0][:160]
            if "lock" not in first.lower():
                raise StoreError(f"cannot open the store {path}: {first}") from exc
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise StoreBusy(
                f"cannot open the store {path}: another process has it open ({first}). "
                "A store takes one writer at a time: wait for the other load to finish (or stop the program "
                "holding it), then try again."
            ) from exc
    # Loads stage whole files: a cap makes DuckDB spill to disk instead of growing with the file.
    limit = memory_limit or os.environ.get("OPSDASH_MEMORY_LIMIT") or (None if read_only else DEFAULT_WRITE_MEMORY)
    if limit:
        try:
            con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error as exc:
            con.close()
            raise StoreError(f"memory limit {limit!r} not understood; expected e.g. 1GB or 512MB") from exc
    return con


class _Owned:
    """One connection, held until the store is closed (the CLI, loads, tests)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.catalog: Catalog | None = None  # for scoped readers; tables do not change under a reader

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.con.cursor() as cur:
            yield cur

    def close(self) -> None:
        self.con.close()


WRITING, HANDED_OVER = "writing here", "handed over"


class ReadPool:
    """A read-only connection lent to queries and closed once idle for `linger` seconds, so the file is locked
    only while someone reads: ``opsdash ingest`` in another process gets in between bursts (it waits for the
    lock). Thread-safe; ``writer()`` takes the file for writing inside this process (uploads, audit records)."""

    def __init__(self, path: Path, linger: float = 0.5, wait: float = 3.0, busy_for: float = 5.0,
                 prepare: Callable[[Store], Store] | None = None) -> None:
        self.path = path
        # What opening for writing brings up to date beyond the tables (lifecycle.prepare, passed in from above).
        self._prepare = prepare or (lambda s: s)
        self.linger = linger
        # When another process writes: a read waits up to `wait` seconds for it (a small load is over by
        # then), and once that wait has failed, reads in the next `busy_for` seconds fail at once, so a page
        # with many sections says so quickly rather than waiting in every one.
        self.wait, self.busy_for = wait, busy_for
        self._busy_until = 0.0
        self._cond = threading.Condition()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.catalog: Catalog | None = None  # of the open connection, for scoped readers
        self._users = 0
        self._exclusive: str | None = None  # WRITING (readers wait) or HANDED_OVER (readers fail at once)
        self._waiting = 0  # takers of the file waiting: new readers hold back so one is never starved
        self._idle_since = 0.0
        self._closer: threading.Timer | None = None
        atexit.register(self._shutdown)  # never leave a connection to a daemon thread at interpreter exit

    def _busy(self) -> StoreBusy:
        return StoreBusy(f"the store {self.path} is being written by a load started from this dashboard")

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._cond:
            while self._exclusive == WRITING or self._waiting:
                self._cond.wait()
            if self._exclusive == HANDED_OVER:
                raise self._busy()
            if self._con is None:
                busy = time.monotonic() < self._busy_until
                try:
                    self._con = _connect(self.path, True, None, wait=0.0 if busy else self.wait)
                except StoreBusy:
                    self._busy_until = time.monotonic() + self.busy_for
                    raise
            self._users += 1
            con = self._con
        try:
            with con.cursor() as cur:
                yield cur
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._idle_since = time.monotonic()
                    self._schedule_close()
                    self._cond.notify_all()

    def _schedule_close(self) -> None:
        if self._closer is None:
            self._closer = threading.Timer(self.linger, self._close_if_idle)
            self._closer.daemon = True
            self._closer.start()

    def _close_if_idle(self) -> None:
        with self._cond:
            self._closer = None
            if self._users or self._con is None:
                return
            if time.monotonic() - self._idle_since < self.linger:
                self._schedule_close()
                return
            self._drop()

    def _drop(self) -> None:
        """Close the connection (the caller holds the lock and no query runs)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self.catalog = None  # a write may come before the next connection

    @property
    def is_open(self) -> bool:
        return self._con is not None

    @contextmanager
    def _taken(self, how: str) -> Iterator[None]:
        """The file for this process's writer (WRITING) or another process (HANDED_OVER): wait for the queries
        running to finish, close the connection, and keep readers off until the block ends."""
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive or self._users:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = how
            self._drop()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = None
                self._cond.notify_all()

    def hand_over(self) -> AbstractContextManager[None]:
        """Let another process (a load this process started) take the file. Until the block ends reads fail at
        once with StoreBusy instead of waiting, so pages say a load is writing (or show what they have cached)
        rather than hang."""
        return self._taken(HANDED_OVER)

    @contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[Store]:
        """The store opened for writing in this process; its readers wait meanwhile."""
        with self._cond:
            if self._exclusive == HANDED_OVER:
                raise self._busy()
        with self._taken(WRITING), Store(self.path, wait=wait) as s:
            yield self._prepare(s)

    def _shutdown(self) -> None:
        with self._cond:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
            self._drop()

    def close(self) -> None:
        with self._cond:
            if not self._users:
                self._drop()


class Store:
    """An opsdash store: one DuckDB file holding the contract's tables, loads and rejects."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 timezone: str | None = None, memory_limit: str | None = None, scope: Scope = ALL,
                 wait: float = 0.0) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        self.scope = scope
        if not read_only and not scope.everything:
            raise StoreError("a store scoped to some vendors is for reading only")
        self._memory_limit = memory_limit
        self._src: _Owned | ReadPool = _Owned(_connect(self.path, read_only, memory_limit, wait))
        if not read_only:
            self._ensure_schema(timezone)

    @classmethod
    def shared(cls, pool: ReadPool, scope: Scope = ALL) -> Store:
        """A read-only store whose queries borrow the pool's connection (the dashboard's)."""
        self = cls.__new__(cls)
        self.path, self.read_only, self.scope, self._src = pool.path, True, scope, pool
        return self

    def scoped(self, scope: Scope) -> Store:
        """The same connection, reading only `scope`'s vendors."""
        if not self.read_only:
            raise StoreError("a store scoped to some vendors is for reading only")
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.scope = scope
        return other

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._src.cursor() as cur:
            if self.read_only:
                if self._src.catalog is None:
                    self._src.catalog = _catalog(cur)
                if not self.scope.everything or self._src.catalog[2]:
                    _shadow(cur, self.scope, self._src.catalog)
            yield cur

    # -- schema -----------------------------------------------------------------------------
    def _ensure_schema(self, timezone: str | None) -> None:
        with self.transaction() as tx:
            for ddl in SYSTEM_DDL:
                tx.execute(ddl)
            for table in contract.TABLES.values():
                tx.execute(_data_table_ddl(table))
                # a store made before the contract gained optional columns gains them, empty, at its first write
                for c in table.columns:
                    tx.execute(f"ALTER TABLE {quote_ident(table.name)} ADD COLUMN IF NOT EXISTS "
                               f"{quote_ident(c.name)} {contract.SQL_TYPES[c.type]}")
            existing = dict(tx.fetchall("SELECT key, value FROM meta"))
            wanted_tz = timezone or os.environ.get("OPSDASH_TIMEZONE")
            if "timezone" not in existing:
                tz = wanted_tz or DEFAULT_TIMEZONE
                _check_timezone(tx, tz)
                tx.execute("INSERT INTO meta VALUES ('timezone', ?), ('schema_version', ?), ('contract_version', ?)",
                           [tz, str(SCHEMA_VERSION), str(contract.CONTRACT_VERSION)])
            elif wanted_tz and wanted_tz != existing["timezone"]:
                raise StoreError(
                    f"the store {self.path} keeps timestamps in {existing['timezone']}, not {wanted_tz}; "
                    "the hospital time zone is fixed when a store is created"
                )

    @property
    def timezone(self) -> str:
        row = self.fetchone("SELECT value FROM meta WHERE key = 'timezone'")
        return row[0] if row else DEFAULT_TIMEZONE

    # -- queries (one cursor per call, so a shared connection is safe across threads) --------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self._cursor() as cur, _translated():
            return cur.execute(sql, params or []).df()

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._cursor() as cur, _translated():
            return cur.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        with self._cursor() as cur, _translated():
            return cur.execute(sql, params or []).fetchone()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """All or nothing: commit when the block ends, roll back on any exception."""
        if self.read_only:
            raise StoreError(f"the store {self.path} is open for reading only")
        sizes = _file_sizes(self.path)
        try:
            with self._src.cursor() as cur:
                # Progress is tracked (never printed by DuckDB) so long loads can report it.
                cur.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
                            "SET progress_bar_time = 0")
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield Tx(cur)
                except BaseException:
                    with contextlib.suppress(duckdb.Error):  # a failed commit or write has ended it already
                        cur.execute("ROLLBACK")
                    raise
                with _translated():
                    cur.execute("COMMIT")
        except (duckdb.Error, StoreError) as exc:
            if not _no_room(exc):
                raise
            self._cut_back(sizes)
            raise StoreFull(self._full_message()) from exc

    def _full_message(self) -> str:
        try:
            free = shutil.disk_usage(self.path.parent).free
            room = f"{free / 1e6:,.1f} MB free there now" if free >= 1e5 else "no space left"
        except OSError:
            room = "its free space is unknown"
        return (f"the disk holding the store {self.path} is full ({room}): nothing of this was stored and the "
                "store is as it was before. Free some space (or move the store with --db / OPSDASH_DB) and "
                "run it again.")

    def _cut_back(self, sizes: tuple[int, int]) -> None:
        """After a write that found no room: give the space the undone transaction took back to the disk.

        DuckDB grows the file while it writes and keeps the grown file after a rollback. The file is closed,
        its size read from a fresh read-only open (the header's block count, so a checkpoint that did land is
        kept), the file and the write-ahead log cut to what the store holds, and the file opened again.
        """
        if not isinstance(self._src, _Owned):
            return  # a pool is not this store's to close; the next open of the file finds it as it was
        db_before, wal_before = sizes
        with contextlib.suppress(duckdb.Error):
            self._src.close()
        wal = self.path.with_name(self.path.name + ".wal")
        if wal.exists() and wal.stat().st_size > wal_before:
            os.truncate(wal, wal_before)
        try:
            with duckdb.connect(str(self.path), read_only=True) as con:
                row = con.execute("SELECT total_blocks, block_size FROM pragma_database_size()").fetchone()
            needed = _FILE_HEADERS + int(row[0]) * int(row[1]) if row else db_before
            if self.path.stat().st_size > needed:
                os.truncate(self.path, needed)
        except (duckdb.Error, OSError):
            pass  # the file is still whole; only its spare space is not given back
        self._src = _Owned(_connect(self.path, False, self._memory_limit))

    def table_counts(self) -> dict[str, int]:
        return {name: self.fetchone(f"SELECT count(*) FROM {quote_ident(name)}")[0]  # type: ignore[index]
                for name in contract.TABLES}

    def close(self) -> None:
        if isinstance(self._src, _Owned):  # a pool outlives the stores that borrow it
            self._src.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_timezone(tx: Tx, tz: str) -> None:
    row = tx.fetchone("SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [tz])
    if not row or row[0] == 0:
        raise StoreError(f"unknown time zone {tz!r}: expected an IANA name such as UTC or America/Chicago")


#: The store's catalogue name, its tables, each with whether it has a vendor column, and the contract's columns
#: a table lacks (a store made by an earlier version, read before its next write adds them): name -> SQL type.
Catalog = tuple[str, list[tuple[str, bool]], dict[str, dict[str, str]]]


def _catalog(cur: duckdb.DuckDBPyConnection) -> Catalog:
    db = cur.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    rows = cur.execute(
        "SELECT t.table_name, list(c.column_name) FROM duckdb_tables() t "
        "JOIN duckdb_columns() c USING (database_name, schema_name, table_name) "
        "WHERE t.database_name = current_database() AND t.schema_name = 'main' GROUP BY ALL").fetchall()
    tables = [(name, "vendor" in columns) for name, columns in rows]
    missing = {}
    for name, columns in rows:
        if name in contract.TABLES:
            lacks = {c.name: contract.SQL_TYPES[c.type] for c in contract.TABLES[name].columns if c.name not in columns}
            if lacks:
                missing[name] = lacks
    return db, tables, missing


def _shadow(cur: duckdb.DuckDBPyConnection, scope: Scope, catalog: Catalog) -> None:
    """Hide every row outside `scope` from this cursor: a temporary view with each table's name comes first in
    name resolution (``main.claims`` too), so the engine's SQL runs unchanged on the scope's rows only. A table
    without a vendor column shows no rows; only a catalogue-qualified name could reach past, and no opsdash SQL
    uses one."""
    db, tables, missing = catalog
    vendors = "[" + ", ".join(quote_literal(v) for v in scope.vendors or ()) + "]"
    for name, has_vendor in tables:
        src = f"{quote_ident(db)}.main.{quote_ident(name)}"
        added = "".join(f", NULL::{sql_type} AS {quote_ident(c)}" for c, sql_type in missing.get(name, {}).items())
        if name == "meta" or (scope.everything and not added):
            continue
        if scope.everything:
            body = f"SELECT *{added} FROM {src}"
        elif name == "loads":
            body = _SCOPED_LOADS.format(src=src)
        elif has_vendor and name != "rejects":
            # Contract levels for vendor '*' apply to every vendor, so every scope reads them.
            every = " OR vendor = '*'" if name == "sla_targets" else ""
            body = f"SELECT *{added} FROM {src} WHERE list_contains({vendors}, vendor){every}"
        else:
            body = f"SELECT *{added} FROM {src} WHERE false"
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS {body}")
