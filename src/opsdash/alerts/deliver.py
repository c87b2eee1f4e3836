"""Sending one message: e-mail through SMTP (STARTTLS and credentials from the environment or Streamlit's
secrets), or an HTTP POST to a webhook signed with HMAC-SHA256. Each send says whether the message went, may be
tried again (a server down, busy or refusing for now) or never will (refused for good)."""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import socket
import ssl
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

#: SMTP settings: the environment variable, the key under [smtp] in .streamlit/secrets.toml, what it is.
SMTP_SETTINGS = {
    "host": ("OPSDASH_SMTP_HOST", "the SMTP server's host name"),
    "port": ("OPSDASH_SMTP_PORT", "its port (default 587)"),
    "starttls": ("OPSDASH_SMTP_STARTTLS", "true (default) to require STARTTLS before credentials; false only for "
                                          "a relay on the same host"),
    "user": ("OPSDASH_SMTP_USER", "the user name, when the server wants one"),
    "password": ("OPSDASH_SMTP_PASSWORD", "its password"),
    "sender": ("OPSDASH_SMTP_FROM", "the From address, e.g. opsdash@hospital.org"),
    "cafile": ("OPSDASH_SMTP_CAFILE", "a CA bundle to trust the server's certificate by (default the system's)"),
}
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
TIMEOUT_S = 30.0
SIGNATURE, TIMESTAMP, DELIVERY = "X-Opsdash-Signature", "X-Opsdash-Timestamp", "X-Opsdash-Delivery"


class DeliveryConfigError(Exception):
    """Settings that keep every message of a kind from going (no SMTP host, no webhook secret)."""


@dataclass(frozen=True)
class Outcome:
    state: str  # "sent", "retry", "permanent", or "config" (the settings are wrong: kept until they are right)
    error: str | None = None


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str
    cafile: str | None


def smtp_settings(secrets: Path | None = None) -> Smtp:
    """From the OPSDASH_SMTP_HOST... variables (SMTP_SETTINGS), else [smtp] in .streamlit/secrets.toml (the environment wins key by key)."""
    file = secrets or SECRETS_FILE
    kept: dict[str, Any] = {}
    if file.exists():
        try:
            kept = tomllib.loads(file.read_text(encoding="utf-8")).get("smtp", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DeliveryConfigError(f"{file}: not valid TOML ({exc})") from exc
    got = {k: os.environ.get(env) or (str(kept[k]) if k in kept else None) for k, (env, _) in SMTP_SETTINGS.items()}
    missing = [SMTP_SETTINGS[k][0] for k in ("host", "sender") if not got[k]]
    if missing:
        raise DeliveryConfigError(f"e-mail cannot be sent: set {' and '.join(missing)} (or host and sender under "
                                  f"[smtp] in {file})")
    try:
        port = int(got["port"] or 587)
    except ValueError:
        raise DeliveryConfigError(f"OPSDASH_SMTP_PORT is {got['port']!r}; expected a port number") from None
    tls = (got["starttls"] or "true").strip().lower()
    if tls not in ("true", "false", "1", "0", "yes", "no"):
        raise DeliveryConfigError(f"OPSDASH_SMTP_STARTTLS is {got['starttls']!r}; expected true or false")
    if got["user"] and not got["password"]:
        raise DeliveryConfigError("OPSDASH_SMTP_USER is set without OPSDASH_SMTP_PASSWORD")
    return Smtp(got["host"], port, tls in ("true", "1", "yes"), got["user"], got["password"],  # type: ignore[arg-type]
                got["sender"], got["cafile"])  # type: ignore[arg-type]


def email_message(smtp: Smtp, to: str, subject: str, text: str, html_text: str, delivery: str,
                  files: list[tuple[str, str, bytes]]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, to, subject
    msg["Date"] = formatdate(localtime=False)
    # The same id on every attempt: a receiver that got a message whose acceptance was lost can drop the copy.
    msg["Message-ID"] = f"<{delivery}@{smtp.sender.rpartition('@')[2] or 'opsdash'}>"
    msg[DELIVERY] = delivery
    msg.set_content(text)
    msg.add_alternative(html_text, subtype="html")
    for name, mime, content in files:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg


def send_email(smtp: Smtp, msg: EmailMessage) -> Outcome:
    try:
        ctx = ssl.create_default_context(cafile=smtp.cafile) if smtp.cafile else ssl.create_default_context()
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S) as server:
            server.ehlo()
            if smtp.starttls:
                server.starttls(context=ctx)
                server.ehlo()
            if smtp.user:
                server.login(smtp.user, smtp.password or "")
            refused = server.send_message(msg)
        if refused:
            return Outcome("permanent", f"the server refused {', '.join(refused)}")
        return Outcome("sent")
    except smtplib.SMTPRecipientsRefused as exc:  # each recipient's own code: 4xx (greylisting) is for later
        codes = [code for code, _ in exc.recipients.values()]
        later = all(400 <= c < 500 for c in codes)
        return Outcome("retry" if later else "permanent",
                       "the server refused " + ", ".join(f"{r} ({c})" for r, (c, _) in exc.recipients.items()))
    except smtplib.SMTPSenderRefused as exc:
        return Outcome("retry" if 400 <= exc.smtp_code < 500 else "config",
                       f"the server refused the From address {exc.sender} ({exc.smtp_code}): check OPSDASH_SMTP_FROM")
    except smtplib.SMTPNotSupportedError as exc:
        return Outcome("config", f"the SMTP server does not support what opsdash needs ({exc}): check "
                                 "OPSDASH_SMTP_STARTTLS and the port")
    except smtplib.SMTPAuthenticationError as exc:
        return Outcome("config", f"the SMTP server refused the credentials of OPSDASH_SMTP_USER ({exc.smtp_code})")
    except smtplib.SMTPResponseException as exc:  # 4xx: try again; 5xx: refused for good
        what = f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        return Outcome("retry" if 400 <= exc.smtp_code < 500 else "permanent", what)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return Outcome("retry", f"{type(exc).__name__}: {exc}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>, as the receiver recomputes it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_webhook(url: str, body: bytes, secret: str, delivery: str, timestamp: str) -> Outcome:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "opsdash-alerts",
        TIMESTAMP: timestamp, SIGNATURE: signature(secret, timestamp, body), DELIVERY: delivery})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 (the subscription's URL)
            resp.read()
        return Outcome("sent")
    except urllib.error.HTTPError as exc:
        retry = exc.code in (408, 425, 429) or exc.code >= 500
        return Outcome("retry" if retry else "permanent", f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        return Outcome("retry", f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
