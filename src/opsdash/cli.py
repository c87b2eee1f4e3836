"""The ``opsdash`` command."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pandas as pd

from opsdash import __version__, catalog, contract, lifecycle, periods
from opsdash.store import Store, StoreError, default_db_path

EXIT_REFUSED = 1
READ_SHARE = 0.65

db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar="OPSDASH_DB",
    show_envvar=True, help="The store file (default ./opsdash.duckdb).",
)
format_option = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                             show_default=True, help="Output format.")


class _Rate(click.ParamType):
    """A share from 0 to 1, written 0.05 or 5%."""

    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip()
        try:
            rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a rate; expected a share such as 0.05 or 5%", param, ctx)
        if not 0 <= rate <= 1:
            self.fail(f"{value!r} is outside 0 to 1 (0% to 100%)", param, ctx)
        return rate


RATE = _Rate()


def _open(db: Path | None, read_only: bool = False, wait: float = 0.0) -> Store:
    try:
        return lifecycle.open_store(db or default_db_path(), read_only=read_only, wait=wait)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


#: Characters a terminal acts on rather than shows: C0 and C1 controls, DEL, and the bidirectional controls
#: that reorder what follows (a file name "x\u202etxt.exe" would read "xexe.txt").
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + "]")


def terminal_safe(text: Any, keep: str = "") -> str:
    """Text from data (file names, vendors, reasons, raw values) as a terminal shows it without acting on it:
    every control character written as an escape (ESC as \\x1b, U+202E as \\u202e), except those in `keep`."""
    def escaped(m: re.Match[str]) -> str:
        c = m[0]
        if c in keep:
            return c
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"

    return _UNSAFE.sub(escaped, str(text))


def _echo(text: str = "", **kw: Any) -> None:
    """click.echo for lines opsdash writes: the line breaks and tabs are its own, any other control is escaped."""
    click.echo(terminal_safe(text, keep="\n\t"), **kw)


def _safe_cells(df: Any, keep: str = "") -> Any:
    """The frame with every text cell (and column name) terminal-safe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: terminal_safe(v, keep) if isinstance(v, str) else v)
    out.columns = [terminal_safe(c, keep) for c in out.columns]
    return out


def _csv(df: Any) -> str:
    """CSV as the dashboard's downloads write it (formula-escaped, CR/LF cells quoted), with controls other than
    tab and line feed escaped, as it usually lands on a terminal."""
    from opsdash import downloads

    return downloads.csv_text(_safe_cells(df, keep="\t\n"))


def _print_frame(df: Any, fmt: str) -> None:
    if fmt == "csv":
        click.echo(_csv(df), nl=False)
    elif fmt == "json":  # JSON escapes every control and non-ASCII character itself
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))
    elif df.empty:
        click.echo("(none)")
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.max_colwidth", 60):
            click.echo(_safe_cells(df.astype(object).where(df.notna(), "")).to_string(index=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="opsdash")
def main() -> None:
    """opsdash: vendors' raw KPI exports in, numbers leadership can trust out.

    \b
    Start with the bundled sample data:
        opsdash demo
    then load your own exports:
        opsdash ingest exports/*.csv
    """


@main.command()
@db_option
@click.option("--table", type=click.Choice(list(contract.TABLES)), default=None,
              help="The table the files hold (default: inferred from each file's headers).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A TOML mapping file for a vendor whose headers, codes or formats differ from the contract.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format: readable text, or JSON for scripts.")
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
              help="How long to keep trying while another process holds the store (a dashboard lets go of it "
                   "between page loads).")
@click.option("--loaded-by", default=None, metavar="NAME",
              help="Who is recorded as having loaded the files (default: the operating-system user; the "
                   "dashboard's Upload page passes the signed-in user).")
@click.option("--max-reject-rate", type=RATE, default=None, metavar="RATE",
              help="Refuse a file whole (nothing of it stored, exit status 1) when more than this share of its "
                   "rows would be rejected: 0.05 or 5%. For unattended loads; without it such a file loads, with a "
                   "warning above 5%.")
@click.option("--outlook/--no-outlook", "keep_outlook", default=True, show_default=True,
              help="After a load, make every vendor's outlook (forecasts 13 weeks ahead, staffing and backlogs) and "
                   "train the denial-risk model, and keep them in the store, so no page waits for them (about 15 s "
                   "for the sample). --no-outlook for a series of loads: run `opsdash outlook` and `opsdash denials "
                   "train` after the last.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest(db: Path | None, table: str | None, mapping: Path | None, fmt: str, wait: float, loaded_by: str | None,
           max_reject_rate: float | None, keep_outlook: bool, files: tuple[Path, ...]) -> None:
    """Load export files (CSV, Parquet, xlsx) into the store, one transaction per file.

    Each file is reported: rows read, loaded, rejected, skipped and replaced, PHI
    columns dropped and columns ignored. A file already loaded (same SHA-256) is not
    loaded again. A file with more than 5% of its rows rejected loads with a warning
    (or, with --max-reject-rate, is refused). Exit status 0 when every file loaded (or
    was already loaded), 1 when any file was refused, 2 for usage errors.

    \b
    Example:
        opsdash ingest --mapping iberica.toml exports/iberica/calls_2026-10.csv
    """
    from opsdash.ingest.loader import loaded_by as recorded_as

    store = _open(db, wait=wait)
    with recorded_as(loaded_by) if loaded_by else contextlib.nullcontext():
        reports = _run_with_progress(store, list(files), table, mapping, max_reject_rate)
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            _print_report(r)
        _print_summary(reports)
    if keep_outlook:
        _keep_outlooks(store, reports, wait=wait, err=fmt == "json")
    store.close()
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)


def _keep_outlooks(store: Store, reports: list[Any], wait: float = 60.0, err: bool = False) -> None:
    """After loads that stored rows: every vendor's outlook made while the store is open for reading only (a
    dashboard goes on reading it), then kept (capacity.outlook.keep_after_load). Closes `store`. The files stay
    loaded whatever happens here: a failure is said, and pages make what was not kept when opened."""
    from opsdash.capacity import outlook

    path = store.path
    store.close()
    if not any(r.status == "loaded" for r in reports):
        return
    try:
        kept = outlook.keep_after_load(path, lambda: lifecycle.open_store(path, wait=wait), wait=wait)
    except Exception as exc:  # noqa: BLE001 - the loads are committed; the outlooks can be kept later
        _echo(f"outlooks not kept ({type(exc).__name__}: {exc}): pages make them when opened; `opsdash outlook` "
              "keeps them", err=True)
    else:
        _echo(kept.words(), err=err)
    _keep_denials(path, wait, err)


def _keep_denials(path: Path, wait: float, err: bool) -> None:
    """After loads: the denial model trained and kept (denials.kept.keep_after_load), the loads standing whatever
    happens here."""
    from opsdash.denials import kept

    try:
        made = kept.keep_after_load(path, lambda: lifecycle.open_store(path, wait=wait), wait=wait)
    except Exception as exc:  # noqa: BLE001 - the loads are committed; the model can be trained later
        _echo(f"denial model not kept ({type(exc).__name__}: {exc}): `opsdash denials train` keeps it", err=True)
        return
    _echo(made.words() if made is not None else "denial model not kept: a load changed the store meanwhile",
          err=err)


