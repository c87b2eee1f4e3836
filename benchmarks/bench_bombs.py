"""Decompression bombs against `opsdash ingest`: peak memory and time, beside normal files of the same size.

Builds in benchmarks/_work/ (once; delete the folder to rebuild):
  gzip bomb:      a .csv.gz of 2 GiB of text (a header, then one claims row repeated), about 2 MB compressed
  gzip normal:    a .csv.gz of distinct generated claims rows, about the same compressed size
  xlsx cell bomb: an .xlsx whose one cell holds 300 MB of text (an inline string), about 0.3 MB compressed
  xlsx zip bomb:  an .xlsx whose worksheet part expands about 1,000 times (900 MB of repeated rows)
  xlsx normal:    an .xlsx written by openpyxl, about the same compressed size as the cell bomb
Each is loaded by `opsdash ingest` in a fresh child process on a fresh store; the child's peak resident memory
comes from os.wait4 (its own rusage, so this process's size does not count). Run:

    .venv/bin/python benchmarks/bench_bombs.py [--raised]

--raised also loads the gzip bomb with OPSDASH_MAX_UNCOMPRESSED_MB=4096, so it is read whole rather than
refused: memory must stay bounded then too (the rows go through a UTF-8 copy on disk and DuckDB's memory
limit). The cell bomb is loaded twice: with the defaults (the zip-ratio limit stops it) and with
OPSDASH_MAX_ZIP_RATIO=5000 (the cell-size limit must stop it on its own). Target: every load under 1.5 GB
peak, whatever the input.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
HEAD = "claim_id,vendor,payer,received_date,submitted_date,adjudicated_date,initial_outcome,billed_amount,paid_amount\n"
ROW = "C1,Acme,Aetna,2026-01-05,2026-01-07,2026-01-20,paid,100,80\n"

SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
              'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def _inline_row(r: int, values: list[str]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'


def _xlsx_with_sheet(path: Path, write_sheet) -> None:
    """A minimal workbook (as openpyxl writes one) whose sheet1.xml is streamed by write_sheet(file)."""
    import openpyxl

    tmpl = WORK / "_template.xlsx"
    if not tmpl.exists():
        openpyxl.Workbook().save(tmpl)
    with zipfile.ZipFile(tmpl) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
                    write_sheet(fh)
            else:
                out.writestr(item.filename, src.read(item.filename))


def build() -> dict[str, Path]:
    WORK.mkdir(exist_ok=True)
    files = {"gzip bomb (2 GiB of text)": WORK / "bomb.csv.gz", "gzip normal": WORK / "normal.csv.gz",
             "xlsx cell bomb (300 MB cell)": WORK / "cell_bomb.xlsx", "xlsx zip bomb (900 MB part)": WORK / "zip_bomb.xlsx",
             "xlsx normal": WORK / "normal.xlsx"}
    p = files["gzip bomb (2 GiB of text)"]
    if not p.exists():
        block = (ROW * ((8 << 20) // len(ROW))).encode()
        with gzip.open(p, "wb", compresslevel=9) as fh:
            fh.write(HEAD.encode())
            for _ in range((2 << 30) // len(block) + 1):
                fh.write(block)
    p = files["gzip normal"]
    if not p.exists():
        target = files["gzip bomb (2 GiB of text)"].stat().st_size
        with gzip.open(p, "wb", compresslevel=9) as fh:
            fh.write(HEAD.encode())
            i = 0
            while os.path.getsize(p) < target:  # the compressed size reaches the bomb's
                fh.write("".join(f"N{i + k},Acme,Aetna,2026-01-{1 + (i + k) % 28:02d},2026-02-01,2026-02-20,paid,"
                                 f"{(i + k) % 997}.{k % 100:02d},{(i + k) % 500}\n" for k in range(10_000)).encode())
                fh.flush()
                i += 10_000
    p = files["xlsx cell bomb (300 MB cell)"]
    if not p.exists():
        def cell(fh) -> None:
            fh.write((SHEET_HEAD + _inline_row(1, ["claim_id", "vendor", "received_date", "payer"])
                      + '<row r="2"><c r="A2" t="inlineStr"><is><t>X1</t></is></c><c r="B2" t="inlineStr"><is><t>Acme'
                      '</t></is></c><c r="C2" t="inlineStr"><is><t>2026-01-05</t></is></c><c r="D2" t="inlineStr">'
                      "<is><t>").encode())
            chunk = b"a" * (1 << 20)
            for _ in range(300):
                fh.write(chunk)
            fh.write(("</t></is></c></row>" + SHEET_TAIL).encode())
        _xlsx_with_sheet(p, cell)
    p = files["xlsx zip bomb (900 MB part)"]
    if not p.exists():
        def rows(fh) -> None:
            fh.write((SHEET_HEAD + _inline_row(1, ["claim_id", "vendor", "received_date", "payer"])).encode())
            one = _inline_row(2, ["X1", "Acme", "2026-01-05", "Aetna"]).encode()
            block = one * ((1 << 20) // len(one))
            for _ in range(900):
                fh.write(block)
            fh.write(SHEET_TAIL.encode())
        _xlsx_with_sheet(p, rows)
    p = files["xlsx normal"]
    if not p.exists():
        import openpyxl

        target = files["xlsx cell bomb (300 MB cell)"].stat().st_size
        n = 4000
        while True:
            wb = openpyxl.Workbook(write_only=True)
            ws = wb.create_sheet("Claims")
            ws.append(["claim_id", "vendor", "received_date", "payer", "billed_amount"])
            for i in range(n):
                ws.append([f"N{i}", "Acme", f"2026-01-{1 + i % 28:02d}", f"Payer {i % 37}", (i * 7919) % 10007 / 10])
            wb.save(p)
            if p.stat().st_size >= target:
                break
            n = int(n * target / p.stat().st_size * 1.05)
    return files


def measure(path: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and the outcome line of one `opsdash ingest` in a child process."""
    store = WORK / "bench.duckdb"
    for f in (store, store.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "opsdash", "ingest", "--db", str(store), str(path)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **env})
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _pid, _status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    lines = [x.strip() for x in out.splitlines() if x.strip()]
    outcome = next((x for x in lines if x.split()[0].lower() in ("refused", "loaded", "duplicate")),
                   lines[-1] if lines else "")
    return seconds, usage.ru_maxrss / 1024, " ".join(outcome.split())[:220]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raised", action="store_true", help="also load the gzip bomb with the limit raised to 4 GB")
    args = ap.parse_args()
    files = build()
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print("| input | file MB | uncompressed MB | limits | seconds | peak MB | outcome |")
    print("|---|---:|---:|---|---:|---:|---|")
    runs = [(label, p, {}) for label, p in files.items()]
    # The cell bomb also trips the ratio limit; with that raised, the cell-size limit must stop it on its own.
    runs.insert(3, ("xlsx cell bomb (300 MB cell)", files["xlsx cell bomb (300 MB cell)"], {"OPSDASH_MAX_ZIP_RATIO": "5000"}))
    if args.raised:
        runs.append(("gzip bomb (2 GiB of text)", files["gzip bomb (2 GiB of text)"], {"OPSDASH_MAX_UNCOMPRESSED_MB": "4096"}))
    for label, p, env in runs:
        if p.suffix == ".gz":
            with gzip.open(p, "rb") as fh:
                full = sum(len(c) for c in iter(lambda: fh.read(64 << 20), b""))
        else:
            with zipfile.ZipFile(p) as z:
                full = sum(i.file_size for i in z.infolist())
        seconds, peak, outcome = measure(p, env)
        lim = ", ".join(f"{k}={v}" for k, v in env.items()) or "defaults"
        print(f"| {label} | {p.stat().st_size / 1e6:,.1f} | {full / 1e6:,.0f} | {lim} | {seconds:,.1f} | {peak:,.0f} | "
              f"{outcome.replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
