"""The alert rules, as data: one declaration each, documented from here (docs/alerts.md) as KPIs are.

A rule names what it watches, when it fires, who may receive it (anyone who may see the vendor, or admins only),
what its key is made of (an alert is raised once per key, whatever the number of runs) and its parameters, which
``opsdash.toml`` may change under ``[alerts.<rule>]``. Pure declarations: no opsdash import, so settings may
check the file against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Who may receive a rule's alerts: "vendor", anyone who may see the alert's vendor in the dashboard; "admin",
#: admins only (the alert is about loads and files, which only admins see).
AUDIENCES = ("vendor", "admin")


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    fires: str  # when it fires, for people
    key: str  # what makes one alert of it, for people: the same again is never raised twice
    audience: str = "vendor"
    params: Mapping[str, float] = field(default_factory=dict)
    param_words: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.audience in AUDIENCES, self.audience
        assert set(self.params) == set(self.param_words), self.id


RULES: tuple[Rule, ...] = (
    Rule("spc_concern", "New special-cause concern",
         "A headline KPI of a vendor shows a special cause of concern (a point beyond a process limit, a run of "
         "points on the worse side of the mean, a trend or two of three near a limit; NHS Making Data Count) in "
         "the latest complete month of that vendor's data. A raw threshold never raises it: the SPC reading does.",
         "rule, vendor, KPI and month"),
    Rule("assurance_fail", "Assurance turned to consistently failing",
         "A headline KPI's target now lies outside the vendor's process limits on the wrong side (the process will "
         "consistently fail it), in the latest complete month, when the month before it did not.",
         "rule, vendor, KPI and month"),
    Rule("critical_missed", "Critical service level missed",
         "A critical contract level of the vendor was missed (or fell below its minimum) in the latest complete "
         "month of its data, as the Vendor scorecard scores it.",
         "rule, vendor, level (KPI, process and priority) and month"),
    Rule("projected_miss", "Critical service level projected to miss",
         "The capacity outlook kept after the last load projects a contact-centre queue or back-office process "
         "of the vendor to miss its contract level at the forecast volume.",
         "rule, vendor, queue or process and the month the miss would begin"),
    Rule("credits_due", "Service credits due",
         "Missed critical levels earn the hospital a service credit for the latest complete month (capped at the "
         "vendor's amount at risk, opsdash.toml [at_risk]; as a percentage when no amount is set).",
         "rule, vendor and month"),
    Rule("data_stale", "Data stale beyond its cadence",
         "A vendor's data of a table has waited longer than its usual cadence plus grace_days: its exports have "
         "stopped arriving. The cadence is the median gap between the days its loads came over the last "
         "history_days, counted from its last load (with fewer than three loads, the gap between the days its "
         "rows cover, counted from its latest event).",
         "rule, vendor, table and the day of its latest event (a feed that resumes and stops again is raised "
         "again)",
         params={"grace_days": 7, "history_days": 90},
         param_words={"grace_days": "days beyond the usual cadence before the data counts as stale (the "
                                    "Overview's stale-data warning uses the same 7)",
                       "history_days": "days of the vendor's data the cadence is measured over"}),
    Rule("load_rejects", "Load with many rejected rows",
         "A load finished in the last lookback_days rejected more than reject_rate of the rows it read.",
         "rule and load",
         audience="admin",
         params={"reject_rate": 0.01, "lookback_days": 7},
         param_words={"reject_rate": "share of the rows read that may be rejected before it is an alert",
                      "lookback_days": "how recent a load must be to be raised (older ones are history)"}),
)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def with_params(overrides: Mapping[str, Mapping[str, float]]) -> tuple[Rule, ...]:
    """The rules with opsdash.toml's [alerts.<rule>] values in place of their defaults (checked by settings)."""
    out = []
    for r in RULES:
        given = overrides.get(r.id, {})
        out.append(Rule(r.id, r.label, r.fires, r.key, r.audience, {**r.params, **given}, r.param_words))
    return tuple(out)
