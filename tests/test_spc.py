"""SPC: conformance with the NHSRplotthedots R package's tests, plus our own edge cases.

Reference: nhs-r-community/NHSRplotthedots, tests/testthat/test-ptd_calculate_point_type.R,
test-ptd_calculate_assurance_type.R and test-ptd_spc_standard.R (its snapshot). The reference marks only
the 7th point of a run and then back-fills the run; the cases below state the final flags it produces.
Where kpis.md differs from the reference's current code, the case follows kpis.md and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsdash import spc

F, T = False, True
#: For cases built of a few repeated values to exercise a rule: such series are chunky (Wheeler), and xmr
#: would otherwise give them a run chart rather than rules (see the coarse-data tests below).
RULES_ONLY = spc.Settings(screen_coarse=False)


# -- ported: ptd_seven_point_one_side_mean + ptd_part_of_seven_trend (rule 2, shift) -----------------
@pytest.mark.parametrize("side, flags", [
    ([], []),
    ([1] * 6, [F] * 6),
    ([1] * 6 + [-1], [F] * 7),
    ([1] * 8 + [-1], [T] * 8 + [F]),
    ([-1] * 8 + [1], [T] * 8 + [F]),
    ([-1] + [1] * 8 + [-1], [F] + [T] * 8 + [F]),
    ([1] + [-1] * 8 + [1], [F] + [T] * 8 + [F]),
])
def test_nhsr_shift_cases(side, flags):
    assert spc.shift_flags(np.array(side, dtype=float)).tolist() == flags


# -- ported: ptd_seven_point_trend + ptd_part_of_seven_trend (rule 3, trend) ----------------------------
@pytest.mark.parametrize("y, flags", [
    ([], []),
    (list(range(1, 7)), [F] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [F] * 7),  # a tie breaks the run
    (list(range(1, 8)), [T] * 7),
    ([2, *range(1, 8), 3], [F] + [T] * 7 + [F]),
])
def test_nhsr_rising_trend_cases(y, flags):
    assert spc.trend_flags(np.array(y, dtype=float)).tolist() == flags


@pytest.mark.parametrize("y, ours", [
    (list(range(7, 0, -1)), [T] * 7),
    ([2, *range(7, 0, -1), 3], [F] + [T] * 7 + [F]),
])
def test_falling_trends_are_flagged_unlike_the_reference(y, ours):
    """kpis.md: a falling trend is flagged like a rising one. The reference's ptd_seven_point_trend marks the
    7th point with -1, but ptd_part_of_seven_trend back-fills only 1s and ptd_special_cause_flag then sees no
    flag, so its current code never flags falling trends. We follow kpis.md."""
    assert spc.trend_flags(np.array(y, dtype=float)).tolist() == ours


# -- ported: ptd_two_in_three + ptd_part_of_two_in_three (rule 4) -------------------------------------
def _two_in_three(close: list[int]) -> list[bool]:
    """Points all above a mean of 0; 'close' ones sit in the outer third (near limit 2, process limit 3)."""
    y = np.array([2.5 if c else 0.5 for c in close])
    n = len(y)
    return spc.two_in_three_flags(y, np.zeros(n), np.full(n, -2.0), np.full(n, 2.0), np.full(n, -3.0),
                                  np.full(n, 3.0)).tolist()


@pytest.mark.parametrize("close, flags", [
    ([], []),
    ([0, 0, 0], [F, F, F]),
    ([1, 0, 1], [T, F, T]),
    ([0, 1, 1], [F, T, T]),
    ([1, 1, 0], [T, T, F]),
    ([0, 0, 1, 0, 1, 0, 0], [F, F, T, F, T, F, F]),
    ([0, 0, 1, 1, 0, 0, 0], [F, F, T, T, F, F, F]),
    ([1, 0, 0, 1], [F, F, F, F]),
    ([1, 0, 0, 1, 1], [F, F, F, T, T]),
])
def test_nhsr_two_in_three_cases(close, flags):
    assert _two_in_three(close) == flags


def test_nhsr_two_points_near_opposite_limits_are_common_cause():
    """test-ptd_spc_standard.R: 2 successive points close to the limits on opposite sides of the mean."""
    y = [1, -1] * 8
    y[14], y[15] = 5.5, -5.5
    chart = spc.xmr(y, direction="higher")
    assert chart["point_type"].tail(2).tolist() == ["common_cause", "common_cause"]


# -- ported: ptd_calculate_assurance_type ---------------------------------------------------------------
def _limits(lpl, mean, upl):
    return pd.DataFrame({"lpl": [lpl], "mean": [mean], "upl": [upl]})


@pytest.mark.parametrize("direction, expected", [
    ("higher", ["consistently_fail", "consistently_pass", "hit_and_miss"]),
    ("lower", ["consistently_pass", "consistently_fail", "hit_and_miss"]),
    ("neutral", [None, None, None]),
])
def test_nhsr_assurance_cases(direction, expected):
    rows = [(1, 2, 3), (5, 6, 7), (1, 4, 5)]
    assert [spc.assurance(_limits(*r), 4, direction) for r in rows] == expected


def test_nhsr_assurance_without_target_is_none():
    assert spc.assurance(_limits(1, 2, 3), None, "higher") is None


def test_assurance_uses_the_latest_segment():
    """test-ptd_calculate_assurance_type.R 'when rebase': the last group's limits decide."""
    chart = pd.DataFrame({"lpl": [1, 5, 1], "upl": [3, 7, 5]})
    assert spc.assurance(chart, 4, "lower") == "hit_and_miss"
    assert spc.assurance(chart.iloc[[1, 2, 0]], 4, "lower") == "consistently_pass"
    assert spc.assurance(chart.iloc[[2, 0, 1]], 4, "lower") == "consistently_fail"


