"""One vendor's outlook: its volume forecasts at both grains, its contact-centre queues and its back-office
processes ahead, made once from the same forecasts (what the Capacity page, the review pack and the command
line share). Everything in it depends on that vendor's rows alone (each vendor's own data cut-off), so an
outlook is the same whoever may see the vendor, and is cached per store version and vendor.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from opsdash import catalog, codec, labels, metrics, queries
from opsdash.capacity import backoffice, contact, forecast, volumes
from opsdash.store import Store


#: Part of a kept or cached outlook's key: every module an outlook rests on (capacity, queries, metrics, sla,
#: periods, labels...) and the libraries whose versions move its figures or its reading back.
FINGERPRINT = codec.code_fingerprint(("capacity",), ("duckdb", "numpy", "pandas", "scipy", "statsmodels"))


@dataclass
class Outlook:
    vendor: str
    cut: dt.date | None  # the vendor's data cut-off (every table)
    daily: list[tuple[str, pd.DataFrame, forecast.Forecast]] = field(default_factory=list)
    weekly: list[tuple[str, pd.DataFrame, forecast.Forecast]] = field(default_factory=list)
    queues: list[contact.QueueStaffing] = field(default_factory=list)
    projections: list[backoffice.Projection] = field(default_factory=list)

    def forecasts(self, grain: str) -> list[tuple[str, pd.DataFrame, forecast.Forecast]]:
        return self.daily if grain == "day" else self.weekly


def make(store: Store, vendor: str) -> Outlook:
    """The vendor's outlook from its own data cut-off: forecasts of every volume at day and week, its queues'
    staffing and its back-office projections from those same forecasts."""
    daily = volumes.forecasts(store, "day", (), (vendor,))
    weekly = volumes.forecasts(store, "week", (), (vendor,))
    return Outlook(vendor, metrics.data_cut(store, tuple(catalog.EVENT_TIMES), (vendor,)), daily, weekly,
                   contact.vendor_staffing(store, vendor, daily),
                   backoffice.vendor_projections(store, vendor, daily, weekly))


#: The dataclasses a kept outlook is made of (opsdash.codec makes no other).
CLASSES: dict[str, type] = {c.__name__: c for c in (Outlook, forecast.Forecast, forecast.Accuracy,
                                                     contact.QueueStaffing, backoffice.Projection)}


def outlook(store: Store, vendor: str) -> Outlook:
    """The vendor's outlook: the one kept in the store (keep) when it was made for the store as it stands by this
    code, else (or if it cannot be read back) made now. Both are the same outlook: a kept one is read back exactly
    (opsdash.codec)."""
    kept = queries.kept_outlook(store, vendor, queries.outlook_stamp(store), FINGERPRINT)
    if kept is not None:
        try:
            return codec.decode(kept, CLASSES)
        except (codec.CodecError, ValueError, TypeError, KeyError, zlib.error):  # damaged: made again below
            pass
    return make(store, vendor)


def outlooks(store: Store, vendors: tuple[str, ...] = ()) -> list[Outlook]:
    """The outlooks of `vendors` (default every vendor the reader may see)."""
    return [outlook(store, v) for v in vendors or tuple(queries.vendors(store))]


@dataclass(frozen=True)
class Made:
    """Every vendor's outlook made for the store at `stamp` (queries.outlook_stamp), ready to keep: (vendor,
    seconds, the outlook's bytes), their headlines, and the vendors whose outlook failed (vendor, why)."""

    stamp: str
    outlooks: list[tuple[str, float, bytes]]
    headlines: pd.DataFrame
    failed: list[tuple[str, str]]
    seconds: float


