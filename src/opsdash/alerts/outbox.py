"""`opsdash alerts run`: raise the alerts, write every message to the store's outbox before it is sent, send
what is due, record each outcome.

1. Reading only: the rules are evaluated and each subscription's message composed (with its review packs, made
   from a store scoped to the subscriber's vendors).
2. A short write: new alerts and messages are kept (a key or id already there is left as it is), and the
   messages due are taken for sending under a lease.
3. No lock held: each message's subscriber is checked again against the subscriptions and access files as they
   are now (a message for vendors the person may no longer see is withheld, never sent), then it is sent.
4. A short write after each send: its outcome. A failure is tried again with backoff (1 minute, doubling, at most
   6 hours) for GIVE_UP_AFTER; a refusal for good, or a failure that lasts longer, leaves the message dead.
   Settings that stop a send (no SMTP host, a webhook's secret unset, credentials refused) keep it, to go once
   they are put right.

A run that stops between sending a message and recording it leaves that message 'sending': the next run after
the lease takes it again (it may then go twice, with the same Message-ID or delivery id, so the receiver can tell). Runs exclude
each other with a lock file beside the store.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import html
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from opsdash import access, queries
from opsdash.alerts import compose, deliver
from opsdash.alerts.evaluate import Alert, evaluate
from opsdash.alerts.rules import BY_ID
from opsdash.alerts.subscriptions import DAYS, Subscription
from opsdash.settings import Settings
from opsdash.store import Scope, Store, StoreError

#: A message that still fails this long after it was written is given up (dead); until then it is tried again
#: after BACKOFF_S seconds, doubling each time up to BACKOFF_CAP_S.
GIVE_UP_AFTER = dt.timedelta(days=3)
BACKOFF_S, BACKOFF_CAP_S = 60, 6 * 3600
LEASE = dt.timedelta(minutes=15)
#: Exit statuses of `opsdash alerts run` (docs/alerts.md).
EXIT = {0: "every message due was sent (or none was due)",
        1: "a message failed and will be tried again at a later run, or the store or another run was busy",
        2: "settings cannot be used (the subscriptions or access file, a subscriber without a grant, SMTP, a "
           "webhook's secret): the messages that need them are kept, to go once they are put right",
        3: "a message was withheld (its person may no longer see what it holds) or given up after its last try"}
PACK_MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "html": "text/html",
             "pdf": "application/pdf"}
DASHBOARD_URL_ENV = "OPSDASH_DASHBOARD_URL"


class RunBusy(Exception):
    """Another `opsdash alerts run` holds the run lock."""


@dataclass
class Report:
    raised: int = 0  # alerts raised for the first time
    composed: int = 0  # messages written to the outbox
    outcomes: dict[str, int] = field(default_factory=dict)  # state -> messages
    notes: list[str] = field(default_factory=list)
    config_error: bool = False

    @property
    def exit_code(self) -> int:
        if self.config_error:
            return 2
        if self.outcomes.get("withheld") or self.outcomes.get("dead"):
            return 3
        return 1 if self.outcomes.get("failed") else 0

    def words(self) -> str:
        sent = ", ".join(f"{n} {state}" for state, n in sorted(self.outcomes.items())) or "nothing due"
        return (f"{self.raised} new alert(s), {self.composed} message(s) written to the outbox; sending: {sent}."
                + "".join(f"\n{n}" for n in self.notes))


@contextmanager
def run_lock(db: Path) -> Iterator[None]:
    with open(db.with_name(db.name + ".alerts-lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy(f"another `opsdash alerts run` is under way on {db}") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def slot(sub: Subscription, today: dt.date, keys: Sequence[str]) -> str | None:
    """Which message of the subscription this run makes: one per run of new alerts (immediate), one a day
    (daily), one an ISO week on or after its day (weekly); None when a weekly one is not due yet."""
    if sub.schedule == "daily":
        return today.isoformat()
    if sub.schedule == "weekly":
        if today.weekday() < DAYS.index(sub.day):
            return None
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"
    return "alerts:" + _id(*sorted(keys))


def allowed(sub: Subscription, grant: access.Grant | None, vendors: Sequence[str | None],
            rules: Sequence[str]) -> str | None:
    """Why the subscriber may not receive a message about `vendors` from `rules` (None when they may)."""
    if grant is None:
        return f"{sub.person} has no grant in the access file"
    outside = sorted(v for v in vendors if v is not None and not grant.scope.allows(v))
    if outside:
        return f"{sub.person} may not see {', '.join(outside)}"
    admin_only = ([r for r in rules if r not in BY_ID or BY_ID[r].audience == "admin"]
                  + (["(loads)"] if None in vendors else []))
    if admin_only and not grant.admin:
        return f"{sub.person} is not an admin, and {', '.join(admin_only)} is for admins only"
    return None


def selected(sub: Subscription, grant: access.Grant, alerts: Sequence[Alert], store_vendors: Sequence[str],
             done: set[tuple[str, str]], acknowledged: set[str]) -> tuple[list[Alert], list[str], list[str]]:
    """The alerts of the subscription not yet sent to it, within the grant; its vendors; and notes on what the
    subscription asks for beyond the grant (left out)."""
    asked = list(sub.vendors) or list(store_vendors)
    vendors = [v for v in asked if grant.scope.allows(v)]
    notes = [f"subscription {sub.name}: {sub.person} may not see {v}; left out" for v in asked
             if not grant.scope.allows(v) and sub.vendors]
    rules = [r for r in (sub.rules or BY_ID) if BY_ID[r].audience != "admin" or grant.admin]
    notes += [f"subscription {sub.name}: {r} is for admins only; left out" for r in sub.rules
              if BY_ID[r].audience == "admin" and not grant.admin]
    picked = [a for a in alerts if a.rule in rules and (a.vendor in vendors if a.vendor else grant.admin)
              and (sub.name, a.key) not in done and a.key not in acknowledged]
    return picked, vendors, notes


def _packs(store: Store, sub: Subscription, vendors: Sequence[str], settings: Settings,
           cut: Callable[[str], dt.date | None]) -> tuple[list[tuple[str, str, bytes]], list[str], list[str]]:
    """The weekly review packs, one per vendor with a complete month of data, each made from a store that reads
    only that vendor (never the subscriber's other vendors, let alone anyone else's)."""
    from opsdash import periods, report
    from opsdash.report import pack as packs

    files, words, notes = [], [], []
    for vendor in vendors:
        last = cut(vendor)
        if last is None:
            continue
        month = periods.code(last, "month")
        try:
            made = packs.build(store.scoped(Scope.of([vendor])), vendor, month, settings=settings)
            body = report.render(made, sub.pack)
        except Exception as exc:  # noqa: BLE001 - a pack that cannot be made (no Chromium for PDF) stops no alert
            notes.append(f"subscription {sub.name}: no review pack of {vendor} for {month} ({exc})")
            continue
        name = f"{packs.file_stem(vendor, month)}.{sub.pack}"
        files.append((name, PACK_MIME[sub.pack], body))
        words.append(f"the review pack of {vendor} for {periods.label(last, 'month')} ({name})")
    return files, words, notes


#: Alerts kept from earlier runs that a subscription may still receive (raised within this many days, not
#: acknowledged, not yet in a message of that subscription): a daily or weekly message carries what was raised
#: since the last one even when its condition has passed meanwhile; a subscription added later does not get
#: the whole history.
CARRY_OVER = dt.timedelta(days=8)


def carried_over(store: Store, now: dt.datetime) -> list[Alert]:
    """The alerts kept from recent runs (not acknowledged), as raised."""
    kept = queries.alerts(store, limit=1_000_000)
    recent = kept[(kept["state"] != "acknowledged") & (pd.to_datetime(kept["raised_at"]) >= now - CARRY_OVER)]
    return [Alert(r["rule"], r["vendor"] if isinstance(r["vendor"], str) else None, r["what"], r["period"],
                  r["title"], r["words"], json.loads(r["evidence"] or "{}"))
            for r in recent.to_dict("records") if r["rule"] in BY_ID]


def compose_all(store: Store, subs: Sequence[Subscription], grants: access.AccessFile, alerts: Sequence[Alert],
                today: dt.date, now: dt.datetime, settings: Settings
                ) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]], list[tuple[str, str, str, bytes]],
                           list[str], bool]:
    """Each subscription's message of this run (messages, their items and files, notes, and whether a
    subscription could not be served for its settings: a person without a grant)."""
    from opsdash.alerts.evaluate import _latest_month

    done, known = queries.sent_items(store), queries.outbox_ids(store)
    state = queries.alerts(store, limit=1_000_000)
    acknowledged = set(state.loc[state["state"] == "acknowledged", "key"])
    # this run's alerts, and those of earlier runs not yet sent to everyone subscribed (raised in the same order)
    fresh = {a.key for a in alerts}
    earlier = [a for a in carried_over(store, now) if a.key not in fresh]
    store_vendors = queries.vendors(store)
    link = os.environ.get(DASHBOARD_URL_ENV)
    link = link.rstrip("/") + "/alerts" if link else None
    messages, items, files, notes = [], [], [], []
    unserved = False
    for sub in subs:
        grant = grants.grant_for(sub.person)
        if grant is None:
            notes.append(f"subscription {sub.name}: {sub.person} has no grant in {grants.path}; nothing composed")
            unserved = True
            continue
        # a digest carries what was raised since the last one; an immediate message only this run's alerts
        offered = [*alerts, *earlier] if sub.schedule != "immediate" else list(alerts)
        picked, vendors, why = selected(sub, grant, offered, store_vendors, done, acknowledged)
        notes += why
        which = slot(sub, today, [a.key for a in picked])
        if which is None or (not picked and sub.schedule != "weekly"):
            continue
        mid = _id(sub.name, which)
        if mid in known:
            continue  # this day's or week's message is written already: new alerts wait for the next
        attached, pack_words = [], []
        if sub.schedule == "weekly" and sub.pack != "none" and sub.channel == "email":
            attached, pack_words, why = _packs(store, sub, vendors, settings, lambda v: _latest_month(store, v))
            notes += why
        carried = sorted({a.vendor for a in picked if a.vendor} | ({v for v in vendors} if attached else set()))
        about = carried or ([] if any(a.vendor is None for a in picked) else vendors)
        subject = compose.subject(sub, picked, about)
        messages.append({
            "id": mid, "subscription": sub.name, "recipient": sub.recipient, "channel": sub.channel,
            "person": sub.person, "vendors": carried, "rules": sorted({a.rule for a in picked}), "slot": which,
            "subject": subject, "body_text": compose.text_body(sub, picked, pack_words, link),
            "body_html": compose.html_body(sub, picked, pack_words, link),
            "payload": compose.payload(sub, picked, pack_words, link, subject, mid) if sub.channel == "webhook" else None,
            "state": "pending", "attempts": 0, "created_at": now, "next_try": now, "lease_until": None,
            "last_error": None, "sent_at": None})
        items += [(sub.name, a.key, mid) for a in picked]
        files += [(mid, name, mime, body) for name, mime, body in attached]
    return messages, items, files, notes, unserved


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next try after `attempts` tries: 1 minute, doubling, at most 6 hours."""
    return dt.timedelta(seconds=min(BACKOFF_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S))


