"""Curriculum rules of the sequence tasks (lprnn_brian.training.curriculum) and their seed streams
(lprnn_brian.tasks.seeds) on synthetic stage outcomes.

Oracle: the rules of docs/method.md#temporal-adding, docs/method.md#temporal-copying (the 2019
``add_task_curriculum.py`` / ``copy_task_curriculum.py``), typed out here as explicit cases and as a small
re-implementation of the lr schedule.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.errors import UserInputError
from lprnn_brian.tasks import copying
from lprnn_brian.tasks.seeds import int_seed, rng_for
from lprnn_brian.training.curriculum import (CurriculumState, adding_decision, copying_decision, load_checkpoint,
                                             save_checkpoint)

ADD = dict(start_lr=0.01)


def test_adding_pass_advances_and_resets_lr():
    d = adding_decision(10, 0.0025, 0.009, **ADD)
    assert (d.action, d.length, d.lr, d.passed) == ("advance", 20, 0.01, True)
    assert adding_decision(100, 0.01, 0.001, **ADD).length == 120
    assert adding_decision(20_000, 0.01, 0.001, **ADD).length == 22_000


def test_adding_failure_halves_lr_then_advances_or_stops():
    """MSE ≥ 0.01: lr halves; once below 1e-4, L advances if MSE < 0.16 (not passed), else training stops."""
    d = adding_decision(30, 0.01, 0.05, **ADD)
    assert (d.action, d.length, d.lr, d.passed) == ("retry", 30, 0.005, False)
    d = adding_decision(30, 1.5e-4, 0.05, **ADD)  # lr → 7.5e-5 < 1e-4, better than chance
    assert (d.action, d.length, d.lr, d.passed) == ("advance", 40, 0.01, False)
    d = adding_decision(30, 1.5e-4, 0.17, **ADD)  # at chance (k/12 = 0.167)
    assert d.action == "stop"
    assert adding_decision(30, 1.5e-4, float("nan"), **ADD).action == "stop"
    assert adding_decision(30, 0.01, float("nan"), **ADD).action == "retry"


def test_adding_failures_from_the_paper_lr_give_seven_attempts():
    """From lr 0.01 a length that never passes is tried at 0.01/2^k for k = 0…6 (the 7th halving gives
    7.8e-5 < 1e-4): 7 stages, then advance (MSE < 0.16) or stop."""
    lr, attempts = 0.01, 0
    while True:
        attempts += 1
        d = adding_decision(50, lr, 0.5, **ADD)
        if d.action != "retry":
            break
        lr = d.lr
    assert attempts == 7 and d.action == "stop"
    assert 0.01 / 2**6 >= 1e-4 > 0.01 / 2**7


def test_adding_max_length():
    """The length is capped at L_max, and a pass at L_max finishes the curriculum."""
    d = adding_decision(45, 0.01, 0.001, max_length=50, **ADD)
    assert (d.action, d.length) == ("advance", 50)
    d = adding_decision(50, 0.01, 0.001, max_length=50, **ADD)
    assert (d.action, d.length, d.passed) == ("finish", 50, True)


COPY = dict(start_lr=0.01)


def test_copying_pass_advances_delay():
    d = copying_decision(3, 8, 0.005, 0.97, **COPY)
    assert (d.action, d.length, d.n_recall, d.lr, d.passed) == ("advance", 4, 8, 0.01, True)
    assert [copying_decision(t, 8, 0.01, 1.0, **COPY).length for t in (3, 10, 60)] == [4, 12, 68]
    assert copying_decision(3, 8, 0.01, 0.96, **COPY).passed  # ≥ 0.96 passes


def test_copying_beyond_max_delay_grows_recall_then_finishes():
    """T_max = 200: a pass at T = 198 (next 206) keeps T = 200 and grows S by max(1, min(3, ⌊S/3⌋));
    beyond S_max the curriculum finishes."""
    d = copying_decision(198, 8, 0.01, 0.99, **COPY)
    assert (d.action, d.length, d.n_recall) == ("advance", 200, 10)
    assert copying.next_recall(2) == 3 and copying.next_recall(20) == 23
    d = copying_decision(200, 10, 0.01, 0.99, max_recall=13, **COPY)
    assert (d.action, d.length, d.n_recall) == ("advance", 200, 13)
    d = copying_decision(200, 10, 0.01, 0.99, max_recall=12, **COPY)  # S would be 13 > 12
    assert d.action == "finish" and d.passed and d.length == 200


def test_copying_failure_halves_lr_until_1e6():
    """Below 0.96 lr halves while lr > 1e-6; a failure at lr ≤ 1e-6 stops. From 0.01: 0.01/2^13 ≈ 1.2e-6 still
    halves, 0.01/2^14 ≈ 6.1e-7 stops: 15 attempts."""
    lr, attempts = 0.01, 0
    while True:
        attempts += 1
        d = copying_decision(20, 8, lr, 0.5, **COPY)
        if d.action != "retry":
            break
        assert d.length == 20 and d.lr == lr / 2
        lr = d.lr
    assert attempts == 15 and d.action == "stop" and not d.passed
    assert copying_decision(20, 8, 0.01, float("nan"), **COPY).action == "retry"


def test_seed_streams_are_distinct_and_reproducible():
    a = rng_for(0, "adding", "train", 3).random(4)
    np.testing.assert_array_equal(a, rng_for(0, "adding", "train", 3).random(4))
    for other in (rng_for(0, "adding", "train", 4), rng_for(1, "adding", "train", 3),
                  rng_for(0, "copying", "train", 3), rng_for(0, "adding", "test", 3)):
        assert not np.array_equal(a, other.random(4))
    s = int_seed(0, "adding", "shuffle", 1)
    assert 0 <= s < 2**63 and s == int_seed(0, "adding", "shuffle", 1)
    with pytest.raises(ValueError):
        rng_for(0, "parity", "train")


def _model() -> LpRNNModel:
    rng = np.random.default_rng(0)
    return LpRNNModel([Layer("lprnn_1", "lprnn", rng.normal(size=(4, 2)), rng.normal(size=4),
                             U=rng.normal(size=(4, 4)), retention=np.linspace(0.1, 0.9, 4)),
                       Layer("output", "dense", rng.normal(size=(1, 4)), rng.normal(size=1))])


def test_checkpoint_round_trip(tmp_path):
    """State (NaN metrics included), configuration and both models come back exactly; the file is replaced
    atomically (no temporary left)."""
    st = CurriculumState("adding", 3, 30, None, 0.005, 20, None, False, "", [{"length": 10, "x": float("nan")}], 1.5)
    cur, sol = _model(), _model()
    sol.layers[0].W[0, 0] = 9.0
    p = tmp_path / "ck.npz"
    save_checkpoint(p, st, {"seed": 0}, cur, None)
    save_checkpoint(p, st, {"seed": 0}, cur, sol)
    st2, cfg, cur2, sol2 = load_checkpoint(p)
    assert st2.to_dict().keys() == st.to_dict().keys() and st2.stage == 3 and st2.longest_solved == 20
    assert math.isnan(st2.history[0]["x"])
    assert cfg == {"seed": 0} and cur2.equals(cur) and sol2.equals(sol)
    assert [q.name for q in tmp_path.iterdir()] == ["ck.npz"]


def test_foreign_file_is_not_a_checkpoint(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, meta=np.array('{"format": "something"}'))
    with pytest.raises(UserInputError, match="not a curriculum checkpoint"):
        load_checkpoint(p)
