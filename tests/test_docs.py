"""Everything declared is documented, and generated docs match the code."""

from __future__ import annotations

import re

from opsdash import docs
from opsdash.cli import main
from tests.conftest import ROOT


def test_generated_docs_are_current():
    for name, render in docs.DOCS.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{name} is stale: run `python -m opsdash.docs`"


def test_mapping_guide_lists_every_key():
    text = (ROOT / "docs" / "mapping-files.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- keys:begin -->\n(.*?)\n<!-- keys:end -->", text, re.S)
    assert block and block.group(1) == docs.render_mapping_keys()


def test_readme_shows_the_two_commands_and_every_cli_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    for name in main.commands:
        assert f"opsdash {name}" in readme, name
    for doc in ("docs/data-contract.md", "docs/mapping-files.md", "docs/cli.md"):
        assert doc in readme


def test_every_environment_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = {m for p in (ROOT / "src").rglob("*.py") for m in re.findall(r"OPSDASH_[A-Z_]+", p.read_text())}
    names |= set(re.findall(r"OPSDASH_[A-Z_]+", (ROOT / "Makefile").read_text()))
    assert names and {n for n in names if f"`{n}`" not in readme} == set()
