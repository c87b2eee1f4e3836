"""Erlang C and Erlang A (issue 14, item 3) against hand-worked textbook values, a second implementation
(pyworkforce) and a discrete-event simulation (simpy)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
import simpy
from pyworkforce.queuing import ErlangC

from opsdash.capacity import erlang

HALF_HOUR = 1800


def _erlang_c_exact(n: int, a: Fraction) -> Fraction:
    """Erlang C from its textbook definition in exact rational arithmetic (no recursion, no floating point):
    (A^n / n! . n / (n - A)) / (sum_{k<n} A^k / k! + A^n / n! . n / (n - A))."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_c_equals_the_textbook_example():
    """The worked example of callcentrehelper.com's "Erlang C formula made simple": 100 calls in 30 minutes,
    3-minute handle time (10 Erlangs), 80% answered in 20 s. Published: probability of waiting 68.21%, 44.94%
    and 28.53% with 11, 12 and 13 agents; service level 79.6% with 13 and 88.8% with 14, so 14 agents."""
    a = erlang.offered_load(100, HALF_HOUR, 180)
    assert float(a) == 10.0
    assert np.round(erlang.erlang_c([11, 12, 13], a), 4).tolist() == [0.6821, 0.4494, 0.2853]
    assert np.round(erlang.service_level_c([13, 14], a, 180, 20), 3).tolist() == [0.796, 0.888]
    assert int(erlang.required_agents_c(a, 180, 20, 0.8)) == 14
    # ASA with 14 agents: C . AHT / (n - A) = 0.1741 . 180 / 4
    assert float(erlang.asa_c(14, a, 180)) == pytest.approx(0.174130 * 180 / 4, rel=1e-4)


@pytest.mark.parametrize("a", [Fraction(1, 2), Fraction(3), Fraction(37, 4), Fraction(10), Fraction(83, 2)])
def test_erlang_c_equals_exact_rational_arithmetic(a):
    for n in range(math.floor(a) + 1, math.floor(a) + 12):
        assert float(erlang.erlang_c(n, float(a))) == pytest.approx(float(_erlang_c_exact(n, a)), rel=1e-12)
    # at or under the load the queue never empties: everyone waits, nobody within the threshold
    assert float(erlang.erlang_c(math.floor(a), float(a))) == 1.0
    assert float(erlang.service_level_c(math.floor(a), float(a), 300, 20)) == 0.0


GRID = [(calls, aht, asa) for calls in (5, 37, 100, 480, 1500) for aht in (120, 300, 600) for asa in (10, 20, 60)]


@pytest.mark.parametrize("calls, aht, asa", GRID)
def test_erlang_c_agrees_with_pyworkforce(calls, aht, asa):
    """pyworkforce's ErlangC (minutes, its own inverse recursion) gives the same service level for every
    staffing level, and required agents within one (it starts its search at round(A + 1), so it can only be
    above the fewest); ours is the fewest that reach the target."""
    theirs = ErlangC(transactions=calls, aht=aht / 60, asa=asa / 60, interval=30)
    a = erlang.offered_load(calls, HALF_HOUR, aht)
    ns = np.arange(math.floor(a) + 1, math.floor(a) + 15)
    ours = erlang.service_level_c(ns, a, aht, asa)
    assert ours == pytest.approx([theirs.service_level(int(n)) for n in ns], abs=1e-9)
    for target in (0.7, 0.8, 0.9):
        n = int(erlang.required_agents_c(a, aht, asa, target))
        assert 0 <= theirs.required_positions(target)["raw_positions"] - n <= 1
        assert float(erlang.service_level_c(n, a, aht, asa)) >= target
        assert n - 1 <= a or float(erlang.service_level_c(n - 1, a, aht, asa)) < target


def test_required_agents_c_for_many_intervals_at_once_equals_one_at_a_time():
    rng = np.random.default_rng(14)
    calls = rng.integers(0, 400, 200).astype(float)
    aht = rng.uniform(60, 900, 200)
    together = erlang.required_agents_c(erlang.offered_load(calls, HALF_HOUR, aht), aht, 30, 0.8)
    alone = [int(erlang.required_agents_c(erlang.offered_load(c, HALF_HOUR, h), h, 30, 0.8)) for c, h in zip(calls, aht)]
    assert together.tolist() == alone
    assert together[calls == 0].tolist() == [0] * int((calls == 0).sum())