def _run_with_progress(store: Store, files: list[Path], table: str | None, mapping: Path | None,
                       max_reject_rate: float | None = None) -> list[Any]:
    from functools import partial

    from opsdash.ingest import loader

    load_files = partial(loader.load_files, max_reject_rate=max_reject_rate)

    sizes = {p: (p.stat().st_size if p.is_file() else 0) for p in files}
    show = sys.stderr.isatty()
    if not show:
        return load_files(store, files, table=table, mapping=mapping)
    done = 0  # bytes of the files already loaded
    with click.progressbar(length=max(1, sum(sizes.values())), label="loading", file=sys.stderr,
                           show_pos=False, show_percent=True) as bar:
        def progress(path: Path, stage: str) -> None:
            bar.label = terminal_safe(f"{path.name}: {stage}")
            if stage.startswith("reading ") and stage.endswith("%"):
                # Reading is about two thirds of a load; the bar follows DuckDB's progress through it.
                bar.pos = done + int(sizes.get(path, 0) * float(stage[8:-1]) / 100 * READ_SHARE)
            bar.render_progress()

        def on_file(path: Path, _rep: Any) -> None:
            nonlocal done
            done += sizes.get(path, 0)
            bar.pos = done
            bar.render_progress()

        return load_files(store, files, table=table, mapping=mapping, progress=progress, on_file=on_file)


def _n(x: int) -> str:
    return f"{x:,}"


def _line(text: str) -> None:
    """One line of a load report: file names, mappings and messages come from outside, so nothing in it acts
    on the terminal (a line break in a file name shows as \\x0a, not as a forged line)."""
    click.echo(terminal_safe(text))


def _print_report(r: Any) -> None:
    from opsdash.ingest.loader import reject_warning

    if r.status == "loaded":
        _line(f"loaded   {r.file} -> {r.table} (load {r.load_id}{', mapping ' + r.mapping if r.mapping else ''}): "
                   f"{_n(r.rows_read)} read, {_n(r.rows_loaded)} loaded, {_n(r.rows_rejected)} rejected, "
                   f"{_n(r.rows_skipped)} skipped, {_n(r.rows_replaced)} replaced stored rows, "
                   f"{_n(r.rows_superseded)} superseded by later rows in the file")
        if r.phi_columns_dropped:
            _line(f"         PHI columns dropped, never stored: {', '.join(r.phi_columns_dropped)}")
        if r.ignored_columns:
            _line(f"         columns ignored: {', '.join(r.ignored_columns)}")
        loud = reject_warning(r.rows_read, r.rows_rejected)
        for w in r.warnings:
            _line(f"         {'WARNING' if w == loud else 'note'}: {w}")
        if r.rows_rejected:
            _line(f"         see the rejected rows: opsdash rejects --load {r.load_id}")
    elif r.status == "duplicate":
        _line(f"skipped  {r.message}")
    else:
        _line(f"REFUSED  {r.message}")


def _print_summary(reports: list[Any]) -> None:
    by = {s: [r for r in reports if r.status == s] for s in ("loaded", "duplicate", "refused")}
    _echo(f"{len(reports)} file(s): {len(by['loaded'])} loaded, {len(by['duplicate'])} already loaded, "
               f"{len(by['refused'])} refused; {_n(sum(r.rows_loaded for r in by['loaded']))} rows loaded, "
               f"{_n(sum(r.rows_rejected for r in by['loaded']))} rejected")
    from opsdash.ingest.loader import REJECT_WARN_RATE, reject_warning

    many = [r.file for r in by["loaded"] if reject_warning(r.rows_read, r.rows_rejected)]
    if many:
        _echo(f"WARNING: {len(many)} file(s) loaded with more than {REJECT_WARN_RATE:.0%} of their rows rejected: "
              f"{', '.join(terminal_safe(f) for f in many)}")


@main.command()
@db_option
@format_option
def loads(db: Path | None, fmt: str) -> None:
    """List every load: file, SHA-256, table, mapping, row counts and times.

    \b
    Example:
        opsdash loads --format csv > loads.csv
    """
    from opsdash import queries

    store = _open(db, read_only=True)
    df = queries.load_history(store).drop(columns=["loaded_by"])
    df = df[[c for c in df if c != "sha256"] + ["sha256"]]
    if fmt == "table":
        from opsdash import labels

        df["sha256"] = df["sha256"].str[:12]
        df = labels.frame(df.rename(columns={"file_name": "file", "table_name": "table", "mapping_name": "mapping",
                                             "phi_columns_dropped": "PHI columns dropped", "sha256": "SHA-256"}),
                          kinds={"rows_skipped": "count", "rows_replaced": "count", "rows_superseded": "count"})
    _print_frame(df, fmt)


@main.command()
@db_option
@click.option("--load", "load_id", type=int, default=None, help="Only the rows rejected by this load.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the CSV to this file instead of standard output.")
def rejects(db: Path | None, load_id: int | None, out: Path | None) -> None:
    """Rejected and skipped rows as CSV: load, file, line, column, kind, reason and raw values.

    \b
    Example:
        opsdash rejects --load 12 --out rejects-12.csv
    """
    from opsdash import queries

    store = _open(db, read_only=True)
    if load_id is not None and not queries.load_exists(store, load_id):
        raise click.UsageError(f"no load {load_id}; see `opsdash loads`")
    df = queries.rejects(store, load_id)
    text = _csv(df)
    if out:
        out.write_text(text, encoding="utf-8")
        _echo(f"{len(df):,} rejected row(s) written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
@click.option("--seed", type=int, default=20261126, show_default=True, help="Random seed: same seed, same files.")
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True, help="Months of history.")
@click.option("--scale", type=click.FloatRange(0.001, 10_000), default=1.0, show_default=True,
              help="Multiplies every volume (1 = the bundled sample).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day of data (default: today); the months end in its month.")
@click.option("--flat", is_flag=True, help="One plain CSV per table with contract headers (for benchmarks).")
@click.option("--tables", default=",".join(contract.TABLES), show_default=True,
              help="With --flat: comma-separated tables to write.")
def generate(out: Path, seed: int, months: int, scale: float, as_of: Any, flat: bool, tables: str) -> None:
    """Generate realistic, deterministic vendor exports (the sample data, or larger sets).

    \b
    Examples:
        opsdash generate --out /tmp/exports --seed 7 --months 12
        opsdash generate --out /tmp/big --flat --tables claims --scale 200
    """
    from opsdash import sample  # the runtime never imports the sample; only this command does

    wanted = [t.strip() for t in tables.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in contract.TABLES]
    if unknown:
        raise click.UsageError(f"unknown table(s) {', '.join(unknown)}; expected some of {', '.join(contract.TABLES)}")
    day = as_of.date() if as_of else None
    if flat:
        written = sample.write_flat(out, seed, months, scale, day, wanted)
    else:
        written = sample.write_sample(out, seed, months, scale, day)
    _echo(f"{len(written)} file(s) written to {out}")


@main.command()
@db_option
@click.option("--sample-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of exports (default: the bundled sample_data/).")
def demo(db: Path | None, sample_dir: Path | None) -> None:
    """Build the store from the bundled sample exports (each folder's mapping.toml applies to its files).

    Progress goes to standard error, a line per file; the summary to standard output.

    \b
    Example:
        opsdash demo --db /tmp/demo.duckdb
    """
    from opsdash.ingest.folders import load_folder, sample_data_dir

    from opsdash.ingest.folders import export_files

    folder = sample_dir or sample_data_dir()
    store = _open(db)
    _echo(f"building the store {store.path} from {len(export_files(folder))} export file(s) in {folder} "
          "(a minute or two)", err=True)

    def progress(number: int, of: int, path: Path, r: Any) -> None:
        what = (f"{_n(r.rows_loaded)} rows into {r.table}" if r.status == "loaded" else
                "already loaded" if r.status == "duplicate" else "REFUSED")
        _echo(f"[{number:>{len(str(of))}}/{of}] {path.relative_to(folder)}: {what}", err=True)

    reports = load_folder(store, folder, on_file=progress)
    for r in reports:
        if r.status != "loaded":
            _print_report(r)
    _print_summary(reports)
    counts = store.table_counts()
    _echo("stored rows: " + ", ".join(f"{t} {_n(n)}" for t, n in counts.items()))
    _keep_outlooks(store, reports)  # closes the store
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)


