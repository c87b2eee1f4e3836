"""Who hears of which alerts, how and when: the subscriptions file (``$OPSDASH_SUBSCRIPTIONS`` or
``./subscriptions.toml``).

```toml
[[subscription]]
name = "helix-account-manager"        # unique; names the subscription in the outbox and in `opsdash alerts test`
email = "am@hospital.org"             # the person, who must have a grant in access.toml
rules = ["spc_concern", "critical_missed", "credits_due"]   # optional: every rule the person may receive
vendors = ["Helix Health Services"]   # optional: every vendor the person may see
schedule = "weekly"                   # immediate (each run), daily (one digest a day) or weekly
day = "monday"                        # weekly: the day it goes (the first run on or after it that week)
pack = "xlsx"                         # weekly: the review pack attached, one per vendor: xlsx, html, pdf or none

[[subscription]]
name = "ops-channel"
webhook = "https://hooks.slack.com/services/T000/B000/XXXX"
format = "slack"                      # slack, teams or json
person = "ops-lead@hospital.org"      # whose access the channel gets: a webhook reaches no further than them
secret_env = "OPSDASH_WEBHOOK_SECRET" # the environment variable holding the HMAC key (this is the default)
schedule = "immediate"
```

A subscription never reaches beyond what its person may see in the dashboard: its vendors are those it names
that the person's grant allows, admin-only rules go only to admins, and the grant is read again at every send.
"""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsdash.alerts.rules import BY_ID

DEFAULT_FILE = "subscriptions.toml"
SCHEDULES = ("immediate", "daily", "weekly")
FORMATS = ("slack", "teams", "json")
PACKS = ("xlsx", "html", "pdf", "none")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KEYS = ("name", "email", "webhook", "format", "person", "secret_env", "rules", "vendors", "schedule", "day", "pack")
DEFAULT_SECRET_ENV = "OPSDASH_WEBHOOK_SECRET"


class SubscriptionError(Exception):
    """A subscriptions file that cannot be used, said for people (file, entry, key, found, expected)."""


@dataclass(frozen=True)
class Subscription:
    name: str
    person: str  # the access.toml identity (the email, or a webhook's person)
    channel: str  # "email" or "webhook"
    address: str  # the email address or the webhook URL
    format: str = "email"  # email, or a webhook's slack/teams/json
    secret_env: str = DEFAULT_SECRET_ENV
    rules: tuple[str, ...] = ()  # empty: every rule
    vendors: tuple[str, ...] = ()  # empty: every vendor the person may see
    schedule: str = "immediate"
    day: str = "monday"
    pack: str = "xlsx"

    @property
    def recipient(self) -> str:
        """The address as shown to admins (a webhook's path is its secret: only its host is shown)."""
        if self.channel == "email":
            return self.address
        url = urllib.parse.urlsplit(self.address)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.hostname}{port}/… ({self.format})"


def path() -> Path:
    return Path(os.environ.get("OPSDASH_SUBSCRIPTIONS") or DEFAULT_FILE)


