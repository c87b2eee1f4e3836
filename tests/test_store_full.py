"""A disk that fills up during a load: the file is refused with a clear message, nothing is stored, the store's
file is cut back to what it was, and the same load succeeds once there is room.

Two ways to run out of room: a real full filesystem (a small tmpfs, where this process may mount one) and the
operating system's file-size limit (RLIMIT_FSIZE, which needs no privileges and fails writes the same way)."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from opsdash.store import Store


def _claims(path: Path, rows: int, prefix: str = "C") -> Path:
    lines = ["claim_id,vendor,payer,received_date,denial_reason"]
    # Digests do not compress, so the stored size follows the row count; written in letters only, so no run of
    # digits looks like a phone or SSN number to the identifier screening.
    letters = str.maketrans("0123456789", "ghijklmnop")
    lines += [f"{prefix}{i},Acme,Payer{i % 50},2026-01-{1 + i % 28:02d},"
              f"{hashlib.sha256(str(i).encode()).hexdigest().translate(letters)}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(db: Path, f: Path, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "opsdash", "ingest", "--db", str(db), str(f)],
                          capture_output=True, text=True, preexec_fn=limit, timeout=300)


def _stored(db: Path) -> tuple[int, int]:
    with Store(db, read_only=True) as s:
        return s.table_counts()["claims"], s.fetchone("SELECT count(*) FROM loads")[0]


def _check_full_then_room(db: Path, big: Path, result: subprocess.CompletedProcess[str], size_before: int) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "is full" in result.stdout and "nothing of this was stored" in result.stdout, result.stdout
    assert big.name in result.stdout
    assert db.stat().st_size == size_before  # the space the undone load took is given back
    assert _stored(db) == (2, 1)


def test_file_size_limit_refuses_the_load_and_cuts_the_file_back(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = _ingest(db, _claims(tmp_path / "first.csv", 2))
    assert first.returncode == 0, first.stdout + first.stderr
    size_before = db.stat().st_size
    big = _claims(tmp_path / "big.csv", 200_000, prefix="B")
    result = _ingest(db, big, fsize=size_before + (1 << 20))
    _check_full_then_room(db, big, result, size_before)
    again = _ingest(db, big)  # with room, the same file loads whole
    assert again.returncode == 0, again.stdout + again.stderr
    assert _stored(db) == (200_002, 2)


def test_commit_that_finds_no_room_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """The write-ahead log is written at COMMIT: a 4 KiB limit on any one file fails only there."""
    db = tmp_path / "s.duckdb"
    assert _ingest(db, _claims(tmp_path / "first.csv", 2)).returncode == 0
    size_before = db.stat().st_size
    small = _claims(tmp_path / "small.csv", 500, prefix="S")
    result = _ingest(db, small, fsize=4096)
    _check_full_then_room(db, small, result, size_before)
    assert not (tmp_path / "s.duckdb.wal").exists() or (tmp_path / "s.duckdb.wal").stat().st_size == 0
    assert _ingest(db, small).returncode == 0
    assert _stored(db) == (502, 2)


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the file-size-limit tests above cover the same path")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine refuses a tmpfs mount ({done.stderr.strip()}); the file-size-limit tests cover it")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_real_full_disk(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "s.duckdb"
    assert _ingest(db, _claims(tmp_path / "first.csv", 2)).returncode == 0
    size_before = db.stat().st_size
    big = _claims(tmp_path / "big.csv", 300_000, prefix="B")
    result = _ingest(db, big)
    _check_full_then_room(db, big, result, size_before)
    # A filler takes the rest of the disk: now even a small load's commit finds no room.
    filler = small_disk / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    small = _claims(tmp_path / "small.csv", 500, prefix="S")
    result = _ingest(db, small)
    _check_full_then_room(db, small, result, size_before)
    filler.unlink()
    assert _ingest(db, small).returncode == 0
    assert _stored(db) == (502, 2)
