"""An upload from the browser, without Streamlit: check every file, save the accepted ones, hand them to a loader,
and say what happened (the report table, the warnings, the audit events). The Upload page only lays it out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from opsdash import audit
from opsdash.ingest import uploads
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.loader import LoadReport, reject_warning

#: The columns of the upload report, in the order people read them.
REPORT_COLUMNS = ["file", "status", "table", "rows_read", "rows_loaded", "rows_rejected", "rows_replaced",
                  "phi_columns_dropped", "warnings", "message"]


@dataclass(frozen=True)
class Sent:
    """A file as the browser sent it: its name (not trusted) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    """Every file's report, refused ones first, and what the page says about them."""

    reports: list[LoadReport]

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.as_dict() for r in self.reports], columns=REPORT_COLUMNS)[REPORT_COLUMNS]

    @property
    def refused(self) -> int:
        return sum(r.status == "refused" for r in self.reports)

    @property
    def summary(self) -> str:
        return f"{len(self.reports) - self.refused} of {len(self.reports)} file(s) loaded or already present"

    @property
    def state(self) -> str:
        """The upload's state for a status box: error when any file was refused."""
        return "error" if self.refused else "complete"

    @property
    def warnings(self) -> list[str]:
        """Loaded files whose rejected rows are too many (loader.reject_warning), named."""
        return [f"{r.file}: {w}" for r in self.reports
                if r.status == "loaded" and (w := reject_warning(r.rows_read, r.rows_rejected))]

    def audit_events(self, user: str, role: str) -> list[audit.Event]:
        """One event per file, refused ones too: who tried to load what (never the rows)."""
        return [audit.Event(user_name=user, role=role, action="upload", page="Upload", what=f"{r.file}: {r.status}",
                            row_count=r.rows_loaded if r.load_id else None,
                            load_ids=(r.load_id,) if r.load_id else ()) for r in self.reports]


def run(files: Sequence[Sent], mapping: Sent | None, folder: Path,
        load: Callable[[list[Path], Path | None], list[LoadReport]],
        announce: Callable[[int], None] = lambda n: None) -> Outcome:
    """Check the files (size, extension, content, name) before anything reads them, save the accepted ones and
    the mapping file (in a folder of its own, so names never collide) under `folder`, and load them with `load`
    (after `announce` is told how many). A refused mapping file refuses the exports meant to be read through it."""
    refused, accepted = [], []
    for up in files:
        try:
            accepted.append(uploads.check(up.name, up.data))
        except FileRefused as exc:
            refused.append(LoadReport(file=uploads.safe_name(up.name), status="refused", message=str(exc)))
    map_path = None
    if mapping is not None:
        map_dir = folder / "mapping"
        map_dir.mkdir()
        try:
            map_path = uploads.save([uploads.check(mapping.name, mapping.data, mapping=True)], map_dir)[0]
        except FileRefused as exc:
            refused.append(LoadReport(file=uploads.safe_name(mapping.name), status="refused", message=str(exc)))
            accepted = []
    reports = list(refused)
    if accepted:
        paths = uploads.save(accepted, folder)
        announce(len(paths))
        reports += load(paths, map_path)
    return Outcome(reports)
