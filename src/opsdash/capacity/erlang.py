"""Contact-centre staffing by queueing theory: Erlang C and Erlang A for many intervals at once (pure numpy).

An interval (a half-hour of one queue) is described by the calls offered in it, the average handle time (AHT),
and the agents on the phones. Both models assume calls arrive at random (Poisson) at a steady rate through the
interval and handle times are exponential, as every workforce-management tool does for staffing.

- **Erlang C** (M/M/n): every caller waits as long as it takes. The classic staffing formula: the service
  level is P(wait <= T) = 1 - C(n, A) exp(-(n - A) T / AHT), with A = calls x AHT / interval the offered
  load in Erlangs and C the Erlang C probability of waiting. With n <= A the queue grows without end: the
  service level is 0.
- **Erlang A** (Palm's M/M/n+M): callers also hang up after an exponential patience (mean 1/theta). It never
  blows up, and it says how many hang up. Computed exactly from the birth-death chain's stationary law
  (truncated where the rest weighs less than 1e-12) and, for a caller who finds k others queued ahead, the
  closed forms below (Mandelbaum & Zeltyn's order-statistics argument): with s = n mu / theta and
  p(t) = 1 - exp(-theta t),

      P(answered within t | k ahead) = s / (s + k + 1) * I_p(t)(k + 1, s + 1)
      P(answered at all   | k ahead) = s / (s + k + 1)
      P(waiting  <= t     | k ahead) = 1 - exp(-theta t) (1 - I_p(t)(k + 1, s))

  where I is the regularised incomplete beta function (the time to reach an agent past k others is a sum of
  exponentials with rates n mu + i theta, whose exp(-theta x) is Beta-distributed), computed for every k at
  once by its recurrence in the first argument.

Service level and abandonment are returned as opsdash's KPIs define them (docs/kpis.md): answered within the
threshold over calls answered or abandoned after the short-abandon window, and abandoned after that window over
the same. The patience behind Erlang A is estimated from measured calls by ``patience_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: States of the Erlang A chain beyond which the stationary probability left out is below this.
TAIL = 1e-12
#: Cells (intervals x queue states) of the grids computed at once. Small enough that a block's arrays stay in the
#: processor's cache: on the benchmark's grid 32,768 took a quarter of the time 4 million did (benchmarks/README.md).
CHUNK_CELLS = 32_768
#: Queue states one interval may need (an under-staffed queue of very patient callers grows by (lambda - n mu) /
#: theta): beyond it Erlang A refuses, and Erlang C, the limit of infinite patience, is the model to use.
MAX_STATES = 200_000


def offered_load(calls: np.ndarray | float, interval_s: float, aht_s: np.ndarray | float) -> np.ndarray:
    """Offered load in Erlangs: the agents' worth of work arriving (calls x AHT / interval length)."""
    return np.asarray(calls, dtype=float) * np.asarray(aht_s, dtype=float) / float(interval_s)


def erlang_b(n: np.ndarray | int, a: np.ndarray | float) -> np.ndarray:
    """Erlang B blocking probability B(n, A) by the stable recursion B(k) = A B(k-1) / (k + A B(k-1))."""
    n, a = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=float))
    b = np.ones(n.shape)
    for k in range(1, int(n.max(initial=0)) + 1):
        step = a * b / (k + a * b)
        b = np.where(k <= n, step, b)
    return b


def erlang_c(n: np.ndarray | int, a: np.ndarray | float) -> np.ndarray:
    """Probability that a caller waits, C(n, A) = n B / (n - A (1 - B)); 1 when n <= A (the queue never empties)."""
    n, a = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=float))
    b = erlang_b(n, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1 - b))
    return np.where(n > a, c, 1.0)


def service_level_c(n: np.ndarray | int, a: np.ndarray | float, aht_s: np.ndarray | float,
                    threshold_s: np.ndarray | float) -> np.ndarray:
    """Erlang C: the share of callers answered within the threshold; 0 when n <= A."""
    n, a, aht, t = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=float),
                                       np.asarray(aht_s, dtype=float), np.asarray(threshold_s, dtype=float))
    with np.errstate(over="ignore", invalid="ignore"):
        sl = 1 - erlang_c(n, a) * np.exp(-(n - a) * t / aht)
    return np.where(n > a, np.clip(sl, 0.0, 1.0), 0.0)


