"""Denial-risk benchmark: training on a million claims and scoring a hundred thousand, on this machine.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_denials.py [--scale 22] [--score 100000]

The claims are the generator's (24 months, the sample's two claims vendors, the planted denial mechanism) at
`--scale` times the sample's volume (22: about a million claims). Times, in one run:
  - building the features of every claim (the allow-list);
  - opsdash's training as `opsdash denials train` runs it: the time split, both models fitted before the held-out
    months and judged there (with the bootstrap intervals), then the chosen one fitted again on every decided
    claim;
  - a reference beside it on the same training claims: scikit-learn's logistic regression on one-hot features
    (the usual first model of a denial analyst), fitted and judged on the same held-out claims;
  - scoring `--score` open claims with the trained model, and the same with their reasons.
The mechanism's own AUROC on the held-out claims (the best any model could do) is printed beside each model's.

Targets (issue 15, item 6): training on 1M claims under 60 s; scoring 100k claims under 2 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time

import numpy as np
import pandas as pd

from opsdash.denials import features as feats
from opsdash.denials import measures, model
from opsdash.sample.stories import DENIAL_MECHANISM, Timeline
from opsdash.sample.tables import claims as generated_claims


def timed(fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def logistic_reference(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, float]:
    """One-hot categories and the numbers (missing as the median, with a missing flag), standardised; fitted with
    lbfgs. Returns the held-out scores and the seconds the fit took."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def design(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
        x = feats.frame(frame)
        nums = [f.name for f in feats.FEATURES if f.kind == "number"]
        out = pd.get_dummies(x.drop(columns=nums).astype(str), dtype=float)
        for n in nums:
            out[n] = x[n].fillna(x[n].median())
            out[n + "_missing"] = x[n].isna().astype(float)
        return out.reindex(columns=columns, fill_value=0.0) if columns is not None else out

    xt = design(train)
    scaler = StandardScaler().fit(xt)
    lr = LogisticRegression(max_iter=500)
    _, seconds = timed(lambda: lr.fit(scaler.transform(xt), model.denied_of(train)))
    xs = design(test, list(xt.columns))
    return lr.predict_proba(scaler.transform(xs))[:, 1], seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=22.0)
    ap.add_argument("--score", type=int, default=100_000)
    args = ap.parse_args()
    claims, s_gen = timed(lambda: generated_claims(20261126, Timeline(dt.date(2026, 11, 26), 24), args.scale))
    decided = claims["initial_outcome"].notna()
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
          f"{len(claims):,} claims ({int(decided.sum()):,} decided, "
          f"{int(claims['initial_outcome'].eq('denied').sum()):,} denied), generated in {s_gen:.1f} s")
    rows = []
    _, s = timed(lambda: feats.frame(claims))
    rows.append((f"features of all {len(claims):,} claims", s))
    trained, s = timed(lambda: model.train(claims))
    rows.append(("opsdash training: split, both models fitted and judged, the chosen one refitted", s))
    ev = trained.evaluation
    split = model.split(claims)
    ref_scores, s = timed(lambda: logistic_reference(split.train, ev.test))
    rows.append(("reference: logistic regression on one-hot features (fit and score)", s))
    pool = claims.sample(n=args.score, replace=len(claims) < args.score, random_state=1).reset_index(drop=True)
    x = feats.frame(pool, at=pd.Timestamp("2026-11-26"))
    _, s = timed(lambda: trained.predict(feats.frame(pool, at=pd.Timestamp("2026-11-26"))))
    rows.append((f"scoring {args.score:,} claims (features and risk)", s))
    ref = model.reference_values(feats.frame(claims[decided]))
    _, s = timed(lambda: model.reasons(trained, x, ref))
    rows.append((f"their reasons ({len(feats.FEATURES)} what-ifs a claim)", s))
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    denied = model.denied_of(ev.test)
    bayes = measures.auroc(DENIAL_MECHANISM.probability(ev.test), denied)
    print(f"held out: {len(ev.test):,} claims submitted {ev.cutoff} to {ev.end} (exclusive), {int(denied.sum()):,} "
          f"denied; AUROC: mechanism {bayes:.3f}, opsdash boosted {ev.boosted.auroc:.3f}, baseline "
          f"{ev.baseline.auroc:.3f}, logistic reference {measures.auroc(ref_scores[0], denied):.3f}; "
          f"chosen: {trained.card.chosen}")


if __name__ == "__main__":
    main()