# -- ported: the ptd_spc_standard snapshot (set.seed(123); rnorm(20)) ----------------------------------
RNORM_123 = [-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
             -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
             -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141]


def test_nhsr_standard_snapshot_limits():
    chart = spc.xmr(RNORM_123, settings=spc.Settings(screen_outliers=True))
    assert round(chart["mean"].iloc[0], 3) == 0.142
    assert round(chart["lpl"].iloc[0], 2) == -3.01
    assert round(chart["upl"].iloc[0], 2) == 3.29


def test_nhsr_screening_narrows_limits_around_an_outlier():
    """test-ptd_spc_standard.R: with y[15] = 10, screened limits differ from both and are narrower."""
    r1 = spc.xmr(RNORM_123, settings=spc.Settings(screen_outliers=True))
    y = list(RNORM_123)
    y[14] = 10
    r2 = spc.xmr(y, settings=spc.Settings(screen_outliers=True))
    r3 = spc.xmr(y, settings=spc.Settings(screen_outliers=False))
    assert len({r1["lpl"][0], r2["lpl"][0], r3["lpl"][0]}) == 3
    assert r3["upl"][0] - r3["lpl"][0] > r2["upl"][0] - r2["lpl"][0]


def test_nhsr_fixing_the_baseline_changes_the_limits():
    """test-ptd_spc_standard.R 'setting fix_after_n_points changes the calculations'."""
    a = spc.xmr(RNORM_123)
    b = spc.xmr(RNORM_123, settings=spc.Settings(baseline=12))
    assert a["lpl"][0] != b["lpl"][0] and a["upl"][0] != b["upl"][0]
    assert b["mean"][0] == pytest.approx(np.mean(RNORM_123[:12]))


# -- our own cases ------------------------------------------------------------------------------------
def test_limits_formula():
    y = [10, 12, 11, 13, 12, 14, 13, 12, 11, 12, 13, 12]
    c = spc.xmr(y)
    mean, amr = np.mean(y), np.mean(np.abs(np.diff(y)))
    assert c["mean"][0] == pytest.approx(mean)
    assert c["upl"][0] == pytest.approx(mean + 2.66 * amr) and c["lpl"][0] == pytest.approx(mean - 2.66 * amr)
    assert c["near_upl"][0] == pytest.approx(mean + 2 / 3 * 2.66 * amr)
    assert not c["trial"].any()


def test_a_point_on_the_mean_breaks_a_shift():
    y = [5, 5, 5, 5, 5, 5] + [1, 1, 1] + [3] + [1, 1, 1]  # mean is 3: the 10th point sits on it
    c = spc.xmr(y, direction="higher", settings=RULES_ONLY)
    assert c["mean"][0] == pytest.approx(3.0)
    assert not c["shift"][6:].any()  # 3 + 3 points below, broken by the point on the mean
    y2 = [5] * 7 + [1] * 7  # mean 3: both runs of 7 flagged
    assert spc.xmr(y2, settings=RULES_ONLY)["shift"].all()


