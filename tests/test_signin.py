"""A real sign-in: a local OIDC provider (oidc-provider-mock) on loopback, the app configured for it through
``[auth]`` in a secrets file, and Debian's chromium signing in through the provider's form as an account
manager and as an executive. Each sees what the access file grants, and nothing before signing in."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsdash import audit
from opsdash.store import Store
from tests.browser import chromium, free_port, require_chromium, served, settled

HELIX = "Helix Health Services"
OTHERS = ("Meridian Revenue Partners", "ClearView Diagnostics Reading", "Ibérica Salud Contact Services")
oidc_provider_mock = pytest.importorskip("oidc_provider_mock") if not os.environ.get("CI") else \
    __import__("oidc_provider_mock")


@pytest.fixture(scope="module")
def provider():
    users = [oidc_provider_mock.User(sub="am-1", claims={"email": "am@hospital.org", "groups": ["helix-team"]}),
             oidc_provider_mock.User(sub="exec-1", claims={"email": "cfo@hospital.org", "groups": ["board"]}),
             oidc_provider_mock.User(sub="nobody-1", claims={"email": "visitor@elsewhere.org", "groups": []})]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app(sample_store, provider, tmp_path_factory):
    require_chromium()
    work = tmp_path_factory.mktemp("signin")
    db = work / "store.duckdb"
    shutil.copy(sample_store.path, db)
    port = free_port()
    url = f"http://localhost:{port}"
    secrets = work / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "{url}/oauth2callback"
cookie_secret = "a-test-secret-only-for-this-run"
client_id = "opsdash"
client_secret = "opsdash-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""", encoding="utf-8")
    grants = work / "access.toml"
    grants.write_text(f"""[[grant]]
group = "helix-team"
role = "account_manager"
vendors = ["{HELIX}"]

[[grant]]
email = "cfo@hospital.org"
role = "executive"
""", encoding="utf-8")
    with served({"OPSDASH_DB": str(db), "OPSDASH_ACCESS": str(grants)}, cwd=work, host="localhost",
                extra=("--secrets.files", str(secrets)), port=port) as served_url:
        assert served_url == url
        yield url, db


@pytest.fixture(scope="module")
def browser(app):
    with chromium() as b:
        yield b


@contextlib.contextmanager
def _signed_in(browser, url: str, sub: str) -> Iterator[Any]:
    """A fresh browser: the app asks for sign-in, the provider's form takes the subject, the app comes back."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield _sign_in(context.new_page(), url, sub)
    finally:
        context.close()


def _sign_in(page: Any, url: str, sub: str) -> Any:
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    body = page.locator("body").inner_text()
    assert HELIX not in body and "Claims received" not in body, "data shown before sign-in"
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").wait_for(timeout=30_000)  # the provider's own page
    assert page.url.startswith("http://localhost") and "/oauth2/authorize" in page.url
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    return page


def test_an_account_manager_signs_in_and_sees_only_their_vendor(app, browser):
    url, db = app
    with _signed_in(browser, url, "am-1") as page:
        page.locator(".opsdash-tile-value").first.wait_for(timeout=60_000)
        settled(page)
        # Names from outside are shown as text: a word joiner (U+2060) keeps an address from becoming a link.
        sidebar = page.locator("[data-testid='stSidebar']").inner_text().replace("\u2060", "")
        assert "am@hospital.org" in sidebar and HELIX in sidebar
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Upload" not in nav and "Audit trail" not in nav and "Loads and rejects" not in nav
        for path in ("", "sla", "scorecard", "data"):
            page.goto(f"{url}/{path}?vendor=Meridian+Revenue+Partners")  # a link naming another vendor
            page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=60_000)
            settled(page)
            text = page.locator("body").inner_text()
            assert not [v for v in OTHERS if v in text], (path, [v for v in OTHERS if v in text])
            assert "Traceback" not in text
        page.goto(f"{url}/upload")  # not in this role's navigation: Streamlit shows no upload form
        page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=60_000)
        settled(page)
        assert page.locator("[data-testid='stFileUploader']").count() == 0


def test_an_executive_signs_in_and_sees_every_vendor(app, browser):
    url, db = app
    with _signed_in(browser, url, "exec-1") as page:
        page.goto(f"{url}/sla")
        page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('Meridian Revenue Partners')", timeout=60_000)
        settled(page)
        text = page.locator("body").inner_text()
        assert HELIX in text and "Meridian Revenue Partners" in text
        assert "cfo@hospital.org" in page.locator("[data-testid='stSidebar']").inner_text().replace("\u2060", "")


def test_a_signed_in_stranger_gets_no_data(app, browser):
    url, db = app
    with _signed_in(browser, url, "nobody-1") as page:
        page.get_by_text("no access for you", exact=False).wait_for(timeout=60_000)
        text = page.locator("body").inner_text()
        assert not [v for v in (HELIX, *OTHERS) if v in text]
        assert page.locator(".opsdash-tile").count() == 0


def test_sign_ins_reach_the_audit_trail(app, browser):
    url, db = app
    # Its own sign-ins (a test run may spread this module's tests over several processes, each with its own
    # server and store): the app keeps events beside the store and moves them in when it can.
    for sub, shown in (("am-1", ".opsdash-tile-value"), ("exec-1", ".opsdash-tile-value"),
                       ("nobody-1", "text=no access for you")):
        with _signed_in(browser, url, sub) as page:
            page.locator(shown).first.wait_for(timeout=60_000)
    deadline = time.time() + 30
    while time.time() < deadline:
        rows = [line for line in audit.spool_path(db).read_text(encoding="utf-8").splitlines()] \
            if audit.spool_path(db).exists() else []
        try:
            with Store(db, read_only=True) as s:
                stored = audit.trail(s)
        except Exception:  # noqa: BLE001 - the app may hold the file this instant
            time.sleep(0.5)
            continue
        seen = set(zip(stored["User"], stored["Action"])) | {
            (e["user_name"], e["action"]) for e in map(__import__("json").loads, rows)}
        if {("am@hospital.org", "sign_in"), ("cfo@hospital.org", "sign_in"),
                ("visitor@elsewhere.org", "denied")} <= seen:
            return
        time.sleep(0.5)
    pytest.fail(f"sign-ins missing from the audit trail: {seen}")
