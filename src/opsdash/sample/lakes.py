"""A lake of many tenants written directly by the generator, at any size (opsdash lake generate).

The same layout, columns and types as `opsdash lake export` writes (opsdash.lake), without a store on the way:
each tenant is a hospital with the sample's vendors and stories, its own seed and its own size, so the tenants'
figures differ as real hospitals' do. Their sizes vary too (lognormal weights with sigma 0.5: among 50, the
largest is typically ten times the smallest), and the total number of rows across the four contract tables is the number asked for, within a few
per cent (the generator draws volumes, it does not count them out).

A tenant is made in chunks of at most `CHUNK_ROWS` rows (each a scaled copy of the sample with its own seed and
its own identifiers), so memory stays bounded whatever the size: every chunk's rows of a vendor-month go into the
partition's one file as a row group of their own. Tenants are made in parallel processes (`jobs`).

Each tenant's lineage is a generated load per table (load ids 1 to 4, file format 'generated', the line of a row
its position in that imaginary file), and its manifest says the lake was generated: `opsdash lake export` of a
real store as the same tenant would rewrite every partition. The generator refuses a lake that already holds any
of the tenants it would write.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsdash import __version__, contract, lake, queries
from opsdash.sample.flat import flat_frame
from opsdash.sample.stories import Timeline
from opsdash.sample.tables import to_arrow
from opsdash.store import LoadRecord

#: The most rows one chunk of a tenant holds across its four tables (about 1.5 GB of memory while made).
CHUNK_ROWS = 4_000_000
#: Arrow types of the contract's column types and of the store's SQL types, as DuckDB writes them to Parquet.
_ARROW = {contract.ColType.TEXT: pa.string(), contract.ColType.DATE: pa.date32(),
          contract.ColType.TIMESTAMP: pa.timestamp("us"), contract.ColType.BOOL: pa.bool_(),
          contract.ColType.INT: pa.int64(), contract.ColType.NUMBER: pa.float64()}
_SQL_ARROW = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "VARCHAR[]": pa.list_(pa.string()),
              "TIMESTAMP": pa.timestamp("us")}
_ID = {"claims": "claim_id", "work_items": "item_id", "calls": "call_id", "qa_audits": "audit_id"}


def parse_rows(text: str) -> int:
    """A row count as people write it: 100000000, 100_000_000, 100M, 1.5B, 250k."""
    t = text.strip().replace("_", "").replace(",", "")
    mult = {"k": 10**3, "m": 10**6, "b": 10**9}.get(t[-1:].lower(), 1)
    try:
        n = float(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        raise ValueError(f"{text!r}: expected a number of rows, such as 10000000, 10M or 1.5B") from None
    if not math.isfinite(n) or n < 1:
        raise ValueError(f"{text!r}: expected at least one row")
    return int(round(n))


def table_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table's lake files, as the export writes them: the contract's columns but vendor,
    then the lineage columns."""
    cols = contract.TABLES[table].columns
    kinds = {c.name: c.type for c in cols}
    return pa.schema([(name, _ARROW[kinds[name]] if name in kinds else _SQL_ARROW[dict(contract.LINEAGE_COLUMNS)[name]])
                      for name in queries.lake_columns(table)])


def loads_schema() -> pa.Schema:
    return pa.schema([(f.name, _SQL_ARROW[f.metadata["sql_type"].split()[0]]) for f in fields(LoadRecord)])


@dataclass
class Generated:
    """What the generator wrote: rows per tenant and table, and the seconds it took."""

    lake: Path
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    def total(self, table: str | None = None) -> int:
        return sum(n for t in self.rows.values() for k, n in t.items() if table in (None, k))

    def summary(self) -> str:
        lines = [f"Lake {self.lake}: {len(self.rows)} tenants, {self.total():,} rows in {self.seconds:,.0f} s"]
        lines += [f"  {contract.TABLES[t].label}: {self.total(t):,} rows" for t in lake.TABLES]
        return "\n".join(lines)