def test_ties_break_trends_and_count_the_first_point():
    assert spc.trend_flags(np.array([1, 2, 3, 4, 5, 6, 7, 7, 8])).tolist() == [T] * 7 + [F, F]
    assert spc.trend_flags(np.array([1, 2, 3, 4, 5, 6]), run=6).tolist() == [T] * 6


def test_run_lengths_are_settings():
    y = [1, 1, 1, 1, 1, 9, 9, 9, 9, 9]
    assert not spc.xmr(y, settings=RULES_ONLY)["shift"].any()
    assert spc.xmr(y, settings=spc.Settings(shift_run=5, screen_coarse=False))["shift"].all()


def test_beyond_limits_is_strict_and_typed_by_direction():
    y = [10] * 5 + [11, 9] * 5 + [30]
    hi = spc.xmr(y, direction="higher")
    lo = spc.xmr(y, direction="lower")
    assert hi["beyond_limits"].iloc[-1] and hi["point_type"].iloc[-1] == "improvement"
    assert lo["point_type"].iloc[-1] == "concern"
    assert spc.xmr(y, direction="neutral")["point_type"].iloc[-1] == "neutral"
    assert spc.variation(hi) == "improvement"


def test_two_in_three_excludes_points_exactly_on_the_process_limit():
    """kpis.md: the outer third excludes the process limit; the reference counts a point on it as close."""
    y = np.array([2.5, 3.0, 0.5])
    n = 3
    flags = spc.two_in_three_flags(y, np.zeros(n), np.full(n, -2.0), np.full(n, 2.0), np.full(n, -3.0), np.full(n, 3.0))
    assert flags.tolist() == [F, F, F]


def test_gaps_are_skipped_not_zero_and_do_not_break_runs_or_moving_ranges():
    """Our choice: a null period is left out; the moving range joins its neighbours, runs carry across it."""
    y = [5.0, 5, 5, None, 5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1]
    c = spc.xmr(y, direction="higher", settings=RULES_ONLY)
    assert pd.isna(c["point_type"][3]) and pd.isna(c["lpl"][3]) and not c["special_cause"][3]
    assert c["mr"][4] == 0  # |5 - 5| across the gap
    assert c["mean"][0] == pytest.approx(np.mean([v for v in y if v is not None]))
    assert c["shift"][[0, 1, 2, 4, 5, 6, 7]].all()  # 7 points above the mean, the gap in between
    assert not c["trial"].any()  # 14 points with values: not trial limits


def test_short_series():
    assert spc.xmr([]).empty
    one = spc.xmr([4.0], direction="higher")
    assert one["mean"][0] == 4 and pd.isna(one["upl"][0]) and one["point_type"][0] == "common_cause"
    assert one["trial"][0]
    two = spc.xmr([4.0, 6.0])
    assert two["mean"][0] == 5 and two["upl"][0] == pytest.approx(5 + 2.66 * 2)
    assert spc.variation(spc.xmr([None, None])) is None


def test_rebase_starts_new_limits_and_runs():
    y = [10, 11, 9, 10, 11, 9, 10, 30, 31, 29, 30, 31, 29, 30]
    c = spc.xmr(y, rebase=[7])
    assert c["segment"].tolist() == [0] * 7 + [1] * 7
    assert c["mean"][0] == pytest.approx(10) and c["mean"][7] == pytest.approx(30)
    assert not c["special_cause"].any()
    assert c["trial"].all()  # 7 points per segment: trial limits
    whole = spc.xmr(y)
    assert whole["shift"].all()


def test_screening_leaves_out_moving_ranges_above_3_267_times_the_mean():
    y = [10, 11, 10, 11, 10, 11, 10, 40, 10, 11, 10, 11]
    mr = np.abs(np.diff(y))
    kept = mr[mr <= 3.267 * mr.mean()]
    c = spc.xmr(y, settings=spc.Settings(screen_outliers=True))
    assert c["upl"][0] == pytest.approx(np.mean(y) + 2.66 * kept.mean())