def asa_c(n: np.ndarray | int, a: np.ndarray | float, aht_s: np.ndarray | float) -> np.ndarray:
    """Erlang C: the average speed of answer in seconds, C AHT / (n - A); infinite when n <= A."""
    n, a, aht = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=float),
                                    np.asarray(aht_s, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        asa = erlang_c(n, a) * aht / (n - a)
    return np.where(n > a, asa, np.inf)


def required_agents_c(a: np.ndarray | float, aht_s: np.ndarray | float, threshold_s: np.ndarray | float,
                      target: np.ndarray | float) -> np.ndarray:
    """Erlang C: the fewest agents whose service level reaches the target (0 where no call is offered).

    Starts every interval at the first n above the load and adds one agent where the target is still missed,
    carrying Erlang B's recursion forward, so each interval costs its own count of steps.
    """
    a, aht, t, target = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(aht_s, dtype=float),
                                            np.asarray(threshold_s, dtype=float), np.asarray(target, dtype=float))
    if np.any((target <= 0) | (target >= 1)):
        raise ValueError("a service-level target must be between 0 and 1 (exclusive)")
    n = np.floor(a).astype(np.int64) + 1
    b = erlang_b(n, a)
    need = a > 0
    while True:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = n * b / (n - a * (1 - b))
            sl = 1 - c * np.exp(-(n - a) * t / aht)
        short = need & (sl < target)
        if not short.any():
            break
        n = np.where(short, n + 1, n)
        b = np.where(short, a * b / (n + a * b), b)
    return np.where(need, n, 0)


@dataclass(frozen=True)
class ErlangA:
    """What Erlang A expects of each interval (arrays, one value per interval)."""

    p_wait: np.ndarray  # callers who find every agent busy
    p_abandon: np.ndarray  # callers who hang up before an agent answers
    p_short_abandon: np.ndarray  # callers who hang up within the short-abandon window
    p_answered_within: np.ndarray  # callers answered within the answer threshold
    service_level: np.ndarray  # as the KPI: answered within / (offered - short abandons)
    abandonment_rate: np.ndarray  # as the KPI: abandons after the window / (offered - short abandons)
    mean_wait_s: np.ndarray  # mean time in queue of every caller (answered or not), Little's law
    occupancy: np.ndarray  # share of the agents' time spent handling calls


