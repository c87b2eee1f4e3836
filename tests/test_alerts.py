"""Alerts and subscriptions, end to end on loopback servers: a real SMTP server (aiosmtpd, with STARTTLS and
AUTH) receives the e-mails and the tests read them; a real HTTP server receives the webhooks and checks their
HMAC signatures. Every figure a message carries is checked against an independent computation."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import io
import json
import shutil
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash import catalog, periods, queries, sla, views
from opsdash.alerts import deliver, evaluate, outbox, rules, subscriptions
from opsdash.cli import main
from opsdash.settings import Settings, SettingsError
from opsdash.settings import load as load_settings
from opsdash.store import Store

HELIX, MERIDIAN = "Helix Health Services", "Meridian Revenue Partners"
NOW = dt.datetime(2026, 12, 3, 9, 0)  # a Thursday, a week after the sample's data ends
AT_RISK = {HELIX: 40_000.0, MERIDIAN: 25_000.0}
ACCESS = f"""
[[grant]]
email = "am@hospital.org"
role = "account_manager"
vendors = ["{HELIX}"]

[[grant]]
email = "cfo@hospital.org"
role = "executive"

[[grant]]
email = "admin@hospital.org"
role = "admin"
"""


# -- servers on loopback --------------------------------------------------------------------------------------

def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with cryptography; the client trusts it as its CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem = folder / "smtp.crt", folder / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = 0  # the next N messages get a 451 (try again later)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    crt, key = _certificate(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"opsdash" and auth_data.password == b"pw"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers a refusal with 535

    import socket

    box = Mailbox()
    for attempt in range(5):  # aiosmtpd checks its server by connecting to the port it is given, so not 0: a
        with socket.socket() as probe:  # free one, taken again if another process got it in between
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                                authenticator=authenticator, auth_require_tls=True, ready_timeout=60)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 4:
                raise
    for k, v in {"HOST": "127.0.0.1", "PORT": str(port), "USER": "opsdash", "PASSWORD": "pw",
                 "FROM": "opsdash@hospital.org", "CAFILE": str(crt)}.items():
        monkeypatch.setenv(f"OPSDASH_SMTP_{k}", v)
    yield box
    controller.stop()


class Hooks:
    """An HTTP receiver: checks each body's signature, answers 503 to the first `fail` posts."""

    def __init__(self, secret: str) -> None:
        self.secret, self.fail, self.received, self.refused = secret, 0, [], 0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hooks.fail:
                    hooks.fail -= 1
                    hooks.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                ts = self.headers[deliver.TIMESTAMP]
                want = "sha256=" + hmac.new(hooks.secret.encode(), ts.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                hooks.received.append({"path": self.path, "body": json.loads(body),
                                       "signed": hmac.compare_digest(want, self.headers[deliver.SIGNATURE]),
                                       "delivery": self.headers[deliver.DELIVERY]})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    monkeypatch.setenv("OPSDASH_WEBHOOK_SECRET", "webhook-secret")
    h = Hooks("webhook-secret")
    yield h
    h.server.shutdown()
    h.server.server_close()


# -- the store and files ----------------------------------------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path, sample_store: Store) -> Path:
    path = tmp_path / "alerts.duckdb"
    shutil.copy(sample_store.path, path)
    return path


@pytest.fixture
def access_file(tmp_path: Path) -> Path:
    p = tmp_path / "access.toml"
    p.write_text(ACCESS, encoding="utf-8")
    return p


def subs(tmp_path: Path, text: str) -> tuple[subscriptions.Subscription, ...]:
    p = tmp_path / "subscriptions.toml"
    p.write_text(text, encoding="utf-8")
    return subscriptions.load(p)


SETTINGS = Settings(at_risk=AT_RISK)


def run(db: Path, sub, access_file: Path, now: dt.datetime = NOW) -> outbox.Report:
    return outbox.run(db, sub, access_file=access_file, now=now, settings=SETTINGS, wait=5)


@pytest.fixture(scope="module")
def raised(tmp_path_factory: pytest.TempPathFactory, sample_store: Store) -> list[evaluate.Alert]:
    return evaluate.evaluate(sample_store, NOW.date(), SETTINGS)


# -- the rules ------------------------------------------------------------------------------------------------

def test_rules_are_declared_once_each_and_documented_from_their_declarations():
    from opsdash import docs

    assert [r.id for r in rules.RULES] == list(evaluate.RAISE)
    text = docs.render_alerts()
    for r in rules.RULES:
        assert f"`{r.id}`" in text and r.fires in text
        for p, words in r.param_words.items():
            assert f"`{p}`" in text and words in text
    assert rules.BY_ID["data_stale"].params["grace_days"] == views.STALE_AFTER_DAYS


def test_spc_concerns_are_the_latest_months_special_causes_of_concern(raised, sample_store):
    got = {(a.vendor, a.what, a.period) for a in raised if a.rule == "spc_concern"}
    changed = views.what_changed(sample_store, views.Filters(grain="month"))
    concerns = changed[changed["signal"] == "concern"]
    assert got == {(r.vendor, r.kpi, periods.code(pd.Timestamp(r.period).date(), "month"))
                   for r in concerns.itertuples()}
    assert got, "the sample plants a concern"
    for a in (a for a in raised if a.rule == "spc_concern"):
        # the evidence's last point, recomputed from the raw claims with pandas, and beyond its limit or in a run
        chart = a.evidence["chart"]
        assert chart["periods"][-1] == f"{a.period}-01"
        last = {k: chart[k][-1] for k in ("value", "mean", "upl", "lpl")}
        if a.what == "initial_denial_rate":
            claims = sample_store.query("SELECT * FROM claims WHERE vendor = ?", [a.vendor])
            month = claims[pd.to_datetime(claims["adjudicated_date"]).dt.strftime("%Y-%m") == a.period]
            decided = month[month["initial_outcome"].notna()]
            assert last["value"] == pytest.approx((decided["initial_outcome"] == "denied").mean(), rel=1e-9)
        assert a.evidence["figures"][0]["shown"] == catalog.format_value(catalog.get(a.what), last["value"])
        assert a.evidence["chart"]["point_type"][-1] == "concern"


def test_critical_levels_missed_and_credits_equal_the_attainment_grid(raised, sample_store):
    """The alerts come from the scorecard; the attainment grid and credits_due (another path) must agree."""
    missed = [a for a in raised if a.rule == "critical_missed"]
    credits = {a.vendor: a for a in raised if a.rule == "credits_due"}
    assert missed and credits
    for a in missed:
        start = dt.date.fromisoformat(a.period + "-01")
        att = sla.attainment(sample_store, start, periods.end(start, "month"), vendors_=[a.vendor], settings=SETTINGS)
        kpi, process, priority = a.what.split("/")
        row = att[(att["kpi"] == kpi) & (att["process"].fillna("") == process)
                  & (att["priority"].fillna("") == priority) & (att["level"] == "critical")]
        assert len(row) == 1 and row["status"].iloc[0] in sla.MISSED
        assert a.evidence["figures"][0]["value"] == pytest.approx(row["value"].iloc[0], rel=1e-12)
        assert catalog.format_value(catalog.get(kpi), row["value"].iloc[0]) in a.words
    for vendor, a in credits.items():
        start = dt.date.fromisoformat(a.period + "-01")
        att = sla.attainment(sample_store, start, periods.end(start, "month"), vendors_=[vendor], settings=SETTINGS)
        due = sla.credits_due(att, SETTINGS)
        # by hand: the missed critical levels' credit percentages, capped at 100%, times the amount at risk
        crit = att[(att["level"] == "critical") & att["status"].isin(sla.MISSED)]
        by_hand = round(min(crit["credit_pct"].sum(), 1.0) * AT_RISK[vendor], 2)
        assert due["credit_due"].iloc[0] == pytest.approx(by_hand)
        assert f"USD {by_hand:,.2f}" in a.words
        assert {f["label"]: f["value"] for f in a.evidence["figures"]}["Credit due (USD)"] == pytest.approx(by_hand)


def test_stale_data_goes_by_each_feeds_own_cadence(sample_store):
    assert evaluate.cadence([dt.date(2026, 1, d) for d in (1, 2, 3, 5)]) == 1.0  # gaps 1, 1, 2
    assert evaluate.cadence([dt.date(2026, 1, 1) + dt.timedelta(weeks=w) for w in range(6)]) == 7.0
    assert evaluate.cadence([dt.date(2026, 1, 1), dt.date(2026, 1, 9)]) is None
    vendors = queries.vendors(sample_store)
    cuts = {(v, t): c for v in vendors for t in catalog.EVENT_TIMES
            if (c := __import__("opsdash.metrics", fromlist=["x"]).data_cut(sample_store, (t,), (v,))) is not None}
    latest = max(cuts.values())
    # a day after the grace: every feed whose latest day is older than cadence + 7 days is stale
    today = latest + dt.timedelta(days=9)
    ctx = evaluate.Context(today, SETTINGS, rules.BY_ID)
    stale = {(a.vendor, a.what) for a in evaluate.RAISE["data_stale"](sample_store, ctx)}
    expected = set()
    for (v, t), c in cuts.items():
        days = queries.event_days(sample_store, t, v, c - dt.timedelta(days=90))
        gaps = pd.Series(pd.to_datetime(days)).diff().dropna().dt.days
        if (today - c).days > (gaps.median() if len(days) >= 3 else 1) + 7:
            expected.add((v, t))
    assert stale == expected and stale
    fresh = evaluate.Context(latest + dt.timedelta(days=1), SETTINGS, rules.BY_ID)
    assert not [a for a in evaluate.RAISE["data_stale"](sample_store, fresh) if cuts[(a.vendor, a.what)] == latest]
    # the key is the feed's latest day: re-running a week later raises the same alert, not another
    later = evaluate.Context(today + dt.timedelta(days=7), SETTINGS, rules.BY_ID)
    again = {a.key for a in evaluate.RAISE["data_stale"](sample_store, later)}
    assert {a.key for a in evaluate.RAISE["data_stale"](sample_store, ctx)} <= again


def test_assurance_alerts_fire_only_on_the_turn(monkeypatch, sample_store):
    """The tile's assurance (checked against NHSRplotthedots elsewhere) this month and the month before."""
    readings = {}

    def tile(store, kpi_id, f):
        real = real_tile(store, kpi_id, f)
        return views.Tile(**{**real.__dict__, "assurance": readings.get((f.vendors[0], kpi_id, f.end),
                                                                        real.assurance)})

    real_tile = views.tile
    monkeypatch.setattr(views, "tile", tile)
    last = evaluate._latest_month(sample_store, HELIX)
    end, before = periods.end(last, "month"), periods.end(periods.previous(last, "month"), "month")
    readings.update({(HELIX, "clean_claim_rate", end): "consistently_fail",
                     (HELIX, "clean_claim_rate", before): "hit_and_miss",
                     (HELIX, "claim_turnaround_days", end): "consistently_fail",
                     (HELIX, "claim_turnaround_days", before): "consistently_fail"})
    ctx = evaluate.Context(NOW.date(), SETTINGS, rules.BY_ID)
    got = [a for a in evaluate.RAISE["assurance_fail"](sample_store, ctx) if a.vendor == HELIX]
    assert [(a.what, a.period) for a in got] == [("clean_claim_rate", periods.code(last, "month"))]
    assert "hit and miss" in got[0].words.lower()


def test_a_load_with_many_rejects_is_an_admin_alert(db, tmp_path):
    from opsdash.ingest.loader import load_file
    from tests.helpers import csv_text, row

    f = tmp_path / "claims_bad.csv"
    f.write_text(csv_text([row("claims", claim_id="X1", vendor=HELIX),
                           row("claims", claim_id="X2", vendor=HELIX, received_date="not a date")]))
    with Store(db) as s:
        rep = load_file(s, f)
    assert rep.rows_rejected == 1
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with Store(db, read_only=True) as s:
        got = list(evaluate.RAISE["load_rejects"](s, evaluate.Context(now.date(), SETTINGS, rules.BY_ID)))
        assert [(a.vendor, a.what) for a in got] == [(None, str(rep.load_id))]
        assert "50.0%" in got[0].title and "1 of 2 rows" in got[0].words
        # a stricter rate in opsdash.toml: one rejected row in two is still above it; a laxer one is not
        lax = rules.with_params({"load_rejects": {"reject_rate": 0.6}})
        assert not list(evaluate.RAISE["load_rejects"](
            s, evaluate.Context(now.date(), SETTINGS, {r.id: r for r in lax})))


# -- delivery ---------------------------------------------------------------------------------------------------

def test_email_over_starttls_carries_the_engines_figures_and_the_pack(db, access_file, smtp, tmp_path, sample_store):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "helix-weekly"
email = "am@hospital.org"
vendors = ["{HELIX}"]
schedule = "weekly"
day = "monday"
pack = "xlsx"
""")
    report = run(db, sub, access_file)
    assert report.exit_code == 0 and report.outcomes == {"sent": 1}
    msg, = smtp.messages
    assert msg["To"] == "am@hospital.org" and msg["From"] == "opsdash@hospital.org"
    # the same id on every attempt, so a receiver can drop a copy sent again after a lost acceptance
    assert msg["Message-ID"] == f"<{msg[deliver.DELIVERY]}@hospital.org>"
    credit = next(a for a in evaluate.evaluate(sample_store, NOW.date(), SETTINGS, ("credits_due",))
                  if a.vendor == HELIX)
    start = dt.date.fromisoformat(credit.period + "-01")
    att = sla.attainment(sample_store, start, periods.end(start, "month"), vendors_=[HELIX], settings=SETTINGS)
    due = sla.credits_due(att, SETTINGS)["credit_due"].iloc[0]
    text = msg.get_body(("plain",)).get_content()
    body = msg.get_body(("html",)).get_content()
    assert f"USD {due:,.2f}" in text and f"USD {due:,.2f}" in body
    assert msg["Subject"].startswith("opsdash weekly review: ") and HELIX in msg["Subject"]
    changed = views.what_changed(sample_store, views.Filters(grain="month", vendors=(HELIX,)))
    concern = changed[changed["signal"] == "concern"].iloc[0]
    assert catalog.format_value(catalog.get(concern["kpi"]), concern["value"]) in text
    attached = [p for p in msg.iter_attachments()]
    assert [p.get_filename() for p in attached] == [f"{__import__('opsdash.report.pack', fromlist=['x']).file_stem(HELIX, credit.period)}.xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(attached[0].get_content()))
    cells = " ".join(str(c.value) for ws in book.worksheets for r in ws.iter_rows() for c in r if c.value is not None)
    assert HELIX in cells and MERIDIAN not in cells
    # the same week again: nothing new is written or sent
    again = run(db, sub, access_file, NOW + dt.timedelta(hours=1))
    assert (again.raised, again.composed, again.outcomes) == (0, 0, {}) and len(smtp.messages) == 1


def test_webhooks_are_signed_and_in_slack_teams_and_json_shapes(db, access_file, hooks, tmp_path):
    sub = subs(tmp_path, "".join(f"""
[[subscription]]
name = "{fmt}"
webhook = "{hooks.url}/{fmt}"
format = "{fmt}"
person = "cfo@hospital.org"
""" for fmt in ("slack", "teams", "json")))
    report = run(db, sub, access_file)
    assert report.outcomes == {"sent": 3}
    got = {r["path"].strip("/"): r for r in hooks.received}
    assert all(r["signed"] for r in hooks.received) and set(got) == {"slack", "teams", "json"}
    slack, teams, mine = got["slack"]["body"], got["teams"]["body"], got["json"]["body"]
    assert slack["text"].startswith("opsdash: ") and slack["blocks"][0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"] if b["type"] == "section")
    card = teams["attachments"][0]
    assert teams["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["version"] == "1.4"
    # the executive sees every vendor, but no admin-only rule
    with Store(db, read_only=True) as s:
        kept = queries.alerts(s)
    vendor_alerts = set(kept.loc[kept["vendor"].notna(), "key"])
    assert {a["key"] for a in mine["alerts"]} == vendor_alerts
    assert got["json"]["delivery"] == mine["delivery"]
    assert set(kept["state"]) == {"sent"}
    # a body whose signature does not match is told apart: the receiver's check is not a formality
    assert deliver.signature("webhook-secret", "1", b"{}") != deliver.signature("other", "1", b"{}")


def test_a_server_that_fails_then_recovers_gets_each_message_exactly_once(db, access_file, hooks, smtp, tmp_path):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "hook"
webhook = "{hooks.url}/h"
format = "json"
person = "admin@hospital.org"

[[subscription]]
name = "mail"
email = "cfo@hospital.org"
""")
    hooks.fail, smtp.refuse = 2, 2
    first = run(db, sub, access_file)
    assert first.outcomes == {"failed": 2} and first.exit_code == 1
    assert not hooks.received and not smtp.messages
    # too early for the backoff: nothing is tried
    assert run(db, sub, access_file, NOW + dt.timedelta(seconds=30)).outcomes == {}
    second = run(db, sub, access_file, NOW + dt.timedelta(minutes=1))
    assert second.outcomes == {"failed": 2}
    with Store(db, read_only=True) as s:
        box = queries.outbox(s)
    assert set(box["attempts"]) == {2} and set(box["next_try"]) == {NOW + dt.timedelta(minutes=3)}
    third = run(db, sub, access_file, NOW + dt.timedelta(minutes=3))
    assert third.outcomes == {"sent": 2} and third.exit_code == 0
    for later in (10, 60, 600):
        assert run(db, sub, access_file, NOW + dt.timedelta(minutes=later)).outcomes == {}
    assert len(hooks.received) == 1 and len(smtp.messages) == 1 and hooks.refused == 2