@dataclass(frozen=True)
class Kept:
    """What keep() did: the vendors whose outlook is kept, those whose outlook failed (vendor, why), seconds;
    `superseded` when the store moved on (another load) while they were made, so nothing was written."""

    vendors: list[str]
    failed: list[tuple[str, str]]
    seconds: float
    superseded: bool = False

    def words(self) -> str:
        if self.superseded:
            return ("outlooks not kept: the store changed while they were made (another load, which keeps its own; "
                    "`opsdash outlook` keeps them for the store as it stands)")
        text = (f"outlooks for the next {forecast.GRAINS['week']['horizon']} weeks kept for {len(self.vendors)} "
                f"vendor(s) in {self.seconds:.1f} s")
        return text + "".join(f"; {labels.possessive(v)} failed ({why}): its Capacity page makes it when opened"
                              for v, why in self.failed)


def make_all(store: Store) -> Made:
    """Every vendor's outlook, encoded for keeping (a read-only store will do). A vendor whose outlook fails is
    left out and named; the others are made."""
    started = time.perf_counter()
    stamp = queries.outlook_stamp(store)
    made: list[tuple[str, float, bytes]] = []
    heads, failed = [], []
    for vendor in queries.vendors(store):
        t = time.perf_counter()
        try:
            o = make(store, vendor)
            body, head = codec.encode(o), headline_frame(o)
        except Exception as exc:  # noqa: BLE001 - one vendor's data must not cost the others their outlook
            failed.append((vendor, f"{type(exc).__name__}: {exc}"))
            continue
        made.append((vendor, time.perf_counter() - t, body))
        heads.append(head)
    frame = pd.concat(heads, ignore_index=True) if heads else pd.DataFrame(columns=list(queries.HEADLINE_COLUMNS))
    return Made(stamp, made, frame, failed, time.perf_counter() - started)


def keep(store: Store, made: Made | None = None) -> Kept:
    """Keep every vendor's outlook in the store, replacing those kept before, so that no page, pack or command
    pays for it: `made` (make_all, e.g. over a read-only connection by keep_after_load), else made here. Nothing
    is written when the store is no longer the one they were made for."""
    made = made if made is not None else make_all(store)
    if made.stamp != queries.outlook_stamp(store):
        return Kept([], made.failed, made.seconds, superseded=True)
    started = time.perf_counter()
    queries.keep_outlooks(store, made.stamp, FINGERPRINT, made.outlooks, made.headlines)
    return Kept([v for v, _s, _b in made.outlooks], made.failed, made.seconds + time.perf_counter() - started)


def keep_after_load(path: Path, writer: Callable[[], Store], wait: float = 60.0) -> Kept:
    """After loads (`opsdash ingest`, `opsdash demo`, `opsdash outlook`): every outlook made over a read-only
    connection, so a dashboard goes on reading the store meanwhile, then kept through `writer()`, which takes the
    file for writing only to write them."""
    with Store(path, read_only=True, wait=wait) as reader:
        made = make_all(reader)
    with writer() as store:
        return keep(store, made)


def kept_headlines(store: Store) -> tuple[pd.DataFrame, list[str]]:
    """The headlines of the kept outlooks made for the store as it stands (queries.HEADLINE_COLUMNS), of the
    vendors the reader may see, and those vendors (with data) that have no such outlook kept."""
    heads, covered = queries.kept_headlines(store, queries.outlook_stamp(store), FINGERPRINT)
    return heads, [v for v in queries.vendors(store) if v not in covered]


#: Headline statuses, worst first: a level or a queue projected to miss at the forecast, one that would miss
#: only in busy weeks, one on target, and one that cannot be judged (no plan, no forecast, no contract level).
STATUSES = ("miss", "busy", "ok", "unknown")


@dataclass(frozen=True)
class Headline:
    status: str  # one of STATUSES
    what: str  # the queue or process, as its code
    part: str  # "contact" | "back office"
    words: str
    day: dt.date | None = None  # from when: the first half-hour short, or the day a level's miss begins


