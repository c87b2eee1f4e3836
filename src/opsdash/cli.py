"""The ``opsdash`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from opsdash import __version__, contract
from opsdash.store import Store, StoreError, default_db_path

EXIT_REFUSED = 1
READ_SHARE = 0.65

db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar="OPSDASH_DB",
    show_envvar=True, help="The store file (default ./opsdash.duckdb).",
)
format_option = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                             show_default=True, help="Output format.")


def _open(db: Path | None, read_only: bool = False) -> Store:
    try:
        return Store(db or default_db_path(), read_only=read_only)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_frame(df: Any, fmt: str) -> None:
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))
    elif df.empty:
        click.echo("(none)")
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.max_colwidth", 60):
            click.echo(df.to_string(index=False))


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
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest(db: Path | None, table: str | None, mapping: Path | None, fmt: str, files: tuple[Path, ...]) -> None:
    """Load export files (CSV, Parquet, xlsx) into the store, one transaction per file.

    Each file is reported: rows read, loaded, rejected, skipped and replaced, PHI
    columns dropped and columns ignored. A file already loaded (same SHA-256) is not
    loaded again. Exit status 0 when every file loaded (or was already loaded), 1 when
    any file was refused, 2 for usage errors.

    \b
    Example:
        opsdash ingest --mapping iberica.toml exports/iberica/calls_2026-10.csv
    """
    store = _open(db)
    reports = _run_with_progress(store, list(files), table, mapping)
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            _print_report(r)
        _print_summary(reports)
    store.close()
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)


def _run_with_progress(store: Store, files: list[Path], table: str | None, mapping: Path | None) -> list[Any]:
    from opsdash.ingest.loader import load_files

    sizes = {p: (p.stat().st_size if p.is_file() else 0) for p in files}
    show = sys.stderr.isatty()
    if not show:
        return load_files(store, files, table=table, mapping=mapping)
    done = 0  # bytes of the files already loaded
    with click.progressbar(length=max(1, sum(sizes.values())), label="loading", file=sys.stderr,
                           show_pos=False, show_percent=True) as bar:
        def progress(path: Path, stage: str) -> None:
            bar.label = f"{path.name}: {stage}"
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


def _print_report(r: Any) -> None:
    if r.status == "loaded":
        click.echo(f"loaded   {r.file} -> {r.table} (load {r.load_id}{', mapping ' + r.mapping if r.mapping else ''}): "
                   f"{_n(r.rows_read)} read, {_n(r.rows_loaded)} loaded, {_n(r.rows_rejected)} rejected, "
                   f"{_n(r.rows_skipped)} skipped, {_n(r.rows_replaced)} replaced stored rows, "
                   f"{_n(r.rows_superseded)} superseded by later rows in the file")
        if r.phi_columns_dropped:
            click.echo(f"         PHI columns dropped, never stored: {', '.join(r.phi_columns_dropped)}")
        if r.ignored_columns:
            click.echo(f"         columns ignored: {', '.join(r.ignored_columns)}")
        for w in r.warnings:
            click.echo(f"         note: {w}")
        if r.rows_rejected:
            click.echo(f"         see the rejected rows: opsdash rejects --load {r.load_id}")
    elif r.status == "duplicate":
        click.echo(f"skipped  {r.message}")
    else:
        click.echo(f"REFUSED  {r.message}")


def _print_summary(reports: list[Any]) -> None:
    by = {s: [r for r in reports if r.status == s] for s in ("loaded", "duplicate", "refused")}
    click.echo(f"{len(reports)} file(s): {len(by['loaded'])} loaded, {len(by['duplicate'])} already loaded, "
               f"{len(by['refused'])} refused; {_n(sum(r.rows_loaded for r in by['loaded']))} rows loaded, "
               f"{_n(sum(r.rows_rejected for r in by['loaded']))} rejected")


@main.command()
@db_option
@format_option
def loads(db: Path | None, fmt: str) -> None:
    """List every load: file, SHA-256, table, mapping, row counts and times.

    \b
    Example:
        opsdash loads --format csv > loads.csv
    """
    store = _open(db, read_only=True)
    df = store.query(
        "SELECT load_id, file_name, table_name, mapping_name, rows_read, rows_loaded, rows_rejected, rows_skipped, "
        "rows_replaced, rows_superseded, array_to_string(phi_columns_dropped, ', ') AS phi_columns_dropped, "
        "started_at, finished_at, sha256 FROM loads ORDER BY load_id")
    if fmt == "table":
        df["sha256"] = df["sha256"].str[:12]
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
    store = _open(db, read_only=True)
    sql = "SELECT load_id, file_name, line, column_name, kind, reason, raw_values FROM rejects"
    params: list[Any] = []
    if load_id is not None:
        if not store.fetchone("SELECT 1 FROM loads WHERE load_id = ?", [load_id]):
            raise click.UsageError(f"no load {load_id}; see `opsdash loads`")
        sql += " WHERE load_id = ?"
        params.append(load_id)
    df = store.query(sql + " ORDER BY load_id, line", params)
    text = df.to_csv(index=False)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(df):,} rejected row(s) written to {out}", err=True)
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
    from opsdash import generate as gen

    wanted = [t.strip() for t in tables.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in contract.TABLES]
    if unknown:
        raise click.UsageError(f"unknown table(s) {', '.join(unknown)}; expected some of {', '.join(contract.TABLES)}")
    day = as_of.date() if as_of else None
    written = gen.write_flat(out, seed, months, scale, day, wanted) if flat else gen.write_sample(out, seed, months, scale, day)
    click.echo(f"{len(written)} file(s) written to {out}")


@main.command()
@db_option
@click.option("--sample-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of exports (default: the bundled sample_data/).")
def demo(db: Path | None, sample_dir: Path | None) -> None:
    """Build the store from the bundled sample exports (each folder's mapping.toml applies to its files).

    \b
    Example:
        opsdash demo --db /tmp/demo.duckdb
    """
    from opsdash.ingest.folders import load_folder, sample_data_dir

    folder = sample_dir or sample_data_dir()
    store = _open(db)
    reports = load_folder(store, folder)
    for r in reports:
        if r.status != "loaded":
            _print_report(r)
    _print_summary(reports)
    counts = store.table_counts()
    click.echo("stored rows: " + ", ".join(f"{t} {_n(n)}" for t, n in counts.items()))
    store.close()
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)
