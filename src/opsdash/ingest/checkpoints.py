"""Progress a load reports, and the points between its stages where the crash tests stop it.

Each stage module names its own checkpoint (stage.CHECKPOINT "reading", validate.CHECKPOINT "validating",
commit.CHECKPOINT "committing", all inside the file's transaction). When OPSDASH_FAULT_STAGE names one and
OPSDASH_FAULT_FILE is set, the loader writes the stage's name to that file there and waits
OPSDASH_FAULT_SECONDS (default 120), so a test can kill the process at a known point.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from opsdash.store import Tx

FAULT_STAGE_ENV, FAULT_FILE_ENV, FAULT_SECONDS_ENV = "OPSDASH_FAULT_STAGE", "OPSDASH_FAULT_FILE", "OPSDASH_FAULT_SECONDS"

Progress = Callable[[str], None]


def checkpoint(stage: str, say: Progress) -> None:
    """Report a stage; in the crash tests, pause here so the process can be killed at a known point."""
    say(stage)
    if os.environ.get(FAULT_STAGE_ENV) == stage and os.environ.get(FAULT_FILE_ENV):
        Path(os.environ[FAULT_FILE_ENV]).write_text(stage)
        time.sleep(float(os.environ.get(FAULT_SECONDS_ENV, "120")))


class Ticker:
    """Reports DuckDB's progress on the running statement as "reading 42%" while a file is staged."""

    def __init__(self, tx: Tx, say: Progress, every: float = 0.25) -> None:
        self._tx, self._say, self._every = tx, say, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            pct = self._tx.progress()
            if pct >= 0:
                self._say(f"reading {pct:.0f}%")

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