@dataclass
class Senders:
    """What sends: SMTP settings read once a run (only when an e-mail is due), and the webhook poster."""

    smtp: Callable[[], deliver.Smtp] = deliver.smtp_settings
    _smtp: deliver.Smtp | None = None

    def email(self, to: str, m: Any, files: list[tuple[str, str, bytes]]) -> deliver.Outcome:
        if self._smtp is None:
            self._smtp = self.smtp()
        return deliver.send_email(self._smtp, deliver.email_message(self._smtp, to, m["subject"], m["body_text"],
                                                                    m["body_html"], m["id"], files))


def _outcome(m: Any, state: str, now: dt.datetime, error: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": m["id"], "state": state, "last_error": error, "sent_at": now if state == "sent" else None,
            "next_try": now + backoff(int(m["attempts"])) if state == "failed" else None, **extra}


def send_one(m: Any, subs: Sequence[Subscription], grants: access.AccessFile, now: dt.datetime,
             files: Callable[[str], list[tuple[str, str, bytes]]], senders: Senders) -> dict[str, Any]:
    """Send one message taken from the outbox, its subscriber checked again against the files as they are now;
    its outcome. Nothing raised here stops the run: any failure is an outcome (tried again, or dead)."""
    sub = next((s for s in subs if s.name == m["subscription"]), None)
    vendors = list(m["vendors"] if m["vendors"] is not None else [])
    rules = list(m["rules"] if m["rules"] is not None else [])
    why = ("the subscription is no longer in the subscriptions file" if sub is None else
           f"the subscription's person changed from {m['person']} to {sub.person}" if sub.person != m["person"] else
           f"the subscription's channel changed from {m['channel']} to {sub.channel}" if sub.channel != m["channel"]
           else allowed(sub, grants.grant_for(sub.person), vendors, rules))
    if why is None and sub is not None and m["slot"] != "test":
        narrowed = ([v for v in vendors if sub.vendors and v not in sub.vendors]
                    + [r for r in rules if sub.rules and r not in sub.rules])
        if narrowed:
            why = f"the subscription no longer asks for {', '.join(narrowed)}"
    if why is not None:
        return _outcome(m, "withheld", now, why)
    assert sub is not None
    try:
        if sub.channel == "email":
            out = senders.email(sub.address, m, files(m["id"]))
        else:
            secret = os.environ.get(sub.secret_env)
            if not secret:
                raise deliver.DeliveryConfigError(f"subscription {sub.name}: set {sub.secret_env} to the "
                                                  "webhook's signing secret")
            # signed with the clock at the send (not the run's --now), so a receiver may refuse old timestamps
            out = deliver.post_webhook(sub.address, (m["payload"] or "").encode(), secret, m["id"],
                                       str(int(time.time())))
    except deliver.DeliveryConfigError as exc:  # kept, to go once the settings are put right
        return _outcome(m, "failed", now, str(exc), config=True)
    except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the others or lose outcomes
        out = deliver.Outcome("retry", f"{type(exc).__name__}: {exc}")
    if out.state == "sent":
        return _outcome(m, "sent", now)
    if out.state == "config":
        return _outcome(m, "failed", now, out.error, config=True)
    created = pd.Timestamp(m["created_at"]).to_pydatetime()
    if out.state == "retry" and now - created < GIVE_UP_AFTER:
        return _outcome(m, "failed", now, out.error)
    why = "refused for good" if out.state == "permanent" else f"still failing after {GIVE_UP_AFTER.days} days"
    return _outcome(m, "dead", now, f"{out.error} ({why}, attempt {int(m['attempts'])}; not tried again)")


