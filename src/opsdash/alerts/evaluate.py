"""Raise the alerts the rules declare, on the store as it stands (read-only, every vendor): each alert with its
stable key, a title and words for people, and its evidence (the figures and, for SPC alerts, the chart's points),
computed by the same code the pages and the review pack use, so an alert never says what a page would not."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from opsdash import catalog, labels, metrics, periods, queries, sla, spc, views
from opsdash.alerts.rules import BY_ID, Rule, with_params
from opsdash.settings import Settings
from opsdash.store import Store

#: States of an alert: raised and not yet in a message sent; in a message that went; acknowledged on the page.
STATES = ("new", "sent", "acknowledged")
STATE_WORDS = {"new": "New", "sent": "Sent", "acknowledged": "Acknowledged"}


@dataclass(frozen=True)
class Alert:
    rule: str
    vendor: str | None  # None: about the store's loads (admins only)
    what: str  # the KPI, level, queue, table or load it is about (a code)
    period: str  # the period or day it is about (a code: 2026-10, 2026-11-26)
    title: str
    words: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The same rule, vendor, subject and period give the same key, run after run."""
        return hashlib.sha256("|".join((self.rule, self.vendor or "", self.what, self.period)).encode()).hexdigest()[:32]

    def row(self, raised_at: dt.datetime) -> dict[str, Any]:
        return {"key": self.key, "rule": self.rule, "vendor": self.vendor, "what": self.what, "period": self.period,
                "raised_at": raised_at, "state": "new", "title": self.title, "words": self.words,
                "evidence": json.dumps(self.evidence, default=str, ensure_ascii=False)}


@dataclass(frozen=True)
class Context:
    today: dt.date
    settings: Settings
    rules: dict[str, Rule]


def evaluate(store: Store, today: dt.date, settings: Settings, rule_ids: tuple[str, ...] | None = None) -> list[Alert]:
    """Every alert the rules raise on the store today (each rule's alerts sorted by vendor, then subject)."""
    rules = {r.id: r for r in with_params(settings.alerts)}
    ctx = Context(today, settings, rules)
    wanted = rule_ids or tuple(BY_ID)
    out: list[Alert] = []
    for rule_id in wanted:
        out.extend(RAISE[rule_id](store, ctx))
    return out


def _figure(label: str, value: Any, kind: str, shown: str | None = None) -> dict[str, Any]:
    """A figure of the evidence: its label, value as computed, kind (labels.KINDS) and as a person reads it."""
    if isinstance(value, float) and math.isnan(value):
        value = None
    return {"label": label, "value": value, "kind": kind, "shown": shown if shown is not None else labels.cell(value, kind)}


def _kpi_figure(label: str, kpi: catalog.Kpi, value: float | None) -> dict[str, Any]:
    return {**_figure(label, value, "number", catalog.format_value(kpi, value)), "kpi": kpi.id}


def _latest_month(store: Store, vendor: str) -> dt.date | None:
    cut = metrics.data_cut(store, tuple(catalog.EVENT_TIMES), (vendor,))
    return None if cut is None else periods.latest_complete(cut, "month")


def _chart(view: views.SpcView) -> dict[str, Any]:
    """The chart's points for the evidence (complete periods only), drawable again with charts.spc."""
    chart = view.chart[~view.chart["to_date"].astype(bool)] if len(view.chart) else view.chart
    n = len(chart)
    starts = view.series["period_start"].iloc[:n]
    cols = {c: [None if pd.isna(v) else (bool(v) if c == "coarse" else v if c == "point_type" else float(v))
                for v in chart[c]] for c in ("value", "mean", "lpl", "upl", "point_type", "coarse") if c in chart}
    return {"kpi": view.kpi.id, "grain": view.grain, "target": view.target,
            "periods": [pd.Timestamp(p).date().isoformat() for p in starts], **cols}


