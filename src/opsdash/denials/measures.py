"""How a denial-risk score is judged, on claims whose first decision is known (pure numpy).

Each measure is the textbook one; tests compare them with scikit-learn's on the same claims.
- AUROC: the chance a denied claim is scored above a paid one (ties count half).
- AUPRC (average precision): the precision met at each denied claim, down the ranked list, averaged.
- Brier score: the mean squared gap between the score and what happened (0 or 1); lower is better.
- Reliability: in bins of the score, the mean score against the share denied, with the number of claims.
- Calibration slope and intercept: a logistic regression of the outcome on the score's log-odds. A calibrated
  score has slope 1 and intercept 0; a slope below 1 means over-confident scores (too extreme).
- At capacity: if a team can work `capacity` claims a day before they go out, taking each day's highest
  scores, the share of them that were denied (precision), the share of all denials they catch (recall), and
  the share of the denied dollars they catch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks from 1 (ties share their mean rank)."""
    return pd.Series(x).rank(method="average").to_numpy()


def auroc(score: np.ndarray, denied: np.ndarray) -> float:
    score, denied = np.asarray(score, dtype=float), np.asarray(denied, dtype=bool)
    pos, neg = int(denied.sum()), int((~denied).sum())
    if not pos or not neg:
        return float("nan")
    return float((_ranks(score)[denied].sum() - pos * (pos + 1) / 2) / (pos * neg))


def auprc(score: np.ndarray, denied: np.ndarray) -> float:
    """Average precision: sum over thresholds of (recall gained) x precision, thresholds at distinct scores."""
    score, denied = np.asarray(score, dtype=float), np.asarray(denied, dtype=bool)
    if not denied.any():
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, d = score[order], denied[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the end of each group of tied scores
    tp = np.cumsum(d)[last]
    precision = tp / (last + 1)
    recall = tp / d.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(score: np.ndarray, denied: np.ndarray) -> float:
    return float(np.mean((np.asarray(score, dtype=float) - np.asarray(denied, dtype=float)) ** 2))


def reliability(score: np.ndarray, denied: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per bin of claims of equal count (by score): mean score, share denied, claims. Equal counts keep every
    bin's share comparably certain where scores crowd near 0."""
    score, denied = np.asarray(score, dtype=float), np.asarray(denied, dtype=bool)
    order = np.argsort(score, kind="mergesort")
    groups = np.array_split(order, min(bins, len(order)))
    return pd.DataFrame({
        "mean_score": [float(score[g].mean()) for g in groups],
        "share_denied": [float(denied[g].mean()) for g in groups],
        "claims": [len(g) for g in groups],
    })


def calibration(score: np.ndarray, denied: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic regression of the outcome on logit(score) (Newton's method)."""
    p = np.clip(np.asarray(score, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(denied, dtype=float)
    x = np.column_stack([np.ones_like(p), np.log(p / (1 - p))])
    beta = np.zeros(2)
    for _ in range(50):
        mu = 1 / (1 + np.exp(-(x @ beta)))
        w = mu * (1 - mu)
        step = np.linalg.solve(x.T @ (x * w[:, None]) + 1e-9 * np.eye(2), x.T @ (y - mu))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[1]), float(beta[0])


@dataclass(frozen=True)
class AtCapacity:
    capacity: float  # claims a day the team can work
    worked: int  # claims taken, over all days
    precision: float  # of the claims taken, the share denied
    recall: float  # of all denied claims, the share taken
    value_caught: float  # of the denied dollars, the share taken


def at_capacity(score: np.ndarray, denied: np.ndarray, day: np.ndarray, capacity: float,
                amount: np.ndarray | None = None) -> AtCapacity:
    """Each day, the `capacity` highest-scored claims of that day are worked (a fractional capacity is met on
    average: the day's count is rounded, alternating by the running remainder)."""
    score, denied = np.asarray(score, dtype=float), np.asarray(denied, dtype=bool)
    amount = np.ones(score.size) if amount is None else np.nan_to_num(np.asarray(amount, dtype=float))
    frame = pd.DataFrame({"day": np.asarray(day), "score": score, "i": np.arange(score.size)})
    frame = frame.sort_values(["day", "score", "i"], ascending=[True, False, True])
    rank = frame.groupby("day").cumcount().to_numpy()
    days = frame["day"].drop_duplicates().to_numpy()
    quota = np.floor(np.arange(1, len(days) + 1) * capacity) - np.floor(np.arange(len(days)) * capacity)
    take = rank < pd.Series(quota, index=days).reindex(frame["day"]).to_numpy()
    chosen = frame["i"].to_numpy()[take]
    hits = denied[chosen]
    denied_value = float(amount[denied].sum())
    return AtCapacity(
        capacity=float(capacity), worked=int(chosen.size),
        precision=float(hits.mean()) if chosen.size else float("nan"),
        recall=float(hits.sum() / denied.sum()) if denied.any() else float("nan"),
        value_caught=float(amount[chosen][hits].sum() / denied_value) if denied_value > 0 else float("nan"))


@dataclass(frozen=True)
class Judged:
    """Every measure of one score on one set of claims."""

    claims: int
    denied: int
    auroc: float
    auprc: float
    brier: float
    slope: float
    intercept: float
    mean_score: float
    share_denied: float
    at_capacity: AtCapacity
    reliability: pd.DataFrame


def judge(score: np.ndarray, denied: np.ndarray, day: np.ndarray, capacity: float,
          amount: np.ndarray | None = None, bins: int = 10) -> Judged:
    score, denied = np.asarray(score, dtype=float), np.asarray(denied, dtype=bool)
    slope, intercept = calibration(score, denied)
    return Judged(
        claims=int(score.size), denied=int(denied.sum()), auroc=auroc(score, denied), auprc=auprc(score, denied),
        brier=brier(score, denied), slope=slope, intercept=intercept, mean_score=float(score.mean()),
        share_denied=float(denied.mean()), at_capacity=at_capacity(score, denied, day, capacity, amount),
        reliability=reliability(score, denied, bins))