def test_describe_in_plain_words():
    c = spc.xmr([9, 11, 9, 11, 9, 11, 9, 11, 12.5, 13, 12.5, 13, 12.5, 13, 12.5], direction="lower")
    assert spc.describe(c) == "Special cause: concern (7 points in a row above the mean)"
    t = spc.xmr([5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 3.9, 3.8, 3.7, 3.6, 3.5, 3.4, 3.3], direction="higher")
    assert spc.describe(t).startswith("Special cause: concern (")
    assert "8 points in a row each lower than the one before" in spc.describe(t)  # 5, 3.9, ..., 3.3
    assert spc.describe(spc.xmr([1, 2, 1, 2], direction="lower")) == "Common cause: no significant change"


# -- limits within the possible range ---------------------------------------------------------------
def test_a_rate_s_upper_limit_is_clipped_to_100_percent_and_checked_there():
    y = [0.99, 0.97, 1.0, 0.96, 0.99, 0.98, 1.0, 0.97, 0.99, 0.96, 1.0, 0.98]
    mean, amr = np.mean(y), np.mean(np.abs(np.diff(y)))
    assert mean + 2.66 * amr > 1  # unclipped, the upper limit would be about 103%
    c = spc.xmr(y, direction="higher", bounds=spc.BOUNDS["fraction"])
    assert c["upl"].eq(1.0).all() and c["upl_at_bound"].all()
    assert c["lpl"][0] == pytest.approx(mean - 2.66 * amr) and not c["lpl_at_bound"].any()
    assert c["near_upl"][0] == pytest.approx(min(1.0, mean + 2 / 3 * 2.66 * amr))
    assert not c["beyond_limits"].any()
    unclipped = spc.xmr(y, direction="higher")
    assert unclipped["upl"][0] == pytest.approx(mean + 2.66 * amr)


def test_a_point_on_a_clipped_limit_counts_as_near_it():
    """Two of three points at 100% with the near limit below 100% and the process limit clipped at 100%:
    the points are in the outer third (the true limit lies beyond), so rule 4 flags them."""
    y = [0.93, 0.95] * 5 + [0.94, 1.0, 0.96, 1.0]
    mean, amr = np.mean(y), np.mean(np.abs(np.diff(y)))
    near, upl = mean + 2 / 3 * 2.66 * amr, mean + 2.66 * amr
    assert near < 1.0 < upl and 0.96 > mean  # hand check: 1.0 lies between the near and the process limit
    c = spc.xmr(y, direction="higher", bounds=(0.0, 1.0))
    assert c["upl"].iloc[-1] == 1.0
    assert c["two_in_three"].tolist()[-3:] == [T, F, T]
    assert c["point_type"].iloc[-1] == "improvement"


def test_a_count_s_lower_limit_is_clipped_to_zero():
    y = [2, 0, 3, 0, 1, 4, 0, 2, 1, 0, 3, 0]
    # by hand: mean 16/12 = 1.333, moving ranges sum 26 over 11 = 2.364, lower limit 1.333 - 6.287 < 0
    c = spc.xmr(y, direction="lower", bounds=spc.BOUNDS["count"])
    assert c["mean"][0] == pytest.approx(16 / 12)
    assert c["lpl"].eq(0.0).all() and c["lpl_at_bound"].all()
    assert c["upl"][0] == pytest.approx(16 / 12 + 2.66 * 26 / 11) and not c["upl_at_bound"].any()
    assert spc.BOUNDS["days"] == (0.0, None) and spc.BOUNDS["fraction"] == (0.0, 1.0)


# -- a series too coarse for XmR ------------------------------------------------------------------------
def test_whole_day_medians_after_a_step_get_no_signals():
    """The issue's case: whole-day medians at 4 and 3.5 days, then 23 weeks at exactly 3.0 days, were all
    'improvement'. By hand: the increment is 0.5 day, moving ranges sum 3.0 over 28 = 0.107, the range
    chart's upper limit 3.267 x 0.107 = 0.35: only the range 0 lies within it, so the data are chunky."""
    y = [4, 3.5, 4, 4, 3.5, 4] + [3.0] * 23
    rules = spc.xmr(y, direction="lower", settings=RULES_ONLY)
    assert rules["special_cause"][6:].all() and (rules["point_type"][6:] == "improvement").all()
    d, url = 0.5, 3.267 * 3.0 / 28
    assert spc.increment(np.array(y, dtype=float)) == d and np.floor(url / d) + 1 <= 3
    c = spc.xmr(y, direction="lower")
    assert c["coarse"].all() and not c["special_cause"].any()
    assert (c["point_type"] == "too_coarse").all() and c["lpl"].isna().all() and c["upl"].isna().all()
    assert c["median"][0] == 3.0
    assert spc.variation(c) == "too_coarse" and spc.assurance(c, 3.0, "lower") == "too_coarse"
    assert spc.assurance(c, None, "lower") is None
    assert spc.describe(c).startswith("No SPC reading: too coarse (")


