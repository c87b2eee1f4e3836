"""Access: the access file, the audit trail, and what each role sees in the app (AppTest, with sign-in
stood in for by the identity the provider would return; tests/test_signin.py signs in for real)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from opsdash import access, audit, catalog, lifecycle, metrics, sla, views
from opsdash.access import AccessError
from opsdash.store import Scope, Store
from tests.conftest import ROOT
from tests.helpers import held, overview_tiles

HELIX = "Helix Health Services"
MERIDIAN = "Meridian Revenue Partners"
ACCESS = f"""
group_claim = "roles"

[[grant]]
email = "am@hospital.org"
role = "account_manager"
vendors = ["{HELIX}"]

[[grant]]
email = "Boss@Hospital.org"
role = "executive"

[[grant]]
email = "analyst@hospital.org"
role = "analyst"

[[grant]]
email = "admin@hospital.org"
role = "admin"

[[grant]]
group = "helix-team"
role = "account_manager"
vendors = ["{HELIX}"]

[[grant]]
group = "meridian-team"
role = "account_manager"
vendors = ["{MERIDIAN}"]
raw_downloads = true
"""


@pytest.fixture
def access_file(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("OPSDASH_ACCESS", str(path))
    return access.load(path)


# -- the access file ----------------------------------------------------------------------------------

def test_grants_by_email_and_by_group(access_file):
    am = access_file.grant_for("am@hospital.org")
    assert (am.role, am.scope, am.raw_downloads, am.admin) == ("account_manager", Scope((HELIX,)), False, False)
    boss = access_file.grant_for("boss@hospital.org")  # emails compare without case
    assert boss.role == "executive" and boss.scope.everything and not boss.raw_downloads
    assert access_file.grant_for("analyst@hospital.org").raw_downloads
    admin = access_file.grant_for("admin@hospital.org")
    assert admin.admin and admin.raw_downloads and admin.scope.everything
    both = access_file.grant_for("new@hospital.org", ["helix-team", "Meridian-Team"])
    assert both.scope == Scope((HELIX, MERIDIAN)) and both.raw_downloads  # the union of the groups' grants
    # An email entry wins over groups: a person named in the file gets exactly their entry.
    assert access_file.grant_for("am@hospital.org", ["meridian-team"]).scope == Scope((HELIX,))


def test_a_user_the_file_does_not_name_gets_nothing(access_file, tmp_path):
    assert access_file.grant_for("stranger@else.org", ["staff"]) is None
    assert access_file.grant_for(None) is None
    assert access.load(tmp_path / "missing.toml").grant_for("am@hospital.org") is None


@pytest.mark.parametrize("text,message", [
    ('[[grant]]\nemail = "a@b"\nrole = "boss"', "grant 1: role is 'boss'; expected one of executive, analyst"),
    ('[[grant]]\nemail = "a@b"\nrole = "account_manager"', "grant 1: an account_manager needs vendors"),
    ('[[grant]]\nemail = "a@b"\nrole = "executive"\nvendors = ["X"]', "a executive sees every vendor"),
    ('[[grant]]\nemail = "a@b"\ngroup = "g"\nrole = "admin"', "expected exactly one of email or group"),
    ('[[grant]]\nemail = "a@b"\nrole = "admin"\nvendor = ["X"]', "unknown key(s) vendor"),
    ('[[grant]]\nemail = "a@b"\nrole = "analyst"\nraw_downloads = "yes"', "raw_downloads is 'yes'; expected true"),
    ('grant = "everyone"', "grant must be an array of tables"),
    ('[[grant]\nemail = "a@b"', "not valid TOML"),
    ('admins = ["a@b"]', "unknown key(s) admins"),
])
def test_a_bad_access_file_says_where_and_what(tmp_path, text, message):
    path = tmp_path / "access.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AccessError) as err:
        access.load(path)
    assert str(path) in str(err.value) and message in str(err.value)


# -- the audit trail ----------------------------------------------------------------------------------

def test_events_reach_the_audit_table_once_and_hold_no_rows(tmp_path):
    db = tmp_path / "a.duckdb"
    Store(db).close()
    first = audit.Event("am@hospital.org", "account_manager", "download", page="Claims", what="claims.csv",
                        filters={"vendor": [HELIX]}, row_count=12)
    audit.record(db, first)
    audit.record(db, audit.Event("admin@hospital.org", "admin", "upload", what="c.csv: loaded", load_ids=(7,)))
    spool = audit.spool_path(db)
    spool.write_text(spool.read_text() + spool.read_text().splitlines()[0] + "\n" + '{"event_id": "cut', "utf-8")
    assert audit.pending(db) == 4
    with lifecycle.open_store(db) as s:  # every opening for writing moves the kept events in
        trail = audit.trail(s)
    assert audit.pending(db) == 0
    assert len(trail) == 2, "the repeated event was stored twice, or the cut-short line broke the move"
    row = trail[trail["Action"] == "download"].iloc[0]
    assert (row["User"], row["Page"], row["What"], row["Rows"]) == ("am@hospital.org", "Claims", "claims.csv", 12)
    assert json.loads(row["Filters"]) == {"vendor": [HELIX]}
    assert list(trail[trail["Action"] == "upload"]["Loads"].iloc[0]) == [7]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.Event("x", "admin", "peek")


def test_events_wait_beside_a_busy_store_and_are_never_lost(tmp_path):
    db = tmp_path / "a.duckdb"
    Store(db).close()
    with held(db):
        audit.record(db, audit.Event("boss@hospital.org", "executive", "sign_in"))
        assert audit.pending(db) == 1
    with lifecycle.open_store(db) as s:
        assert list(audit.trail(s)["User"]) == ["boss@hospital.org"]


# -- the engine and the dashboard's cached queries, through a scope -----------------------------------

def test_every_cached_query_of_the_dashboard_keeps_to_the_scope(sample_store):
    """Each function pages read through (ui/data.py), called as a Helix account manager: no other vendor."""
    from opsdash.ui import data

    mine, everyone = data.Source(str(sample_store.path), Scope.of([HELIX])), data.Source(str(sample_store.path))
    ver = ("t",)
    f = views.Filters()
    other = views.Filters(vendors=(MERIDIAN,))  # as a link naming another vendor would ask
    seen: dict[str, set] = {}

    def vendors_in(name: str, df: pd.DataFrame) -> None:
        if isinstance(df, pd.DataFrame) and "vendor" in df:
            seen.setdefault(name, set()).update(df["vendor"].dropna())

    for kpi_id in catalog.KPIS:
        vendors_in(kpi_id, data.series(mine, ver, kpi_id, f, ("vendor",)))
        assert data.series(mine, ver, kpi_id, other, ("vendor",))["value"].isna().all(), kpi_id
        t = data.tile(mine, ver, kpi_id, other)
        assert t.value is None, kpi_id
    vendors_in("what_changed", data.what_changed(mine, ver, f))
    vendors_in("attainment", data.attainment(mine, ver, dt.date(2025, 1, 1), dt.date(2026, 11, 30), ()))
    assert data.attainment(mine, ver, dt.date(2025, 1, 1), dt.date(2026, 11, 30), (MERIDIAN,)).empty
    for table in ("claims", "work_items", "qa_audits", "staffing"):
        vendors_in(table, data.raw_rows(mine, ver, table, f)[0])
        vendors_in(table, data.all_raw_rows(mine, table, f, 10**7))
    assert len(set(data.all_raw_rows(everyone, "staffing", f, 10**7)["vendor"])) == 4  # plans of every vendor
    for row_set in catalog.ROW_SETS:
        vendors_in(row_set, data.counts_by(mine, ver, row_set, "vendor", f))
    vendors_in("reconcile", data.reconcile(mine, ver, None))
    vendors_in("denial_scores", data.denial_scores(mine, ver, ver))
    assert [v.vendor for v in data.denial_views(mine, ver, ver)] == [HELIX]  # never the pooled card
    assert {v.vendor for v in data.denial_views(everyone, ver, ver)} == {None, HELIX, MERIDIAN}
    assert data.vendors(mine, ver) == [HELIX]
    assert data.dimension_values(mine, ver, "claims", "vendor") == [HELIX]
    assert data.rejected_rows(mine, ver).empty and not data.rejected_rows(everyone, ver).empty
    assert seen and all(v <= {HELIX} for v in seen.values()), seen
    # The same arguments with another scope are another cache entry, not the account manager's result.
    assert set(data.series(everyone, ver, "claim_volume", f, ("vendor",))["vendor"]) > {HELIX}
    assert set(data.series(mine, ver, "claim_volume", f, ("vendor",))["vendor"]) == {HELIX}


def test_a_review_pack_through_a_scope_is_the_vendors_own_and_no_other(sample_store):
    from opsdash import report
    from opsdash.settings import load

    helix = sample_store.scoped(Scope.of([HELIX]))
    mine = report.build(helix, HELIX, "2026-10", settings=load(ROOT / "opsdash.toml"))
    full = report.build(sample_store, HELIX, "2026-10", settings=load(ROOT / "opsdash.toml"))
    pd.testing.assert_frame_equal(mine.raw_levels, full.raw_levels)
    assert mine.summary == full.summary
    for name, table in mine.tables.items():
        assert MERIDIAN not in table.frame.to_csv(), name
    with pytest.raises(Exception, match="unknown vendor"):
        report.build(helix, MERIDIAN, "2026-10", settings=load(ROOT / "opsdash.toml"))


# -- the app, per role ----------------------------------------------------------------------------------

_TOKENS = itertools.count(1_700_000_000)


def _events(db) -> pd.DataFrame:
    """The audit trail as stored, plus events still kept beside the store (the app moves them when it can)."""
    with Store(db, read_only=True) as s:
        stored = audit.trail(s)
    spool = audit.spool_path(db)
    kept = [json.loads(x) for x in spool.read_text().splitlines()] if spool.exists() else []
    kept = pd.DataFrame({"User": [e["user_name"] for e in kept], "Action": [e["action"] for e in kept],
                         "What": [e["what"] for e in kept]})
    return pd.concat([stored[["User", "Action", "What"]], kept], ignore_index=True)


def _signed_in(monkeypatch, db, email: str | None, groups=(), page: str | None = None,
               params: dict | None = None, logged_in: bool = True, token: dict | None = None) -> AppTest:
    from opsdash.ui import auth

    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(auth, "configured", lambda: True)
    monkeypatch.setattr(auth, "logged_in", lambda: logged_in)
    # Each call is a new sign-in (its own ID token) unless the test passes the same token again.
    token = token if token is not None else {"iat": next(_TOKENS)}
    monkeypatch.setattr(auth, "identity", lambda: (email, list(groups), token))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    if page:
        at.run()
        at.switch_page(f"pages/{page}.py")
    return at.run()


@pytest.fixture
def store_copy(sample_store, tmp_path):
    """The sample store in a file of its own (the app writes audit events to it)."""
    import shutil

    path = tmp_path / "store.duckdb"
    shutil.copy(sample_store.path, path)
    return path


def test_without_sign_in_set_up_the_app_says_it_is_in_local_mode(monkeypatch, sample_store):
    from opsdash.ui import auth

    monkeypatch.setenv("OPSDASH_DB", str(sample_store.path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert at.main.caption[0].value == auth.LOCAL_BANNER  # above the page, on every page
    assert "Local mode" in at.main.caption[0].value
    assert overview_tiles(at)  # the single local user sees everything


def test_signed_out_users_see_a_sign_in_button_and_no_data(monkeypatch, store_copy, access_file):
    at = _signed_in(monkeypatch, store_copy, None, logged_in=False)
    assert not at.exception
    assert at.button(key="auth_login").label == "Sign in"
    assert not overview_tiles(at) and not at.dataframe


def test_a_user_without_access_gets_a_message_no_data_and_an_audit_record(monkeypatch, store_copy, access_file):
    at = _signed_in(monkeypatch, store_copy, "stranger@else.org", ["staff"])
    assert not at.exception
    assert any("no access for you" in e.value for e in at.error)
    assert not overview_tiles(at) and not at.dataframe and not at.multiselect
    trail = _events(store_copy)
    assert list(trail["Action"]) == ["denied"] and list(trail["User"]) == ["stranger@else.org"]


def test_an_account_manager_sees_only_their_vendor_even_when_a_link_names_another(monkeypatch, store_copy,
                                                                                  access_file):
    at = _signed_in(monkeypatch, store_copy, "am@hospital.org", params={"vendor": [MERIDIAN], "grain": "month"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.multiselect(key="vendor").options == [HELIX]
    assert MERIDIAN not in at.multiselect(key="vendor").value
    shown = overview_tiles(at)
    helix = Store(store_copy, read_only=True)
    try:
        for kpi_id in views.HEADLINE:
            kpi = catalog.KPIS[kpi_id]
            s = metrics.series(helix, kpi_id, grain="month", where={"vendor": [HELIX]},
                               end=dt.date(2026, 10, 31)).dropna(subset=["value"])  # the latest complete month
            if s.empty:
                assert kpi_id not in shown  # left out, named in a line
            else:
                assert shown[kpi_id]["value"] == catalog.format_value(kpi, float(s["value"].iloc[-1]))
    finally:
        helix.close()
    assert any(HELIX in c.value for c in at.sidebar.caption)  # who is signed in, and their scope


@pytest.mark.parametrize("page", ["overview", "claims", "quality", "sla", "contact_centre", "scorecard", "data",
                                  "capacity"])
def test_every_page_runs_for_an_account_manager_without_other_vendors(monkeypatch, store_copy, access_file, page):
    at = _signed_in(monkeypatch, store_copy, "am@hospital.org", page=page)
    assert not at.exception and not at.error, [e.value for e in at.error]
    for df in at.dataframe:
        frame = df.value
        for col in [c for c in frame.columns if str(c).lower() == "vendor"]:
            assert set(frame[col].dropna()) <= {HELIX, "*"}, (page, col)
        assert MERIDIAN not in frame.to_csv(), page


@pytest.mark.parametrize("email", ["boss@hospital.org", "analyst@hospital.org", "am@hospital.org"])
def test_only_admins_have_the_upload_loads_and_audit_pages(monkeypatch, store_copy, access_file, email):
    for page, title in (("upload", "Upload"), ("loads", "Loads and rejects"), ("audit", "Audit trail")):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            _signed_in(monkeypatch, store_copy, email, page=page)  # not in their navigation at all
        at = _signed_in(monkeypatch, store_copy, "admin@hospital.org", page=page)
        assert at.title[0].value == title, page


def _raw_downloads(at: AppTest) -> list[str]:
    """The Data page's raw-record download buttons (the glossary's are not raw records)."""
    return [b.proto.id for b in at.get("download_button") if "dt_raw" in b.proto.id]


def test_raw_record_downloads_follow_the_role(monkeypatch, store_copy, access_file):
    am = _signed_in(monkeypatch, store_copy, "am@hospital.org", page="data")
    assert any("does not include raw-record downloads" in c.value for c in am.caption)
    assert not _raw_downloads(am) and am.dataframe  # the records are shown, not offered as files
    analyst = _signed_in(monkeypatch, store_copy, "analyst@hospital.org", page="data")
    assert not any("does not include raw-record downloads" in c.value for c in analyst.caption)
    assert len(_raw_downloads(analyst)) == 2  # CSV and Excel
    # An account manager granted raw downloads in the file gets them.
    team = _signed_in(monkeypatch, store_copy, "m@hospital.org", ["meridian-team"], page="data")
    assert not any("does not include raw-record downloads" in c.value for c in team.caption)
    assert len(_raw_downloads(team)) == 2


def test_sign_ins_are_audited_and_admins_read_the_trail(monkeypatch, store_copy, access_file):
    _signed_in(monkeypatch, store_copy, "am@hospital.org")
    trail = _events(store_copy)
    assert {("am@hospital.org", "sign_in")} == set(zip(trail["User"], trail["Action"]))
    assert f"scope: {HELIX}" in set(trail["What"])
    from opsdash.ui import data

    data._pool(str(store_copy)).close()  # the app's idle connection, which it would let go of by itself
    with lifecycle.open_store(store_copy):  # any opening for writing moves kept events into the table
        pass
    at = _signed_in(monkeypatch, store_copy, "admin@hospital.org", page="audit")
    assert not at.exception and not at.error
    shown = at.dataframe[0].value
    assert ("am@hospital.org", "sign_in") in set(zip(shown["User"], shown["Action"]))


def test_an_unreadable_access_file_shows_no_data(monkeypatch, store_copy, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[grant]]\nemail = "am@hospital.org"\nrole = "owner"\n', encoding="utf-8")
    monkeypatch.setenv("OPSDASH_ACCESS", str(bad))
    at = _signed_in(monkeypatch, store_copy, "am@hospital.org")
    assert any("access file cannot be read" in e.value for e in at.error)
    assert not overview_tiles(at)


def test_one_sign_in_is_one_audit_event_however_many_tabs(monkeypatch, store_copy, access_file):
    token = {"iat": 1_790_000_000}
    for _ in range(3):  # three tabs, or reloads, of the same sign-in
        _signed_in(monkeypatch, store_copy, "boss@hospital.org", token=token)
    _signed_in(monkeypatch, store_copy, "boss@hospital.org", token={"iat": 1_790_000_900})  # signed in again
    trail = _events(store_copy)
    assert list(trail.loc[trail["User"] == "boss@hospital.org", "Action"]) == ["sign_in", "sign_in"]


def test_an_account_manager_sees_only_their_vendors_capacity_even_when_a_link_names_another(
        monkeypatch, store_copy, access_file):
    """The Capacity page's vendor box offers only Helix; a link naming Meridian opens Helix, with a notice, and
    no word of Meridian's outlook is drawn."""
    at = _signed_in(monkeypatch, store_copy, "am@hospital.org", page="capacity",
                    params={"cap_vendor": MERIDIAN, "capacity_view": "Back-office backlog"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="cap_vendor").options == [HELIX] and at.selectbox(key="cap_vendor").value == HELIX
    drawn = " ".join(e.value for e in (*at.markdown, *at.caption, *at.info))
    assert "Prior auth" in drawn and MERIDIAN not in drawn and "Coding" not in drawn
    for df in at.dataframe:
        assert MERIDIAN not in df.value.to_csv()


def test_an_account_manager_sees_only_their_vendors_claims_at_risk_even_when_a_link_names_another(
        monkeypatch, store_copy, access_file):
    """The Claims page's 'Claims at risk' for a Helix account manager, from a link naming Meridian: Helix's card
    (its own held-out figures, not the pooled ones), Helix's claims and Helix's own model only."""
    at = _signed_in(monkeypatch, store_copy, "am@hospital.org", page="claims",
                    params={"vendor": [MERIDIAN], "claims_view": "Claims at risk"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    drawn = " ".join(e.value.replace("\\", "") for e in (*at.markdown, *at.caption, *at.info))
    assert f"Measured on {HELIX}' claims" in drawn and "Helix DenialShield" in drawn
    assert MERIDIAN not in drawn and "Meridian ClaimIQ" not in drawn
    for df in at.dataframe:
        assert MERIDIAN not in df.value.to_csv()
    assert any("reasons" in df.value.columns for df in at.dataframe)
