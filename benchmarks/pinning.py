"""Debian's chromium for the browser benchmarks, and pinning a process (and every process it starts) to cores."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("OPSDASH_CHROMIUM", "/usr/bin/chromium")


def pin(cpus: str | None) -> list[str]:
    """The command prefix that runs a program on `cpus` (taskset -c), or nothing."""
    return ["taskset", "-c", cpus] if cpus else []


def browser_executable(cpus: str | None, work: Path) -> str:
    """Chromium itself, or a wrapper that starts it (and so every renderer) pinned to cpus."""
    if not cpus:
        return CHROMIUM
    wrapper = work / "chromium-pinned.sh"
    wrapper.write_text(f'#!/bin/sh\nexec taskset -c {cpus} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)