def erlang_a(n: np.ndarray | int, calls: np.ndarray | float, interval_s: float, aht_s: np.ndarray | float,
             patience_s: np.ndarray | float, threshold_s: np.ndarray | float,
             short_abandon_s: np.ndarray | float = 0.0) -> ErlangA:
    """Erlang A (M/M/n+M) for each interval: n agents, `calls` offered in `interval_s` seconds, exponential handle
    times of mean `aht_s` and patience of mean `patience_s`. Intervals with no call get NaN service levels."""
    n, calls, aht, patience, t, t0 = np.broadcast_arrays(
        np.asarray(n, dtype=np.int64), np.asarray(calls, dtype=float), np.asarray(aht_s, dtype=float),
        np.asarray(patience_s, dtype=float), np.asarray(threshold_s, dtype=float),
        np.asarray(short_abandon_s, dtype=float))
    if np.any(n < 0) or np.any(aht <= 0) or np.any(patience <= 0) or np.any(calls < 0):
        raise ValueError("agents and calls must be at least 0, handle time and patience more than 0")
    shape = n.shape
    n, calls, aht, patience, t, t0 = (x.ravel() for x in (n, calls, aht, patience, t, t0))
    lam, mu, theta = calls / float(interval_s), 1 / aht, 1 / patience
    out = {k: np.full(n.shape, np.nan) for k in ("pw", "pab", "psh", "pin", "eq", "busy")}
    # How far the queue can reach: past n, the chain drifts down once n mu + k theta > lambda; beyond that its
    # weights fall faster than Poisson(lambda / theta)'s (w_k <= (lambda / theta)^k / k!), whose mass past nine
    # standard deviations and ten is under TAIL (a Chernoff bound).
    over = np.maximum(lam - n * mu, 0) / theta
    width = np.ceil(over + 9 * np.sqrt(lam / theta) + 10).astype(np.int64)
    live = np.flatnonzero(lam > 0)
    if live.size and width[live].max() > MAX_STATES:
        raise ValueError(f"patience too long for Erlang A here (the queue would need {int(width[live].max()):,} "
                         f"states, more than {MAX_STATES:,}): use Erlang C, whose callers never hang up")
    live = live[np.argsort(width[live], kind="stable")]
    start = 0
    while start < len(live):
        stop = min(len(live), start + max(1, CHUNK_CELLS // int(width[live[start]])))
        while int(width[live[stop - 1]]) * (stop - start) > CHUNK_CELLS and stop - start > 1:
            stop = start + max(1, CHUNK_CELLS // int(width[live[stop - 1]]))
        idx = live[start:stop]
        for key, value in _chain(n[idx], lam[idx], mu[idx], theta[idx], t[idx], t0[idx],
                                 int(width[idx].max())).items():
            out[key][idx] = value
        start = stop
    pw, pab, psh, pin, eq, busy = (out[k] for k in ("pw", "pab", "psh", "pin", "eq", "busy"))
    kept = 1 - psh
    with np.errstate(divide="ignore", invalid="ignore"):
        result = ErlangA(
            p_wait=pw, p_abandon=pab, p_short_abandon=psh, p_answered_within=pin,
            service_level=pin / kept, abandonment_rate=(pab - psh) / kept, mean_wait_s=eq / lam,
            occupancy=np.where(n > 0, busy / np.maximum(n, 1), np.nan))
    return ErlangA(**{k: v.reshape(shape) for k, v in result.__dict__.items()})


def _beta_ladder(log_x: np.ndarray, log_1mx: np.ndarray, b: np.ndarray, width: int,
                 and_next: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """I_x(k + 1, b) for k = 0..width-1 (rows: intervals), by I_x(a + 1, b) = I_x(a, b) - T_a with
    T_a = x^a (1 - x)^b / (a B(a, b)), each T from the one before (T_{a+1} / T_a = x (a + b) / (a + 1)) in logs.
    The subtractions lose relative precision where I is tiny, not absolute precision, which is what the
    weighted sums need. b = 0 (no agent) gives 0.

    With ``and_next``, also I_x(k + 1, b + 1) from the same terms: I_x(a, b + 1) = I_x(a, b) + T_a a / b
    (and x^a where b = 0), a third of the work of a ladder of its own."""
    a = np.arange(1, width + and_next)[None, :]
    log_t1 = log_x + b * log_1mx + np.log(np.where(b > 0, b, 1.0))
    steps = np.concatenate([log_t1, log_x + np.log(a[:, :-1] + b) - np.log(a[:, :-1] + 1)], axis=1)
    with np.errstate(invalid="ignore"):
        terms = np.nan_to_num(np.exp(np.cumsum(steps, axis=1)))  # T_1, T_2, ...
    first = -np.expm1(b * log_1mx)
    ladder = np.concatenate([first, first - np.cumsum(terms[:, :width - 1], axis=1)], axis=1)
    ladder = np.where(b > 0, np.clip(ladder, 0.0, 1.0), 0.0)
    if not and_next:
        return ladder
    with np.errstate(divide="ignore", invalid="ignore"):
        up = ladder + terms * (a / np.where(b > 0, b, 1.0))
    none = b[:, 0] <= 0
    if none.any():  # I_x(a, 1) = x^a
        up[none] = np.exp(a * log_x[none])
    return ladder, np.clip(up, 0.0, 1.0)


def _chain(n: np.ndarray, lam: np.ndarray, mu: np.ndarray, theta: np.ndarray, t: np.ndarray, t0: np.ndarray,
           width: int) -> dict[str, np.ndarray]:
    """The measures Erlang A reads from the M/M/n+M chain's stationary law, for a block of intervals.

    Up to n callers the law is Erlang's: P(J <= n) = pi_n / B(n, A). Past n it is pi_{n+k} = pi_n w_k with
    w_k = prod_{i=1..k} lambda / (n mu + i theta), on a grid of k = 0..width-1 (logs, normalised together)."""
    nn, ll, mm, th = n[:, None], lam[:, None], mu[:, None], theta[:, None]
    a_load = lam / mu
    log_b = np.log(erlang_b(n, a_load))[:, None]
    k = np.arange(width)[None, :]
    with np.errstate(divide="ignore"):  # k = 0 with no agent: log 0, not used
        log_w = np.cumsum(np.where(k > 0, np.log(ll) - np.log(nn * mm + k * th), 0.0), axis=1)
    top = np.maximum(log_w.max(axis=1, keepdims=True), -log_b)
    # Z = sum of pi_j / pi_n: 1 / B for j <= n, then w_k for k >= 1
    log_z = top + np.log(np.exp(-log_b - top) + np.exp(log_w[:, 1:] - top).sum(axis=1, keepdims=True))
    pi_q = np.exp(log_w - log_z)  # pi_{n+k}: a caller who arrives then has k others queued ahead
    pi_n = pi_q[:, 0]
    not_queued = np.exp(-log_b[:, 0] - log_z[:, 0]) - pi_n  # pi_n (1 / B - 1)
    s = nn * mm / th
    answered = s / (s + k + 1)  # reaches an agent before hanging up
    log_1mx_t, log_1mx_t0 = -th * t[:, None], -th * t0[:, None]
    with np.errstate(divide="ignore"):
        log_x_t, log_x_t0 = np.log(-np.expm1(log_1mx_t)), np.log(-np.expm1(log_1mx_t0))
    within = answered * _beta_ladder(log_x_t, log_1mx_t, s + 1, width)
    # gone within t0 = waited at most t0 (answered or hung up) less answered within t0
    ladder_t0, next_t0 = _beta_ladder(log_x_t0, log_1mx_t0, s, width, and_next=True)
    waited_t0 = 1 - np.exp(log_1mx_t0) * (1 - ladder_t0)
    short = np.clip(waited_t0 - answered * next_t0, 0.0, 1.0)
    queued = pi_q.sum(axis=1)
    # busy agents: j pi_j = A pi_{j-1} up to n, so E[min(J, n)] = A P(J < n) - n pi_n + n P(J >= n)
    return {
        "pw": queued,
        "pab": (pi_q * (1 - answered)).sum(axis=1),
        "psh": (pi_q * short).sum(axis=1),
        "pin": not_queued + (pi_q * within).sum(axis=1),
        "eq": (pi_q * k).sum(axis=1),
        "busy": a_load * not_queued - n * pi_n + n * queued,
    }


def required_agents_a(calls: np.ndarray | float, interval_s: float, aht_s: np.ndarray | float,
                      patience_s: np.ndarray | float, threshold_s: np.ndarray | float, target: np.ndarray | float,
                      short_abandon_s: np.ndarray | float = 0.0, max_agents: int = 10_000) -> np.ndarray:
    """Erlang A: the fewest agents whose service level (as the KPI) reaches the target; 0 where no call is
    offered. Bisection on n for every interval at once (the service level rises with n), each step computing
    only the intervals not yet settled."""
    calls, aht, patience, t, target, t0 = np.broadcast_arrays(
        np.asarray(calls, dtype=float), np.asarray(aht_s, dtype=float), np.asarray(patience_s, dtype=float),
        np.asarray(threshold_s, dtype=float), np.asarray(target, dtype=float), np.asarray(short_abandon_s, dtype=float))
    if np.any((target <= 0) | (target >= 1)):
        raise ValueError("a service-level target must be between 0 and 1 (exclusive)")
    a = offered_load(calls, interval_s, aht)
    live = np.flatnonzero(calls > 0)
    result = np.zeros(a.shape, dtype=np.int64)

    def reaches(n: np.ndarray, at: np.ndarray) -> np.ndarray:
        return erlang_a(n, calls[at], interval_s, aht[at], patience[at], t[at], t0[at]).service_level >= target[at]

    # Bracket from Erlang C, whose callers never hang up: its answer usually reaches the target here too, and a
    # fifth fewer usually does not; where either is wrong the bracket widens (doubling, or down to none).
    hi = np.maximum(required_agents_c(a[live], aht[live], t[live], target[live]), 1)
    lo = np.floor(hi * 0.8).astype(np.int64)  # 0 agents answer nobody: 0 always misses
    missed = np.zeros(hi.shape, dtype=bool)  # lo is known to miss
    at = np.arange(hi.size)
    while at.size:
        short = at[~reaches(hi[at], live[at])]
        if short.size and hi[short].max() >= max_agents:
            raise ValueError(f"more than {max_agents} agents would be needed for an interval")
        lo[short], missed[short], hi[short] = hi[short], True, hi[short] * 2
        at = short
    at = np.flatnonzero((lo > 0) & ~missed)
    enough = at[reaches(lo[at], live[at])]
    hi[enough], lo[enough] = lo[enough], 0
    while True:  # lo misses the target (or is 0 agents), hi reaches it
        at = np.flatnonzero(hi - lo > 1)
        if not at.size:
            break
        mid = (lo[at] + hi[at]) // 2
        ok = reaches(mid, live[at])
        hi[at[ok]], lo[at[~ok]] = mid[ok], mid[~ok]
    result[live] = hi
    return result


def patience_s(abandoned: int, total_wait_s: float) -> float:
    """Mean patience in seconds estimated from measured calls, for exponential patience: the time all callers
    spent waiting (answered callers until answered, abandoners until they hung up) over the calls that hung up.
    This is the maximum-likelihood estimate with answered calls as censored patience; infinite with no abandon."""
    if total_wait_s < 0 or abandoned < 0:
        raise ValueError("waits and abandons must be at least 0")
    return float("inf") if abandoned == 0 else total_wait_s / abandoned
