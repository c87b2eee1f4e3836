"""The lake: a store's tables as Hive-partitioned Parquet, for engines beyond one machine (opsdash.spark).

Layout, one lake holding many tenants (hospitals or hospital systems)::

    <lake>/<table>/tenant=<tenant>/vendor=<vendor>/month=<YYYY-MM>/part-0.parquet   the contract's four tables
    <lake>/loads/tenant=<tenant>/part-0.parquet                                      each tenant's load records
    <lake>/_opsdash/<tenant>.json                                                    what the last export wrote

A row's month is that of its arrival event (claims: received_date; see queries.lake_month). The files hold
every contract column but vendor (a partition) and the lineage columns (_load_id, _line), so any figure can be
traced back to the load and line it came from. Partition values are written as Spark and DuckDB both read them
back: ASCII characters that have a meaning in a path are %-escaped, any other character is kept.

An export is re-runnable and incremental: each vendor-month partition's rows and checksum are compared with the
last export's, and only partitions that changed are written, each to a staging directory first and then moved
into place with one rename (a reader sees the old file or the new one, never half of one). Partitions that no
longer exist in the store are removed. A failed export leaves every partition it did not reach as it was, and
the next run finishes the job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from opsdash import __version__, contract, queries
from opsdash.store import Store

try:
    import fcntl
except ImportError:  # not POSIX (Windows): exports of one tenant are not kept from running at once
    fcntl = None  # type: ignore[assignment]

#: A tenant's name: letters, digits, '.', '_' and '-' (it names directories and files).
TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TABLES = tuple(contract.EVENT_COLUMNS)
MANIFESTS = "_opsdash"
LOADS = "loads"
#: The characters Spark %-escapes in a partition directory's name (ExternalCatalogUtils.escapePathName), and
#: '%' itself; both engines read any other character, non-ASCII included, as it is.
_ESCAPED = set('"#%\'*/:=?\\{[]^\x7f') | {chr(c) for c in range(0x20)}


class LakeError(ValueError):
    """A lake or tenant that cannot be written or read as asked."""


def check_tenant(tenant: str) -> str:
    if not TENANT.fullmatch(tenant or ""):
        raise LakeError(f"tenant {tenant!r}: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit")
    return tenant


def escape(value: str) -> str:
    """A partition value as a directory name (``vendor=<this>``)."""
    return "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in value)


def partition_dir(lake: Path, table: str, tenant: str, vendor: str, month: str) -> Path:
    return lake / table / f"tenant={tenant}" / f"vendor={escape(vendor)}" / f"month={month}"


def manifest_path(lake: Path, tenant: str) -> Path:
    return lake / MANIFESTS / f"{tenant}.json"


def read_manifest(lake: Path, tenant: str) -> dict:
    path = manifest_path(lake, tenant)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LakeError(f"{path}: not an opsdash lake manifest ({exc}); remove it to write every partition "
                        "again") from exc


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Export:
    """What one export did, per table: partitions written, left as they were and removed, and rows in all."""

    tenant: str
    lake: Path
    written: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    loads: int = 0

    def summary(self) -> str:
        lines = [f"Lake {self.lake}, tenant {self.tenant}:"]
        for t in TABLES:
            lines.append(f"  {contract.TABLES[t].label}: {self.rows.get(t, 0):,} rows; partitions written "
                         f"{self.written.get(t, 0)}, unchanged {self.unchanged.get(t, 0)}, "
                         f"removed {self.removed.get(t, 0)}")
        lines.append(f"  Loads recorded: {self.loads:,}")
        return "\n".join(lines)


def _staged(root: Path) -> Iterator[tuple[str, str, Path]]:
    """(vendor, month, file) of every file DuckDB wrote under `root` (its own %-encoding, read back)."""
    for vdir in root.glob("vendor=*"):
        for mdir in vdir.glob("month=*"):
            files = sorted(mdir.glob("*.parquet"))
            if len(files) != 1:
                raise LakeError(f"{mdir}: expected one Parquet file from the export, found {len(files)}")
            yield unquote(vdir.name[len("vendor="):]), unquote(mdir.name[len("month="):]), files[0]


def _remove_partition(lake: Path, table: str, tenant: str, vendor: str, month: str) -> None:
    part = partition_dir(lake, table, tenant, vendor, month)
    shutil.rmtree(part, ignore_errors=True)
    for parent in (part.parent, part.parent.parent):  # the vendor's directory, then the tenant's, once empty
        try:
            parent.rmdir()
        except OSError:
            break


def _fsync(path: Path) -> None:
    """Make a file's bytes (or a directory's entries) durable before a manifest says they are there."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _on_disk(lake: Path, table: str, tenant: str) -> set[str]:
    """The vendor-month keys of a tenant's table as they are on disk (what the last manifest may not know)."""
    root = lake / table / f"tenant={tenant}"
    return {f"{unquote(v.name[len('vendor='):])}\x00{m.name[len('month='):]}"
            for v in root.glob("vendor=*") for m in v.glob("month=*")} if root.exists() else set()