def test_the_chunky_rule_at_its_edge():
    """Alternating 0, 1: every moving range is 1, the range limit 3.267 holds 0, 1, 2, 3 (four values): XmR.
    0, 1, 1, 0, ...: moving ranges 1, 0, 1, 0 average 0.52, the limit 1.69 holds only 0 and 1: too coarse."""
    assert spc.coarseness(np.array([0, 1] * 8, dtype=float)) is None
    assert spc.coarseness(np.array([0, 1, 1, 0] * 4, dtype=float)) is not None
    assert spc.coarseness(np.array([2.0] * 5)) == "every value is the same"
    assert spc.coarseness(np.array([2.0])) is None  # one point: nothing to judge
    assert not spc.xmr(RNORM_123)["coarse"].any()


def test_coarseness_is_judged_per_segment():
    y = [4.0] * 8 + [1.2, 2.9, 2.1, 3.3, 1.8, 2.6, 2.2, 3.0]
    c = spc.xmr(y, direction="lower", rebase=[8])
    assert c["coarse"][:8].all() and not c["coarse"][8:].any()
    assert c["upl"][8] == pytest.approx(np.mean(y[8:]) + 2.66 * np.mean(np.abs(np.diff(y[8:]))))
    assert spc.variation(c) == "common_cause"


# -- rebasing at a known process change -------------------------------------------------------------------
def test_nhsr_rebase_groups_and_limits():
    """test-ptd_spc_standard.R 'it sets the rebase_group field': rebase = 1 at the 11th point gives groups
    0 x 10, 1 x 10; ptd_spc_standard computes mean, screened moving ranges and limits within each group."""
    c = spc.xmr(RNORM_123, rebase=[10], settings=spc.Settings(screen_outliers=True))
    assert c["segment"].tolist() == [0] * 10 + [1] * 10
    for part, rows in ((RNORM_123[:10], slice(0, 10)), (RNORM_123[10:], slice(10, 20))):
        mr = np.abs(np.diff(part))
        amr = mr[mr < 3.267 * mr.mean()].mean()
        assert c["mean"][rows].to_numpy() == pytest.approx(np.mean(part))
        assert c["upl"][rows].to_numpy() == pytest.approx(np.mean(part) + 2.66 * amr)
        assert c["lpl"][rows].to_numpy() == pytest.approx(np.mean(part) - 2.66 * amr)
    assert np.isnan(c["mr"][10])  # no moving range across the rebase


def test_runs_and_trends_do_not_carry_across_a_rebase():
    """By hand: segment 1 = (1, 3) x 4 then 2.2, 2.4, 2.6 (mean 2.109); segment 2 = 2.8, 3.0, 3.2, 3.4 then
    (0, 4) x 4 (mean 2.367). Across the rebase 7 points in a row rise (2.2 ... 3.4) and lie above their own
    segment's mean, but neither segment holds 7 of them."""
    first, second = [1, 3] * 4 + [2.2, 2.4, 2.6], [2.8, 3.0, 3.2, 3.4] + [0, 4] * 4
    y = first + second
    c = spc.xmr(y, direction="higher", rebase=[len(first)])
    assert c["mean"][0] == pytest.approx(23.2 / 11) and c["mean"][11] == pytest.approx(28.4 / 12)
    assert (c["value"][8:15] > c["mean"][8:15]).all()
    assert not c["trend"].any() and not c["shift"].any() and not c["special_cause"].any()
    whole = spc.xmr(y, direction="higher")
    assert whole["trend"][8:15].all()  # one mean across the change: the rising run is a signal