def headlines(o: Outlook) -> list[Headline]:
    """What an executive reads first of a vendor's outlook, worst first: per contact-centre queue, the weeks
    whose planned agents are expected below the service level; per back-office process, the first projected miss
    of a critical level (at the forecast, or in busy weeks) and the FTE that would keep it."""
    from opsdash import labels

    out = []
    weeks = contact.weekly_summary(o.queues)
    for q in o.queues:
        w = weeks[(weeks["vendor"] == q.vendor) & (weeks["queue"] == q.queue)]
        if w.empty:
            out.append(Headline("unknown", q.queue, "contact", "; ".join(q.notes) or "no staffing figures"))
            continue
        short = w[w["intervals_short"] > 0]
        busy = w[w["required_hours_hi_80"] > w["net_hours"]]
        if len(short):
            worst = short.sort_values(["intervals_short", "week"], ascending=[False, True]).iloc[0]
            first = pd.Timestamp(short["first_short"].min())
            out.append(Headline("miss", q.queue, "contact", (
                f"short of agents in {len(short)} of {len(w)} weeks from {labels.date(first)}: "
                f"worst the week of {labels.date(worst['week'])}, {worst['intervals_short']} of {worst['intervals']} "
                f"half-hours expected below the {worst['target']:.0%} service level, abandonment "
                f"{worst['expected_abandonment']:.1%} expected"), first.date()))
        elif len(busy):
            out.append(Headline("busy", q.queue, "contact", (
                f"staffed for the forecast; in a busy week (the top of the 80% range) the plan would be short from "
                f"the week of {labels.date(busy['week'].min())}"), busy["week"].min()))
        else:
            out.append(Headline("ok", q.queue, "contact", (
                f"staffed for the {w['target'].min():.0%} service level in every planned half-hour to the week of "
                f"{labels.date(w['week'].max())}, also in busy weeks")))
    for p in o.projections:
        words = backoffice.summary_words(p)
        judged = not p.daily.empty and not p.months.empty and p.months["adherence"].notna().any()
        at, busy_at = ((p.first_miss() or p.first_miss(critical=False)), p.first_miss(hi=True)) if judged else (
            None, None)
        status = ("unknown" if not judged else "miss" if at is not None else "busy" if busy_at is not None else "ok")
        out.append(Headline(status, p.process, "back office", words,
                            at[1] if at is not None else busy_at[1] if busy_at is not None else None))
    return sorted(out, key=lambda h: STATUSES.index(h.status))


STATUS_WORDS = {"miss": "Projected to miss", "busy": "At risk in busy weeks", "ok": "On target",
                "unknown": "Not judged"}


def headline_frame(o: Outlook) -> pd.DataFrame:
    """The outlook's headlines as rows (queries.HEADLINE_COLUMNS): status as its code (STATUSES), from when,
    in words, and the accuracy of the forecast each rests on in words."""
    heads = headlines(o)
    # by part and name: a vendor's queue and process may share a name (Ibérica's scheduling is both)
    accuracy = ({("contact", q.queue): q.forecast_words for q in o.queues}
                | {("back office", p.process): p.forecast_words for p in o.projections})
    return pd.DataFrame({"vendor": o.vendor, "part": [h.part for h in heads], "what": [h.what for h in heads],
                         "status": [h.status for h in heads], "from_day": [h.day for h in heads],
                         "words": [h.words for h in heads],
                         "forecast_accuracy": [accuracy.get((h.part, h.what), "") for h in heads]},
                        columns=list(queries.HEADLINE_COLUMNS))


#: Measured periods drawn before a forecast, per grain (two years of weeks, half a year of days).
SHOWN_HISTORY = {"week": 104, "day": 182}


def series_code(kpi_id: str, series: str, vendor: str) -> str:
    """A forecast's code in a link: KPI:process (or queue; empty for claims)."""
    return f"{kpi_id}:{series.removeprefix(vendor).removeprefix(' / ')}"


def series_codes(o: Outlook) -> list[str]:
    return [series_code(k, f.series, o.vendor) for k, _h, f in o.weekly or o.daily]