def test_erlang_a_on_a_hand_worked_queue():
    """One agent, callers arriving at rate 1, served at rate 1 and hanging up at rate 1: the chain's death rate
    in state j is j, so the stationary law is Poisson(1): P(wait) = 1 - e^-1; abandons theta E[queue] / lambda =
    E[J] - P(J >= 1) = e^-1; the agent is busy 1 - e^-1 of the time."""
    r = erlang.erlang_a(1, 1800, 1800, 1.0, 1.0, 0.0)
    assert float(r.p_wait) == pytest.approx(1 - math.exp(-1), abs=1e-12)
    assert float(r.p_abandon) == pytest.approx(math.exp(-1), abs=1e-12)
    assert float(r.occupancy) == pytest.approx(1 - math.exp(-1), abs=1e-12)
    # threshold 0: answered at once is finding the agent free
    assert float(r.p_answered_within) == pytest.approx(math.exp(-1), abs=1e-12)


def test_erlang_a_tends_to_erlang_c_as_patience_grows_and_keeps_littles_law():
    a = erlang.offered_load(100, HALF_HOUR, 180)
    ns = np.array([11, 12, 13, 14, 16])
    r = erlang.erlang_a(ns, 100, HALF_HOUR, 180, 1e8, 20)  # abandons ~ E[W] / patience: about 1e-6
    assert r.service_level == pytest.approx(erlang.service_level_c(ns, a, 180, 20), abs=1e-5)
    assert r.p_wait == pytest.approx(erlang.erlang_c(ns, a), abs=1e-5)
    # under the load with patience of years the queue would need millions of states: refused, Erlang C named
    with pytest.raises(ValueError, match="use Erlang C"):
        erlang.erlang_a(5, 100, HALF_HOUR, 180, 1e10, 20)
    r = erlang.erlang_a(ns, 100, HALF_HOUR, 180, 90, 20, 5)
    # an abandon rate theta over the mean queue, by Little's law: P(abandon) = theta E[Q] / lambda = E[W] / patience
    assert r.p_abandon == pytest.approx(r.mean_wait_s / 90, rel=1e-9)
    # every answered call is an agent's handle time: occupancy = lambda (1 - P(abandon)) AHT / n
    assert r.occupancy == pytest.approx(100 / HALF_HOUR * (1 - r.p_abandon) * 180 / ns, rel=1e-9)


def _simulate(n: int, calls: float, aht: float, patience: float, threshold: float, short: float,
              seed: int, callers: int = 120_000) -> dict[str, float]:
    """M/M/n+M by discrete-event simulation (simpy): Poisson arrivals, exponential handle times and patience,
    first come first served. The first tenth of the callers warm the queue up and are not counted."""
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=n)
    rnd = random.Random(seed)
    rate = calls / HALF_HOUR
    tally = {"offered": 0, "waited": 0, "abandoned": 0, "short": 0, "within": 0}
    warm = callers // 10

    def caller(i: int):
        arrived = env.now
        with agents.request() as req:
            patience_left = env.timeout(rnd.expovariate(1 / patience))
            got = yield req | patience_left
            if i < warm:
                if req in got:
                    yield env.timeout(rnd.expovariate(1 / aht))
                return
            tally["offered"] += 1
            waited = env.now - arrived
            tally["waited"] += waited > 0
            if req not in got:
                tally["abandoned"] += 1
                tally["short"] += waited <= short
                return
            tally["within"] += waited <= threshold
            yield env.timeout(rnd.expovariate(1 / aht))

    def arrivals():
        for i in range(callers):
            yield env.timeout(rnd.expovariate(rate))
            env.process(caller(i))

    env.process(arrivals())
    env.run()
    kept = tally["offered"] - tally["short"]
    return {"p_wait": tally["waited"] / tally["offered"], "p_abandon": tally["abandoned"] / tally["offered"],
            "p_short_abandon": tally["short"] / tally["offered"],
            "service_level": tally["within"] / kept, "abandonment_rate": (tally["abandoned"] - tally["short"]) / kept}


#: Absolute tolerance between Erlang A and the simulation: 120,000 callers give a binomial standard error
#: under 0.0015 on each share; queues are correlated in time, which widens it several-fold.
SIM_TOLERANCE = 0.012