def export(store: Store, lake: Path, tenant: str) -> Export:
    """Write the store's contract tables and loads into the lake as `tenant` (see the module's docstring). One
    export of a tenant at a time: a second waits for the first."""
    check_tenant(tenant)
    lake = Path(lake)
    (lake / MANIFESTS).mkdir(parents=True, exist_ok=True)
    with open(lake / MANIFESTS / f"{tenant}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process ends
        return _export(store, lake, tenant)


def _export(store: Store, lake: Path, tenant: str) -> Export:
    manifest = read_manifest(lake, tenant)
    done = Export(tenant, lake)
    staging = lake / f"_staging-{tenant}-{uuid.uuid4().hex[:12]}"  # '_' first: no reader takes it for data
    try:
        # The loads first: a row in the lake always has its load's record there (sla_adherence reads which
        # loads came without completed_at).
        staging.mkdir(parents=True, exist_ok=True)
        done.loads = queries.copy_loads(store, str(staging / "loads.parquet"))
        dest = lake / LOADS / f"tenant={tenant}"
        dest.mkdir(parents=True, exist_ok=True)
        _fsync(staging / "loads.parquet")
        os.replace(staging / "loads.parquet", dest / "part-0.parquet")
        for table in TABLES:
            prints = queries.lake_fingerprints(store, table)
            blank = [str(r.rows) for r in prints.itertuples() if r.vendor is None or not str(r.vendor).strip()
                     or r.vendor != r.vendor]
            if blank:
                raise LakeError(f"{contract.TABLES[table].label}: {', '.join(blank)} rows have no vendor; the lake "
                                "files rows by vendor (a store loaded through opsdash has none such)")
            now = {f"{r.vendor}\x00{r.month}": [int(r.rows), str(r.checksum)] for r in prints.itertuples()}
            before = manifest.get("tables", {}).get(table, {})
            changed = [k for k, v in now.items() if before.get(k) != v
                       or not (partition_dir(lake, table, tenant, *k.split("\x00")) / "part-0.parquet").exists()]
            if changed:
                staging.mkdir(parents=True, exist_ok=True)
                queries.copy_lake_partitions(store, table, [tuple(k.split("\x00")) for k in changed],
                                             str(staging / table))
                for vendor, month, file in _staged(staging / table):
                    dest = partition_dir(lake, table, tenant, vendor, month)
                    dest.mkdir(parents=True, exist_ok=True)
                    _fsync(file)
                    os.replace(file, dest / "part-0.parquet")
                    _fsync(dest)
            # Gone: in the last manifest or on disk (a manifest removed by hand forgets nothing), not in the store.
            gone = sorted(k for k in set(before) | _on_disk(lake, table, tenant) if k not in now)
            for k in gone:
                _remove_partition(lake, table, tenant, *k.split("\x00"))
            manifest.setdefault("tables", {})[table] = now
            done.written[table], done.unchanged[table] = len(changed), len(now) - len(changed)
            done.removed[table], done.rows[table] = len(gone), sum(v[0] for v in now.values())
            # Written after each table's files are in place: a run stopped half-way rewrites only what it missed.
            write_atomic(manifest_path(lake, tenant), json.dumps(manifest, indent=1, sort_keys=True))
        manifest.update(tenant=tenant, exported_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                        opsdash_version=__version__, contract_version=contract.CONTRACT_VERSION, loads=done.loads)
        write_atomic(manifest_path(lake, tenant), json.dumps(manifest, indent=1, sort_keys=True))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


def tenants(lake: Path) -> list[str]:
    """The tenants a lake holds (those with load records)."""
    root = Path(lake) / LOADS
    return sorted(p.name[len("tenant="):] for p in root.glob("tenant=*")) if root.exists() else []