# -- the metrics engine from the command line ---------------------------------------------------------
TIMESTAMP_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _print_records(df: Any, fmt: str) -> None:
    """CSV and JSON carry the frame as computed; the table shows it for people."""
    if fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))
    else:
        _print_frame(df, fmt)


@main.command("kpis")
@format_option
def kpis_command(fmt: str) -> None:
    """The KPI catalogue: id, label, table, period, unit, direction, default target and its source.

    \b
    Example:
        opsdash kpis --format csv
    """
    from opsdash import catalog

    rows = [{"id": k["id"], "label": k["label"], "table": k["table"], "by": k["period_words"], "unit": k["unit"],
             "better": k["direction"], "target": k["target"], "target_source": k["target_source"],
             "breakdowns": ", ".join(k["breakdowns"])} for k in catalog.glossary()]
    df = pd.DataFrame(rows)
    if fmt == "table":
        from opsdash import labels

        df = df.drop(columns=["breakdowns", "target_source"]).assign(
            by=[labels.prose(t) for t in df["by"]],
            better=df["better"].map({"higher": "Higher", "lower": "Lower", "neutral": "Neither"}))
        df = labels.frame(df, kpi_col="id", kinds={"id": "text", "label": "text", "by": "text", "better": "text"})
    _print_records(df, fmt)


def _spark_lake(path: str | None, tenant: str | None, master: str | None) -> Any:
    """The lake's tenant on Spark, or a usage error saying what is missing."""
    from opsdash import lake
    from opsdash.spark import engine

    if path is None:
        raise click.UsageError("--engine spark reads a lake: add --lake PATH (written by 'opsdash lake export')")
    if "://" not in path and not lake.tenants(Path(path)):
        raise click.UsageError(f"--lake {path}: no opsdash lake there (write one with 'opsdash lake export')")
    try:
        spark = engine.session(master)
        spark.sparkContext.setLogLevel("ERROR")
        return engine.Lake(spark, path, tenant)
    except (engine.SparkUnavailable, lake.LakeError) as exc:
        raise click.ClickException(str(exc)) from exc


def _spark_functions() -> tuple[Any, Any]:
    from opsdash.spark import engine

    return engine.series, lambda lk, tables, vendors, end: lk.data_cut(tables, vendors, end)


def _where(ctx_table: str, pairs: tuple[str, ...], store: Any) -> dict[str, list[str]]:
    from opsdash import catalog, metrics

    out: dict[str, list[str]] = {}
    for pair in pairs:
        col, sep, value = pair.partition("=")
        col = col.strip()
        if not sep:
            raise click.UsageError(f"--where {pair!r}: expected COLUMN=VALUE, e.g. --where vendor='Helix Health Services'")
        if col not in catalog.DIMENSIONS[ctx_table]:
            raise click.UsageError(f"--where: unknown column {col!r}; expected one of {', '.join(catalog.DIMENSIONS[ctx_table])}")
        valid = (metrics.dimension_values(store, ctx_table, col) if isinstance(store, Store)
                 else store.dimension_values(ctx_table, col))
        if value not in valid:
            shown = ", ".join(valid[:30]) + (f" (and {len(valid) - 30} more)" if len(valid) > 30 else "")
            raise click.UsageError(f"--where {col}: no value {value!r} in the data; expected one of {shown or '(none)'}")
        out.setdefault(col, []).append(value)
    return out


@main.command("kpi")
@click.argument("kpi_id")
@db_option
@click.option("--grain", type=click.Choice(list(periods.GRAINS)), default="month", show_default=True,
              help="Period length (weeks are ISO weeks starting Monday).")
@click.option("--by", "by", multiple=True, help="Break down by a column (repeatable), e.g. --by vendor --by payer.")
@click.option("--where", "where", multiple=True,
              help="Keep rows with COLUMN=VALUE (repeatable; the same column twice keeps either value).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day of the range.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day of the range.")
@click.option("--as-of", "as_of", type=click.DateTime(TIMESTAMP_FORMATS), default=None,
              help="Data cut-off (default: the latest event time in the KPI's table).")
@click.option("--answer-threshold", type=click.FloatRange(0), default=catalog.ANSWER_THRESHOLD_S, show_default=True,
              help="Calls: seconds within which an answer counts for the service level.")
@click.option("--short-abandon", type=click.FloatRange(0), default=catalog.SHORT_ABANDON_S, show_default=True,
              help="Calls: abandons within this many seconds are left out of call KPIs but volume.")
@click.option("--spc", is_flag=True, help="Add spc_mean, spc_lpl, spc_upl, spc_point_type and spc_to_date (a period running to "
                   "date, outside the limits) per breakdown group.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Compute on the store (duckdb) or on Apache Spark over a lake (spark, with --lake).")
@click.option("--lake", "lake_path", default=None,
              help="With --engine spark: the lake written by 'opsdash lake export' (a directory, or a URI Spark "
                   "reads such as hdfs://… or s3a://…).")
@click.option("--tenant", default=None, help="With --engine spark: the lake's tenant (needed when it holds several).")
@click.option("--spark-master", default=None, envvar="OPSDASH_SPARK_MASTER", show_envvar=True,
              help="With --engine spark: the Spark master (default local[*]; spark://…, yarn, k8s://… on a cluster).")
@format_option
def kpi_command(kpi_id: str, db: Path | None, grain: str, by: tuple[str, ...], where: tuple[str, ...], start: Any,
                end: Any, as_of: Any, answer_threshold: float, short_abandon: float, spc: bool, engine: str,
                lake_path: str | None, tenant: str | None, spark_master: str | None, fmt: str) -> None:
    """One KPI by period, optionally broken down and filtered: exactly the numbers the dashboard shows.

    CSV columns: period_start, the breakdown columns, numerator and denominator (ratios) or n (medians,
    means), value. A period without rows has an empty value.

    \b
    Examples:
        opsdash kpi clean_claim_rate --by vendor --format csv
        opsdash kpi sla_adherence --grain week --where vendor='ClearView Diagnostics Reading' --spc
        opsdash kpi clean_claim_rate --by vendor --engine spark --lake /data/opsdash-lake --tenant st-marys
    """
    from opsdash import catalog, metrics

    if kpi_id not in catalog.KPIS:
        raise click.UsageError(f"unknown KPI {kpi_id!r}; expected one of {', '.join(catalog.KPIS)}")
    kpi = catalog.KPIS[kpi_id]
    for col in by:
        if col not in catalog.DIMENSIONS[kpi.table]:
            raise click.UsageError(f"--by: unknown column {col!r} for {kpi_id}; expected one of "
                                   f"{', '.join(catalog.DIMENSIONS[kpi.table])}")
    kw = dict(grain=grain, by=by, start=start.date() if start else None, end=end.date() if end else None,
              as_of=as_of, answer_threshold_s=answer_threshold, short_abandon_s=short_abandon)
    if engine == "spark":
        if spc:
            raise click.UsageError("--spc needs the store's process changes: run it with --engine duckdb")
        source: Any = _spark_lake(lake_path, tenant, spark_master)
        series, data_cut = _spark_functions()
    else:
        if lake_path or tenant:
            raise click.UsageError("--lake and --tenant go with --engine spark")
        source = _open(db, read_only=True)
        series, data_cut = metrics.series, metrics.data_cut
    wheres = _where(kpi.table, where, source)
    try:
        df = series(source, kpi_id, where=wheres, **kw)
    except metrics.MetricsError as exc:
        raise click.UsageError(str(exc)) from exc
    except ValueError as exc:  # the Spark engine's TranslationError: a declaration it cannot render as meant
        if engine != "spark":
            raise
        raise click.ClickException(f"{kpi_id} cannot be computed on Spark: {exc}") from exc
    cut = data_cut(source, (kpi.table,), wheres.get("vendor", ()), end.date() if end else None)
    cut = min(cut, as_of.date()) if cut is not None and as_of is not None else cut
    if spc:
        df = add_spc_columns(source, df, kpi, list(by), grain, wheres, end.date() if end else None, cut)
    if fmt == "table":
        from opsdash import labels, periods

        _echo(f"{kpi.label} ({kpi_id}), by {grain}" + (f" and {', '.join(by)}" if by else ""))
        # The running period is marked "to date" in the Period column; its spc_to_date flag is for machines.
        _print_frame(labels.frame(df.drop(columns=["spc_to_date"], errors="ignore"), grain, kpi_col=None, kpi=kpi_id,
                                  as_of=cut), "table")
        if cut is not None and len(df):
            _echo(_period_note(cut, grain, min(df["period_start"].max(), periods.start_of(cut, grain))))
        return
    _print_records(df, fmt)