def load(file: str | os.PathLike[str] | None = None) -> tuple[Subscription, ...]:
    """Read and check a subscriptions file; a missing file subscribes nobody."""
    p = Path(file) if file is not None else path()
    if not p.exists():
        if file is not None:
            raise SubscriptionError(f"{p}: no such subscriptions file")
        return ()
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SubscriptionError(f"{p}: not valid TOML ({exc})") from exc
    if set(doc) - {"subscription"}:
        raise SubscriptionError(f"{p}: unknown key(s) {', '.join(sorted(set(doc) - {'subscription'}))}; "
                                "expected [[subscription]] tables")
    subs = doc.get("subscription", [])
    if not isinstance(subs, list):
        raise SubscriptionError(f"{p}: subscription must be an array of tables ([[subscription]])")
    out = tuple(_entry(p, i, s) for i, s in enumerate(subs, start=1))
    names = [s.name for s in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SubscriptionError(f"{p}: subscription name(s) {', '.join(twice)} used more than once; names are unique")
    return out


def _text(where: str, s: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = s.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise SubscriptionError(f"{where}: {key} is {value!r}; expected text")
    return value.strip() if isinstance(value, str) else None


def _one_of(where: str, key: str, value: str | None, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SubscriptionError(f"{where}: {key} is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _list(where: str, s: dict[str, Any], key: str) -> tuple[str, ...]:
    value = s.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SubscriptionError(f"{where}: {key} must be a list of names, e.g. {key} = [\"…\"]; found {value!r}")
    if key in s and not value:
        raise SubscriptionError(f"{where}: {key} = [] would mean nothing; leave {key} out to mean every one")
    return tuple(value)


def _webhook_url(where: str, hook: str) -> None:
    """An http(s) URL with a host, a port that is a number, and ASCII (a URL a request can be made to)."""
    try:
        url = urllib.parse.urlsplit(hook)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
        ok = url.scheme in ("http", "https") and bool(url.hostname) and hook.isascii() and " " not in hook
    except ValueError:
        ok = False
    if not ok:
        raise SubscriptionError(f"{where}: webhook is {hook!r}; expected an http(s) URL such as "
                                "https://hooks.slack.com/services/…")


def _entry(p: Path, i: int, s: Any) -> Subscription:
    where = f"{p}, subscription {i}"
    if not isinstance(s, dict):
        raise SubscriptionError(f"{where}: expected a table with name, email or webhook, and schedule")
    unknown = set(s) - set(KEYS)
    if unknown:
        raise SubscriptionError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(KEYS)}")
    name = _text(where, s, "name")
    if not name:
        raise SubscriptionError(f"{where}: name is missing; each subscription needs a unique name")
    where = f"{p}, subscription {i} ({name})"
    email, hook = _text(where, s, "email"), _text(where, s, "webhook")
    if (email is None) == (hook is None):
        raise SubscriptionError(f"{where}: expected exactly one of email or webhook; found "
                                f"{'both' if email else 'neither'}")
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise SubscriptionError(f"{where}: email is {email!r}; expected an address such as am@hospital.org")
    if hook is not None:
        _webhook_url(where, hook)
    if hook is None and any(k in s for k in ("format", "person", "secret_env")):
        raise SubscriptionError(f"{where}: format, person and secret_env are for webhooks; an email subscription's "
                                "person is its address")
    person = email if email is not None else _text(where, s, "person")
    if not person:
        raise SubscriptionError(f"{where}: a webhook needs person = \"…\", the access.toml identity whose vendors "
                                "and role the channel may see")
    fmt = _one_of(where, "format", _text(where, s, "format", "slack"), FORMATS) if hook is not None else "email"
    secret_env = _text(where, s, "secret_env", DEFAULT_SECRET_ENV) or DEFAULT_SECRET_ENV
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", secret_env):
        raise SubscriptionError(f"{where}: secret_env is {secret_env!r}; expected an environment variable's name")
    rules = _list(where, s, "rules")
    bad = [r for r in rules if r not in BY_ID]
    if bad:
        raise SubscriptionError(f"{where}: rules {bad} unknown; expected some of {', '.join(BY_ID)}")
    schedule = _one_of(where, "schedule", _text(where, s, "schedule", "immediate"), SCHEDULES)
    if schedule != "weekly" and ("day" in s or "pack" in s):
        raise SubscriptionError(f"{where}: day and pack are for weekly subscriptions; schedule is {schedule}")
    day = _one_of(where, "day", (_text(where, s, "day", "monday") or "").lower(), DAYS)
    pack = _one_of(where, "pack", _text(where, s, "pack", "xlsx"), PACKS)
    return Subscription(name=name, person=person.lower(), channel="email" if email else "webhook",
                        address=email or hook or "", format=fmt, secret_env=secret_env, rules=rules,
                        vendors=_list(where, s, "vendors"), schedule=schedule, day=day, pack=pack)
