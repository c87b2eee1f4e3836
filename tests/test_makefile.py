"""`make`'s system-package steps say why they install something, and what is missed when they cannot.

apt-get and id are replaced by scripts on PATH, so nothing is installed and the test runs as any user."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def _make(tmp_path, target: str, uid: int, *extra: str) -> tuple[str, list[str]]:
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "apt.log"
    (bin_ / "apt-get").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    (bin_ / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    for f in ("apt-get", "id"):
        (bin_ / f).chmod(0o755)
    import os

    done = subprocess.run(["make", "-s", "-C", str(ROOT), target, *extra], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, (log.read_text().splitlines() if log.exists() else [])


def test_chromium_is_installed_saying_why(tmp_path):
    out, apt = _make(tmp_path, "chromium", 0, f"CHROMIUM={tmp_path / 'no-chromium'}")
    assert "installing the Debian package chromium with apt-get: opsdash prints review packs as PDF" in out
    assert "skipped when" in out and "not run as root" in out
    assert apt and apt[0].startswith("install -y --no-install-recommends chromium")


def test_without_root_chromium_is_not_installed_and_the_missing_pdf_is_said(tmp_path):
    out, apt = _make(tmp_path, "chromium", 1000, f"CHROMIUM={tmp_path / 'no-chromium'}")
    assert apt == [] and "not installing chromium" in out and "review packs come as HTML and Excel only" in out


def test_a_chromium_present_is_left_alone_quietly(tmp_path):
    present = tmp_path / "chromium"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    out, apt = _make(tmp_path, "chromium", 0, f"CHROMIUM={present}")
    assert apt == [] and out == ""