def series_words(code: str) -> str:
    """A forecast's code as words: 'Work items opened: Coding', 'Claims received'."""
    from opsdash import labels

    kpi_id, _, part = code.partition(":")
    label = catalog.KPIS[kpi_id].label if kpi_id in catalog.KPIS else kpi_id
    return f"{label}: {labels.value_word(part)}" if part else label


def pick(o: Outlook, code: str, grain: str) -> tuple[str, pd.DataFrame, forecast.Forecast] | None:
    """The forecast of `code` at `grain` with its measured history, the last SHOWN_HISTORY periods of it."""
    for kpi_id, hist, f in o.forecasts(grain):
        if series_code(kpi_id, f.series, o.vendor) == code:
            return kpi_id, hist.tail(SHOWN_HISTORY[grain]), f
    return None


def accuracy_words(f: forecast.Forecast) -> list[str]:
    """The forecast's model and its backtest beside the baseline's, in words."""
    if f.status != "ok" or f.model is None:
        return [f.reason]
    unit = forecast.GRAINS[f.grain]["words"]
    chosen, base = f.accuracy[f.model], f.accuracy["seasonal_naive"]
    out = [f"Model: {forecast.MODEL_WORDS[f.model]}, chosen for the lower error in the backtest.",
           f"Backtest ({chosen.windows} past origins, {chosen.points} {unit}): {chosen.words(str(unit))}."]
    if f.model != "seasonal_naive":
        out.append(f"Mean absolute error {chosen.mase:.2f} times that of repeating last season (MASE; the "
                   f"baseline's own backtest: {base.mase:.2f}).")
    return out


def forecast_frame(f: forecast.Forecast) -> pd.DataFrame:
    """A forecast's points as the chart draws them: period start, forecast, its ranges (what a download holds)."""
    p = f.points.rename(columns={"ds": "period_start", "mean": "forecast"})
    return p[["period_start", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]]


def queue_words(q: contact.QueueStaffing) -> str:
    """What a queue's staffing rests on, in words."""
    patience = (f"callers' patience {q.patience_s:,.0f} s measured from {q.abandons:,} abandons, so Erlang A"
                if q.abandons else "no caller hung up in the weeks measured, so Erlang C")
    return (f"Target {q.target:.0%} answered within {catalog.ANSWER_THRESHOLD_S:g} s ({q.target_source}); "
            f"handle time {q.aht_s:,.0f} s and {patience}, over the {contact.PROFILE_WEEKS} weeks before the "
            f"cut-off; calls forecast {q.forecast_words}. A half-hour is short when the service level expected "
            "from its planned agents, net of shrinkage, misses the target.")


def queue_table(weekly: pd.DataFrame) -> pd.DataFrame:
    return weekly[["week", "calls", "intervals", "intervals_short", "expected_service_level", "expected_abandonment",
                   "required_hours", "required_hours_hi_80", "net_hours", "first_short"]]


def projection_words(p: backoffice.Projection) -> str:
    """What a back-office projection rests on, in words."""
    extra = ("" if p.extra_fte in (None, 0.0) else
             f" To keep every level: {p.extra_fte:g} more FTE on each staffed day.")
    return (f"{p.open_items:,} items open at the cut-off ({p.open_past_due:,} already past due). The planned staff "
            f"work at {p.throughput:,.2f} items per {p.throughput_unit}, the pace of their busiest week of the "
            f"{backoffice.THROUGHPUT_WEEKS} before the cut-off, earliest due first (once a queue falls behind, every "
            f"item ends late, so a month projected to miss reads as a floor). Work forecast {p.forecast_words}.{extra}")


def levels_frame(p: backoffice.Projection) -> pd.DataFrame:
    cols = ["level", "critical", "month", "to_day", "target", "met", "missed", "adherence", "miss_day",
            "adherence_hi_80", "miss_day_hi_80"]
    m = p.months.assign(met=p.months["met"].round(), missed=p.months["missed"].round())  # items, whole
    return m[[c for c in cols if c in m]]
