"""``python -m opsdash.ingest.worker PARENT_PID [--db F] [--format json] [--wait S] [--loaded-by NAME]
[--mapping F] FILES...``: the dashboard's loads, run by the loader itself in a process that dies with the one
that started it, so a killed dashboard never leaves a load running on its own. Linux only (prctl
PR_SET_PDEATHSIG); elsewhere the load simply runs on.

After loads that stored rows it keeps every vendor's outlook in the store, as ``opsdash ingest`` does. It answers
as ``opsdash ingest --format json`` does: the JSON reports on stdout, exit status 0 when every file
loaded (or was already loaded), 1 when any was refused or the store could not be opened ("Error: ..." on
stderr), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

from opsdash import lifecycle
from opsdash.ingest.loader import load_files, loaded_by
from opsdash.store import Store, StoreError, default_db_path

PR_SET_PDEATHSIG = 1
EXIT_REFUSED = 1


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m opsdash.ingest.worker", description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None, help="the store file (default $OPSDASH_DB or ./opsdash.duckdb)")
    ap.add_argument("--format", choices=["json"], default="json", help="the report's format (JSON only)")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds to keep trying while the store is busy")
    ap.add_argument("--loaded-by", default=None, help="who is recorded as having loaded the files")
    ap.add_argument("--mapping", type=Path, default=None, help="a TOML mapping file")
    ap.add_argument("files", nargs="+", type=Path)
    return ap


def run(argv: list[str]) -> int:
    """Load the files the arguments name and print their reports as JSON; the exit status."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.mapping is not None and not args.mapping.is_file():
        ap.error(f"--mapping {args.mapping}: no such file")  # exit status 2, as the command's usage errors
    try:
        store = lifecycle.open_store(args.db or default_db_path(), wait=args.wait)  # as `opsdash ingest` opens it
    except StoreError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        with loaded_by(args.loaded_by) if args.loaded_by else contextlib.nullcontext():
            reports = load_files(store, args.files, mapping=args.mapping)
        if any(r.status == "loaded" for r in reports):
            _keep_outlooks(store)
    finally:
        store.close()
    print(json.dumps([r.as_dict() for r in reports], indent=2))
    return EXIT_REFUSED if any(r.status == "refused" for r in reports) else 0


def _keep_outlooks(store: Store) -> None:
    """Every vendor's outlook kept for the store as loaded (capacity.outlook.keep), and the denial model trained
    and kept (denials.kept), as `opsdash ingest` does. The
    dashboard has handed the file to this process, so they are made while it is held. Whatever happens here,
    the loads are committed and reported on stdout; a failure is said on stderr, and a page makes an outlook not
    kept when it is opened."""
    from opsdash.capacity import outlook

    from opsdash.denials import kept

    try:
        print(outlook.keep(store).words(), file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the loads are committed; their reports must reach the dashboard
        print(f"outlooks not kept ({type(exc).__name__}: {exc})", file=sys.stderr)
    try:  # the denial model, as `opsdash ingest` trains it
        made = kept.make(store)
        print(made.words() if kept.keep(store, made) else "denial model not kept", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - as above
        print(f"denial model not kept ({type(exc).__name__}: {exc})", file=sys.stderr)


def main(argv: list[str]) -> None:
    parent = int(argv[0])
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    sys.exit(run(argv[1:]))


if __name__ == "__main__":
    main(sys.argv[1:])
