"""Curriculum training of the adding and copying tasks (lprnn_brian.training.sequence) on tiny budgets.

Oracles: the task's chance level (adding MSE k/12 = 0.167), the pass criterion MSE < 0.01
(docs/method.md#temporal-adding), the 1/8 grid of the quantiser (docs/method.md#quantisation-export-and-pruning), the
seeded retention draw a ~ U(0.1, 1) (docs/method.md#the-2019-lprnn-cell), and an uninterrupted run as the oracle of an
interrupted-and-resumed one (bit-identical weights and history).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lprnn_brian.ann.model import load_model
from lprnn_brian.ann.quantise import quantise
from lprnn_brian.errors import UserInputError
from lprnn_brian.evaluate_sequences import evaluate_adding, evaluate_copying
from lprnn_brian.tasks.seeds import rng_for
from lprnn_brian.training.curriculum import load_checkpoint
from lprnn_brian.training.sequence_config import ADDING_QUICK, COPYING_QUICK, AddingConfig, CopyingConfig

torch = pytest.importorskip("torch")

from lprnn_brian.training.sequence import Plateau, train_adding, train_copying  # noqa: E402

#: Adding at L = 10 only (the curriculum finishes when L = 10 passes): 32 units, QAT on the 1/8 grid.
ADD10 = dataclasses.replace(ADDING_QUICK, max_length=10, n_train=1000, n_test=300, epochs=6, lr=3e-3)
#: A few cheap stages for the resume test.
TINY = dataclasses.replace(ADDING_QUICK, units=8, n_train=128, n_test=64, epochs=1, max_length=40)
COPY_TINY = dataclasses.replace(COPYING_QUICK, units=16, n_recall=3, start_delay=2, batch_size=8,
                                batches_per_epoch=20, max_epochs=3, n_test=40, max_delay=4)


@pytest.fixture(scope="module")
def adding10(tmp_path_factory):
    out = tmp_path_factory.mktemp("adding") / "adding.npz"
    res = train_adding(ADD10, out, progress=False, log=None, max_stages=8)
    return res, out


def test_adding_learns_at_length_10(adding10):
    """From chance (k/12 = 0.167) the first stage's test MSE drops below half of chance, and the curriculum solves
    L = 10 (test MSE < 0.01) within 8 stages; the returned model is the solving one and reproduces its test
    MSE through the numpy forward (evaluate_adding, same seeded sequences)."""
    res, _ = adding10
    h = res.history
    assert h[0]["test_mse"] < 0.167 / 2
    assert res.longest_solved == 10 and res.state.finished
    # a stage solves its length on the validation sequences (selection), never on the test ones (report)
    assert all(r["solved"] == (r["validation_mse"] < 0.01) for r in h)
    assert all(r["validation_mse"] != r["test_mse"] for r in h)
    solved = [r for r in h if r["solved"]]
    ev = evaluate_adding(res.model)
    assert ev.length == 10 and ev.mse == pytest.approx(solved[-1]["test_mse"], rel=1e-12) and ev.mse < 0.01
    assert ev.chance_mse == pytest.approx(2 / 12)


def test_adding_model_file_weights_retention_provenance(adding10):
    """The saved file: latent weights whose quantised values lie on the 1/8 grid, one seeded retention per
    unit in [0.1, 1) (float32, the draw of the init stream), n_frames = longest solved length, and the
    curriculum in the provenance (config, seed, torch version, per-stage history)."""
    res, out = adding10
    m = load_model(out)
    assert m.equals(res.model)
    for layer in m.layers:
        for t in layer.tensors().values():
            q = quantise(t, 32, 3)
            np.testing.assert_array_equal(q * 8, np.rint(q * 8))
    a = m.layers[0].retention
    assert a.dtype == np.float32 and a.shape == (32,) and a.min() >= 0.1 and a.max() < 1
    np.testing.assert_array_equal(a, rng_for(0, "adding", "init").uniform(0.1, 1.0, 32).astype(np.float32))
    assert m.n_frames == 10 and m.task == "adding" and m.features["max_entries"] == 2
    p = m.provenance
    assert p["seed"] == 0 and p["torch_version"] == torch.__version__ and p["train_config"] == ADD10.to_dict()
    c = p["curriculum"]
    assert c["longest_solved"] == 10 and len(c["history"]) == c["stages"] == len(res.history)
    assert {"length", "lr", "train_mse", "test_mse", "action", "passed", "solved"} <= set(c["history"][0])


def _strip(history):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in history]


def test_interrupted_run_resumes_to_the_same_state(tmp_path):
    """Stop after 1 stage (checkpoint written), resume to 3 stages: weights, retentions and per-stage history
    equal those of an uninterrupted 3-stage run exactly (wall times aside)."""
    ref = train_adding(TINY, progress=False, log=None, max_stages=3)
    ck = tmp_path / "ck.npz"
    part = train_adding(TINY, checkpoint=ck, progress=False, log=None, max_stages=1)
    assert part.state.stage == 1 and not part.state.finished
    assert load_checkpoint(ck)[0].stage == 1
    lines = []
    done = train_adding(TINY, checkpoint=ck, resume=True, progress=False, log=lines.append, max_stages=3)
    assert "resuming after stage 1" in lines[0]
    assert done.state.stage == 3 and _strip(done.history) == _strip(ref.history)
    for a, b in zip(done.model.layers, ref.model.layers):
        for k, t in a.tensors().items():
            assert t.tobytes() == b.tensors()[k].tobytes(), (a.name, k)
        assert (a.retention is None) == (b.retention is None)
    assert done.model.layers[0].retention.tobytes() == ref.model.layers[0].retention.tobytes()


def test_checkpoint_guards(tmp_path):
    ck = tmp_path / "ck.npz"
    train_adding(TINY, checkpoint=ck, progress=False, log=None, max_stages=1)
    with pytest.raises(UserInputError, match="resume=True"):
        train_adding(TINY, checkpoint=ck, progress=False, log=None, max_stages=1)
    with pytest.raises(UserInputError, match="another configuration"):
        train_adding(dataclasses.replace(TINY, lr=0.5), checkpoint=ck, resume=True, progress=False, log=None)
    with pytest.raises(UserInputError, match="checkpoint"):
        train_adding(TINY, resume=True, progress=False, log=None)
    with pytest.raises(UserInputError, match="retention_range"):
        train_adding(dataclasses.replace(TINY, retention_range=(0.0, 1.0)), progress=False, log=None)


def test_copying_trains_and_records_both_accuracies(tmp_path):
    """Tiny copying curriculum (S = 3, T from 2): runs, the training loss falls within the first stage, the
    history holds the recall-window and the all-step accuracy, and evaluate_copying reproduces the test score."""
    out = tmp_path / "copy.npz"
    res = train_copying(COPY_TINY, out, progress=False, log=None, max_stages=2)
    h = res.history
    log = h[0]["epoch_log"]
    assert log[-1]["loss"] < log[0]["loss"]
    assert {"train_recall_accuracy", "train_all_step_accuracy", "test_recall_accuracy",
            "test_all_step_accuracy"} <= set(h[0])
    m = load_model(out)
    assert m.task == "copying" and m.n_inputs == m.n_classes == 9 and m.features["n_recall"] == 3
    ev = evaluate_copying(m, h[-1]["delay"] if res.longest_solved is None else None)
    assert 0.0 <= ev.recall_accuracy <= 1.0 and 0.0 <= ev.all_step_accuracy <= 1.0
    if res.longest_solved is None:
        assert ev.recall_accuracy == pytest.approx(h[-1]["test_recall_accuracy"])


def test_readout_penalty_is_logged():
    cfg = dataclasses.replace(COPY_TINY, readout_penalty=1.0, max_epochs=1)
    res = train_copying(cfg, progress=False, log=None, max_stages=1)
    assert res.history[0]["epoch_log"][0]["penalty"] >= 0.0


def test_plateau_follows_keras():
    """ReduceLROnPlateau (×factor after `patience` epochs without improvement > min_delta, floor min_lr) and
    EarlyStopping (stop after `stop_patience` such epochs), as in Keras."""
    p = Plateau(0.01, 0.5, 2, 1e-4, 0.003, 3, 0.0)
    steps = [p.step(v) for v in (1.0, 0.9, 0.90005, 0.9, 0.95)]
    assert [round(s[0], 6) for s in steps] == [0.01, 0.01, 0.01, 0.005, 0.005]
    assert [s[1] for s in steps] == [False, False, False, False, True]
    for _ in range(5):
        lr, _ = p.step(2.0)
    assert lr == 0.003


def test_configs_validate():
    with pytest.raises(UserInputError, match="optimizer"):
        AddingConfig(optimizer="rmsprop").validate()
    with pytest.raises(UserInputError, match="max_delay"):
        CopyingConfig(max_delay=1).validate()
    with pytest.raises(UserInputError, match="reconstruction_ripple"):
        AddingConfig(reconstruction_ripple=1.0).validate()  # ripple without a reconstruction to ripple
    with pytest.raises(UserInputError, match="reconstruction_ripple"):
        AddingConfig(reconstruction="unbiased", reconstruction_ripple=-1.0).validate()
    with pytest.raises(UserInputError, match="threshold policy"):
        AddingConfig(reconstruction="biased").validate()
    assert AddingConfig().lr == 0.01 and CopyingConfig().momentum == 0.9  # the paper presets
    assert AddingConfig.from_dict(ADDING_QUICK.to_dict()) == ADDING_QUICK


def test_cli_entry_point_trains_and_resumes(tmp_path, capsys):
    """``lprnn-brian train adding``: the quick preset with --rnn/--epochs overrides; a run cut by --max-stages
    keeps its checkpoint (<out>.ckpt) and --resume continues it; options of the classifiers are refused."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.cli import main

    out = tmp_path / "a.npz"
    argv = ["train", "adding", "--out", str(out), "--rnn", "8", "--epochs", "1", "--max-stages", "1", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    m = load_model(out)
    cur = m.provenance["curriculum"]
    assert cur["stages"] == 1 and out.with_suffix(".ckpt").exists()
    assert m.layers[0].n_out == 8 and m.provenance["train_config"]["epochs"] == 1
    assert m.provenance["train_config"]["lr"] == ADDING_QUICK.lr
    assert main(argv[:-3] + ["--max-stages", "2", "--resume", "--force", "--quiet"]) == 0
    assert load_model(out).provenance["curriculum"]["stages"] == 2
    assert main(["train", "adding", "--out", str(tmp_path / "b.npz"), "--lpff", "4", "--quiet"]) == 2
    assert "--lpff" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_row_of_a_trained_model(adding10, build_root):
    """The accuracy-benchmark row of the L = 10 adding model: strings for the table and the curve behind them (one
    length here, the model's longest); the ANN value is evaluate_adding's MSE on the same sequences, every SNN
    value evaluate_adding's for its mode and threshold policy, and the criterion follows from them."""
    from lprnn_brian.evaluate_sequences import ANN_GOOD, benchmark_row

    res, out = adding10
    row = benchmark_row("adding", out, n=20, lengths=(10,), build_root=build_root)
    assert {"ann", "snn_float", "snn_loihi", "measure", "test_set", "curve", "criterion"} <= set(row)
    (r,) = row["curve"]
    assert r["length"] == 10 and r["ann"] == pytest.approx(evaluate_adding(res.model, n=20).mse)
    for mode in ("float", "loihi"):
        for policy in ("unbiased", "zero"):
            want = evaluate_adding(res.model, n=20, backend="snn", mode=mode, threshold=policy,
                                   build_root=build_root).mse
            assert r["snn"][mode][policy] == pytest.approx(want, rel=1e-12)
            assert r["snn_solved"][mode][policy] == (want < 0.01)
    good = r["ann"] <= ANN_GOOD["adding"]
    assert row["criterion"]["ann_good_at"] == ([10] if good else [])
    assert row["criterion"]["met"] == (good and r["snn_solved"]["loihi"]["unbiased"])


@pytest.mark.slow
def test_unbiased_threshold_removes_the_adding_networks_spiking_failure(tmp_path):
    """A small adding network trained here with the 'snn' preset up to L = 20 (one retention, Iin = 3, trained
    through the ΣΔ neuron's mean reconstruction; about 2 minutes on 2 cores), scored on 300 seeded test sequences at
    L = 20 with the sequence decode 'in': the ANN solves it (MSE < 0.01; measured 0.0092, the curriculum selecting
    on its validation sequences). Its ΣΔ network in Loihi-integer mode at the default step fails far from the ANN with
    the authors' threshold 0 (MSE > 0.03, measured 0.094: every stored value drifts by the reconstruction's half-kick
    bias), while under 'unbiased' what is left is the reconstruction's ripple, ±Iin/(2τ_S) per unit: an excess over
    the ANN below the 2019 pass mark 0.01 (measured 0.0066) and under a fifth of threshold 0's error. (The ANN of
    this short run is not 'good', ≤ 0.005, so the 2019 criterion itself is not asked of its SNN; the benchmark
    asks it of the bundled network, docs/accuracy.md.)"""
    from lprnn_brian.training.sequence_config import preset

    cfg = preset("adding", "snn", max_length=20, final_substeps=0, final_epochs=0)
    res = train_adding(cfg, tmp_path / "a.npz", progress=False, log=None, max_stages=12)
    assert res.longest_solved == 20
    ann = evaluate_adding(res.model, 20, n=300)
    assert ann.mse < 0.01
    snn = {p: evaluate_adding(res.model, 20, n=300, backend="snn", mode="loihi", target="numpy", threshold=p).mse
           for p in ("zero", "unbiased")}
    assert snn["zero"] > 0.03
    assert snn["unbiased"] - ann.mse < 0.01 and snn["unbiased"] < snn["zero"] / 5
