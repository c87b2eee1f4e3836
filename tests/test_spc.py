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
    c = spc.xmr(y, direction="higher")
    assert c["mean"][0] == pytest.approx(3.0)
    assert not c["shift"][6:].any()  # 3 + 3 points below, broken by the point on the mean
    y2 = [5] * 7 + [1] * 7  # mean 3: both runs of 7 flagged
    assert spc.xmr(y2)["shift"].all()


def test_ties_break_trends_and_count_the_first_point():
    assert spc.trend_flags(np.array([1, 2, 3, 4, 5, 6, 7, 7, 8])).tolist() == [T] * 7 + [F, F]
    assert spc.trend_flags(np.array([1, 2, 3, 4, 5, 6]), run=6).tolist() == [T] * 6


def test_run_lengths_are_settings():
    y = [1, 1, 1, 1, 1, 9, 9, 9, 9, 9]
    assert not spc.xmr(y)["shift"].any()
    assert spc.xmr(y, settings=spc.Settings(shift_run=5))["shift"].all()


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
    c = spc.xmr(y, direction="higher")
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
    assert spc.describe(c) == "special cause (concern): 7 points in a row above the mean"
    t = spc.xmr([5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 3.9, 3.8, 3.7, 3.6, 3.5, 3.4, 3.3], direction="higher")
    assert spc.describe(t).startswith("special cause (concern): ")
    assert "8 points in a row each lower than the one before" in spc.describe(t)  # 5, 3.9, ..., 3.3
    assert spc.describe(spc.xmr([1, 2, 1, 2], direction="lower")) == "common cause: within the expected variation"
