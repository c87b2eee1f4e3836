"""Files as each vendor sends them: monthly and quarterly exports in the vendor's own format, a few rows
spoiled on purpose, the mapping files, the contract workbook, MANIFEST.json and README.md."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsdash.sample import readme
from opsdash.sample.reported import reported_kpis
from opsdash.sample.stories import (FAKE_FIRST, FAKE_LAST, IBERICA_QUEUES, IBERICA_WFM_QUEUES, VENDOR_NAMES, VENDORS,
                                    Timeline)
from opsdash.sample.tables import (calls, claims, events, qa_audits, rng, sla_targets, snapshot_claims,
                                   snapshot_work_items, staffing, work_items)

#: Mapping files shipped in ``opsdash/sample/mappings/``: where each goes in the output, and its name there.
MAPPING_FILES = {
    "iberica/calls/mapping.toml": "iberica_calls.toml",
    "iberica/work_items/mapping.toml": "iberica_work_items.toml",
    "iberica/staffing/mapping.toml": "iberica_staffing.toml",
}


def mapping_text(name: str) -> bytes:
    """The bytes of one shipped mapping file (read from the installed package, so a wheel has them)."""
    return resources.files("opsdash.sample").joinpath("mappings", name).read_bytes()


def _month_ranges(tl: Timeline) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    out = []
    for ms in tl.month_starts():
        me = ms.replace(day=calendar.monthrange(ms.year, ms.month)[1])
        out.append((ms.strftime("%Y-%m"), pd.Timestamp(ms), pd.Timestamp(min(me, tl.as_of))))
    return out


def _quarter_ranges(tl: Timeline) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for label, lo, hi in _month_ranges(tl):
        q = f"{lo.year}-Q{(lo.month - 1) // 3 + 1}"
        out[q] = (out[q][0] if q in out else lo, hi)
    return [(q, lo, hi) for q, (lo, hi) in out.items()]


def _in(s: pd.Series, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    return (s >= lo) & (s < hi + pd.Timedelta(days=1))


def _end_of(hi: pd.Timestamp) -> np.datetime64:
    return np.datetime64(hi + pd.Timedelta(days=1) - pd.Timedelta(minutes=1), "m")


def _fmt_bool(s: pd.Series, yes: str, no: str) -> pd.Series:
    b = s.astype("boolean")
    return pd.Series(np.where(b.isna(), None, np.where(b.fillna(False), yes, no)), index=s.index, dtype=object)


#: The claims' yes/no columns, as each vendor writes them.
CLAIM_FLAGS = ("clean_submission", "prior_auth_required", "prior_auth_obtained")


def _zip_fixed(path: Path) -> None:
    """Rewrite a zip (xlsx) with fixed entry times so the same data gives the same bytes."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def _write_xlsx(df: pd.DataFrame, path: Path, title: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in row])
    ws.freeze_panes = "A2"
    wb.properties.created = dt.datetime(2026, 1, 1)
    wb.properties.modified = dt.datetime(2026, 1, 1)
    wb.save(path)
    _zip_fixed(path)