def _period_note(cut: Any, grain: str, last: Any) -> str:
    """What the table's last period covers: complete, or to date and compared with the same days before."""
    from opsdash import periods

    w = periods.window(last, grain, cut)
    if not w.partial:
        return f"Latest complete {grain}: {w.label}."
    lfl = periods.like_for_like(w)
    return (f"{periods.label(w.start, grain)} is to date (data to {cut.day} {cut:%b %Y}): compare it like for like "
            f"with {periods.span(lfl)}, not the whole {grain}. Latest complete {grain}: "
            f"{periods.label(lfl.start, grain)}.")


def add_spc_columns(store: Store, df: Any, kpi: Any, by: list[str], grain: str | None,
                    where: dict[str, list[str]], end: Any = None, cut: Any = None) -> Any:
    """XmR limits and point type per breakdown group, in period order, as the dashboard draws them: limits
    within the KPI's possible range, rebased at the process changes that concern the group (a vendor's own, on a
    chart of that vendor alone), no limits for a series too coarse for XmR, and a period that runs to date
    (spc_to_date) outside the limits and without a point type. `cut` is the request's data cut-off (capped at
    its --as-of); a vendor's group is cut at its own, when earlier. Periods starting after it have no SPC."""
    import numpy as np

    from opsdash import catalog, views

    col = catalog.PROCESS_COLUMN.get(kpi.table)
    base = views.Filters(vendors=tuple(where.get("vendor", ())), end=end, grain=grain or "month").with_extra(
        **({col: tuple(where[col])} if col and col in where else {}))
    every = views.events_for(views.events(store, base), kpi.id, base)
    single = views.one_vendor(store, base, kpi.table)  # of a group not broken down by vendor
    parts = []
    groups = df.groupby(by, dropna=False, sort=False) if by else [((), df)]
    for key, part in groups:
        part = part.sort_values("period_start").reset_index(drop=True)
        ev, own, one = every, cut if grain else None, single
        if "vendor" in by:
            vendor = dict(zip(by, key if isinstance(key, tuple) else (key,)))["vendor"]
            ev, one = every[every["vendor"] == vendor], True
            mine = views.data_cut(store, kpi.id, replace(base, vendors=(vendor,))) if own is not None else None
            own = min(own, mine) if mine is not None else own
        cut_at = periods.split_at_cut(part["period_start"], own, grain)
        after, running = cut_at.after, cut_at.running
        complete = part[cut_at.complete].reset_index(drop=True)
        ev = views.events_on(views.rebasing(store, base, ev, single=one), complete["period_start"], grain)
        chart = views.with_to_date(views.xmr_for(kpi, complete, ev, grain), part[running]["value"])
        pad = int(after.sum())  # periods after the cut-off come last: no SPC for them
        fill = {"mean": np.nan, "lpl": np.nan, "upl": np.nan, "point_type": None, "to_date": False}
        cols = {f"spc_{c}": [*chart[c].tolist(), *[v] * pad] for c, v in fill.items()}
        parts.append(part.assign(**cols))
    return pd.concat(parts) if parts else df.assign(spc_mean=[], spc_lpl=[], spc_upl=[], spc_point_type=[],
                                                    spc_to_date=[])


def close_names(name: str, known: list[str], n: int = 3) -> list[str]:
    """Known names a mistyped one most likely means: same letters in another case, then names starting with it
    (or a word of them does), then those containing it, then look-alikes by spelling."""
    import difflib

    low = name.strip().casefold()
    if not low:
        return []
    folded = {k.casefold(): k for k in known}
    for pick in ([k for k in known if k.casefold() == low],
                 [k for k in known if k.casefold().startswith(low) or any(w.startswith(low) for w in k.casefold().split())],
                 [k for k in known if low in k.casefold()]):
        if pick:
            return pick[:n]
    return [folded[k] for k in difflib.get_close_matches(low, list(folded), n=n, cutoff=0.6)]


def _latest_event(store: Store, vendor: str) -> Any:
    """The vendor's data cut-off (metrics.data_cut over every table): the as-of date of its scorecards, or None."""
    from opsdash import catalog, metrics

    return metrics.data_cut(store, tuple(catalog.EVENT_TIMES), (vendor,))


def _period_of(day: Any, grain: str) -> str:
    """The period of a grain a day falls in, written as --period takes it (2026-11, 2026-W48, 2026-Q4)."""
    return periods.code(periods.start_of(day, grain), grain)


@main.command("forecast")
@db_option
@click.option("--grain", type=click.Choice(["week", "day"]), default="week", show_default=True,
              help="Forecast weekly (ISO weeks from Monday) or daily volumes, 13 weeks ahead either way.")
@click.option("--kpi", "kpis", multiple=True, type=click.Choice(["work_volume", "claim_volume", "call_volume"]),
              help="Only this volume (repeatable; default all three).")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable).")
@format_option
def forecast_command(db: Path | None, grain: str, kpis: tuple[str, ...], vendors: tuple[str, ...], fmt: str) -> None:
    """Volume forecasts 13 weeks ahead, with 80% and 95% ranges and the accuracy their backtests measured.

    One series per vendor and process (work items), vendor and queue (calls) and vendor (claims received).
    Each is forecast by exponential smoothing (ETS) and by repeating last season; both are backtested at three
    past origins and the better one is used. A series without enough history says so and gets no number.

    CSV and JSON: one row per series and period (kpi, series, grain, period_start, period, forecast, lo_80,
    hi_80, lo_95, hi_95, model, status, accuracy, backtest_mase, baseline_mase, backtest_coverage_80,
    backtest_coverage_95); a series without a forecast has one row with its status and no figures.

    \b
    Examples:
        opsdash forecast
        opsdash forecast --kpi call_volume --grain day --format csv
    """
    from opsdash import catalog
    from opsdash.capacity import forecast, volumes

    store = _open(db, read_only=True)
    results = volumes.forecasts(store, grain, kpis, vendors)
    df = volumes.table(results)
    if fmt != "table":
        _print_records(df, fmt)
        return
    if not results:
        _echo("(no volumes to forecast)")
    for kpi_id, _hist, f in results:
        _echo(f"{catalog.KPIS[kpi_id].label}: {f.series}")
        if f.status != "ok":
            _echo(f"  no forecast: {f.reason}")
            _echo()
            continue
        _echo(f"  model: {forecast.MODEL_WORDS[f.model]}; backtest: {f.reason}")  # type: ignore[index]
        rows = df[(df["kpi"] == kpi_id) & (df["series"] == f.series)]
        shown = pd.DataFrame({
            "Period": rows["period"],
            "Forecast": rows["forecast"].map(lambda x: f"{x:,.0f}"),
            "80% range": [f"{a:,.0f}-{b:,.0f}" for a, b in zip(rows["lo_80"], rows["hi_80"], strict=True)],
            "95% range": [f"{a:,.0f}-{b:,.0f}" for a, b in zip(rows["lo_95"], rows["hi_95"], strict=True)],
        })
        _print_frame(shown, "table")
        _echo()