def test_a_scoped_recipient_never_hears_of_another_vendor(db, access_file, hooks, smtp, tmp_path):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "asks-for-more"
email = "am@hospital.org"
vendors = ["{HELIX}", "{MERIDIAN}", "Clearview Transcription"]
schedule = "weekly"
pack = "xlsx"

[[subscription]]
name = "asks-for-all"
webhook = "{hooks.url}/am"
format = "json"
person = "am@hospital.org"
rules = ["spc_concern", "critical_missed", "credits_due", "data_stale", "load_rejects"]
""")
    report = run(db, sub, access_file, NOW + dt.timedelta(days=30))  # stale data too, for every vendor
    assert report.outcomes == {"sent": 2}
    assert any("may not see " + MERIDIAN in n for n in report.notes)
    assert any("load_rejects is for admins only" in n for n in report.notes)
    with Store(db, read_only=True) as s:
        others = [v for v in queries.vendors(s) if v != HELIX]
    msg, = smtp.messages
    raw = msg.as_string() + "".join(
        " ".join(str(c.value) for ws in openpyxl.load_workbook(io.BytesIO(p.get_content())).worksheets
                 for r in ws.iter_rows() for c in r if c.value is not None) for p in msg.iter_attachments())
    hook = json.dumps(hooks.received[0]["body"])
    assert HELIX in raw and HELIX in hook and "stale" in hook
    for other in others:
        assert other not in raw and other not in hook, other


def test_a_grant_withdrawn_before_the_send_withholds_the_message(db, access_file, hooks, tmp_path):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "am"
webhook = "{hooks.url}/am"
format = "json"
person = "am@hospital.org"
""")
    hooks.fail = 1
    assert run(db, sub, access_file).outcomes == {"failed": 1}
    access_file.write_text(ACCESS.replace(f'vendors = ["{HELIX}"]', f'vendors = ["{MERIDIAN}"]'), encoding="utf-8")
    later = run(db, sub, access_file, NOW + dt.timedelta(minutes=5))
    assert later.outcomes == {"withheld": 1} and later.exit_code == 3
    assert any(f"may not see {HELIX}" in n for n in later.notes)
    assert not hooks.received
    with Store(db, read_only=True) as s:
        assert list(queries.outbox(s)["state"]) == ["withheld"]