class _Writer:
    """Writes below one folder, remembering every file written and every row spoiled on purpose."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: list[Path] = []
        self.deliberate: list[dict[str, Any]] = []

    def path(self, rel: str) -> Path:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(p)
        return p

    def csv(self, df: pd.DataFrame, rel: str, **kw: Any) -> None:
        df.to_csv(self.path(rel), index=False, lineterminator="\n", **kw)

    def spoil(self, df: pd.DataFrame, rel: str, pos: int, column: str, value: Any, why: str,
              reported_column: str | None = None) -> pd.DataFrame:
        """Make one row deliberately bad and remember where (header = line 1)."""
        df = df.copy()
        df[column] = df[column].astype(object)
        df.iloc[pos, df.columns.get_loc(column)] = value
        self.deliberate.append({"file": rel, "line": pos + 2, "column": reported_column or column, "why": why})
        return df


def _copy_mappings(out: Path) -> None:
    for rel, name in MAPPING_FILES.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(mapping_text(name))


def write_sample(out: Path, seed: int, months: int, scale: float, as_of: dt.date | None = None) -> list[Path]:
    """Write every vendor's exports, the contract and the vendors' own reports, plus MANIFEST.json and README.md."""
    tl = Timeline(as_of or dt.date.today(), months)
    w = _Writer(Path(out))
    cl, wi, ca, qa = claims(seed, tl, scale), work_items(seed, tl, scale), calls(seed, tl, scale), qa_audits(seed, tl, scale)
    months_ = _month_ranges(tl)
    quarters = _quarter_ranges(tl)

    # Claims: monthly, every claim with an event in the month, as known at the month's end (re-deliveries).
    for mi, (label, lo, hi) in enumerate(months_):
        hit = (_in(cl["received_date"], lo, hi) | _in(cl["submitted_date"], lo, hi) | _in(cl["adjudicated_date"], lo, hi))
        snap = snapshot_claims(cl[hit], np.datetime64(hi.date(), "D"))
        m = snap[snap["vendor"] == VENDOR_NAMES["meridian"]].reset_index(drop=True)
        rel = f"meridian/claims/meridian_claims_{label}.csv"
        if mi == 5 and len(m) > 40:
            m = w.spoil(m, rel, 17, "submitted_date", (m.loc[17, "received_date"] - pd.Timedelta(days=2)),
                        "submitted two days before it was received (keying error)")
        if mi == 11 and len(m) > 40:
            m = w.spoil(m, rel, 30, "billed_amount", -abs(float(m.loc[30, "billed_amount"])), "a reversal sent as a claim")
        m = m.assign(**{c: _fmt_bool(m[c], "true", "false") for c in CLAIM_FLAGS})
        w.csv(m, rel, date_format="%Y-%m-%d")

        h = snap[snap["vendor"] == VENDOR_NAMES["helix"]].reset_index(drop=True)
        r = rng(seed, 99, mi)
        h = h.assign(
            **{c: _fmt_bool(h[c], "Y", "N") for c in CLAIM_FLAGS},
            initial_outcome=h["initial_outcome"].str.upper(),
            patient_name=[f"{FAKE_FIRST[a]} {FAKE_LAST[b]}" for a, b in
                          zip(r.integers(0, len(FAKE_FIRST), len(h)), r.integers(0, len(FAKE_LAST), len(h)))],
            mrn=[f"MRN{x:07d}" for x in r.integers(0, 10_000_000, len(h))],
        )
        h.columns = [c.replace("_", " ").title().replace("Id", "ID") if c != "mrn" else "MRN" for c in h.columns]
        rel = f"helix/claims/Helix_Claims_{label}.csv"
        if mi == 8 and len(h) > 40:
            h = w.spoil(h, rel, 12, "Denial Reason", "appeal filed, pt SSN 123-45-6789 on file",
                        "free text carrying a Social Security number", reported_column="denial_reason")
        w.csv(h, rel, date_format="%Y-%m-%d", encoding="utf-8-sig")

    # Work items: quarterly, items opened or completed in the quarter, as known at its end.
    for label, lo, hi in quarters:
        hit = _in(wi["opened_at"], lo, hi) | _in(wi["completed_at"], lo, hi)
        snap = snapshot_work_items(wi[hit], _end_of(hi))
        for key in ("meridian", "helix"):
            part = snap[snap["vendor"] == VENDOR_NAMES[key]].drop(columns=["sla_met"])
            if key == "helix":  # ISO 8601 with a UTC designator
                for c in ("opened_at", "due_at", "completed_at"):
                    part[c] = part[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            w.csv(part, f"{key}/work_items/{key}_work_items_{label}.csv", date_format="%Y-%m-%d %H:%M:%S")
        cv = snap[snap["vendor"] == VENDOR_NAMES["clearview"]].drop(columns=["sla_met"]).reset_index(drop=True)
        cv.to_parquet(w.path(f"clearview/work_items/clearview_reads_{label}.parquet"), index=False)
        ib = snap[snap["vendor"] == VENDOR_NAMES["iberica"]]
        ib = pd.DataFrame({
            "Nº Solicitud": ib["item_id"].str.replace("IBE-SC", "SOL-", regex=False),
            "Proceso": "Citación",
            "Prioridad": "Normal",
            "Centro": ib["facility"],
            "Fecha apertura": ib["opened_at"].dt.strftime("%d/%m/%Y %H:%M"),
            "Fecha cierre": ib["completed_at"].dt.strftime("%d/%m/%Y %H:%M").fillna("-"),
            "Cumple SLA": _fmt_bool(ib["sla_met"], "Sí", "No").fillna("-"),
        })
        w.csv(ib, f"iberica/work_items/solicitudes_{label}.csv", sep=";", encoding="latin-1")

    # Calls: monthly, Ibérica's own format (Latin-1, semicolons, day-first dates, decimal commas).
    for mi, (label, lo, hi) in enumerate(months_):
        k = ca[_in(ca["offered_at"], lo, hi)].reset_index(drop=True)
        ts = "%d/%m/%Y %H:%M:%S"
        k = pd.DataFrame({
            "Nº Llamada": k["call_id"].str.replace("IBE-K", "LL", regex=False),
            "Cola": k["queue"].map(IBERICA_QUEUES),
            "Hora entrada": k["offered_at"].dt.strftime(ts),
            "Hora atención": k["answered_at"].dt.strftime(ts).fillna("-"),
            "Hora abandono": k["abandoned_at"].dt.strftime(ts).fillna("-"),
            "Duración (s)": k["handle_seconds"].map(lambda x: "-" if pd.isna(x) else f"{x:.1f}".replace(".", ",")),
            "Resuelto 1er contacto": _fmt_bool(k["first_contact_resolved"], "Sí", "No").fillna("-"),
            "Agente": "",
        })
        rel = f"iberica/calls/llamadas_{label}.csv"
        if mi == 3 and len(k) > 40:
            answered = k.index[k["Hora atención"] != "-"][5]
            k = w.spoil(k, rel, int(answered), "Hora abandono", k.loc[answered, "Hora atención"],
                        "a call recorded as both answered and abandoned", reported_column="answered_at")
        w.csv(k, rel, sep=";", encoding="latin-1")

    # Quality audits: quarterly per vendor (Ibérica's with semicolons).
    for label, lo, hi in quarters:
        part = qa[_in(qa["audit_date"], lo, hi)]
        for key in ("meridian", "helix", "clearview", "iberica"):
            v = part[part["vendor"] == VENDOR_NAMES[key]]
            w.csv(v, f"{key}/qa_audits/{key}_qa_{label}.csv", date_format="%Y-%m-%d",
                  sep=";" if key == "iberica" else ",", encoding="latin-1" if key == "iberica" else "utf-8")

    # Staffing plans as each vendor's planning tool exports them: daily FTE in the contract's layout (Helix
    # leaves the interval length to its default, ClearView sends net FTE with no hours or shrinkage), and
    # Ibérica's workforce-management export of agents per queue and half-hour.
    plans = staffing(seed, tl, scale)
    for key, drop in (("meridian", []), ("helix", ["interval_minutes"]),
                      ("clearview", ["interval_minutes", "productive_hours_per_fte", "shrinkage"])):
        part = plans[plans["vendor"] == VENDOR_NAMES[key]].drop(columns=drop)
        w.csv(part.assign(interval_start=part["interval_start"].dt.strftime("%Y-%m-%d")),
              f"{key}/staffing/{key}_staffing_plan.csv")
    ib = plans[plans["vendor"] == VENDOR_NAMES["iberica"]]
    ib = pd.DataFrame({
        "Fecha": ib["interval_start"].dt.strftime("%d/%m/%Y"),
        "Intervalo": ib["interval_start"].dt.strftime("%H:%M"),
        "Cola": ib["process"].map(IBERICA_WFM_QUEUES),
        "Agentes programados": ib["scheduled_staff"].map(lambda x: f"{x:g}"),
        "Reducción": ib["shrinkage"].map(lambda x: f"{x:.2f}".replace(".", ",")),
    })
    w.csv(ib, "iberica/staffing/planificacion.csv", sep=";", encoding="latin-1")

    targets = sla_targets(tl)
    _write_xlsx(targets, w.path("contracts/sla_targets.xlsx"), "Service levels")
    rep = reported_kpis(tl, cl, wi, ca)
    for key, name in VENDOR_NAMES.items():
        part = rep[rep["vendor"] == name]
        if len(part):
            w.csv(part, f"reported/{key}_reported_kpis.csv", date_format="%Y-%m-%d")

    ev = events(tl)
    w.csv(ev.assign(is_process_change=_fmt_bool(ev["is_process_change"], "true", "false")), "contracts/events.csv",
          date_format="%Y-%m-%d")

    _copy_mappings(w.out)
    manifest = {
        "generator": {"seed": seed, "months": months, "scale": scale, "as_of": tl.as_of.isoformat()},
        "vendors": {v.key: v.name for v in VENDORS},
        "stories": {
            "meridian_automation_go_live": tl.go_live.isoformat(),
            "clearview_outage_week_start": tl.outage_start.isoformat(),
            "helix_denial_drift_start": tl.drift_start.isoformat(),
            "iberica_training_weeks_start": tl.training_start.isoformat(),
        },
        "deliberate_rejects": w.deliberate,
    }
    (w.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    folders = [f.relative_to(w.out).parent.as_posix() for f in w.files]
    (w.out / "README.md").write_text(readme.text(manifest, folders), encoding="utf-8")
    return w.files