@main.command("staffing")
@db_option
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable).")
@click.option("--part", type=click.Choice(["both", "contact", "back-office"]), default="both", show_default=True,
              help="Contact-centre queues, back-office processes, or both (CSV/JSON: one of the two).")
@click.option("--intervals", is_flag=True,
              help="CSV/JSON: one row per half-hour (contact) or day (back office) instead of per week.")
@click.option("--levels", is_flag=True, help="CSV/JSON, back office: one row per contract level and month.")
@format_option
def staffing_command(db: Path | None, vendors: tuple[str, ...], part: str, intervals: bool, levels: bool,
                     fmt: str) -> None:
    """Staffing ahead: contact-centre half-hours whose planned agents fall short, and back-office backlogs
    against the contract's SLA adherence levels.

    Contact centre: each planned half-hour after the data cut-off gets the calls forecast for it (the daily
    forecast spread by the last 8 weeks' arrival profile), the agents Erlang C and Erlang A (callers hang up,
    patience measured) need for the contract's service level, the net agents (scheduled less shrinkage), and the
    service level and abandonment expected at that level. Short: the service level expected at the net agents
    misses the target.

    Back office: from the items open at the cut-off, each day's forecast work is worked earliest due first at the
    pace the plan's staff kept in their busiest of the last 8 weeks; the backlog, the items past due, each SLA
    adherence level month by month, the day a miss becomes certain and the FTE that would keep every level; the
    same in busy weeks (each week at the top of its 80% range).

    \b
    Examples:
        opsdash staffing
        opsdash staffing --part contact --intervals --format csv
        opsdash staffing --part back-office --levels --format json
    """
    from opsdash import catalog, periods
    from opsdash.capacity import backoffice, contact, outlook

    if fmt != "table" and part == "both":
        raise click.UsageError("CSV and JSON hold one kind of row: choose --part contact or --part back-office")
    store = _open(db, read_only=True)
    looks = outlook.outlooks(store, vendors)  # kept after the last load, or made now
    if part == "back-office":
        projected = [p for o in looks for p in o.projections]
        if fmt != "table":
            if levels:
                _print_records(backoffice.levels_table(projected), fmt)
            elif intervals:
                frames = [p.daily.assign(vendor=p.vendor, process=p.process) for p in projected if not p.daily.empty]
                _print_records(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), fmt)
            else:
                _print_records(backoffice.weekly_summary(projected), fmt)
            return
        _print_back_office(projected)
        return
    queues = [q for o in looks for q in o.queues]
    if fmt != "table":
        if intervals:
            frames = [pd.concat([pd.DataFrame({"vendor": q.vendor, "queue": q.queue}, index=q.intervals.index),
                                 q.intervals], axis=1) for q in queues if not q.intervals.empty]
            _print_records(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), fmt)
        else:
            _print_records(contact.weekly_summary(queues), fmt)
        return
    if not queues:
        _echo("(no contact-centre staffing plan after the data cut-off)")
    weekly = contact.weekly_summary(queues)
    for q in queues:
        _echo(f"{q.vendor} / {q.queue}")
        for note in q.notes:
            _echo(f"  {note}")
        if q.intervals.empty:
            _echo()
            continue
        patience = (f"patience {q.patience_s:,.0f} s measured ({q.abandons:,} abandons)" if q.abandons else
                    "no caller hung up in the weeks measured, so Erlang C (no abandonment)")
        _echo(f"  target {q.target:.0%} answered within {catalog.ANSWER_THRESHOLD_S:g} s ({q.target_source}); handle time "
              f"{q.aht_s:,.0f} s, {patience}; calls forecast {q.forecast_words}")
        rows = weekly[(weekly["vendor"] == q.vendor) & (weekly["queue"] == q.queue)]
        shown = pd.DataFrame({
            "Week": [periods.label(w, "week") for w in rows["week"]],
            "Calls": rows["calls"].map(lambda x: f"{x:,.0f}"),
            "Half-hours short": [f"{s} of {n}" for s, n in zip(rows["intervals_short"], rows["intervals"], strict=True)],
            "Expected service level": rows["expected_service_level"].map(lambda x: "—" if pd.isna(x) else f"{x:.0%}"),
            "Expected abandonment": rows["expected_abandonment"].map(lambda x: "—" if pd.isna(x) else f"{x:.1%}"),
            "First short": [t.strftime("%a %d %b %H:%M") if t is not None and pd.notna(t) else "—"
                            for t in rows["first_short"]],
        })
        _print_frame(shown, "table")
        _echo()
    if part == "both":
        _print_back_office([p for o in looks for p in o.projections])


@main.command("outlook")
@db_option
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
              help="How long to keep trying while another process holds the store.")
def outlook_command(db: Path | None, wait: float) -> None:
    """Make every vendor's outlook and keep it in the store: its volume forecasts 13 weeks ahead with their
    backtests, its contact-centre staffing and its back-office backlogs, and the headlines the Overview lists.

    `opsdash ingest` (unless --no-outlook) and `opsdash demo` do this after loads that store rows, and so does
    the dashboard's Upload page. The outlooks are made while the store is open for reading only (a dashboard
    goes on reading it); the store is taken for writing only to keep them. Pages, packs and `opsdash staffing` read a kept outlook while it was made
    for the store as it stands by the same opsdash code; otherwise they make one when asked (a few seconds a
    vendor). Run this after loads made with --no-outlook, or after upgrading opsdash. Exit status 0 when every
    vendor's outlook is kept, 1 when any failed (named in the line printed; the others are kept) or a load
    changed the store meanwhile (nothing kept).

    \b
    Example:
        opsdash outlook --db /tmp/demo.duckdb
    """
    from opsdash.capacity import outlook

    probe = _open(db, read_only=True, wait=wait)  # says plainly when there is no store
    probe.close()
    kept = outlook.keep_after_load(probe.path, lambda: _open(probe.path, wait=wait), wait=wait)
    _echo(kept.words())
    if kept.failed or kept.superseded:
        sys.exit(EXIT_REFUSED)


@main.group("denials")
def denials_group() -> None:
    """Denial risk: which open claims a payer is likely to deny, and how good the vendors' own predictions are.

    The model learns only from what is known when a claim is submitted, is judged on later months than it learnt
    from, and is used only when it beats a simple baseline (the payer x procedure group rate). `opsdash ingest`,
    `opsdash demo` and the Upload page train and keep it after loads; these commands read what is kept.

    \b
    Example:
        opsdash denials evaluate
    """


@denials_group.command("train")
@db_option
@click.option("--capacity", type=click.FloatRange(min=1), default=None, metavar="CLAIMS",
              help="Claims a day each vendor's team can work before they go out, for precision, recall and "
                   "dollars caught at capacity (default: a tenth of that vendor's claims submitted a day).")
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
              help="How long to keep trying while another process holds the store.")
def denials_train(db: Path | None, capacity: float | None, wait: float) -> None:
    """Train and judge the denial model on the store's claims and keep it, with every open claim's score.

    Exit status 0 when kept (a model or a plain 'no model' with its reason), 1 when a load changed the store
    meanwhile (nothing kept).

    \b
    Example:
        opsdash denials train --capacity 25
    """
    from opsdash.denials import kept

    probe = _open(db, read_only=True, wait=wait)  # says plainly when there is no store
    probe.close()
    made = kept.keep_after_load(probe.path, lambda: _open(probe.path, wait=wait), wait=wait, capacity=capacity)
    _echo(made.words() if made is not None else
          "denial model not kept: a load changed the store meanwhile; run this again")
    if made is None:
        sys.exit(EXIT_REFUSED)


def _kept_views(db: Path | None) -> tuple[Store, list[Any]]:
    from opsdash.denials import kept

    store = _open(db, read_only=True)
    views = kept.views(store)
    if not views:
        store.close()
        raise click.ClickException("no denial model is kept for the store as it stands: run `opsdash denials train`")
    return store, views


