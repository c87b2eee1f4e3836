"""Settings that are not data: the monthly at-risk amount per vendor (for service credits) and its currency, and
the range of dates a load accepts.

Read from ``$OPSDASH_SETTINGS`` or ``./opsdash.toml``; a missing file means no amounts (credits are then
reported as percentages only).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from opsdash import contract

KEYS = {"currency": "currency of the at-risk amounts (e.g. USD)",
        "at_risk": "table: vendor = monthly amount at risk for service credits",
        "ingest": "table: earliest_date and latest_date (YYYY-MM-DD), the dates and timestamps a load accepts "
                  "(within the contract's range)",
        "alerts": "tables [alerts.<rule>]: a rule's parameters (see docs/alerts.md), e.g. [alerts.load_rejects] "
                  "reject_rate = 0.05"}
INGEST_KEYS = {"earliest_date": "first day a date or timestamp may fall on",
               "latest_date": "last day a date or timestamp may fall on"}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    currency: str = "USD"
    at_risk: dict[str, float] = field(default_factory=dict)
    source: str | None = None
    date_range: tuple[dt.date, dt.date] = contract.DATE_RANGE
    alerts: dict[str, dict[str, float]] = field(default_factory=dict)


def load(path: str | Path | None = None) -> Settings:
    p = Path(path or os.environ.get("OPSDASH_SETTINGS") or "opsdash.toml")
    if not p.exists():
        if path is not None:
            raise SettingsError(f"settings file {p} not found")
        return Settings()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {p.name}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SettingsError(f"settings file {p.name}: unknown key(s) {', '.join(unknown)}; expected {', '.join(KEYS)}")
    at_risk = data.get("at_risk", {})
    bad = {k: v for k, v in at_risk.items() if not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise SettingsError(f"settings file {p.name}: [at_risk] amounts must be numbers >= 0, found {bad}")
    return Settings(currency=str(data.get("currency", "USD")), at_risk={k: float(v) for k, v in at_risk.items()},
                    source=str(p), date_range=_date_range(p.name, data.get("ingest", {})),
                    alerts=_alerts(p.name, data.get("alerts", {})))


def _alerts(name: str, given: object) -> dict[str, dict[str, float]]:
    """[alerts.<rule>] tables: only the rules' own parameters, as numbers >= 0."""
    from opsdash.alerts.rules import BY_ID

    if not isinstance(given, dict):
        raise SettingsError(f"settings file {name}: [alerts] must hold tables [alerts.<rule>]")
    out = {}
    for rule, values in given.items():
        if rule not in BY_ID:
            raise SettingsError(f"settings file {name}: [alerts.{rule}] names no rule; expected one of "
                                f"{', '.join(BY_ID)}")
        known = BY_ID[rule].params
        if not isinstance(values, dict) or set(values) - set(known):
            extra = sorted(set(values) - set(known)) if isinstance(values, dict) else values
            raise SettingsError(f"settings file {name}: [alerts.{rule}] has {extra}; expected "
                                f"{', '.join(known) or 'no parameters (the rule has none)'}")
        bad = {k: v for k, v in values.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0}
        if bad:
            raise SettingsError(f"settings file {name}: [alerts.{rule}] values must be numbers >= 0, found {bad}")
        out[rule] = {k: float(v) for k, v in values.items()}
    return out


def _date_range(name: str, ingest: object) -> tuple[dt.date, dt.date]:
    if not isinstance(ingest, dict):
        raise SettingsError(f"settings file {name}: [ingest] must be a table with {', '.join(INGEST_KEYS)}")
    unknown = sorted(set(ingest) - set(INGEST_KEYS))
    if unknown:
        raise SettingsError(f"settings file {name}: unknown key(s) {', '.join(unknown)} in [ingest]; expected "
                            f"{', '.join(INGEST_KEYS)}")
    ends = list(contract.DATE_RANGE)
    for i, key in enumerate(INGEST_KEYS):
        if key not in ingest:
            continue
        value = ingest[key]
        try:  # TOML has dates of its own; a quoted "YYYY-MM-DD" is taken too
            ends[i] = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
                else dt.date.fromisoformat(str(value))
        except ValueError:
            raise SettingsError(f"settings file {name}: [ingest] {key} = {value!r}; expected a date YYYY-MM-DD") from None
    lo, hi = contract.DATE_RANGE
    if ends[0] < lo or ends[1] > hi:  # the pages report only the contract's range: a load may not go wider
        raise SettingsError(f"settings file {name}: [ingest] may narrow the contract's date range ({lo} to {hi}), "
                            f"not widen it; found {ends[0]} to {ends[1]}")
    if ends[0] > ends[1]:
        raise SettingsError(f"settings file {name}: [ingest] earliest_date {ends[0]} is after latest_date {ends[1]}")
    return ends[0], ends[1]