def test_an_acknowledged_alert_is_not_sent(db, access_file, hooks, tmp_path):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "cfo"
webhook = "{hooks.url}/cfo"
format = "json"
person = "cfo@hospital.org"
""")
    with Store(db, read_only=True) as s:
        alerts = evaluate.evaluate(s, NOW.date(), SETTINGS)
    with Store(db) as s:
        queries.enqueue(s, [a.row(NOW) for a in alerts], [], [], [])
        first = next(a for a in alerts if a.vendor)
        assert queries.acknowledge_alert(s, first.key, "cfo@hospital.org", "on it", NOW) == 1
    run(db, sub, access_file)
    sent = {a["key"] for a in hooks.received[0]["body"]["alerts"]}
    assert first.key not in sent and sent == {a.key for a in alerts if a.vendor} - {first.key}


def test_cli_run_and_test_say_what_happened_with_their_exit_codes(db, access_file, hooks, tmp_path, monkeypatch):
    (tmp_path / "subscriptions.toml").write_text(f"""
[[subscription]]
name = "ops"
webhook = "{hooks.url}/ops"
format = "slack"
person = "admin@hospital.org"
""", encoding="utf-8")
    env = {"OPSDASH_ACCESS": str(access_file), "OPSDASH_SUBSCRIPTIONS": str(tmp_path / "subscriptions.toml")}
    cli = CliRunner()
    res = cli.invoke(main, ["alerts", "test", "ops", "--db", str(db)], env=env)
    assert res.exit_code == 0, res.output
    assert hooks.received[0]["body"]["text"].startswith("opsdash test message")
    res = cli.invoke(main, ["alerts", "run", "--db", str(db), "--now", "2026-12-03T09:00:00"], env=env)
    assert res.exit_code == 0 and "message(s) written" in res.output and "1 sent" in res.output
    res = cli.invoke(main, ["alerts", "list", "--db", str(db), "--format", "csv"], env=env)
    listed = pd.read_csv(io.StringIO(res.output))
    assert set(listed["state"]) == {"sent"} and len(listed) >= 3
    (tmp_path / "bad.toml").write_text("[[subscription]]\nname = \"x\"\nemail = \"a@b.org\"\nschedule = \"hourly\"\n")
    res = cli.invoke(main, ["alerts", "run", "--db", str(db), "--subscriptions", str(tmp_path / "bad.toml")], env=env)
    assert res.exit_code == 2 and "schedule is 'hourly'; expected one of immediate, daily, weekly" in res.output
    res = cli.invoke(main, ["alerts", "test", "nobody", "--db", str(db)], env=env)
    assert res.exit_code == 2 and "no subscription is named 'nobody'" in res.output
    monkeypatch.delenv("OPSDASH_WEBHOOK_SECRET")
    res = cli.invoke(main, ["alerts", "test", "ops", "--db", str(db)], env=env)
    assert res.exit_code == 2 and "set OPSDASH_WEBHOOK_SECRET" in res.output


@pytest.mark.parametrize("text, said", [
    ('[[subscription]]\nname = "a"\n', "expected exactly one of email or webhook; found neither"),
    ('[[subscription]]\nname = "a"\nwebhook = "https://x.org/h"\n', "a webhook needs person"),
    ('[[subscription]]\nname = "a"\nemail = "a@b.org"\nrules = ["spc"]\n', "rules ['spc'] unknown"),
    ('[[subscription]]\nname = "a"\nemail = "a@b.org"\nrules = []\n', "leave rules out to mean every one"),
    ('[[subscription]]\nname = "a"\nwebhook = "http://127.0.0.1:abc/x"\nperson = "a@b.org"\n',
     "expected an http(s) URL"),
    ('[[subscription]]\nname = "a"\nemail = "a@b.org"\nday = "friday"\n', "day and pack are for weekly"),
    ('[[subscription]]\nname = "a"\nemail = "a@b.org"\n[[subscription]]\nname = "a"\nemail = "c@b.org"\n',
     "used more than once"),
])
def test_a_subscriptions_file_that_cannot_be_used_says_where_and_why(tmp_path, text, said):
    p = tmp_path / "subscriptions.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(subscriptions.SubscriptionError, match="subscriptions.toml") as e:
        subscriptions.load(p)
    assert said in str(e.value)


def test_rule_parameters_in_opsdash_toml_are_checked(tmp_path):
    p = tmp_path / "opsdash.toml"
    p.write_text("[alerts.load_rejects]\nreject_rate = 0.05\n", encoding="utf-8")
    assert load_settings(p).alerts == {"load_rejects": {"reject_rate": 0.05}}
    p.write_text("[alerts.load_rejects]\nrate = 0.05\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\[alerts.load_rejects\] has \['rate'\]; expected reject_rate"):
        load_settings(p)
    p.write_text("[alerts.nope]\nx = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="names no rule"):
        load_settings(p)


def test_backoff_doubles_to_its_cap():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 10, 20)] == [60, 120, 240, 21600, 21600]


# -- the Alerts page ------------------------------------------------------------------------------------------

def _raised_with_loads_alert(db: Path) -> list[evaluate.Alert]:
    """The sample's alerts and one about a load (admins only), kept as a run keeps them."""
    with Store(db, read_only=True) as s:
        alerts = evaluate.evaluate(s, NOW.date(), SETTINGS)
    alerts.append(evaluate.Alert("load_rejects", None, "7", "2026-12-01", "Load 7 (claims_bad.csv): 50.0% of its "
                                 "rows rejected", "The load rejected 1 of 2 rows read.", {"figures": []}))
    with Store(db) as s:
        queries.enqueue(s, [a.row(NOW) for a in alerts], [], [], [])
    return alerts


