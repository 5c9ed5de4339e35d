"""Adding and copying generators (docs/method.md#temporal-adding, docs/method.md#temporal-copying; decisions D2–D5 in
docs/decisions.md) against direct definitions."""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.errors import UserInputError
from lprnn_brian.tasks import adding, copying


def test_adding_target_is_the_masked_sum():
    """Oracle: a per-sequence loop over the marked positions (exact up to float32 rounding of the sum)."""
    d = adding.adding_data(200, 37, max_entries=5, rng=1)
    assert d.x.shape == (200, 37, 2) and d.x.dtype == np.float32
    for xi, yi, ki in zip(d.x, d.y, d.k):
        marked = np.flatnonzero(xi[:, 1] == 1.0)
        assert len(marked) == ki  # k distinct positions
        assert yi == pytest.approx(float(np.sum(xi[marked, 0].astype(np.float64))), rel=1e-6)
    assert np.all((d.x[..., 0] >= 0) & (d.x[..., 0] < 1))
    assert set(np.unique(d.x[..., 1])) <= {0.0, 1.0}


def test_adding_entries_inclusive():
    """Decision D4 in docs/decisions.md: k is uniform on [min, max] with both ends reachable (the 2019 code
    excluded max)."""
    k = adding.adding_data(3000, 20, min_entries=2, max_entries=9, rng=2).k
    assert k.min() == 2 and k.max() == 9
    counts = np.bincount(k, minlength=10)[2:]
    assert counts.min() > 3000 / 8 * 0.7  # every value drawn about 375 times
    assert np.all(adding.adding_data(50, 10, rng=0).k == 2)  # default: the classic two entries


@pytest.mark.parametrize("k", [2, 4])
def test_adding_chance_mse(k):
    """Predicting the mean k/2 gives MSE = k/12 (docs/method.md#what-the-tests-check). n = 40,000 → relative standard
    error of the estimate ≈ 0.6 %; tolerance 5 %."""
    d = adding.adding_data(40_000, 30, min_entries=k, max_entries=k, rng=3)
    mse = float(np.mean((d.y.astype(np.float64) - k / 2) ** 2))
    assert mse == pytest.approx(adding.chance_mse(k), rel=0.05)


def test_adding_is_seeded_and_checks_input():
    a, b = adding.adding_data(5, 12, rng=7), adding.adding_data(5, 12, rng=7)
    np.testing.assert_array_equal(a.x, b.x)
    with pytest.raises(UserInputError):
        adding.adding_data(5, 3, max_entries=4)
    with pytest.raises(UserInputError):
        adding.adding_data(5, 10, min_entries=3, max_entries=2)


def test_adding_curriculum_rule():
    """L += max(10, min(2000, round(L/5))) (docs/method.md#temporal-adding)."""
    assert adding.next_length(10) == 20
    assert adding.next_length(100) == 120
    assert adding.next_length(20_000) == 22_000


def test_copying_layout():
    """Symbols at 0…S−1, blanks, delimiter at S+T, blanks; targets repeat the symbols on the recall window
    S+T…T+2S−1 and are blank elsewhere; weights mark exactly the recall window."""
    T, S, K = 10, 8, 7
    d = copying.copying_data(50, T, n_recall=S, n_symbols=K, rng=4)
    inputs = d.x.argmax(axis=-1)
    assert d.x.shape == (50, T + 2 * S, K + 2) and np.all(d.x.sum(axis=-1) == 1)
    assert np.all((inputs[:, :S] >= 1) & (inputs[:, :S] <= K))
    assert np.all(inputs[:, S:S + T] == 0) and np.all(inputs[:, S + T] == K + 1) and np.all(inputs[:, S + T + 1:] == 0)
    np.testing.assert_array_equal(d.y[:, S + T:], inputs[:, :S])
    assert np.all(d.y[:, :S + T] == 0)
    np.testing.assert_array_equal(d.weights[0], (np.arange(T + 2 * S) >= S + T).astype(np.float32))


def test_all_blank_output_fails_recall_but_passes_the_original_criterion_late():
    """docs/method.md#temporal-copying (derived): all-blank scores (T+S)/(T+2S) over all steps — ≥ 0.96 from T = 23·S =
    184 — and 0 on the recall window; a perfect output scores 1 on both."""
    S = 8
    for T, passes in ((183, False), (184, True)):
        d = copying.copying_data(20, T, n_recall=S, rng=5)
        blank = np.zeros_like(d.y)
        acc = copying.all_step_accuracy(blank, d)
        assert acc == pytest.approx(copying.all_blank_all_step_accuracy(T, S))
        assert (acc >= copying.PASS_ACCURACY) is passes
        assert copying.recall_accuracy(blank, d) == 0.0
        assert copying.recall_accuracy(d.y, d) == 1.0 and copying.all_step_accuracy(d.y, d) == 1.0


def test_copying_curriculum_rule_and_errors():
    """T += max(1, min(8, ⌊T/5⌋)) (docs/method.md#temporal-copying)."""
    assert [copying.next_delay(t) for t in (3, 10, 60)] == [4, 12, 68]
    with pytest.raises(UserInputError):
        copying.copying_data(3, 0)