@denials_group.command("score")
@db_option
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor's claims (repeatable).")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N claims with the most dollars at risk.")
@format_option
def denials_score(db: Path | None, vendors: tuple[str, ...], top: int | None, fmt: str) -> None:
    """The work list: open claims (not yet billed, or awaiting the payer's first decision) by dollars at risk,
    each with its chance of a denial and the reasons that raised it. The same list the Claims page downloads.

    \b
    Example:
        opsdash denials score --top 20
    """
    from opsdash.denials import kept

    store, views = _kept_views(db)
    with store:
        scores = kept.scores(store)
    if vendors:
        scores = scores[scores["vendor"].isin(vendors)]
    if top:
        scores = scores.head(top)
    if fmt == "table":
        scores = scores.assign(received_date=pd.to_datetime(scores["received_date"]).dt.date,
                               submitted_date=pd.to_datetime(scores["submitted_date"]).dt.date,
                               risk=scores["risk"].map(lambda r: f"{r:.0%}"),
                               billed_amount=scores["billed_amount"].map(lambda x: _number(x, "${:,.0f}")),
                               expected_loss=scores["expected_loss"].map(lambda x: _number(x, "${:,.0f}")))
    _print_frame(scores.rename(columns={"expected_loss": "dollars_at_risk"}).reset_index(drop=True), fmt)


@denials_group.command("evaluate")
@db_option
@format_option
def denials_evaluate(db: Path | None, fmt: str) -> None:
    """How the model in use and the vendors' own models did on the held-out months: per vendor (and overall, for
    a reader of every vendor), AUROC, AUPRC, Brier score, calibration, and precision, recall and denied dollars
    caught at a day's work capacity, beside the baseline's on the same claims.

    \b
    Example:
        opsdash denials evaluate --format csv
    """
    from opsdash.denials import kept

    store, views = _kept_views(db)
    store.close()
    rows = []
    for v in views:
        who = v.vendor or "all vendors"
        for name, j in (("opsdash", v.model), ("baseline", v.baseline),
                        *((a.model, a.judged) for a in v.audits)):
            if j is None:
                continue
            rows.append({"vendor": who, "model": name, "claims": j.claims, "denied": j.denied, "auroc": j.auroc,
                         "auprc": j.auprc, "brier": j.brier, "calibration_slope": j.slope,
                         "mean_score": j.mean_score, "share_denied": j.share_denied,
                         "capacity_per_day": j.at_capacity.capacity, "precision_at_capacity": j.at_capacity.precision,
                         "recall_at_capacity": j.at_capacity.recall, "value_caught": j.at_capacity.value_caught})
    frame = pd.DataFrame(rows)
    if fmt != "table":
        _print_frame(frame, fmt)
        return
    for v in views:
        _echo(f"{v.vendor or 'All vendors'}: {v.why}.")
        if v.model is not None:
            _echo("  " + kept.held_out_words(v) + ".")
        for a in v.audits:
            _echo("  " + a.words)
    if not frame.empty:
        _echo()
        _print_frame(frame.round(3), fmt)


def _number(x: float, fmt: str = "{:,.0f}") -> str:
    return "—" if x is None or pd.isna(x) else fmt.format(x)


def _print_back_office(projected: list) -> None:
    from opsdash import labels, periods
    from opsdash.capacity import backoffice

    if not projected:
        _echo("(no back-office staffing plan after the data cut-off)")
    weekly = backoffice.weekly_summary(projected)
    table = backoffice.levels_table(projected)
    for p in projected:
        _echo(f"{p.vendor} / {labels.value_word(p.process)} (back office)")
        _echo(f"  {backoffice.summary_words(p)}")
        for note in p.notes:
            _echo(f"  {note}")
        if p.daily.empty:
            _echo()
            continue
        _echo(f"  {p.open_items:,} items open at the cut-off ({p.open_past_due:,} already past due); pace "
              f"{p.throughput:,.2f} items per {p.throughput_unit}; work forecast {p.forecast_words}")
        rows = weekly[(weekly["vendor"] == p.vendor) & (weekly["process"] == p.process)]
        _print_frame(pd.DataFrame({
            "Week": [periods.label(w, "week") for w in rows["week"]],
            "Days": rows["days"].map(str),  # the cut-off's week and the last are partial
            "FTE": rows["scheduled_fte"].map(lambda x: _number(x, "{:,.1f}")),
            "Items in": rows["inflow"].map(_number), "Capacity": rows["capacity"].map(_number),
            "Backlog at end": rows["backlog"].map(_number), "Past due at end": rows["overdue"].map(_number),
            "Breaching": rows["breaching"].map(_number),
            "Busy weeks: in": rows["inflow_hi_80"].map(_number), "backlog": rows["backlog_hi_80"].map(_number),
        }), "table")
        lv = table[(table["vendor"] == p.vendor) & (table["process"] == p.process)]
        if len(lv):
            _echo()
            _print_frame(pd.DataFrame({
                "Level": [f"{name} ({'critical' if crit else 'key'})" for name, crit in zip(lv["level"], lv["critical"],
                                                                                          strict=True)],
                "Month": [periods.label(m, "month") + ("" if c else f" to {labels.date(t)}")
                          for m, c, t in zip(lv["month"], lv["complete"], lv["to_day"], strict=True)],
                "Target": lv["target"].map(lambda x: f"{x:.0%}"),
                "Projected": lv["adherence"].map(lambda x: _number(x, "{:.1%}")),
                "Missed from": lv["miss_day"].map(labels.date),
                "Busy weeks": lv["adherence_hi_80"].map(lambda x: _number(x, "{:.1%}")),
                "Missed from (busy)": lv["miss_day_hi_80"].map(labels.date),
            }), "table")
        _echo()


@main.group("alerts")
def alerts_group() -> None:
    """Alerts: a special-cause concern, a critical level missed or projected to miss, credits due, stale data or
    a load with many rejects, each raised once and sent to its subscribers (subscriptions.toml) by e-mail or
    webhook, never beyond what access.toml lets each person see. docs/alerts.md lists the rules.

    \b
    Example (cron, every 15 minutes):
        */15 * * * * cd /srv/opsdash && .venv/bin/opsdash alerts run
    """


subscriptions_option = click.option(
    "--subscriptions", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar="OPSDASH_SUBSCRIPTIONS",
    show_envvar=True, help="The subscriptions file (default ./subscriptions.toml).")
access_option = click.option(
    "--access", "access_file", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar="OPSDASH_ACCESS",
    show_envvar=True, help="The access file whose grants bound every subscriber (default ./access.toml).")
now_option = click.option(
    "--now", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]), default=None,
    help="The time (UTC) to run as, instead of the clock: to replay a day, or in tests.")
wait_option = click.option(
    "--wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
    help="How long to keep trying while another process holds the store.")


def _alert_settings(subscriptions: Path | None, access_file: Path | None) -> tuple[Any, Any]:
    from opsdash import access, settings
    from opsdash.alerts import subscriptions as subs_

    try:
        subs = subs_.load(subscriptions)
        access.load(access_file)
        return subs, settings.load()
    except (subs_.SubscriptionError, access.AccessError, settings.SettingsError) as exc:
        _echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _alerts_done(report: Any) -> None:
    _echo(report.words())
    sys.exit(report.exit_code)


