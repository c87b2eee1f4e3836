"""The portfolio benchmark: each vendor's KPIs at each hospital against the same vendor at its other clients.

A BPO partner's lake holds many tenants (hospitals). For every benchmarked KPI, vendor and month, this job
computes each tenant's value as opsdash computes it for that tenant alone. Across the vendor's other clients it
then gives:
- their quartiles (exact, linear between order statistics);
- this tenant's position among them (the share of other clients below its value, ties counted half).

It writes one file per tenant, ``<out>/tenant=<tenant>/part-0.parquet``, for that hospital's store to load
(``opsdash lake benchmarks``).

What a tenant's file never holds:
- **another tenant's rows, name or single value:** only the quartiles of the others and how many there are.
  A vendor-month with fewer than `min_others` other clients is left out (the quartiles of two or three would
  give their values away).
- **counts and backlogs,** which measure a hospital's size, not its vendor's performance. Only rates, times and
  means are benchmarked.

Only complete months are compared: those the vendor's data at that tenant has run past (its latest event falls
in a later month), so what is judged by then is judged alike at every tenant, whatever as-of each has, and a month
running to date at one hospital is never set against whole months elsewhere.

Each row carries the SHA-256 of its own tenant's name (never another's), so a hospital loads only its own file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsdash import catalog, lake, metrics
from opsdash.spark import engine
from opsdash.spark.translate import string

#: The fewest other clients a vendor-month is compared with: fewer, and their quartiles would give them away.
MIN_OTHERS = 5
#: KPI kinds compared across hospitals: rates, times and means (counts and backlogs measure a hospital's size).
KINDS = ("ratio", "quantile", "mean")
#: The columns of a tenant's benchmark file, in order (opsdash lake benchmarks checks them).
COLUMNS = ("kpi", "vendor", "period_start", "value", "basis", "others", "others_p25", "others_median",
           "others_p75", "share_below", "min_others", "computed_at", "tenant_sha256")


def benchmarked() -> list[catalog.Kpi]:
    return [k for k in catalog.KPIS.values() if k.kind in KINDS]


@dataclass
class Result:
    tenants: int
    rows: int
    out: str

    def summary(self) -> str:
        return f"Portfolio benchmarks: {self.rows:,} rows for {self.tenants} tenants written to {self.out}"


def _values_sql(lk: engine.Lake, kpi: catalog.Kpi, as_of: dt.datetime, args: dict[str, Any]) -> str:
    """Spark SQL: the KPI's value per month, tenant and vendor, as engine.series gives it for one tenant (the
    aggregate is the engine's own; as-of is the latest event of any tenant, at or after each tenant's own, so
    every tenant's table is read as it stands and its complete months are what its own as-of gives)."""
    req = metrics.Request(kpi.id, "month", ("tenant", "vendor"))
    agg = engine.compile_aggregate(lk, kpi, req, as_of, True, args)
    q = engine.quantile_literal(kpi)
    value = {"ratio": "CAST(numerator AS DOUBLE) / nullif(denominator, 0)", "mean": "_sum / nullif(n, 0)",
             # between the two order statistics, as engine.interpolate and DuckDB do it
             "quantile": f"_lo + CAST({q} * (n - 1) - floor({q} * (n - 1)) AS DOUBLE) * (_hi - _lo)"}[kpi.kind]
    basis = "denominator" if kpi.kind == "ratio" else "n"
    return (f"SELECT {string(kpi.id)} AS kpi, tenant, vendor, period_start, {value} AS value, "
            f"CAST({basis} AS BIGINT) AS basis FROM ({agg}) a")


def _cuts_sql(lk: engine.Lake, table: str) -> str:
    """Spark SQL: each tenant's and vendor's data cut-off day in a table (metrics.data_cut for that vendor)."""
    return (f"SELECT {string(table)} AS tbl, tenant, vendor, CAST({engine.latest_event(table)} AS DATE) AS cut "
            f"FROM {lk.views[table]} WHERE {lk.in_window(table)} GROUP BY tenant, vendor")


