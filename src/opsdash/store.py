"""The only module that talks to DuckDB: connect, schema, queries, transactions.

Values always travel as bound parameters. Identifiers in SQL built elsewhere come
only from the contract's declarations (see ``quote_ident``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except duckdb.Error as exc:
        raise QueryError(str(exc).split("\n")[0]) from exc


def default_db_path() -> Path:
    """``$OPSDASH_DB`` or ``./opsdash.duckdb``."""
    return Path(os.environ.get("OPSDASH_DB") or DEFAULT_DB)


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL (doubling embedded quotes)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL; used only for declaration-derived text such as messages."""
    return "'" + str(value).replace("'", "''") + "'"


def _data_table_ddl(table: contract.Table) -> str:
    cols = [f"{quote_ident(c.name)} {contract.SQL_TYPES[c.type]}" for c in table.columns]
    cols += [f"{name} {sql_type}" for name, sql_type in contract.LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table.name)} ({', '.join(cols)})"


SYSTEM_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS loads (
        load_id BIGINT PRIMARY KEY,
        file_name VARCHAR, file_path VARCHAR, sha256 VARCHAR, file_bytes BIGINT,
        table_name VARCHAR, file_format VARCHAR, encoding VARCHAR, delimiter VARCHAR,
        mapping_name VARCHAR, mapping_sha256 VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, rows_skipped BIGINT,
        rows_replaced BIGINT, rows_superseded BIGINT,
        phi_columns_dropped VARCHAR[], ignored_columns VARCHAR[], warnings VARCHAR[], columns_present VARCHAR[],
        started_at TIMESTAMP, finished_at TIMESTAMP, loaded_by VARCHAR, opsdash_version VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS rejects (
        load_id BIGINT, file_name VARCHAR, line BIGINT, column_name VARCHAR,
        kind VARCHAR, reason VARCHAR, raw_values VARCHAR)""",
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


class Store:
    """An opsdash store: one DuckDB file holding the contract's tables, loads and rejects."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 timezone: str | None = None, memory_limit: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"no opsdash store at {self.path}: run `opsdash demo` or `opsdash ingest` first")
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0][:160]
            if "lock" not in first.lower():
                raise StoreError(f"cannot open the store {self.path}: {first}") from exc
            raise StoreBusy(
                f"cannot open the store {self.path}: another process has it open ({first}). "
                "A store takes one writer at a time: stop the running dashboard, or wait for the other load to "
                "finish, then try again."
            ) from exc
        # Loads stage whole files: a cap makes DuckDB spill to disk instead of growing with the file.
        limit = memory_limit or os.environ.get("OPSDASH_MEMORY_LIMIT") or (None if read_only else DEFAULT_WRITE_MEMORY)
        if limit:
            try:
                self._con.execute(f"SET memory_limit = {quote_literal(limit)}")
            except duckdb.Error as exc:
                raise StoreError(f"memory limit {limit!r} not understood; expected e.g. 1GB or 512MB") from exc
        if not read_only:
            self._ensure_schema(timezone)

    # -- schema -----------------------------------------------------------------------------
    def _ensure_schema(self, timezone: str | None) -> None:
        with self.transaction() as tx:
            for ddl in SYSTEM_DDL:
                tx.execute(ddl)
            for table in contract.TABLES.values():
                tx.execute(_data_table_ddl(table))
            from opsdash import rollups  # reads the catalogue, which builds on this module

            rollups.ensure(tx)
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
        with self._con.cursor() as cur, _translated():
            return cur.execute(sql, params or []).df()

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._con.cursor() as cur, _translated():
            return cur.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        with self._con.cursor() as cur, _translated():
            return cur.execute(sql, params or []).fetchone()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """All or nothing: commit when the block ends, roll back on any exception."""
        with self._con.cursor() as cur:
            # Progress is tracked (never printed by DuckDB) so long loads can report it.
            cur.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
                        "SET progress_bar_time = 0")
            cur.execute("BEGIN TRANSACTION")
            try:
                yield Tx(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def table_counts(self) -> dict[str, int]:
        return {name: self.fetchone(f"SELECT count(*) FROM {quote_ident(name)}")[0]  # type: ignore[index]
                for name in contract.TABLES}

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_timezone(tx: Tx, tz: str) -> None:
    row = tx.fetchone("SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [tz])
    if not row or row[0] == 0:
        raise StoreError(f"unknown time zone {tz!r}: expected an IANA name such as UTC or America/Chicago")