@alerts_group.command("run")
@db_option
@subscriptions_option
@access_option
@now_option
@wait_option
def alerts_run(db: Path | None, subscriptions: Path | None, access_file: Path | None, now: Any, wait: float) -> None:
    """Raise new alerts, write each subscriber's message to the outbox, send what is due and record how it went.

    Safe to run as often as you like: an alert is raised once, a message written once and sent once (a failed
    send is tried again by later runs, with backoff). Exit status: 0 every message due sent (or none due); 1 a
    send failed and will be tried again, or the store or another run was busy; 2 a settings file cannot be used
    (nothing sent); 3 a message withheld (its person may no longer see it) or given up.

    \b
    Example (systemd timer or cron):
        OPSDASH_SMTP_HOST=smtp.hospital.org OPSDASH_SMTP_FROM=opsdash@hospital.org opsdash alerts run
    """
    from opsdash.alerts import outbox

    subs, settings_ = _alert_settings(subscriptions, access_file)
    path = db or default_db_path()
    probe = _open(path, read_only=True, wait=wait)  # says plainly when there is no store
    probe.close()
    from opsdash.access import AccessError

    try:
        report = outbox.run(path, subs, access_file=access_file, now=now, settings=settings_, wait=wait)
    except AccessError as exc:  # the access file broken while the run sent
        _echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except (outbox.RunBusy, StoreError) as exc:
        _echo(f"Error: {exc}; try again later", err=True)
        sys.exit(1)
    _alerts_done(report)


@alerts_group.command("test")
@click.argument("recipient")
@db_option
@subscriptions_option
@access_option
@wait_option
def alerts_test(recipient: str, db: Path | None, subscriptions: Path | None, access_file: Path | None,
                wait: float) -> None:
    """Send RECIPIENT (a subscription's name, or its e-mail address) a test message now, through the outbox and
    the same checks as every message. Exit status as for `opsdash alerts run`.

    \b
    Example:
        opsdash alerts test am@hospital.org
    """
    from opsdash.alerts import outbox

    subs, _ = _alert_settings(subscriptions, access_file)
    match = [s for s in subs if recipient in (s.name, s.address) or recipient.lower() == s.person]
    if not match:
        _echo(f"Error: no subscription is named {recipient!r} or sends to it; the subscriptions are: "
              f"{', '.join(s.name for s in subs) or '(none)'}", err=True)
        sys.exit(2)
    path = db or default_db_path()
    _open(path, read_only=True, wait=wait).close()
    try:
        report = outbox.test_message(path, match[0], access_file=access_file, wait=wait)
    except (outbox.RunBusy, StoreError) as exc:
        _echo(f"Error: {exc}; try again later", err=True)
        sys.exit(1)
    _alerts_done(report)


@alerts_group.command("list")
@db_option
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The newest N alerts.")
@format_option
def alerts_list(db: Path | None, limit: int, fmt: str) -> None:
    """The alerts raised so far, newest first, with their state (new, sent, acknowledged) and words.

    \b
    Example:
        opsdash alerts list --format csv
    """
    from opsdash import queries

    store = _open(db, read_only=True)
    with store:
        df = queries.alerts(store, limit)
    _print_frame(df.drop(columns=["evidence"]), fmt)


@main.command("scorecard")
@click.option("--vendor", required=True, help="The vendor, as it appears in the data.")
@click.option("--period", required=True, help="A month (2026-10), an ISO week (2026-W43) or a quarter (2026-Q3).")
@click.option("--grain", type=click.Choice([g for g in periods.GRAINS if g != "day"]), default=None,
              help="Check the period is of this length (default: taken from --period).")