def compute(spark: Any, lake_uri: str, min_others: int = MIN_OTHERS) -> Any:
    """The benchmark rows of every tenant, as a Spark DataFrame with `tenant` and COLUMNS."""
    if min_others < MIN_OTHERS:
        raise lake.LakeError(f"--min-others {min_others}: at least {MIN_OTHERS} other clients are compared (fewer "
                             "would give their values away)")
    lk = engine.Lake(spark, lake_uri, every_tenant=True)
    kpis = benchmarked()
    ends = [t for t in (lk.latest(table) for table in {k.table for k in kpis}) if t is not None]
    if not ends:
        raise lake.LakeError(f"{lake_uri}: the lake holds no rows to compare")
    as_of = max(ends)
    args: dict[str, Any] = {}
    values = " UNION ALL ".join(_values_sql(lk, k, as_of, args) for k in kpis)
    cuts = " UNION ALL ".join(_cuts_sql(lk, t) for t in sorted({k.table for k in kpis}))
    tables = " UNION ALL ".join(f"SELECT {string(k.id)} AS kpi, {string(k.table)} AS tbl" for k in kpis)
    computed = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    sql = f"""
WITH vals AS (SELECT v.* FROM ({values}) v
              JOIN ({tables}) k ON k.kpi = v.kpi
              JOIN ({cuts}) c ON c.tbl = k.tbl AND c.tenant = v.tenant AND c.vendor = v.vendor
              WHERE v.value IS NOT NULL AND add_months(v.period_start, 1) <= c.cut)
SELECT a.tenant, a.kpi, a.vendor, a.period_start, a.value, a.basis, count(b.value) AS others,
       percentile(b.value, 0.25D) AS others_p25, percentile(b.value, 0.5D) AS others_median,
       percentile(b.value, 0.75D) AS others_p75,
       (count_if(b.value < a.value) + 0.5D * count_if(b.value = a.value)) / count(b.value) AS share_below,
       CAST({int(min_others)} AS BIGINT) AS min_others, {engine._literal(computed)} AS computed_at,
       sha2(a.tenant, 256) AS tenant_sha256
FROM vals a JOIN vals b ON a.kpi = b.kpi AND a.vendor = b.vendor AND a.period_start = b.period_start
                           AND a.tenant <> b.tenant
GROUP BY a.tenant, a.kpi, a.vendor, a.period_start, a.value, a.basis
HAVING count(b.value) >= {int(min_others)}"""
    return lk._sql(sql, args)


def write(spark: Any, lake_uri: str, out: str, min_others: int = MIN_OTHERS) -> Result:
    """Compute the benchmarks and write each tenant's file. On a local directory each tenant's file is moved
    into place whole (a hospital never loads half of one); a URI is written by Spark's own committer."""
    df = compute(spark, lake_uri, min_others).select("tenant", *COLUMNS).repartition("tenant").cache()
    rows, tenants = df.count(), df.select("tenant").distinct().count()
    remote = "://" in out or out.startswith("hdfs:")
    if remote:
        df.write.partitionBy("tenant").mode("overwrite").parquet(out)
        df.unpersist()
        return Result(tenants, rows, out)
    target = Path(out)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:12]}"
    try:
        df.write.partitionBy("tenant").mode("overwrite").parquet(str(staging))
        written = {p.name for p in staging.glob("tenant=*")}
        for old in target.glob("tenant=*") if target.exists() else ():
            if old.name not in written:  # a tenant with nothing to compare now: its old figures would mislead
                shutil.rmtree(old)
        for part in staging.glob("tenant=*"):
            files = sorted(part.glob("*.parquet"))
            dest = target / part.name
            dest.mkdir(parents=True, exist_ok=True)
            if len(files) != 1:  # one partition per tenant gives one file; more would be a Spark change
                raise lake.LakeError(f"{part}: expected one Parquet file per tenant, found {len(files)}")
            os.replace(files[0], dest / "part-0.parquet")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        df.unpersist()
    return Result(tenants, rows, str(target))
