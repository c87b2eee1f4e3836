"""A message for one subscriber: the subject, a plain-text and an HTML body for e-mail, and the JSON body a
webhook takes (Slack's blocks, a Teams Adaptive Card, or opsdash's own JSON). Every figure is the evidence's, as
the alert was raised; names are data, escaped for each medium."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from opsdash.alerts.evaluate import Alert
from opsdash.alerts.rules import BY_ID
from opsdash.alerts.subscriptions import Subscription

#: Slack: a section's text holds at most 3,000 characters and a message 50 blocks.
SLACK_TEXT, SLACK_BLOCKS = 3000, 50
#: Alerts listed one by one in a message; more are counted and left to the Alerts page (few messages, each
#: worth reading).
LISTED = 20


def _subject(alerts: Sequence[Alert], vendors: Sequence[str], weekly: bool) -> str:
    whom = vendors[0] if len(vendors) == 1 else f"{len(vendors)} vendors" if vendors else "the store's loads"
    if not alerts:
        return f"opsdash weekly review: {whom}, no new alerts"
    n = len(alerts)
    return (f"opsdash{' weekly review' if weekly else ''}: {n} new alert{'s' if n != 1 else ''} for {whom}"
            + (f" ({alerts[0].title})" if n == 1 else ""))


def _figures_line(a: Alert) -> str:
    return " · ".join(f"{f['label']}: {f['shown']}" for f in a.evidence.get("figures", []))


def _rule_label(a: Alert) -> str:
    return BY_ID[a.rule].label


def text_body(sub: Subscription, alerts: Sequence[Alert], packs: Sequence[str], link: str | None) -> str:
    lines = [_subject(alerts, sorted({a.vendor for a in alerts if a.vendor}), sub.schedule == "weekly"), ""]
    if not alerts:
        lines.append("No new alert since the last message.")
    for i, a in enumerate(alerts[:LISTED], start=1):
        lines += [f"{i}. {a.title}", f"   {_rule_label(a)}. {a.words}"]
        if a.evidence.get("figures"):
            lines.append(f"   {_figures_line(a)}")
        lines.append("")
    if len(alerts) > LISTED:
        lines += [f"…and {len(alerts) - LISTED} more on the Alerts page.", ""]
    if packs:
        lines += ["Attached: " + "; ".join(packs) + ".", ""]
    if link:
        lines += [f"Evidence and acknowledgement: {link}", ""]
    lines.append(f"You receive this through the subscription \"{sub.name}\" ({sub.schedule}). Only vendors your "
                 "dashboard access lets you see are included.")
    return "\n".join(lines) + "\n"


def html_body(sub: Subscription, alerts: Sequence[Alert], packs: Sequence[str], link: str | None) -> str:
    e = html.escape
    title = _subject(alerts, sorted({a.vendor for a in alerts if a.vendor}), sub.schedule == "weekly")
    parts = [f"<h2 style=\"font-family:sans-serif\">{e(title)}</h2>"]
    if not alerts:
        parts.append("<p>No new alert since the last message.</p>")
    for a in alerts[:LISTED]:
        rows = "".join(f"<tr><th style=\"text-align:left;padding:2px 8px\">{e(f['label'])}</th>"
                       f"<td style=\"text-align:right;padding:2px 8px\">{e(str(f['shown']))}</td></tr>"
                       for f in a.evidence.get("figures", []))
        parts.append(f"<h3 style=\"font-family:sans-serif\">{e(a.title)}</h3>"
                     f"<p><strong>{e(_rule_label(a))}.</strong> {e(a.words)}</p>"
                     + (f"<table style=\"border-collapse:collapse\">{rows}</table>" if rows else ""))
    if len(alerts) > LISTED:
        parts.append(f"<p>…and {len(alerts) - LISTED} more on the Alerts page.</p>")
    if packs:
        parts.append("<p>Attached: " + "; ".join(e(p) for p in packs) + ".</p>")
    if link:
        parts.append(f"<p><a href=\"{e(link, quote=True)}\">Evidence and acknowledgement on the Alerts page</a></p>")
    parts.append(f"<p style=\"color:#555\">You receive this through the subscription “{e(sub.name)}” "
                 f"({e(sub.schedule)}). Only vendors your dashboard access lets you see are included.</p>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def _alert_json(a: Alert) -> dict[str, Any]:
    return {"key": a.key, "rule": a.rule, "rule_label": _rule_label(a), "vendor": a.vendor, "about": a.what,
            "period": a.period, "title": a.title, "words": a.words, "figures": a.evidence.get("figures", [])}


def _md(text: str) -> str:
    """Slack's mrkdwn escapes &, < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(sub: Subscription, alerts: Sequence[Alert], packs: Sequence[str], link: str | None, subject: str,
            delivery: str) -> str:
    """The webhook's JSON body in the subscription's format."""
    if sub.format == "slack":
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": subject[:150]}}]
        for a in alerts[:LISTED]:
            text = f"*{_md(a.title)}*\n{_md(a.words)}" + (f"\n{_md(_figures_line(a))}" if a.evidence.get("figures")
                                                          else "")
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SLACK_TEXT]}})
        tail = []
        if len(alerts) > LISTED:
            tail.append(f"…and {len(alerts) - LISTED} more on the Alerts page.")
        if not alerts:
            tail.append("No new alert since the last message.")
        if link:
            tail.append(f"<{link}|Evidence and acknowledgement on the Alerts page>")
        if tail:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(tail)[:SLACK_TEXT]}]})
        return json.dumps({"text": subject, "blocks": blocks[:SLACK_BLOCKS]}, ensure_ascii=False)
    if sub.format == "teams":
        body: list[dict[str, Any]] = [{"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium",
                                       "wrap": True}]
        for a in alerts[:LISTED]:
            body.append({"type": "TextBlock", "text": a.title, "weight": "Bolder", "wrap": True, "spacing": "Medium"})
            body.append({"type": "TextBlock", "text": a.words, "wrap": True})
            if a.evidence.get("figures"):
                body.append({"type": "FactSet", "facts": [{"title": f["label"], "value": str(f["shown"])}
                                                          for f in a.evidence["figures"]]})
        if not alerts:
            body.append({"type": "TextBlock", "text": "No new alert since the last message.", "wrap": True})
        if len(alerts) > LISTED:
            body.append({"type": "TextBlock", "text": f"…and {len(alerts) - LISTED} more on the Alerts page.",
                         "wrap": True})
        card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                                "type": "AdaptiveCard", "version": "1.4", "body": body}
        if link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the Alerts page", "url": link}]
        return json.dumps({"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]},
            ensure_ascii=False)
    return json.dumps({"delivery": delivery, "subscription": sub.name, "subject": subject,
                       "alerts": [_alert_json(a) for a in alerts], "packs": list(packs), "link": link},
                      ensure_ascii=False, default=str)


def subject(sub: Subscription, alerts: Sequence[Alert], vendors: Sequence[str]) -> str:
    return _subject(alerts, vendors, sub.schedule == "weekly")