@click.option("--settings", "settings_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              envvar="OPSDASH_SETTINGS", help="Settings file with the vendors' at-risk amounts (default ./opsdash.toml).")
@db_option
@format_option
def scorecard_command(vendor: str, period: str, grain: str | None, settings_path: Path | None, db: Path | None,
                      fmt: str) -> None:
    """A vendor's contract scorecard: every service level in force, its value, status, credit and misses in a row.

    A period that starts after the vendor's latest data is refused (exit status 2), naming the latest period
    with data; a vendor not in the data is refused with the names it most likely means.

    \b
    Example:
        opsdash scorecard --vendor 'Helix Health Services' --period 2026-10
    """
    from opsdash import settings, sla

    try:
        conf = settings.load(settings_path)
    except settings.SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    store = _open(db, read_only=True)
    known = sla.vendors(store)
    if vendor not in known:
        close = close_names(vendor, known)
        raise click.UsageError(f"unknown vendor {vendor!r}; "
                               + (f"did you mean {' or '.join(repr(c) for c in close)}? Expected" if close else "expected")
                               + f" one of {', '.join(known) or '(none loaded)'}")
    try:
        card_grain, start, _end = sla.parse_period(period, grain)
        latest = _latest_event(store, vendor)
        if latest is None or start > latest:
            raise click.UsageError(
                f"no data yet for {vendor} in {card_grain} {period}: its data ends on {latest:%d %b %Y}, so the "
                f"latest {card_grain} with data is {_period_of(latest, card_grain)} (no period starting after the "
                "data's as-of date is scored)" if latest else f"no data for {vendor} in the store")
        card = sla.scorecard(store, vendor, period, grain=grain, settings=conf)
    except sla.SlaError as exc:
        raise click.UsageError(str(exc)) from exc
    s = card.summary
    if fmt == "json":
        click.echo(json.dumps({"summary": s, "levels": json.loads(card.levels.to_json(orient="records"))},
                              indent=2, default=str))
        return
    if fmt == "csv":
        _print_frame(card.levels, "csv")
        return
    from opsdash import labels, periods

    window = periods.window(card.start, card.grain, latest)
    _echo(f"{vendor}: {periods.label(card.start, card.grain)} ({labels.date(card.start)} to {labels.date(card.end)}"
          + (f", data to {labels.date(window.through)})" if window.partial else ")"))
    _echo(f"service levels met: {s['levels_met']:,} of {s['levels_scored']:,} scored"
          + (f" ({s['levels_without_data']:,} without data)" if s["levels_without_data"] else ""))
    _echo(f"critical levels missed: {s['critical_missed']:,}")
    if s["credits_due"] is not None:
        capped = " (capped at the amount at risk)" if s["credits_capped"] else ""
        _echo(f"credits due: {labels.money(s['credits_due'], s['currency'])} of {labels.money(s['at_risk'])} at "
              f"risk{capped}")
    elif s["note"]:
        _echo(s["note"])
    elif s["credit_pct_total"]:
        _echo(f"credits due: {labels.percent(s['credit_pct_total'])} of the at-risk amount (no amount set for this "
              "vendor)")
    _print_frame(scorecard_table(card.levels, card.grain, s["currency"]), "table")


def scorecard_table(levels: pd.DataFrame, grain: str, currency: str) -> pd.DataFrame:
    """A scorecard's levels as people read them (labels.py): KPI labels, processes, priorities, levels and
    statuses in words, values in each KPI's unit, misses in a row counted in the card's periods, credits as money."""
    from opsdash import labels

    cols = ["kpi", "label", "process", "priority", "level", "target", "minimum", "value", "status",
            "consecutive_missed", "credit"]
    return labels.frame(levels[cols], grain, drop=("kpi",)).rename(columns={
        "Periods missed in a row": f"{grain.capitalize()}s missed in a row", "Credit": f"Credit ({currency})"})


@main.group("lake")
def lake_group() -> None:
    """A Parquet lake of one or many tenants' stores, for Apache Spark (opsdash kpi --engine spark).

    \b
    Layout: <lake>/<table>/tenant=<tenant>/vendor=<vendor>/month=<YYYY-MM>/part-0.parquet, the lineage
    columns (_load_id, _line) kept; <lake>/loads/tenant=<tenant>/ the load records.

    \b
    Example:
        opsdash lake export --lake /data/opsdash-lake --tenant st-marys
        opsdash kpi clean_claim_rate --by vendor --engine spark --lake /data/opsdash-lake --tenant st-marys
    """


@lake_group.command("export")
@db_option
@click.option("--lake", "lake_path", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The lake's directory (created when missing).")
@click.option("--tenant", required=True, help="This store's tenant name in the lake (letters, digits, '.', '_', '-').")
@click.option("--wait", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait for a store another process is writing.")
def lake_export(db: Path | None, lake_path: Path, tenant: str, wait: float) -> None:
    """Write the store's tables into the lake as TENANT: only partitions that changed since the last export,
    each moved into place whole; partitions no longer in the store are removed. Safe to run every night.

    \b
    Example:
        opsdash lake export --lake /data/opsdash-lake --tenant st-marys
    """
    from opsdash import lake

    try:
        lake.check_tenant(tenant)
    except lake.LakeError as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    store = _open(db, read_only=True, wait=wait)
    try:
        done = lake.export(store, lake_path, tenant)
    except (lake.LakeError, OSError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    _echo(done.summary())


@lake_group.command("generate")
@click.option("--lake", "lake_path", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The lake's directory: a new one, or one without the tenants this writes.")
@click.option("--tenants", type=click.IntRange(1, 99_999), default=50, show_default=True,
              help="How many hospitals: hospital-001, hospital-002, ...")
@click.option("--rows", default="10M", show_default=True,
              help="Rows in all, across the four tables and every tenant (10000000, 10M, 1.5B).")
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True, help="Months of history.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The last day of the history (default today).")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed writes the same lake.")
@click.option("--jobs", type=click.IntRange(1, 256), default=None,
              help="Tenants made at once, each in its own process of up to about 1.5 GB (default: the machine's "
              "cores, as many as its free memory holds).")
def lake_generate(lake_path: Path, tenants: int, rows: str, months: int, as_of: Any, seed: int,
                  jobs: int | None) -> None:
    """Write a lake of many hospitals directly, at any size, with the sample's vendors and stories: the same
    layout, columns and types 'opsdash lake export' writes, for trying Spark and sizing a cluster (no store on
    the way; memory stays bounded whatever the size).

    \b
    Example:
        opsdash lake generate --lake /data/lake-100m --tenants 50 --rows 100M
        spark-submit "$(python -c 'import opsdash.spark.job as j; print(j.__file__)')" portfolio \\
            --lake /data/lake-100m --out /data/benchmarks-100m
    """
    from concurrent.futures.process import BrokenProcessPool

    from opsdash import lake
    from opsdash.sample import lakes

    try:
        n = lakes.parse_rows(rows)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rows") from exc
    try:
        done = lakes.generate(lake_path, tenants, n, months=months, as_of=as_of.date() if as_of else None,
                              seed=seed, jobs=jobs or lakes.default_jobs())
    except (lake.LakeError, OSError, BrokenProcessPool) as exc:
        raise click.ClickException(f"{exc or type(exc).__name__}; the tenants written so far stay in {lake_path}, "
                                   "so generate again into a new directory") from exc
    _echo(done.summary())


@lake_group.command("benchmarks")
@db_option
@click.option("--from", "source", type=click.Path(path_type=Path), required=True,
              help="The portfolio job's output directory (with --tenant), or a tenant's benchmark file.")
@click.option("--tenant", required=True, help="This store's tenant name, as the lake knows it: a file of another "
              "tenant is refused.")
@click.option("--wait", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait for a store another process is writing.")
def lake_benchmarks(db: Path | None, source: Path, tenant: str, wait: float) -> None:
    """Load this hospital's portfolio benchmark (written by the Spark job 'portfolio') into the store, replacing
    the one before: the Vendor scorecard then shows each vendor's KPIs here against the median and quartiles of
    the same vendor at its other clients, never named.

    \b
    Example:
        spark-submit "$(python -c 'import opsdash.spark.job as j; print(j.__file__)')" portfolio \\
            --lake /data/opsdash-lake --out /data/opsdash-benchmarks
        opsdash lake benchmarks --from /data/opsdash-benchmarks --tenant st-marys
    """
    import datetime as dt

    from opsdash import lake, queries

    try:
        lake.check_tenant(tenant)
    except lake.LakeError as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    if source.is_dir():
        source = source / f"tenant={tenant}" / "part-0.parquet"
    if not source.is_file():
        raise click.ClickException(f"{source}: no such benchmark file (the portfolio job writes "
                                   "<out>/tenant=<name>/part-0.parquet)")
    store = _open(db, wait=wait)
    try:
        rows = queries.load_benchmarks(store, str(source), tenant, dt.datetime.now())
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    _echo(f"Loaded {rows:,} benchmark rows from {source}.")


@main.command("reconcile")
@click.option("--vendor", default=None, help="Only this vendor's reports.")
@db_option
@format_option
def reconcile_command(vendor: str | None, db: Path | None, fmt: str) -> None:
    """What each vendor reported against what opsdash measures from the raw rows; discrepancies first.

    A report is flagged when it differs by more than 0.5 percentage points (rates) or 1% (other KPIs),
    or when there are no raw rows to measure it from.

    \b
    Example:
        opsdash reconcile --vendor 'Helix Health Services' --format csv
    """
    from opsdash import sla

    store = _open(db, read_only=True)
    try:
        df = sla.reconcile(store, vendor)
    except sla.SlaError as exc:
        raise click.UsageError(str(exc)) from exc
    if fmt == "table":
        from opsdash import labels

        df = labels.frame(df, kinds={"period_start": "date", "period_end": "date"})
    _print_records(df, fmt)


@main.command("report")
@click.option("--vendor", default=None, help="The vendor, as it appears in the data.")
@click.option("--all-vendors", is_flag=True, help="One pack per vendor with data in the period.")
@click.option("--period", required=True, help="An ISO week (2026-W47) or a month (2026-11).")
@click.option("--grain", type=click.Choice(["week", "month"]), default=None,
              help="Check the period is of this length (default: taken from --period).")
@click.option("--format", "formats", type=click.Choice(["pdf", "html", "xlsx"]), multiple=True,
              help="Repeat for several (default: all three).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder for the files, named opsdash-review_<vendor>_<period>.<ext>.")
@click.option("--paper", type=click.Choice(["A4", "Letter"]), default="A4", show_default=True,
              help="PDF paper size (landscape).")
@click.option("--settings", "settings_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              envvar="OPSDASH_SETTINGS", help="Settings file with the vendors' at-risk amounts (default ./opsdash.toml).")
@db_option
def report_command(vendor: str | None, all_vendors: bool, period: str, grain: str | None, formats: tuple[str, ...],
                   out: Path, paper: str, settings_path: Path | None, db: Path | None) -> None:
    """Write the review pack of a vendor (or every vendor) for a week or month: PDF, HTML and Excel.

    Files are replaced atomically, so a scheduled run (cron) never leaves half a file. Exit status 1 when a
    vendor has no data in the period (the other vendors' packs are still written), 2 for a usage error.

    \b
    Example:
        opsdash report --vendor 'Helix Health Services' --period 2026-W47 --out packs/
        opsdash report --all-vendors --period 2026-10 --format pdf --format xlsx
    """
    from opsdash import report, settings, sla

    if bool(vendor) == all_vendors:
        raise click.UsageError("give --vendor V or --all-vendors (one of them)")
    try:
        conf = settings.load(settings_path)
    except settings.SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    store = _open(db, read_only=True)
    names = sla.vendors(store) if all_vendors else [vendor]
    if vendor and vendor not in sla.vendors(store):
        raise click.UsageError(f"unknown vendor {vendor!r}; expected one of {', '.join(sla.vendors(store))}")
    failed = 0
    for name in names:
        try:
            pack = report.build(store, str(name), period, grain=grain, settings=conf)
            for path in report.write(pack, list(formats) or list(report.FORMATS), out, paper):
                _echo(f"wrote {path}")
        except report.NoDataError as exc:
            _echo(f"{name}: {exc}", err=True)
            failed += 1
        except report.ReportError as exc:
            raise click.UsageError(str(exc)) from exc
        except report.pdf.PdfError as exc:
            raise click.ClickException(str(exc)) from exc
    if failed:
        sys.exit(EXIT_REFUSED)