def test_the_alerts_page_shows_each_user_only_their_vendors_and_admins_the_outbox(db, access_file, hooks, tmp_path,
                                                                                   monkeypatch):
    from tests.test_access import _signed_in

    alerts = _raised_with_loads_alert(db)
    run(db, subs(tmp_path, f'[[subscription]]\nname = "ops"\nwebhook = "{hooks.url}/o"\nformat = "json"\n'
                           'person = "admin@hospital.org"\n'), access_file)
    monkeypatch.setenv("OPSDASH_ACCESS", str(access_file))
    am = _signed_in(monkeypatch, db, "am@hospital.org", page="alerts")
    assert not at_errors(am)
    table = am.dataframe[0].value
    helix = [a for a in alerts if a.vendor == HELIX]
    assert len(table) == len(helix) and set(table["vendor"]) == {HELIX}
    assert "Outbox" not in [h.value for h in am.subheader]
    shown = " ".join(m.value for m in am.markdown) + " ".join(str(s.options) for s in am.selectbox)
    assert MERIDIAN not in shown and "Load 7" not in shown
    cfo = _signed_in(monkeypatch, db, "cfo@hospital.org", page="alerts")  # every vendor, but not the loads
    assert not at_errors(cfo)
    assert len(cfo.dataframe[0].value) == len([a for a in alerts if a.vendor])
    assert "Outbox" not in [h.value for h in cfo.subheader]
    boss = _signed_in(monkeypatch, db, "admin@hospital.org", page="alerts")
    assert not at_errors(boss)
    everything = boss.dataframe[0].value
    assert len(everything) == len(alerts) and "(loads)" in set(everything["vendor"])
    box = boss.dataframe[-1].value
    assert list(box["state"]) == ["Sent"] and "/o" not in " ".join(map(str, box["recipient"])) and "hospital" not in " ".join(map(str, box["recipient"]))


