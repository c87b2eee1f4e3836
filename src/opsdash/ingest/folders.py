"""Loading a folder of exports: each folder's ``mapping.toml`` applies to the files beside it."""

from __future__ import annotations

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


def load_folder(store: Store, folder: Path) -> list[LoadReport]:
    reports: list[LoadReport] = []
    for path in export_files(folder):
        mapping_path = path.parent / MAPPING_NAME
        try:
            mapping = load_mapping(mapping_path) if mapping_path.exists() else None
        except FileRefused as exc:
            reports.append(LoadReport(file=path.name, status="refused", message=str(exc)))
            continue
        reports.append(load_file(store, path, mapping=mapping))
    return reports