def _spc_concern(store: Store, ctx: Context) -> Iterator[Alert]:
    changed = views.what_changed(store, views.Filters(grain="month"))
    for r in changed[changed["signal"] == "concern"].itertuples():
        kpi = catalog.get(r.kpi)
        start = pd.Timestamp(r.period).date()
        f = views.Filters(grain="month", vendors=(r.vendor,), end=periods.end(start, "month"))
        view = views.spc_view(store, kpi.id, f)
        month = periods.label(start, "month")
        yield Alert("spc_concern", r.vendor, kpi.id, periods.code(start, "month"),
                    f"{kpi.label} of {r.vendor}: special cause of concern in {month}",
                    f"{kpi.label} was {catalog.format_value(kpi, r.value)} in {month}, against a mean of "
                    f"{catalog.format_value(kpi, r.mean)}: {labels.prose(r.what)}.",
                    {"figures": [_kpi_figure(f"{kpi.label}, {month}", kpi, r.value),
                                 _kpi_figure("Mean of the process", kpi, r.mean),
                                 _figure("Reading", r.what, "text")],
                     "chart": _chart(view)})


def _assurance_fail(store: Store, ctx: Context) -> Iterator[Alert]:
    for vendor in queries.vendors(store):
        last = _latest_month(store, vendor)
        if last is None:
            continue
        f = views.Filters(grain="month", vendors=(vendor,), end=periods.end(last, "month"))
        for kpi_id in views.HEADLINE:
            kpi = catalog.get(kpi_id)
            if not queries.has_rows(store, kpi.table, vendor):
                continue
            now = views.tile(store, kpi_id, f)
            if now.period != last or now.assurance != "consistently_fail":
                continue
            before = views.tile(store, kpi_id, replace(f, end=periods.end(periods.previous(last, "month"), "month")))
            if before.assurance == "consistently_fail":
                continue  # not a turn: it was failing already
            month = periods.label(last, "month")
            view = views.spc_view(store, kpi_id, f)
            yield Alert("assurance_fail", vendor, kpi_id, periods.code(last, "month"),
                        f"{kpi.label} of {vendor}: now consistently failing its target",
                        f"In {month} the target of {catalog.format_value(kpi, now.target)} ({now.target_source}) "
                        f"lies outside the process limits on the wrong side: the process will consistently fail "
                        f"it unless something changes. The month before, it read "
                        f"{labels.assurance_words(before.assurance, before.target is not None).lower()}.",
                        {"figures": [_kpi_figure(f"{kpi.label}, {month}", kpi, now.value),
                                     _kpi_figure("Target", kpi, now.target),
                                     _figure("Assurance the month before",
                                             labels.assurance_words(before.assurance, before.target is not None),
                                             "text")],
                         "chart": _chart(view)})


def _scorecards(store: Store, ctx: Context) -> Iterator[tuple[str, dt.date, sla.Scorecard]]:
    for vendor in sla.vendors(store):
        last = _latest_month(store, vendor)
        if last is not None:
            yield vendor, last, sla.scorecard(store, vendor, periods.code(last, "month"), settings=ctx.settings)


def _given(x: Any) -> Any:
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x