def test_acknowledging_an_alert_keeps_the_note_and_audits_it(db, access_file, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from opsdash.ui import auth
    from tests.conftest import ROOT
    from tests.test_access import _events

    alerts = _raised_with_loads_alert(db)
    monkeypatch.setenv("OPSDASH_ACCESS", str(access_file))
    monkeypatch.setattr(auth, "configured", lambda: True)
    monkeypatch.setattr(auth, "logged_in", lambda: True)
    monkeypatch.setattr(auth, "identity", lambda: ("am@hospital.org", [], {"iat": 1_800_000_000}))
    # As tests/test_events.py: the first run has no store, since AppTest loses the clicks of later runs once the
    # shared sidebar filters have been drawn.
    st.cache_data.clear()
    monkeypatch.setenv("OPSDASH_DB", str(db.with_name("no-store-yet.duckdb")))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    monkeypatch.setenv("OPSDASH_DB", str(db))
    at.switch_page("pages/alerts.py")
    at.run()
    pick = at.selectbox(key="al_pick").value
    assert pick in {a.key for a in alerts if a.vendor == HELIX}
    at.text_input(key="al_note").set_value("Denials team is re-coding the October rejections")
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at_errors(at)
    with Store(db, read_only=True) as s:
        kept = queries.alerts(s).set_index("key")
    assert kept.at[pick, "state"] == "acknowledged" and kept.at[pick, "acked_by"] == "am@hospital.org"
    assert kept.at[pick, "ack_note"] == "Denials team is re-coding the October rejections"
    events = _events(db)
    acked = events[events["Action"] == "alert_ack"]
    assert list(acked["User"]) == ["am@hospital.org"] and kept.at[pick, "title"] in acked["What"].iloc[0]
    assert "re-coding" not in acked["What"].iloc[0]  # the note stays with the alert, not in the trail


def at_errors(at) -> list:
    return [*(e.value for e in at.exception), *(e.value for e in at.error)]


def test_one_message_that_cannot_go_stops_no_other_and_each_outcome_is_kept(db, access_file, hooks, tmp_path,
                                                                            monkeypatch):
    sub = subs(tmp_path, "".join(f"""
[[subscription]]
name = "n{i}"
webhook = "{hooks.url}/n{i}"
format = "json"
person = "cfo@hospital.org"
""" for i in range(4)))
    real = deliver.post_webhook

    def post(url, *args):
        if url.endswith("/n1"):
            raise UnicodeEncodeError("ascii", "é", 0, 1, "a receiver's bad reply")  # anything may go wrong
        return real(url, *args)

    monkeypatch.setattr(deliver, "post_webhook", post)
    first = run(db, sub, access_file)
    assert first.outcomes == {"sent": 3, "failed": 1} and first.exit_code == 1
    with Store(db, read_only=True) as s:
        box = queries.outbox(s).set_index("subscription")
    assert box.at["n1", "state"] == "failed" and "UnicodeEncodeError" in box.at["n1", "last_error"]
    monkeypatch.setattr(deliver, "post_webhook", real)
    assert run(db, sub, access_file, NOW + dt.timedelta(minutes=2)).outcomes == {"sent": 1}
    assert sorted(r["path"] for r in hooks.received) == ["/n0", "/n1", "/n2", "/n3"]  # each exactly once


def test_a_refusal_for_good_is_dead_at_once_and_a_long_outage_after_days(db, access_file, hooks, tmp_path,
                                                                           monkeypatch):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "gone"
webhook = "{hooks.url}/gone"
format = "json"
person = "cfo@hospital.org"
""")
    monkeypatch.setattr(deliver, "post_webhook", lambda *a: deliver.Outcome("permanent", "HTTP 404 Not Found"))
    report = run(db, sub, access_file)
    assert report.outcomes == {"dead": 1} and report.exit_code == 3
    with Store(db) as s:  # a message that kept failing: tried again until GIVE_UP_AFTER, then dead
        queries.enqueue(s, [], [{**{c: None for c in queries.OUTBOX_COLUMNS}, "id": "m2", "subscription": "gone",
                                 "recipient": "x", "channel": "webhook", "person": "cfo@hospital.org",
                                 "vendors": [], "rules": [], "slot": "s", "subject": "s", "payload": "{}",
                                 "state": "pending", "attempts": 0, "created_at": NOW, "next_try": NOW}], [], [])
    monkeypatch.setattr(deliver, "post_webhook", lambda *a: deliver.Outcome("retry", "HTTP 503"))

    def state(of: str) -> str:
        with Store(db, read_only=True) as s:
            return s.fetchone("SELECT state FROM outbox WHERE id = ?", [of])[0]

    run(db, sub, access_file, NOW + dt.timedelta(days=2))
    assert state("m2") == "failed"
    run(db, sub, access_file, NOW + dt.timedelta(days=3, hours=1))
    assert state("m2") == "dead"


def test_refused_smtp_credentials_keep_the_message_until_they_are_put_right(db, access_file, smtp, tmp_path,
                                                                            monkeypatch):
    sub = subs(tmp_path, '[[subscription]]\nname = "cfo"\nemail = "cfo@hospital.org"\n')
    monkeypatch.setenv("OPSDASH_SMTP_PASSWORD", "wrong")
    report = run(db, sub, access_file)
    assert report.exit_code == 2 and report.outcomes == {"failed": 1} and not smtp.messages
    assert any("refused the credentials" in n for n in report.notes)
    monkeypatch.setenv("OPSDASH_SMTP_PASSWORD", "pw")
    assert run(db, sub, access_file, NOW + dt.timedelta(minutes=5)).outcomes == {"sent": 1}
    assert len(smtp.messages) == 1


def test_a_daily_digest_carries_alerts_raised_after_it_even_when_they_have_passed(db, access_file, hooks, tmp_path,
                                                                                 monkeypatch):
    sub = subs(tmp_path, f"""
[[subscription]]
name = "daily"
webhook = "{hooks.url}/d"
format = "json"
person = "admin@hospital.org"
schedule = "daily"
""")
    assert run(db, sub, access_file).outcomes == {"sent": 1}
    late = evaluate.Alert("load_rejects", None, "99", "2026-12-03", "Load 99: 40.0% of its rows rejected",
                          "The load rejected 4 of 10 rows read.", {"figures": []})
    real = evaluate.RAISE["load_rejects"]
    monkeypatch.setitem(evaluate.RAISE, "load_rejects", lambda store, ctx: iter([late]))
    assert run(db, sub, access_file, NOW + dt.timedelta(hours=2)).outcomes == {}  # today's digest has gone
    monkeypatch.setitem(evaluate.RAISE, "load_rejects", real)  # by tomorrow the condition has passed
    assert run(db, sub, access_file, NOW + dt.timedelta(days=1)).outcomes == {"sent": 1}
    assert [a["key"] for a in hooks.received[1]["body"]["alerts"]] == [late.key]


def test_the_stale_data_cadence_comes_from_the_loads_when_there_are_enough(sample_store, monkeypatch):
    monthly = [dt.date(2026, m, 3) for m in (7, 8, 9, 10, 11)]  # gaps 31, 31, 30, 31: median 31 days
    monkeypatch.setattr(queries, "load_days", lambda *a: monthly)
    latest = dt.date(2026, 10, 31)
    assert evaluate.usual_cadence(sample_store, "claims", HELIX, latest, 90) == (31.0, "loads", dt.date(2026, 11, 3))

    def stale(today: dt.date) -> set[str]:
        ctx = evaluate.Context(today, SETTINGS, rules.BY_ID)
        return {a.what for a in evaluate.RAISE["data_stale"](sample_store, ctx) if a.vendor == HELIX}

    # counted from the last load (3 Nov): 31 + 7 days' grace = 38 days may pass, the 39th is stale; with the
    # rows' days (every day) the same Helix claims would have been stale weeks earlier
    assert "claims" not in stale(dt.date(2026, 12, 11)) and "claims" in stale(dt.date(2026, 12, 12))
    monkeypatch.setattr(queries, "load_days", lambda *a: [dt.date(2026, 11, 3)])  # loaded once: the rows' days
    assert evaluate.usual_cadence(sample_store, "claims", HELIX, latest, 90) == (1.0, "days covered", latest)


def test_an_outcome_the_store_cannot_take_waits_beside_it_and_the_message_never_goes_twice(db, access_file, hooks,
                                                                                          tmp_path, monkeypatch):
    from opsdash.store import StoreBusy

    sub = subs(tmp_path, f'[[subscription]]\nname = "cfo"\nwebhook = "{hooks.url}/c"\nformat = "json"\n'
                         'person = "cfo@hospital.org"\n')
    real = queries.record_outcomes

    def held(store, outcomes):  # another process holds the store past --wait when the outcome is recorded
        raise StoreBusy("the store is busy")

    monkeypatch.setattr(queries, "record_outcomes", held)
    assert run(db, sub, access_file).outcomes == {"sent": 1}
    spool = outbox.spool_path(db)
    assert [json.loads(line)["state"] for line in spool.read_text().splitlines()] == ["sent"]
    monkeypatch.setattr(queries, "record_outcomes", real)
    # after the lease, the message would be taken again; the spool is recorded first, so it is not
    assert run(db, sub, access_file, NOW + outbox.LEASE + dt.timedelta(minutes=1)).outcomes == {}
    assert len(hooks.received) == 1 and not spool.exists()
    with Store(db, read_only=True) as s:
        assert list(queries.outbox(s)["state"]) == ["sent"]


def test_a_queue_projected_to_miss_is_raised_from_the_kept_outlook(monkeypatch):
    """The kept outlook's headlines (capacity.outlook, checked against Erlang and simulation elsewhere): each
    'miss' is one alert, keyed by the month the miss would begin; other statuses raise none."""
    from opsdash.capacity import outlook

    heads = pd.DataFrame({
        "vendor": [HELIX, HELIX, MERIDIAN], "part": ["contact", "back office", "contact"],
        "what": ["scheduling", "coding", "billing"], "status": ["miss", "busy", "miss"],
        "from_day": [dt.date(2027, 1, 11), dt.date(2027, 1, 4), dt.date(2026, 12, 28)],
        "words": ["Service level 71% against 80% from 11 Jan.", "Busy weeks only.", "Backlog grows."],
        "forecast_accuracy": ["MASE 0.8 over 8 weeks", "MASE 0.9", None]})
    monkeypatch.setattr(outlook, "kept_headlines", lambda store: (heads, []))
    got = list(evaluate.RAISE["projected_miss"](None, evaluate.Context(NOW.date(), SETTINGS, rules.BY_ID)))
    assert [(a.vendor, a.what, a.period) for a in got] == [(HELIX, "contact/scheduling", "2027-01"),
                                                            (MERIDIAN, "contact/billing", "2026-12")]
    assert "Service level 71% against 80% from 11 Jan. The forecast it rests on: MASE 0.8 over 8 weeks." == got[0].words
    assert "could not be measured" in got[1].words and "11 Jan 2027" in got[0].title
    assert got[1].evidence["figures"][1]["shown"] == "not measured"
