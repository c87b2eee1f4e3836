"""The audit trail: who signed in, who downloaded what, who uploaded which file. Never row data.

An event is first appended to a spool file beside the store (one JSON line, under a file lock), so it is
kept even while another process holds the store; every opening of the store for writing (a load, an upload,
the dashboard's next event) moves the spool into the ``audit`` table. Event ids make the move idempotent.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from opsdash import queries
from opsdash.store import Store, StoreError

ACTIONS = ("sign_in", "denied", "download", "upload", "review_pack", "event_edit", "alert_ack")
COLUMNS = queries.AUDIT_COLUMNS
#: The trail's columns as admins read them.
TRAIL_HEADINGS = {"event_at": "When (UTC)", "user_name": "User", "role": "Role", "action": "Action", "page": "Page",
                  "what": "What", "filters": "Filters", "row_count": "Rows", "load_ids": "Loads"}


@dataclass(frozen=True)
class Event:
    user_name: str
    role: str
    action: str
    page: str = ""
    what: str = ""  # a file name, a download's name: never its contents
    filters: Mapping[str, Any] = field(default_factory=dict)
    row_count: int | None = None
    load_ids: tuple[int, ...] = ()
    event_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat())
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}; expected one of {', '.join(ACTIONS)}")


def spool_path(db: Path) -> Path:
    return db.with_name(db.name + ".audit-spool.jsonl")


@contextmanager
def _locked(db: Path) -> Iterator[Path]:
    spool = spool_path(db)
    with open(db.with_name(db.name + ".audit-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield spool
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(db: Path, event: Event) -> None:
    """Keep the event (in the spool; see ``flush``)."""
    line = json.dumps({**asdict(event), "filters": dict(event.filters), "load_ids": list(event.load_ids)},
                      default=str, ensure_ascii=False)
    with _locked(db) as spool, open(spool, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()


def flush(store: Store) -> int:
    """Move the spool into the audit table of a store opened for writing; the number of events moved. The spool
    is emptied only after the commit (a crash in between leaves events the ids then skip)."""
    with _locked(store.path) as spool:
        if not spool.exists() or spool.stat().st_size == 0:
            return 0
        events = []
        for line in spool.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash mid-write: the rest still count
        queries.add_audit_events(store, ([
            e.get("event_id"), e.get("event_at"), e.get("user_name"), e.get("role"), e.get("action"), e.get("page"),
            e.get("what"), json.dumps(e.get("filters") or {}, ensure_ascii=False), e.get("row_count"),
            e.get("load_ids") or []] for e in events))
        spool.write_text("", encoding="utf-8")
        return len(events)


def pending(db: Path) -> int:
    spool = spool_path(db)
    return sum(1 for _ in spool.open(encoding="utf-8")) if spool.exists() else 0


def version(store: Store) -> tuple[Any, ...]:
    """Changes whenever events join the table (a move of the spool changes neither the load version nor, once the
    spool is emptied, its count): the cache key of anything showing the trail."""
    try:
        return queries.audit_version(store)
    except StoreError:
        return ()  # a store from before the audit trail, or one another process holds: nothing to key on


def trail(store: Store, limit: int = 5000) -> Any:
    """The newest events first, for admins."""
    try:
        return queries.audit_trail(store, limit).rename(columns=TRAIL_HEADINGS)
    except StoreError:
        import pandas as pd  # a store from before the audit trail: nothing recorded yet

        return pd.DataFrame(columns=list(TRAIL_HEADINGS.values()))
