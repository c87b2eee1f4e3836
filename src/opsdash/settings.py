"""Settings that are not data: the monthly at-risk amount per vendor (for service credits) and its currency.

Read from ``$OPSDASH_SETTINGS`` or ``./opsdash.toml``; a missing file means no amounts (credits are then
reported as percentages only).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

KEYS = {"currency": "currency of the at-risk amounts (e.g. USD)",
        "at_risk": "table: vendor = monthly amount at risk for service credits"}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    currency: str = "USD"
    at_risk: dict[str, float] = field(default_factory=dict)
    source: str | None = None


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
                    source=str(p))
