"""The audit of vendors' own denial predictions: each vendor model's scores judged on the same held-out claims
and months as opsdash's models, against opsdash's baseline on exactly those claims.

A vendor's model is judged on the claims it scored among the held-out months' decided claims, with the same
measures (``measures.judge``) and the same day's work capacity. Verdicts, each from a measured figure:
- **ranking**: beats opsdash's baseline when the 90% interval of its AUROC gain over the baseline on the same
  claims is above 0; worse when below 0; otherwise no better than the baseline;
- **calibration**: calibrated when its calibration slope is within ``SLOPE_OK`` of 1 and its mean score within
  ``MEAN_OK`` (relative) of the share denied; over-confident when the slope is below that band (its scores are too
  extreme); under-confident above it; otherwise it says too high or too low on average;
- **value**: the share of the denied dollars its top scores of each day would have caught at the vendor's work
  capacity (as given, else a tenth of the vendor's claims a day), beside opsdash's model's on the same claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from opsdash.denials import measures
from opsdash.denials.model import BASELINE, BOOSTED, Evaluation, Settings, auroc_gain, capacity_of, denied_of

SLOPE_OK = 0.25
MEAN_OK = 0.2
MIN_DENIALS = 20


@dataclass(frozen=True)
class VendorModel:
    vendor: str
    model: str
    judged: measures.Judged
    baseline: measures.Judged  # opsdash's baseline on the same claims
    opsdash: measures.Judged  # opsdash's boosted model on the same claims
    gain: tuple[float, float]  # 90% interval of its AUROC less the baseline's
    ranking: str  # "better", "no better", "worse"
    calibration: str  # "calibrated", "over-confident", "under-confident", "too high", "too low"
    words: str


def _ranking(gain: tuple[float, float]) -> str:
    return "better" if gain[0] > 0 else "worse" if gain[1] < 0 else "no better"


def _calibration(j: measures.Judged) -> str:
    if j.slope < 1 - SLOPE_OK:
        return "over-confident"
    if j.slope > 1 + SLOPE_OK:
        return "under-confident"
    if j.mean_score > j.share_denied * (1 + MEAN_OK):
        return "too high"
    if j.mean_score < j.share_denied * (1 - MEAN_OK):
        return "too low"
    return "calibrated"


RANK_WORDS = {"better": "ranks denials better than opsdash's baseline",
              "no better": "ranks denials no better than opsdash's baseline",
              "worse": "ranks denials worse than opsdash's baseline"}
#: The verdict of a table's row: the two readings, short.
VERDICT_WORDS = {"better": "Ranks better than the baseline", "no better": "Ranks no better than the baseline",
                 "worse": "Ranks worse than the baseline"}
CALIBRATION_SHORT = {"calibrated": "calibrated", "over-confident": "over-confident",
                     "under-confident": "under-confident", "too high": "too high on average",
                     "too low": "too low on average"}
CALIBRATION_WORDS = {
    "calibrated": "its risk figures match what happened",
    "over-confident": "over-confident: its high scores run above what happens and its low ones below",
    "under-confident": "under-confident: its scores bunch together more than what happens",
    "too high": "its scores run too high on average",
    "too low": "its scores run too low on average",
}


def verdict(m: VendorModel) -> str:
    """The two readings in a table cell: Ranks better than the baseline; over-confident."""
    return f"{VERDICT_WORDS[m.ranking]}; {CALIBRATION_SHORT[m.calibration]}"


def _scored(ev: Evaluation) -> pd.DataFrame:
    test = ev.test
    if "vendor_risk_score" not in test:
        return test.iloc[:0]
    return test[test["vendor_risk_score"].notna()]


def _named(scored: pd.DataFrame) -> pd.Series:
    return scored["vendor_risk_model"].fillna("(unnamed model)")


def unjudged(ev: Evaluation) -> list[tuple[str, str, int]]:
    """(vendor, model, denials) of each vendor model that scored held-out claims but too few denials to be
    judged (fewer than MIN_DENIALS)."""
    scored = _scored(ev)
    return [(str(v), str(m), int(denied_of(part).sum()))
            for (v, m), part in scored.groupby([scored["vendor"], _named(scored)])
            if denied_of(part).sum() < MIN_DENIALS]


def audit(ev: Evaluation, settings: Settings) -> list[VendorModel]:
    """Every vendor model with at least MIN_DENIALS denials among the held-out claims it scored."""
    scored = _scored(ev)
    out = []
    for (vendor, model), part in scored.groupby([scored["vendor"], _named(scored)]):
        denied = denied_of(part)
        if denied.sum() < MIN_DENIALS:
            continue
        day = pd.to_datetime(part["submitted_date"]).dt.date.to_numpy()
        amount = part["billed_amount"].to_numpy(dtype=float)
        theirs = part["vendor_risk_score"].to_numpy(dtype=float)
        cap = ev.given or capacity_of(ev.test[ev.test["vendor"] == vendor], settings)  # the vendor's team's
        judged = measures.judge(theirs, denied, day, cap, amount)
        base = measures.judge(part[f"{BASELINE}_score"].to_numpy(), denied, day, cap, amount)
        ours = measures.judge(part[f"{BOOSTED}_score"].to_numpy(), denied, day, cap, amount)
        gain = auroc_gain(theirs, part[f"{BASELINE}_score"].to_numpy(), denied, settings.bootstrap, settings.seed)
        ranking, calibration = _ranking(gain), _calibration(judged)
        words = (f"{model} {RANK_WORDS[ranking]} (AUROC {judged.auroc:.2f} against {base.auroc:.2f} on the same "
                 f"{judged.claims:,} claims); {CALIBRATION_WORDS[calibration]} (mean score {judged.mean_score:.1%}, "
                 f"{judged.share_denied:.1%} denied; calibration slope {judged.slope:.2f}); working its top "
                 f"{cap:.0f} claims a day would have caught {judged.at_capacity.value_caught:.0%} of the "
                 f"denied dollars, opsdash's model {ours.at_capacity.value_caught:.0%}.")
        out.append(VendorModel(vendor, model, judged, base, ours, gain, ranking, calibration, words))
    return out