@pytest.mark.parametrize("n, calls, aht, patience", [
    (12, 100, 180, 120),  # the textbook load, impatient callers
    (8, 100, 180, 120),   # under-staffed: the queue is held only by callers hanging up
    (30, 300, 150, 300),  # a larger queue, patient callers
    (3, 20, 240, 60),     # a small night queue
])
def test_erlang_a_agrees_with_a_simulation(n, calls, aht, patience):
    model = erlang.erlang_a(n, calls, HALF_HOUR, aht, patience, 20, 5)
    sim = _simulate(n, calls, aht, patience, 20, 5, seed=n * 1000 + calls)
    for key in ("p_wait", "p_abandon", "service_level", "abandonment_rate"):
        assert float(getattr(model, key)) == pytest.approx(sim[key], abs=SIM_TOLERANCE), key
    # short abandons are a few in a hundred: held to a tenth of their share, or 0.002
    assert float(model.p_short_abandon) == pytest.approx(sim["p_short_abandon"], rel=0.1, abs=0.002)


def test_required_agents_a_is_the_fewest_that_reach_the_target():
    rng = np.random.default_rng(3)
    calls = np.concatenate([[1, 2, 3, 6], rng.integers(0, 600, 60)]).astype(float)  # one agent is enough at first
    aht = rng.uniform(90, 600, 64)
    patience = rng.uniform(30, 400, 64)
    for target in (0.6, 0.8, 0.9):
        n = erlang.required_agents_a(calls, HALF_HOUR, aht, patience, 30, target, 5)
        assert (n[calls == 0] == 0).all()
        live = calls > 0
        at = erlang.erlang_a(n[live], calls[live], HALF_HOUR, aht[live], patience[live], 30, 5).service_level
        below = erlang.erlang_a(n[live] - 1, calls[live], HALF_HOUR, aht[live], patience[live], 30, 5).service_level
        assert (at >= target).all() and (below < target).all()


def test_the_incomplete_beta_ladder_equals_scipy():
    """Erlang A's answered-within shares use I_x(k + 1, b) for every k by a recurrence; scipy's betainc is the
    reference, from tiny to large b, x near 0 and near 1."""
    from scipy import special

    x = np.array([1e-9, 0.003, 0.2, 0.5, 0.9, 0.999999])[:, None]
    for b in (0.5, 1.0, 7.25, 120.0, 5e4):
        ladder = erlang._beta_ladder(np.log(x), np.log1p(-x), np.full(x.shape, b), 400)
        k = np.arange(400)[None, :]
        assert ladder == pytest.approx(special.betainc(k + 1, b, x), abs=1e-12), b
        # the ladder one up in b, read off the same terms (the short-abandon shares need both)
        same, up = erlang._beta_ladder(np.log(x), np.log1p(-x), np.full(x.shape, b), 400, and_next=True)
        assert (same == ladder).all()
        assert up == pytest.approx(special.betainc(k + 1, b + 1, x), abs=1e-12), b
    assert (erlang._beta_ladder(np.log(x), np.log1p(-x), np.zeros(x.shape), 5) == 0).all()
    # no agent: b = 0, and one up is I_x(k + 1, 1) = x^(k + 1); mixed rows are each their own case
    b = np.array([0.0, 0.0, 3.5, 0.0, 7.25, 0.0])[:, None]
    same, up = erlang._beta_ladder(np.log(x), np.log1p(-x), b, 50, and_next=True)
    k = np.arange(50)[None, :]
    assert same == pytest.approx(np.where(b > 0, special.betainc(k + 1, np.maximum(b, 1e-300), x), 0), abs=1e-12)
    assert up == pytest.approx(special.betainc(k + 1, b + 1, x), abs=1e-12)


def test_patience_estimated_from_simulated_calls():
    """Exponential patience of mean 150 s behind a queue: total time waited over abandons recovers it."""
    rnd = random.Random(7)
    abandoned, waited = 0, 0.0
    for _ in range(200_000):
        patience, wait_for_agent = rnd.expovariate(1 / 150), rnd.expovariate(1 / 40)
        waited += min(patience, wait_for_agent)
        abandoned += patience < wait_for_agent
    assert erlang.patience_s(abandoned, waited) == pytest.approx(150, rel=0.02)
    assert erlang.patience_s(0, 1200.0) == math.inf


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="target"):
        erlang.required_agents_c(10.0, 180, 20, 1.2)
    with pytest.raises(ValueError, match="patience"):
        erlang.erlang_a(5, 100, HALF_HOUR, 180, 0, 20)
    r = erlang.erlang_a(5, 0, HALF_HOUR, 180, 60, 20)
    assert math.isnan(float(r.service_level))
