"""``python -m opsdash.ingest.worker PARENT_PID ARGS...``: ``opsdash ingest ARGS...`` that dies with the process
that started it (the dashboard), so a killed dashboard never leaves a load running on its own. Linux only
(prctl PR_SET_PDEATHSIG); elsewhere it is plain ``opsdash ingest``."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent = int(argv[0])
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    from opsdash.cli import main as cli

    cli(args=["ingest", *argv[1:]], prog_name="opsdash")


if __name__ == "__main__":
    main(sys.argv[1:])
