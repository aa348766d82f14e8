"""Seeds as the unit of analysis: power, minimum detectable effects and seed-resampling CIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emlab.analysis.seeds import compare_seeds, minimum_detectable_effect, seed_means, seeds_for_effect
from emlab.errors import EmlabError


def test_mde_matches_published_power_tables() -> None:
    # G*Power / pwr.t.test: d detectable with 80% power at alpha .05, two-sided
    assert minimum_detectable_effect(1.0, 10) == pytest.approx(0.9962, abs=1e-3)  # paired, n = 10
    assert minimum_detectable_effect(1.0, 10, paired=False) == pytest.approx(1.3249, abs=1e-3)  # 10 per group
    assert minimum_detectable_effect(2.0, 10) == pytest.approx(2 * 0.9962, abs=2e-3)  # in the unit of the SD
    # many seeds: the normal-theory (z_.975 + z_.8) / sqrt(n)
    assert minimum_detectable_effect(1.0, 2000) * np.sqrt(2000) == pytest.approx(2.8016, abs=5e-3)
    assert np.isnan(minimum_detectable_effect(1.0, 1)) and minimum_detectable_effect(0.0, 5) == 0.0


def test_a_t_test_at_the_mde_has_80_percent_power() -> None:
    rng = np.random.default_rng(0)
    n, sd = 8, 0.1
    mde = minimum_detectable_effect(sd, n)
    diffs = rng.normal(mde, sd, size=(20_000, n))
    p = stats.ttest_1samp(diffs, 0.0, axis=1).pvalue
    assert (p < 0.05).mean() == pytest.approx(0.8, abs=0.015)


def test_seeds_for_effect_is_the_first_n_whose_mde_is_small_enough() -> None:
    n = seeds_for_effect(0.12, 0.15)
    assert minimum_detectable_effect(0.12, n) <= 0.15 < minimum_detectable_effect(0.12, n - 1)
    assert seeds_for_effect(0.12, 0.15, paired=False) > n  # unpaired needs more seeds
    assert seeds_for_effect(float("nan"), 0.15) is None


def test_paired_comparison_resamples_seeds() -> None:
    a = {0: 0.50, 1: 0.62, 2: 0.55, 3: 0.58, 4: 0.61}
    b = {0: 0.40, 1: 0.49, 2: 0.47, 3: 0.45, 4: 0.52}
    e = compare_seeds(a, b)
    diffs = np.array([a[s] - b[s] for s in a])
    assert e.effect == pytest.approx(diffs.mean()) and e.sd == pytest.approx(diffs.std(ddof=1))
    assert e.n_seeds == 5 and e.per_seed == pytest.approx({s: a[s] - b[s] for s in a})
    assert diffs.min() <= e.lo < e.effect < e.hi <= diffs.max() and e.significant
    assert e.mde == pytest.approx(minimum_detectable_effect(e.sd, 5))
    # the same values unpaired: the seed-to-seed variation shared by a and b no longer cancels
    u = compare_seeds(a, b, paired=False)
    assert u.effect == pytest.approx(e.effect) and u.mde > e.mde and not u.per_seed


def test_p_value_is_the_t_test_the_mde_assumes() -> None:
    from scipy import stats

    a = {0: 0.50, 1: 0.62, 2: 0.55, 3: 0.58, 4: 0.61}
    b = {0: 0.40, 1: 0.49, 2: 0.47, 3: 0.45, 4: 0.52}
    diffs = [a[s] - b[s] for s in a]
    assert compare_seeds(a, b).p_value == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue)
    pooled = stats.ttest_ind(list(a.values()), list(b.values())).pvalue
    assert compare_seeds(a, b, paired=False).p_value == pytest.approx(pooled)
    assert compare_seeds(a, a).p_value == 1.0  # no difference at all
    assert compare_seeds({0: 0.75, 1: 0.5}, {0: 0.5, 1: 0.25}).p_value == 0.0  # the same shift in every seed
    assert np.isnan(compare_seeds({0: 0.5}, {0: 0.4}).p_value)
    # power check of the pairing: the MDE's test at 10 seeds rejects a true 15-point shift most of the time
    rng = np.random.default_rng(0)
    rejects = [
        compare_seeds(dict(enumerate(rng.normal(0.15, 0.12, 10))), dict.fromkeys(range(10), 0.0), n_boot=10).p_value
        < 0.05
        for _ in range(400)
    ]
    assert 0.75 <= np.mean(rejects) <= 0.95  # MDE(0.12, 10 seeds) ~ 0.13 < 0.15: power a bit above 80%


def test_too_few_or_mismatched_seeds() -> None:
    four = compare_seeds({0: 0.5, 1: 0.6, 2: 0.7, 3: 0.6}, {0: 0.4, 1: 0.45, 2: 0.5, 3: 0.5})
    assert np.isnan(four.lo) and np.isnan(four.hi) and not four.significant  # a 4-seed bootstrap covers <= 87.5%
    assert four.effect == pytest.approx(0.1375) and four.mde > 0
    with pytest.raises(EmlabError, match="same seeds"):
        compare_seeds({0: 0.5, 1: 0.6}, {0: 0.4, 2: 0.45})


def test_expanded_bootstrap_covers_about_95_percent_with_few_seeds() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(300):
        d = rng.normal(0.1, 0.05, size=6)
        e = compare_seeds(
            dict(enumerate(d)), dict.fromkeys(range(6), 0.0), n_boot=2000, rng_seed=int(rng.integers(1e9))
        )
        hits += e.lo <= 0.1 <= e.hi
    assert hits / 300 >= 0.9  # the plain percentile interval covers ~85% at n = 6


def test_seed_means_reduce_each_seed_to_one_number() -> None:
    df = pd.DataFrame({"seed": [0, 0, 0, 1], "score": [0.0, 1.0, None, 0.5]})
    assert seed_means(df, "score") == {0: 0.5, 1: 0.5}
    with pytest.raises(EmlabError, match="no column 'p'"):
        seed_means(df, "p")
