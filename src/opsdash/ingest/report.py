"""What a load says about one file: the report every caller (command line, dashboard, worker) reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: A file with more than this share of its rows rejected loads with a warning (and `--max-reject-rate` may refuse
#: it whole): a vendor's changed export format rejects most rows, which a bare "loaded" would hide.
REJECT_WARN_RATE = 0.05


def reject_warning(rows_read: int, rows_rejected: int) -> str | None:
    """The warning for a file whose rejected rows exceed REJECT_WARN_RATE of its rows, or None."""
    if not rows_read or rows_rejected / rows_read <= REJECT_WARN_RATE:
        return None
    return (f"{rows_rejected:,} of {rows_read:,} rows rejected ({rows_rejected / rows_read:.1%}, more than "
            f"{REJECT_WARN_RATE:.0%}): check the export against the contract or its mapping file")


@dataclass
class LoadReport:
    file: str
    status: str  # loaded | duplicate | refused
    table: str | None = None
    load_id: int | None = None
    sha256: str | None = None
    mapping: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    rows_replaced: int = 0
    rows_superseded: int = 0
    encoding: str | None = None  # a CSV's encoding as detected (or as the mapping forced it)
    phi_columns_dropped: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