def default_jobs() -> int:
    """Tenants made at once by default: the machine's cores, as many as its free memory holds at 2 GB each."""
    cores = os.cpu_count() or 1
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX
        return cores
    return max(1, min(cores, free // (2 * 2**30)))


def tenant_names(tenants: int) -> list[str]:
    width = max(3, len(str(tenants)))
    return [f"hospital-{i:0{width}d}" for i in range(1, tenants + 1)]


def _unit_rows(months: int, as_of: dt.date) -> int:
    """The four tables' rows at scale 1 (seed 0): what one unit of scale makes, to size the tenants."""
    tl = Timeline(as_of, months)
    return sum(len(flat_frame(t, 0, tl, 1.0)) for t in lake.TABLES)


def sizes(rows: int, tenants: int, seed: int) -> np.ndarray:
    """Each tenant's share of the rows: lognormal weights (sigma 0.5), as hospitals differ in size."""
    w = np.random.default_rng(seed).lognormal(0.0, 0.5, tenants)
    return rows * w / w.sum()


def generate(out: Path, tenants: int, rows: int, *, months: int = 24, as_of: dt.date | None = None, seed: int = 1,
             jobs: int = 1) -> Generated:
    """Write a lake of `tenants` hospitals and about `rows` rows in all under `out` (see the module). With
    `jobs` > 1 the worker processes start afresh and first import the caller's __main__, as Python's forkserver
    does: call it with jobs=1 from a process whose __main__ is not the program's own (inside Streamlit's
    AppTest, for one)."""
    if tenants < 1:
        raise lake.LakeError(f"tenants {tenants}: expected at least one")
    out = Path(out)
    names = tenant_names(tenants)
    # Any trace of a tenant, a run stopped half-way included (its partitions come before its loads and manifest).
    held = [n for n in names if lake.manifest_path(out, n).exists()
            or any((out / d / f"tenant={n}").exists() for d in (*lake.TABLES, lake.LOADS))]
    if held:
        raise lake.LakeError(f"{out}: already holds tenant {held[0]}"
                             + (f" and {len(held) - 1} more" if len(held) > 1 else "")
                             + "; generate into a new directory")
    as_of = as_of or dt.date.today()
    start = time.monotonic()
    unit = _unit_rows(months, as_of)
    want = sizes(rows, tenants, seed)
    tasks = [(out, name, seed * 100_003 + i, float(n) / unit, math.ceil(float(n) / CHUNK_ROWS), months, as_of)
             for i, (name, n) in
             enumerate(zip(names, want, strict=True))]
    done = Generated(out)
    (out / lake.MANIFESTS).mkdir(parents=True, exist_ok=True)
    if jobs > 1 and tenants > 1:
        # Not fork: the caller may run threads (a Spark gateway, a web server) that a forked child would inherit
        # half-held.
        context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        try:
            for name, counts in pool.map(_tenant, tasks):
                done.rows[name] = counts
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # one tenant failed: the others not yet begun never start
            raise
        pool.shutdown()
    else:
        for task in tasks:
            name, counts = _tenant(task)
            done.rows[name] = counts
    done.seconds = time.monotonic() - start
    return done


def _tenant(task: tuple[Path, str, int, float, int, int, dt.date]) -> tuple[str, dict[str, int]]:
    """One tenant's four tables, load records and manifest."""
    out, name, seed, scale, chunks, months, as_of = task
    tl = Timeline(as_of, months)
    counts, manifest = {}, {}
    started = time.time()
    for load_id, table in enumerate(lake.TABLES, start=1):
        writers: dict[tuple[str, str], tuple[pq.ParquetWriter, Path, Path]] = {}
        parts: dict[str, list[int | str]] = {}
        line = 2  # the first row of the imaginary file is on its second line, after the header
        try:
            for c in range(chunks):
                tb = _chunk(table, seed + 7919 * c, tl, scale / chunks, c if chunks > 1 else None, load_id, line)
                line += tb.num_rows
                for (vendor, month), part in _partitions(tb):
                    if (vendor, month) not in writers:
                        dest = lake.partition_dir(out, table, name, vendor, month)
                        dest.mkdir(parents=True, exist_ok=True)
                        tmp = dest / ".part-0.parquet.generating"
                        writers[(vendor, month)] = (pq.ParquetWriter(tmp, table_schema(table), compression="zstd"),
                                                    tmp, dest)
                    writers[(vendor, month)][0].write_table(part)
                    key = f"{vendor}\x00{month}"
                    parts[key] = [int(parts.get(key, [0])[0]) + part.num_rows, "generated"]
            for writer, tmp, dest in writers.values():
                writer.close()
                os.replace(tmp, dest / "part-0.parquet")
        finally:
            for writer, tmp, _ in writers.values():
                if writer.is_open:
                    writer.close()
                tmp.unlink(missing_ok=True)
        counts[table] = line - 2
        manifest[table] = parts
    _write_loads(out, name, counts, started)
    meta = {"tables": manifest, "tenant": name, "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(
        timespec="seconds"), "opsdash_version": __version__, "contract_version": contract.CONTRACT_VERSION,
        "loads": len(counts), "generated": {"seed": seed, "scale": scale, "months": months,
                                            "as_of": as_of.isoformat(), "chunks": chunks}}
    lake.write_atomic(lake.manifest_path(out, name), json.dumps(meta, indent=1, sort_keys=True))
    return name, counts


def _chunk(table: str, seed: int, tl: Timeline, scale: float, chunk: int | None, load_id: int,
           line: int) -> pa.Table:
    """One chunk of a table with the lake's columns and types, vendor and _month first."""
    tb = to_arrow(table, flat_frame(table, seed, tl, scale))
    if chunk is not None:  # chunks are separate draws: their identifiers must not collide
        key = _ID[table]
        tb = tb.set_column(tb.schema.get_field_index(key), key,
                           pc.binary_join_element_wise(f"C{chunk:04d}-", tb[key].cast(pa.string()), ""))
    n = tb.num_rows
    # The arrival event's month, as months since 1970 (-1 for none): cheaper than formatting a string per row.
    arrival = tb[contract.EVENT_COLUMNS[table][0]].cast(pa.timestamp("us"))
    when = arrival.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    month = np.where(np.isnat(when), -1, when.astype("datetime64[M]").astype(np.int64))
    cols = {c: tb[c] for c in ("vendor", *contract.TABLES[table].column_names) if c != "vendor"}
    cols["_load_id"] = pa.array(np.full(n, load_id, dtype=np.int64))
    cols["_line"] = pa.array(np.arange(line, line + n, dtype=np.int64))
    schema = table_schema(table)
    body = pa.table({c: cols[c].cast(schema.field(c).type) for c in schema.names}, schema=schema)
    return body.append_column("vendor", tb["vendor"].cast(pa.string())).append_column("_month", pa.array(month))


def _month_name(month: int) -> str:
    return "none" if month < 0 else f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


def _partitions(tb: pa.Table) -> Iterator[tuple[tuple[str, str], pa.Table]]:
    """(vendor, month) and that partition's rows (in the chunk's order), without the two key columns."""
    vendor = pc.dictionary_encode(tb["vendor"]).combine_chunks()
    vi = vendor.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    mi = tb["_month"].to_numpy() + 1  # 0 for none
    key = vi * (int(mi.max(initial=0)) + 1) + mi
    order = np.argsort(key, kind="stable")
    ordered = tb.drop_columns(["vendor", "_month"]).take(pa.array(order))
    sk = key[order]
    bounds = [0, *(np.flatnonzero(np.diff(sk)) + 1).tolist(), len(sk)]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            i = order[a]
            yield (vendor.dictionary[vi[i]].as_py(), _month_name(int(mi[i]) - 1)), ordered.slice(a, b - a)


def _write_loads(out: Path, name: str, counts: dict[str, int], started: float) -> None:
    """The tenant's load records: one generated load per table, every contract column present."""
    now = time.time()
    recs = [LoadRecord(load_id=i, file_name=f"generated-{t}.csv", file_path=f"generated/{name}/{t}.csv",
                       sha256="", file_bytes=0, table_name=t, file_format="generated", encoding=None,
                       delimiter=None, mapping_name=None, mapping_sha256=None, rows_read=counts[t],
                       rows_loaded=counts[t], rows_rejected=0, rows_skipped=0, rows_replaced=0, rows_superseded=0,
                       phi_columns_dropped=[], ignored_columns=[], warnings=[],
                       columns_present=list(contract.TABLES[t].column_names), started_at=started,
                       finished_at=now, loaded_by="opsdash lake generate", opsdash_version=__version__)
            for i, t in enumerate(lake.TABLES, start=1)]
    schema = loads_schema()
    data = {f.name: [getattr(r, f.name) for r in recs] for f in fields(LoadRecord)}
    for c in ("started_at", "finished_at"):
        data[c] = [dt.datetime.fromtimestamp(v, dt.timezone.utc).replace(tzinfo=None) for v in data[c]]
    dest = out / lake.LOADS / f"tenant={name}"
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / ".part-0.parquet.generating"
    pq.write_table(pa.table(data, schema=schema), tmp)
    os.replace(tmp, dest / "part-0.parquet")
