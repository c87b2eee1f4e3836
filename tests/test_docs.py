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


def test_mapping_guide_shows_the_shipped_staffing_mapping_as_it_is():
    text = (ROOT / "docs" / "mapping-files.md").read_text(encoding="utf-8")
    shipped = (ROOT / "src" / "opsdash" / "sample" / "mappings" / "iberica_staffing.toml").read_text(encoding="utf-8")
    assert f"```toml\n{shipped.rstrip()}\n```" in text


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


def test_dashboard_doc_lists_every_page_and_url_parameter():
    from opsdash.dashboard import PAGES, URL_PARAMETERS

    files = {p.file for p in PAGES}
    assert files == {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    bound = set()
    for path in [*(ROOT / "pages").glob("*.py"), ROOT / "src" / "opsdash" / "ui" / "filters.py"]:
        text = path.read_text()
        for m in re.finditer(r'bind="query-params"', text):
            keys = re.findall(r'key=(?:f?"([^"]+)"|(\w+))', text[max(0, m.start() - 400):m.start()])
            assert keys, (path.name, m.start())
            name = keys[-1][0] or keys[-1][1]  # the key nearest before the binding: the same call's
            if name == "key":  # a helper of filters.py binding its caller's key (vendor_box): read at the call
                continue
            bound |= ({"month_of", "week_of"} if name == "{grain}_of" else
                      {"<page dimension>"} if name == "col" else {name})
        for m in re.finditer(r"(?<!def )linked_selectbox\(", text):  # a box whose parameter filters.py keeps
            keys = re.findall(r'key=(?:f?"([^"]+)"|(\w+))', text[m.end():m.end() + 400])
            assert keys, (path.name, m.start())
            name = keys[0][0] or keys[0][1]
            if name == "key":  # linked_choice passing its caller's key on: read at the call
                continue
            bound |= {"month_of", "week_of"} if name == "{grain}_of" else {name}
        # the helpers' calls in pages: vendor_box(container, vendors, filters, "key"), linked_choice(container,
        # "Label", [names], "key", ...)
        bound |= set(re.findall(r'vendor_box\([^,()]+,[^,()]+,[^,()]*(?:\(\))?,\s*"(\w+)"', text))
        bound |= set(re.findall(r'linked_choice\([^,]+,\s*"[^"]*",\s*\[[^\]]*\],\s*"(\w+)"', text))
    from opsdash.ui.filters import PAGE_KEYS

    assert bound - {"<page dimension>"} <= set(URL_PARAMETERS) and set(PAGE_KEYS) <= set(URL_PARAMETERS)
    assert {"month_of", "week_of"} <= bound
    assert len(bound) >= 8
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/dashboard.md" in readme


def test_security_doc_names_every_role_and_audit_action_and_its_examples_work(tmp_path):
    from opsdash import access, audit

    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for role in access.ROLES:
        assert f"| `{role}` |" in text, f"role {role} missing from the table in docs/security.md"
    for action in audit.ACTIONS:
        assert f"| `{action}` |" in text, f"audit action {action} missing from docs/security.md"
    for name in ("OPSDASH_ACCESS", "OPSDASH_UPLOAD_MAX_MB", "--wait", "/oauth2callback", "server_metadata_url"):
        assert name in text, name
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    secrets, grants = (b.replace("\n   ", "\n") for b in blocks[:2])
    assert secrets.lstrip().startswith("[auth]")
    example = tmp_path / "access.toml"
    example.write_text(grants, encoding="utf-8")
    loaded = access.load(example)  # the documented example is a valid access file that means what it says
    jane = loaded.grant_for("jane.doe@hospital.org")
    assert jane.role == "account_manager" and jane.raw_downloads and len(jane.scope.vendors) == 2
    assert loaded.grant_for("x@hospital.org", ["opsdash-admins"]).admin
    assert loaded.grant_for("cfo@hospital.org").scope.everything
    assert ("access.toml, grant 3: role is 'boss'; expected one of executive, analyst, account_manager, admin"
            in " ".join(text.split()))
    bad = tmp_path / "bad" / "access.toml"
    bad.parent.mkdir()
    bad.write_text(grants.replace('role = "account_manager"', 'role = "boss"'), encoding="utf-8")
    try:
        access.load(bad)
    except access.AccessError as exc:
        assert str(exc).endswith("grant 3: role is 'boss'; expected one of executive, analyst, account_manager, admin")
    else:
        raise AssertionError("a bad role was accepted")


def test_every_settings_file_key_is_documented():
    from opsdash import settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    contract_doc = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    for key in settings.KEYS:
        assert f"`{key}`" in readme or f"[{key}]" in readme, key
    for key in settings.INGEST_KEYS:
        assert f"{key} = " in contract_doc and f"`{key}`" in readme, key
