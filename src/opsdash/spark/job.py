"""opsdash's Spark jobs, for spark-submit on any master: the same code as ``opsdash kpi --engine spark``.

    spark-submit --master local[2] "$(python -c 'import opsdash.spark.job as j; print(j.__file__)')" \\
        kpi clean_claim_rate --lake /data/opsdash-lake --tenant st-marys --by vendor --out clean_claims.csv

The job runs on the driver (opsdash and pyspark installed there, e.g. ``pip install 'opsdash[spark]'``); the
executors run Spark SQL only, so they need nothing of opsdash. docs/scale.md has examples for a standalone,
YARN and Kubernetes master. Exit status: 0 done, 2 a request or lake that cannot be answered (the message says
why), anything else a failure of Spark itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from opsdash import catalog, lake, metrics, periods
from opsdash.spark.translate import TranslationError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="opsdash.spark.job", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="job", required=True)
    k = sub.add_parser("kpi", help="one KPI by period, as 'opsdash kpi --format csv' prints it, written to --out")
    k.add_argument("kpi_id", choices=list(catalog.KPIS), metavar="KPI_ID")
    k.add_argument("--lake", required=True, help="the lake: a directory, or a URI Spark reads (hdfs://, s3a://)")
    k.add_argument("--tenant", default=None)
    k.add_argument("--grain", choices=list(periods.GRAINS), default="month")
    k.add_argument("--by", action="append", default=[])
    k.add_argument("--where", action="append", default=[], help="COLUMN=VALUE (repeatable)")
    k.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None)
    k.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=None)
    k.add_argument("--as-of", dest="as_of", type=dt.datetime.fromisoformat, default=None)
    k.add_argument("--out", required=True, type=Path, help="the CSV file to write (replaced whole)")
    b = sub.add_parser("portfolio", help="each vendor's KPIs at each tenant against its other clients' quartiles, "
                                         "one file per tenant for 'opsdash lake benchmarks'")
    b.add_argument("--lake", required=True, help="the lake: a directory, or a URI Spark reads")
    b.add_argument("--out", required=True, help="the directory to write tenant=<name>/part-0.parquet under")
    b.add_argument("--min-others", type=int, default=None,
                   help="the fewest other clients a vendor-month is compared with (default 5)")
    return p


def run_portfolio(args: argparse.Namespace) -> int:
    from opsdash.spark import engine, portfolio

    spark = engine.session()
    done = portfolio.write(spark, args.lake, args.out,
                           portfolio.MIN_OTHERS if args.min_others is None else args.min_others)
    print(f"{done.summary()} (Spark master {spark.sparkContext.master})")
    return 0


def run_kpi(args: argparse.Namespace) -> int:
    from opsdash import downloads
    from opsdash.spark import engine

    spark = engine.session()
    lk = engine.Lake(spark, args.lake, args.tenant)
    where: dict[str, list[str]] = {}
    for pair in args.where:
        col, sep, value = pair.partition("=")
        if not sep:
            raise metrics.MetricsError(f"--where {pair!r}: expected COLUMN=VALUE")
        where.setdefault(col.strip(), []).append(value)
    df = engine.series(lk, args.kpi_id, grain=args.grain, by=tuple(args.by), where=where, start=args.start,
                       end=args.end, as_of=args.as_of)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(downloads.csv_text(df).encode("utf-8"))  # the CSV's own line ends, as the dashboard's
    tmp.replace(out)
    print(f"{catalog.KPIS[args.kpi_id].label}: {len(df)} rows written to {out} (tenant {lk.tenant}, "
          f"Spark master {spark.sparkContext.master})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"kpi": run_kpi, "portfolio": run_portfolio}[args.job](args)
    except (metrics.MetricsError, lake.LakeError, TranslationError) as exc:
        print(f"opsdash.spark.job: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
