"""Sign-in and the signed-in user's grant.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` every session signs in through the hospital's OIDC
provider (``st.login``) and gets what the access file grants its email or groups; a user it does not name
gets nothing. Without ``[auth]`` the app runs in single-user local mode, said on every page.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from opsdash import access, audit
from opsdash.access import Grant
from opsdash.ui import connection
from opsdash.ui.text import md

GRANT = "_grant"
SIGNED_IN = "_signed_in_recorded"
_SEEN: set[tuple[str, Any]] = set()  # sign-ins recorded by this process
_SEEN_LOCK = threading.Lock()


def configured() -> bool:
    """Whether sign-in is set up (an ``[auth]`` section in Streamlit's secrets). Without a secrets file
    st.secrets is not touched: reading it then would make Streamlit report the missing file and rerun
    sessions."""
    from streamlit import config

    files = config.get_option("secrets.files") or []
    if not any(Path(f).exists() for f in files):
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - an unreadable secrets file: local mode, said on every page
        return False


def logged_in() -> bool:
    return bool(st.user.is_logged_in)


def identity() -> tuple[str | None, list[str], Any]:
    """The signed-in user's email and groups (the access file's group claim), from the ID token."""
    claim = _access().group_claim
    groups = st.user.get(claim) or []
    if isinstance(groups, str):
        groups = [groups]
    # Entra ID puts the sign-in name in preferred_username when the token carries no email claim.
    email = st.user.get("email") or st.user.get("preferred_username")
    return (str(email) if email else None), [str(g) for g in groups], st.user


@st.cache_resource(show_spinner=False, max_entries=4)
def _access_at(path: str, mtime: float) -> access.AccessFile:
    return access.load(path)


def _access() -> access.AccessFile:
    """The access file, read again whenever it changes."""
    p = access.access_path()
    return _access_at(str(p), p.stat().st_mtime if p.exists() else 0.0)


def _record(grant_or_user: Grant | str, action: str, **kw: Any) -> None:
    user, role = ((grant_or_user.user, grant_or_user.role) if isinstance(grant_or_user, Grant)
                  else (grant_or_user, ""))
    connection.record(audit.Event(user_name=user, role=role, action=action, **kw))


def sign_in() -> Grant:
    """The session's grant; shows the sign-in screen or the refusal, and stops the page, until there is one."""
    if not configured():
        st.session_state[GRANT] = access.LOCAL
        return access.LOCAL
    if not logged_in():
        st.session_state.pop(GRANT, None)
        st.title("opsdash")
        st.write("Operational performance of the hospital's outsourcing partners. Sign in with your hospital "
                 "account to continue.")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login, key="auth_login")
        st.stop()
    try:
        email, groups, user = identity()
        grant = _access().grant_for(email, groups)
    except access.AccessError as exc:
        st.error(f"The access file cannot be read, so no data is shown: {md(exc)}")
        st.stop()
        raise
    if grant is None:
        st.session_state.pop(GRANT, None)
        if st.session_state.get(SIGNED_IN) != f"denied:{email}":
            _record(email or "unknown", "denied", what=f"groups: {', '.join(groups) or 'none'}")
            st.session_state[SIGNED_IN] = f"denied:{email}"
        st.error(f"You are signed in as {md(email or 'an account without an email')}, but opsdash has no access "
                 f"for you, so no data is shown. Ask the opsdash administrator to add you to the access file.",
                 icon=":material/block:")
        st.button("Sign out", on_click=st.logout, key="auth_logout_denied")
        st.stop()
    if st.session_state.get(SIGNED_IN) != grant.user:
        # One event per sign-in, not per browser tab or reload: the ID token's issue time tells them apart.
        login = (grant.user, (user.get("iat") if user is not None else None) or _session_id())
        with _SEEN_LOCK:
            first = login not in _SEEN
            _SEEN.add(login)
        if first:
            _record(grant, "sign_in", what=f"scope: {grant.scope}")
        st.session_state[SIGNED_IN] = grant.user
    st.session_state[GRANT] = grant
    return grant


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else ""


def grant() -> Grant:
    """The grant app.py set for this run; a page without one (never through app.py) shows nothing."""
    g = st.session_state.get(GRANT)
    if not isinstance(g, Grant):
        st.error("No signed-in user for this page: open opsdash from its home address.")
        st.stop()
        raise RuntimeError("unreachable")
    return g


LOCAL_BANNER = (":orange-badge[:material/lock_open: Local mode] No sign-in is set up: whoever opens this address "
                "sees every vendor and page. Fine on a laptop; for shared use see docs/security.md.")


def require_admin(what: str) -> Grant:
    """The admin's grant, or a refusal and the end of the page. Navigation already hides admin pages from
    others; the page's own check does not depend on that."""
    g = grant()
    if not g.admin:
        st.error(f"{what} are for administrators.")
        st.stop()
    return g


def banner(g: Grant) -> None:
    """The local-mode banner above every page, or who is signed in (and a sign-out) in the sidebar."""
    if g.local:
        st.caption(LOCAL_BANNER)
    else:
        with st.sidebar:
            st.caption(f":material/account_circle: {md(g.label)}")
            st.button("Sign out", on_click=st.logout, key="auth_logout", icon=":material/logout:")


def allowed(page_access: str, g: Grant) -> bool:
    return page_access == "all" or (page_access == "admin" and g.admin)


def access_file_hint() -> str:
    return os.environ.get("OPSDASH_ACCESS") or str(Path(access.DEFAULT_ACCESS_FILE).resolve())
