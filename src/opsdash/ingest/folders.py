"""Loading a folder of exports: each folder's ``mapping.toml`` applies to the files beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opsdash.ingest.loader import LoadReport, load_file
from opsdash.ingest.mapping import load_mapping
from opsdash.ingest.errors import FileRefused
from opsdash.store import Store

DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".xlsx")
MAPPING_NAME = "mapping.toml"


def sample_data_dir() -> Path:
    """``./sample_data`` when run from a checkout, else the one beside the installed package's source tree."""
    here = Path.cwd() / "sample_data"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "sample_data"


def export_files(folder: Path) -> list[Path]:
    """Data files below ``folder`` in a stable order (months sort by name)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)


def load_folder(store: Store, folder: Path,
                on_file: Callable[[int, int, Path, LoadReport], None] | None = None) -> list[LoadReport]:
    """Load every export below `folder`; `on_file(number, of, path, report)` after each (for progress)."""
    reports: list[LoadReport] = []
    files = export_files(folder)
    for path in files:
        mapping_path = path.parent / MAPPING_NAME
        try:
            mapping = load_mapping(mapping_path) if mapping_path.exists() else None
        except FileRefused as exc:
            reports.append(LoadReport(file=path.name, status="refused", message=str(exc)))
        else:
            reports.append(load_file(store, path, mapping=mapping))
        if on_file:
            on_file(len(reports), len(files), path, reports[-1])
    return reports