def _open(db: Path, read_only: bool, wait: float) -> Store:
    from opsdash import lifecycle

    return lifecycle.open_store(db, read_only=read_only, wait=wait)


def run(db: Path, subs: Sequence[Subscription], *, access_file: Path | None = None, now: dt.datetime | None = None,
        settings: Settings | None = None, wait: float = 60.0, senders: Senders | None = None) -> Report:
    """One run: evaluate, compose, keep, send, record (see the module's notes). `now` is UTC."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    settings = settings or Settings()
    grants = access.load(access_file)
    report = Report()
    with run_lock(db):
        with _open(db, True, wait) as store:
            alerts = evaluate(store, now.date(), settings)
            before = queries.alert_keys(store)
            messages, items, files, report.notes, report.config_error = compose_all(
                store, subs, grants, alerts, now.date(), now, settings)
        with _open(db, False, wait) as store:
            _unspool(store)
            report.composed = queries.enqueue(store, [a.row(now) for a in alerts], messages, items, files)
            due = queries.claim_due(store, now, now + LEASE)
            attached = {m: queries.message_files(store, m) for m in due["id"]}
        report.raised = len({a.key for a in alerts} - before)
        _send(db, due, attached, subs, access_file, now, wait, senders, report)
    return report


def spool_path(db: Path) -> Path:
    """Outcomes that could not be recorded (the store held by another process longer than --wait) wait here;
    the next run records them before it takes anything to send, so a message that went is never sent again."""
    return db.with_name(db.name + ".alerts-outcomes.jsonl")


def _record(db: Path, outcome: dict[str, Any], wait: float) -> None:
    try:
        with _open(db, False, wait) as store:
            _unspool(store)
            queries.record_outcomes(store, [outcome])
    except StoreError:
        with open(spool_path(db), "a", encoding="utf-8") as f:
            f.write(json.dumps({k: v for k, v in outcome.items() if k != "config"}, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


def _unspool(store: Store) -> None:
    spool = spool_path(store.path)
    if not spool.exists():
        return
    kept = []
    for line in spool.read_text(encoding="utf-8").splitlines():
        try:
            o = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash mid-write
        for k in ("next_try", "sent_at"):
            o[k] = dt.datetime.fromisoformat(o[k]) if o.get(k) else None
        kept.append(o)
    queries.record_outcomes(store, kept)
    spool.unlink()


def _send(db: Path, due: Any, attached: dict[str, list[tuple[str, str, bytes]]], subs: Sequence[Subscription],
          access_file: Path | None, now: dt.datetime, wait: float, senders: Senders | None, report: Report) -> None:
    """Send each message taken and record its outcome at once (a run stopped midway re-sends, after the lease,
    only the message it was sending)."""
    if due.empty:
        return
    senders = senders or Senders()
    grants = access.load(access_file)  # read afresh: a grant removed since a message was written stops it
    for m in due.to_dict("records"):
        o = send_one(m, subs, grants, now, attached.__getitem__, senders)
        _record(db, o, wait)
        report.outcomes[o["state"]] = report.outcomes.get(o["state"], 0) + 1
        if o["state"] != "sent":
            report.notes.append(f"{o['state']} ({m['subscription']}): {o['last_error']}")
        if o.get("config"):
            report.config_error = True


def test_message(db: Path, sub: Subscription, *, access_file: Path | None = None, now: dt.datetime | None = None,
                 wait: float = 60.0, senders: Senders | None = None) -> Report:
    """Send the subscriber a test message through the outbox, now (no figures: it shows the way works)."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = Report()
    mid = _id(sub.name, "test", now.isoformat())
    subject = f"opsdash test message for the subscription {sub.name}"
    text = (f"{subject}.\n\nThis subscription ({sub.schedule}) reaches you at {sub.recipient}. Alerts will come "
            "this way; nothing else was sent.\n")
    payload = None
    if sub.channel == "webhook":
        payload = compose.payload(sub, [], [], None, subject, mid)
    message = {"id": mid, "subscription": sub.name, "recipient": sub.recipient, "channel": sub.channel,
               "person": sub.person, "vendors": [], "rules": [], "slot": "test", "subject": subject, "body_text": text,
               "body_html": f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>",
               "payload": payload, "state": "pending", "attempts": 0, "created_at": now, "next_try": now,
               "lease_until": None, "last_error": None, "sent_at": None}
    with run_lock(db):
        with _open(db, False, wait) as store:
            _unspool(store)
            report.composed = queries.enqueue(store, [], [message], [], [])
            due = queries.claim_due(store, now, now + LEASE, only=mid)
        _send(db, due, {mid: []}, [sub], access_file, now, wait, senders, report)
    return report
