"""Who may see what: the access file maps signed-in users (by email, or by a group claim of their identity
provider) to a role and, for account managers, to vendors.

```toml
group_claim = "groups"            # the ID-token claim that lists a user's groups (optional)

[[grant]]
email = "cfo@hospital.org"
role = "executive"

[[grant]]
group = "opsdash-helix"
role = "account_manager"
vendors = ["Helix Health Services"]
```

Roles: ``executive`` (every vendor, every dashboard page), ``analyst`` (every vendor, raw-record downloads),
``account_manager`` (only the listed vendors; raw-record downloads only with ``raw_downloads = true``),
``admin`` (every vendor, raw downloads, uploads, loads and rejects, the audit trail). A user the file does not
name gets nothing. Pure Python, no Streamlit: the dashboard and the tests share it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsdash.store import ALL, Scope

DEFAULT_ACCESS_FILE = "access.toml"


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    all_vendors: bool
    raw_downloads: bool
    admin: bool


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("executive", "every vendor, every dashboard page", True, False, False),
    Role("analyst", "every vendor, every dashboard page, raw-record downloads", True, True, False),
    Role("account_manager", "only the listed vendors; raw-record downloads only with raw_downloads = true",
         False, False, False),
    Role("admin", "every vendor and page, raw-record downloads, uploads, loads and rejects, the audit trail",
         True, True, True),
)}
RANK = {name: i for i, name in enumerate(("account_manager", "executive", "analyst", "admin"))}


class AccessError(Exception):
    """An access file that cannot be used, said for people (file, entry, key, found, expected)."""


@dataclass(frozen=True)
class Grant:
    """What one user may do. ``scope`` travels with every query the user's pages make."""

    user: str
    role: str
    scope: Scope = ALL
    raw_downloads: bool = False
    admin: bool = False
    local: bool = False

    @property
    def label(self) -> str:
        return f"{self.user} ({self.role.replace('_', ' ')}, {self.scope})"


#: Without sign-in configured, the one person at the laptop is everything.
LOCAL = Grant(user="local user", role="admin", scope=ALL, raw_downloads=True, admin=True, local=True)


@dataclass(frozen=True)
class Entry:
    role: str
    email: str | None = None
    group: str | None = None
    vendors: tuple[str, ...] = ()
    raw_downloads: bool | None = None


@dataclass(frozen=True)
class AccessFile:
    path: Path
    group_claim: str = "groups"
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def grant_for(self, email: str | None, groups: list[str] | tuple[str, ...] = ()) -> Grant | None:
        """The user's grant: their own email entry if there is one, else every entry of their groups combined
        (the union of vendors, the highest role); None for a user the file does not name."""
        mail = (email or "").strip().lower()
        own = [e for e in self.entries if e.email is not None and e.email == mail] if mail else []
        wanted = {g.strip().lower() for g in groups}
        matched = own or [e for e in self.entries if e.group is not None and e.group in wanted]
        if not matched:
            return None
        roles = [ROLES[e.role] for e in matched]
        top = max(roles, key=lambda r: RANK[r.name])
        every = any(r.all_vendors for r in roles)
        scope = ALL if every else Scope.of([v for e in matched for v in e.vendors])
        raw = any(e.raw_downloads if e.raw_downloads is not None else ROLES[e.role].raw_downloads for e in matched)
        return Grant(user=email or "unknown", role=top.name, scope=scope, raw_downloads=raw,
                     admin=any(r.admin for r in roles))


def access_path() -> Path:
    """``$OPSDASH_ACCESS`` or ``./access.toml``."""
    return Path(os.environ.get("OPSDASH_ACCESS") or DEFAULT_ACCESS_FILE)


def load(path: str | os.PathLike[str] | None = None) -> AccessFile:
    """Read and check an access file; a missing file grants nobody anything."""
    p = Path(path) if path is not None else access_path()
    if not p.exists():
        return AccessFile(p)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AccessError(f"{p}: not valid TOML ({exc})") from exc
    unknown = set(doc) - {"group_claim", "grant"}
    if unknown:
        raise AccessError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; expected group_claim and [[grant]]")
    claim = doc.get("group_claim", "groups")
    if not isinstance(claim, str) or not claim:
        raise AccessError(f"{p}: group_claim is {claim!r}; expected the name of a claim, e.g. \"groups\"")
    grants = doc.get("grant", [])
    if not isinstance(grants, list):
        raise AccessError(f"{p}: grant must be an array of tables ([[grant]])")
    return AccessFile(p, claim, tuple(_entry(p, i, g) for i, g in enumerate(grants, start=1)))


def _entry(p: Path, i: int, g: Any) -> Entry:
    where = f"{p}, grant {i}"
    if not isinstance(g, dict):
        raise AccessError(f"{where}: expected a table with email or group, role and (for account managers) vendors")
    unknown = set(g) - {"email", "group", "role", "vendors", "raw_downloads"}
    if unknown:
        raise AccessError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                          "expected email or group, role, vendors, raw_downloads")
    who = [k for k in ("email", "group") if k in g]
    if len(who) != 1 or not isinstance(g[who[0]], str) or not g[who[0]].strip():
        raise AccessError(f"{where}: expected exactly one of email or group, as text; found {who or 'neither'}")
    role = g.get("role")
    if role not in ROLES:
        raise AccessError(f"{where}: role is {role!r}; expected one of {', '.join(ROLES)}")
    vendors = g.get("vendors", [])
    if not isinstance(vendors, list) or not all(isinstance(v, str) and v for v in vendors):
        raise AccessError(f"{where}: vendors must be a list of vendor names")
    if role == "account_manager" and not vendors:
        raise AccessError(f"{where}: an account_manager needs vendors = [\"…\"] (the vendors they manage)")
    if role != "account_manager" and vendors:
        raise AccessError(f"{where}: a {role} sees every vendor; vendors = {vendors} would suggest otherwise")
    raw = g.get("raw_downloads")
    if raw is not None and not isinstance(raw, bool):
        raise AccessError(f"{where}: raw_downloads is {raw!r}; expected true or false")
    value = g[who[0]].strip().lower()
    return Entry(role=role, vendors=tuple(vendors), raw_downloads=raw,
                 **{who[0]: value})