def _times(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _level_what(lv: Any) -> str:
    return "/".join(str(_given(x) or "") for x in (lv["kpi"], lv["process"], lv["priority"]))


def _critical_missed(store: Store, ctx: Context) -> Iterator[Alert]:
    for vendor, last, card in _scorecards(store, ctx):
        month = periods.label(last, "month")
        levels = card.levels
        missed = levels[(levels["level"] == "critical") & levels["status"].isin(sla.MISSED)]
        for _, lv in missed.iterrows():
            kpi = catalog.get(lv["kpi"])
            scope = ", ".join(labels.value_word(x) for x in (_given(lv["process"]), _given(lv["priority"])) if x)
            name = kpi.label + (f" ({scope})" if scope else "")
            below = lv["status"] == "below_minimum"
            yield Alert("critical_missed", vendor, _level_what(lv), periods.code(last, "month"),
                        f"{name} of {vendor}: critical level {'below its minimum' if below else 'missed'} in {month}",
                        f"{name} was {catalog.format_value(kpi, lv['value'])} in {month} against the contract's "
                        f"{catalog.format_value(kpi, lv['target'])}"
                        + (f" (minimum {catalog.format_value(kpi, lv['minimum'])})" if _given(lv["minimum"]) is not None
                           else "")
                        + f"; missed {_times(int(lv['consecutive_missed']), 'month')} in a row.",
                        {"figures": [_kpi_figure(f"{name}, {month}", kpi, lv["value"]),
                                     _kpi_figure("Contract level", kpi, lv["target"]),
                                     _figure("Months missed in a row", int(lv["consecutive_missed"]), "count")]})


def _credits_due(store: Store, ctx: Context) -> Iterator[Alert]:
    for vendor, last, card in _scorecards(store, ctx):
        s = card.summary
        pct = s["credit_pct_total"] or 0.0
        if not s["critical_missed"] or pct <= 0:
            continue  # a missed level whose contract sets no credit earns none (critical_missed says it)
        month = periods.label(last, "month")
        due = s["credits_due"]
        amount = labels.money(due, s["currency"]) if due is not None else None
        words = (f"{_times(int(s['critical_missed']), 'critical level')} missed in {month} "
                 f"earn{'s' if s['critical_missed'] == 1 else ''} the hospital a service credit of "
                 + (f"{amount} ({labels.percent(min(pct, 1.0))} of the {labels.money(s['at_risk'], s['currency'])} "
                    f"at risk{', capped' if s['credits_capped'] else ''})." if amount is not None else
                    f"{labels.percent(min(pct, 1.0))} of the monthly amount at risk"
                    f"{' (capped at all of it)' if pct > 1 else ''}; no amount is set in opsdash.toml [at_risk]."))
        figures = [_figure("Critical levels missed", int(s["critical_missed"]), "count"),
                   _figure("Credit", min(pct, 1.0), "percent")]
        if due is not None:
            figures.append(_figure(f"Credit due ({s['currency']})", float(due), "money",
                                   labels.money(due, s["currency"])))
        yield Alert("credits_due", vendor, "credits", periods.code(last, "month"),
                    f"{vendor}: service credits due for {month}", words, {"figures": figures})


def _projected_miss(store: Store, ctx: Context) -> Iterator[Alert]:
    from opsdash.capacity import outlook

    heads, _uncovered = outlook.kept_headlines(store)
    part_words = {"contact": "queue", "back office": "back-office process"}
    for h in heads[heads["status"] == "miss"].sort_values(["vendor", "what"]).itertuples():
        start = pd.Timestamp(h.from_day).date()
        accuracy = _given(h.forecast_accuracy)  # a kept headline without one reads NaN
        what = f"{labels.value_word(h.what)} {part_words.get(h.part, h.part)}"
        yield Alert("projected_miss", h.vendor, f"{h.part}/{h.what}", periods.code(periods.start_of(start, "month"),
                                                                                   "month"),
                    f"{what} of {h.vendor}: projected to miss its contract level from {labels.date(start)}",
                    f"{h.words}" + (f" The forecast it rests on: {accuracy}." if accuracy else
                                    " The forecast's accuracy could not be measured."),
                    {"figures": [_figure("Miss would begin", start.isoformat(), "date", labels.date(start)),
                                 _figure("Forecast accuracy", accuracy or "not measured", "text")]})


def cadence(days: list[dt.date]) -> float | None:
    """The usual gap in days between successive days (the median; None with fewer than 3 days)."""
    if len(days) < 3:
        return None
    gaps = pd.Series(pd.to_datetime(days)).diff().dropna().dt.days
    return float(gaps.median())


def usual_cadence(store: Store, table: str, vendor: str, latest: dt.date, history_days: int
                  ) -> tuple[float, str, dt.date]:
    """How often a vendor's data of a table usually arrives, in days, how that was told, and the day the
    waiting is counted from: from the days its loads came (a monthly batch is monthly even when its rows cover
    every day), counted from its last load; else, with too few loads (a store loaded once), from the days its
    rows cover, counted from its latest event; a day, from its latest event, when neither can tell."""
    since = latest - dt.timedelta(days=history_days)
    loads = queries.load_days(store, table, vendor, since)
    by_loads = cadence(loads)
    if by_loads is not None:
        return by_loads, "loads", loads[-1]
    by_days = cadence(queries.event_days(store, table, vendor, since))
    return (by_days, "days covered", latest) if by_days is not None else (1.0, "assumed", latest)


def _data_stale(store: Store, ctx: Context) -> Iterator[Alert]:
    p = ctx.rules["data_stale"].params
    for vendor in queries.vendors(store):
        for table in catalog.EVENT_TIMES:
            latest = metrics.data_cut(store, (table,), (vendor,))
            if latest is None:
                continue
            usual, told, since = usual_cadence(store, table, vendor, latest, int(p["history_days"]))
            age = (ctx.today - since).days
            if age <= usual + p["grace_days"]:
                continue
            name = labels.value_word(table).lower()
            every = "every day" if usual == 1 else f"every {usual:g} days"
            how = {"loads": f"Its last load of them came on {labels.date(since)}, {age} days before "
                            f"{labels.date(ctx.today)}, and its loads usually come {every}",
                   "days covered": f"That is {age} days before {labels.date(ctx.today)}, and its data usually "
                                   f"covers {every}",
                   "assumed": f"That is {age} days before {labels.date(ctx.today)}; its usual rhythm cannot be "
                              "told yet, so daily is assumed"}[told]
            yield Alert("data_stale", vendor, table, latest.isoformat(),
                        f"{labels.possessive(vendor)} {name} data: nothing since {labels.date(latest)}",
                        f"The latest {name} record of {vendor} is from {labels.date(latest)}. {how}: with "
                        f"{p['grace_days']:g} days' grace it is stale. Pages show this vendor's {name} only to "
                        f"{labels.date(latest)}.",
                        {"figures": [_figure("Latest event", latest.isoformat(), "date", labels.date(latest)),
                                     _figure("Days waiting", age, "count"),
                                     _figure("Usual cadence (days)", usual, "number", f"{usual:g}")]})


def _load_rejects(store: Store, ctx: Context) -> Iterator[Alert]:
    p = ctx.rules["load_rejects"].params
    loads = queries.load_history(store)
    since = pd.Timestamp(ctx.today - dt.timedelta(days=int(p["lookback_days"])))
    for r in loads.itertuples():
        if pd.isna(r.finished_at) or pd.Timestamp(r.finished_at) < since or not r.rows_read:
            continue
        rate = r.rows_rejected / r.rows_read
        if rate <= p["reject_rate"]:
            continue
        yield Alert("load_rejects", None, str(r.load_id), pd.Timestamp(r.finished_at).date().isoformat(),
                    f"Load {r.load_id} ({r.file_name}): {labels.percent(rate)} of its rows rejected",
                    f"The load of {r.file_name} into {labels.value_word(r.table_name).lower()} rejected "
                    f"{r.rows_rejected:,} of {r.rows_read:,} rows read ({labels.percent(rate)}, above "
                    f"{labels.percent(p['reject_rate'])}). The Loads and rejects page lists each row and why.",
                    {"figures": [_figure("Rows read", int(r.rows_read), "count"),
                                 _figure("Rows rejected", int(r.rows_rejected), "count"),
                                 _figure("Share rejected", rate, "percent")]})


RAISE: dict[str, Callable[[Store, Context], Iterator[Alert]]] = {
    "spc_concern": _spc_concern, "assurance_fail": _assurance_fail, "critical_missed": _critical_missed,
    "projected_miss": _projected_miss, "credits_due": _credits_due, "data_stale": _data_stale,
    "load_rejects": _load_rejects}
assert set(RAISE) == set(BY_ID)
