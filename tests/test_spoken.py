"""Tests of the spoken-word loaders (docs/method.md#heidelberg-digits-shd, docs/method.md#google-speech-commands,
decisions A1/A8 in docs/decisions.md) on small fixtures written in each data set's exact on-disk layout (the real
archives cannot be downloaded here).

Fixture audio: a pure tone whose frequency depends on the class, so that a clip's label can be read back from
its features (the mel band or fbank bin that peaks) and checked against the loader's label.
"""
from __future__ import annotations

import json
import math
import shutil
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from lprnn_brian.errors import UserInputError
from lprnn_brian.tasks import features as F
from lprnn_brian.tasks import spoken as S


def _sf():
    """soundfile (FLAC writing for the HD fixtures); HD tests are skipped without it."""
    return pytest.importorskip("soundfile")


# ---------------------------------------------------------------------------------------------- fixture writers
HD_RATE, GSC_RATE = 48000, 16000


def _hd_tone(label: int) -> float:
    """Tone frequency (Hz) of SHD label (h5 order) 0…19: 10 % steps from 300 Hz, ≥ 1 mel band apart."""
    return 300.0 * 1.1 ** label


def _tone(freq: float, n: int, rate: int, seed: int) -> np.ndarray:
    """Tone over the last 60 % of n samples plus faint noise (amplitude ≤ 0.5)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 0.4 * np.sin(2 * np.pi * freq * t) * (np.arange(n) >= 0.4 * n) + 1e-3 * rng.standard_normal(n)
    return np.clip(x, -1, 1)


def _hd_name(lang: str, speaker: int, trial: int, digit: int) -> str:
    return f"lang-{lang}_speaker-{speaker:02d}_trial-{trial}_digit-{digit}.flac"


def _write_hd(root, train_lengths, test_lengths, rate=HD_RATE):
    """HD archive layout: audio/*.flac + train_filenames.txt + test_filenames.txt. Clip i of a split has
    class i % 20 (h5 order) and length lengths[i] samples."""
    (root / "audio").mkdir(parents=True)
    lists = {}
    for split, lengths, speaker0 in (("train", train_lengths, 0), ("test", test_lengths, 10)):
        names = []
        for i, n in enumerate(lengths):
            label = i % 20
            lang, digit = ("english", label) if label < 10 else ("german", label - 10)
            name = _hd_name(lang, speaker0 + i // 20, i // 20, digit)
            _sf().write(str(root / "audio" / name), _tone(_hd_tone(label), n, rate, i), rate, subtype="PCM_16")
            names.append(name)
        (root / f"{split}_filenames.txt").write_text("\n".join(names) + "\n")
        lists[split] = names
    return lists


GSC_V1_FIXTURE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "nine", "zero")


def _gsc_tone(word: str) -> float:
    """Tone frequency (Hz) of a word: 8 % steps from 200 Hz over the 35 v2 words (alphabetical)."""
    return 200.0 * 1.08 ** S.GSC_V2_WORDS.index(word)


def _write_wav(path, x, rate=GSC_RATE):
    wavfile.write(str(path), rate, np.round(np.asarray(x) * 32767).astype(np.int16))


def _write_gsc(root, words, *, noise_samples=170_000):
    """GSC archive layout: <word>/<speaker>_nohash_<n>.wav (3 speakers per word; speaker s1 in
    validation_list.txt, s2 in testing_list.txt, s0 in neither = train), _background_noise_/ with two long
    noise files and a README, plus a README at the top (as in the real archive)."""
    val, test = [], []
    for w in words:
        (root / w).mkdir(parents=True)
        for s in range(3):
            n = 16000 if s != 1 else 12000  # one short clip per word (padding)
            rel = f"{w}/{s:08x}_nohash_0.wav"
            _write_wav(root / rel, _tone(_gsc_tone(w), n, GSC_RATE, 10 * S.GSC_V2_WORDS.index(w) + s))
            (val if s == 1 else test if s == 2 else []).append(rel)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    (root / "README.md").write_text("fixture\n")
    bg = root / "_background_noise_"
    bg.mkdir()
    rng = np.random.default_rng(0)
    _write_wav(bg / "white_noise.wav", 0.3 * rng.uniform(-1, 1, noise_samples))
    _write_wav(bg / "pink_noise.wav", 0.3 * np.cumsum(rng.uniform(-1, 1, noise_samples)) / 300)
    (bg / "README.md").write_text("noise\n")
    return val, test


@pytest.fixture(scope="module")
def hd_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hd") / "hd_audio"
    rng = np.random.default_rng(1)
    train = rng.integers(14_000, 40_000, size=40).tolist()
    test = rng.integers(60_000, 90_000, size=20).tolist()  # longer than every train clip: p90 must ignore them
    _write_hd(root, train, test)
    return root, train, test


@pytest.fixture(scope="module")
def gsc_v1_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("gsc1")
    val, test = _write_gsc(root, GSC_V1_FIXTURE_WORDS)
    return root, val, test


@pytest.fixture(scope="module")
def gsc_v2_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("gsc2")
    val, test = _write_gsc(root, GSC_V1_FIXTURE_WORDS + ("backward", "visual"))
    return root, val, test


def _peak_band(X):
    """Mel band / fbank bin with the largest time-averaged value, per clip."""
    return np.argmax(X.mean(axis=1), axis=1)


def _expected_band_paper(freq, cfg):
    centres = F.mel_frequencies(cfg.n_mels + 2, cfg.fmin, cfg.f_max)[1:-1]
    return int(np.argmin(np.abs(F.hz_to_mel(centres) - F.hz_to_mel(freq))))


# ---------------------------------------------------------------------------------------------- HD / SHD
def test_class_names_and_sources():
    """Oracle: SHD h5 convention (English digits 0–9 → labels 0–9, German 10–19; torchneuromorphic's SHD map
    E0…E9, G0…G9) and the authors' HD-audio loader (label = digit + 10 for English); download URLs of the
    data sets."""
    assert S.SHD_CLASS_NAMES[:10] == tuple(f"en_{d}" for d in range(10))
    assert S.SHD_CLASS_NAMES[10:] == tuple(f"de_{d}" for d in range(10))
    assert S.SHD_REFERENCE_CLASS_NAMES[3] == "de_3" and S.SHD_REFERENCE_CLASS_NAMES[13] == "en_3"
    assert "https://zenkelab.org/datasets/" in S.data_source("hd")
    assert "speech_commands_v0.01.tar.gz" in S.data_source("gsc_v1")
    assert "speech_commands_v0.02.tar.gz" in S.data_source("gsc_v2")
    assert S.parse_hd_name("lang-german_speaker-07_trial-12_digit-9.flac") == ("german", 7, 12, 9)
    for bad in ("lang-french_speaker-01_trial-0_digit-3.flac", "lang-english_speaker-01_trial-0_digit-12.flac",
                "english_01_0_3.flac", "lang-english_speaker-01_trial-0_digit-3.wav"):
        with pytest.raises(UserInputError):
            S.parse_hd_name(bad)


def test_shd_labels_follow_h5_convention_and_features_line_up(hd_dir):
    """Oracle: file names (lang, digit) → h5 labels; the tone of each clip (a function of its class) must peak
    in the mel band nearest its frequency (±1 band), which ties features to labels row by row. Shape (N, 125,
    80), float32, per-file z-scored; info is JSON-serialisable and records T, Δt_A = 1/T and the files."""
    root, train, _ = hd_dir
    X, y, info = S.load_shd(root, "train", progress=False)
    assert X.shape == (40, 125, 80) and X.dtype == np.float32 and y.dtype == np.int64
    assert info["class_names"] == list(S.SHD_CLASS_NAMES) and info["label_order"] == "h5"
    names = [f.split("/", 1)[1] for f in info["files"]]
    for name, label in zip(names, y):
        lang, _, _, digit = S.parse_hd_name(name)
        assert label == (digit if lang == "english" else 10 + digit)
        assert info["class_names"][label] == ("en_" if lang == "english" else "de_") + str(digit)
    cfg = F.FeatureConfig.from_dict(info["feature_config"])
    assert cfg == F.shd()
    expected = [_expected_band_paper(_hd_tone(int(lab)), cfg) for lab in y]
    assert np.all(np.abs(_peak_band(X) - expected) <= 1)
    assert info["n_frames"] == 125 and info["frame_dt"] == pytest.approx(1 / 125)
    assert info["files"][0].startswith("audio/") and info["speaker"][0] == 0
    np.testing.assert_allclose(X.reshape(40, -1).mean(axis=1), 0.0, atol=1e-5)
    json.dumps(info)
    # the parent folder (holding hd_audio/) is accepted too
    X2, y2, _ = S.load_shd(root.parent, "train", limit=3, progress=False)
    np.testing.assert_array_equal(X2, X[:3])
    np.testing.assert_array_equal(y2, y[:3])


def test_shd_reference_label_order(hd_dir):
    """Oracle: the authors' HD loader order puts German at 0–9 and English at 10–19 (decision A8 in docs/decisions.md):
    the same clip's label moves by ±10 and its class name stays the same."""
    root = hd_dir[0]
    _, y, info = S.load_shd(root, "test", limit=20, progress=False)
    _, yr, infor = S.load_shd(root, "test", limit=20, progress=False, label_order="reference")
    assert [info["class_names"][a] for a in y] == [infor["class_names"][b] for b in yr]
    np.testing.assert_array_equal(yr, (y + 10) % 20)


def test_shd_p90_is_computed_on_train_only(hd_dir):
    """Oracle: decision A1 in docs/decisions.md. With n_frames='p90', T = ⌊L90/hop⌋ where L90 = int(90th percentile of
    the train clip lengths) — for the test split as well (the fixture's test clips are all longer than every train
    clip, so a test-based percentile would give a larger T). Recorded in info; hop 128 doubles T."""
    root, train, _ = hd_dir
    l90 = int(np.percentile(train, 90))
    for split in ("test", "train"):
        X, _, info = S.load_shd(root, split, n_frames="p90", limit=4, progress=False)
        assert info["p90_samples"] == l90 and info["n_frames_rule"] == "p90"
        assert X.shape[1] == info["n_frames"] == l90 // 256
        assert info["frame_dt"] == pytest.approx(1 / (l90 // 256))
    X, _, info = S.load_shd(root, "test", n_frames="p90", hop_length=128, limit=2, progress=False)
    assert X.shape[1] == l90 // 128 and info["feature_config"]["hop_length"] == 128
    X, _, info = S.load_shd(root, "test", hop_length=128, limit=2, progress=False)
    assert X.shape[1] == 125 and info["feature_config"]["hop_length"] == 128 and info["n_frames_rule"] == "config"
    X, _, info = S.load_shd(root, "test", n_frames=50, limit=2, progress=False)
    assert X.shape == (2, 50, 80) and info["n_frames_rule"] == "fixed"
    with pytest.raises(UserInputError):
        S.load_shd(root, "test", n_frames="p50", progress=False)


def test_shd_per_file_independence(hd_dir, tmp_path):
    """Oracle: decision A2 in docs/decisions.md (no batch-dependent dB reference). A clip's features are identical when
    it is loaded among all others or alone from a folder that holds only it."""
    root = hd_dir[0]
    X, _, info = S.load_shd(root, "test", progress=False)
    solo = tmp_path / "solo"
    (solo / "audio").mkdir(parents=True)
    name = info["files"][7].split("/", 1)[1]
    shutil.copy(root / "audio" / name, solo / "audio" / name)
    (solo / "test_filenames.txt").write_text(name + "\n")
    X1, _, _ = S.load_shd(solo, "test", progress=False)
    np.testing.assert_array_equal(X1[0], X[7])


def test_shd_cache_and_progress(hd_dir, tmp_path, capsys):
    """Oracle: the cache returns the arrays it stored (exact) and is written once, atomically, beside nothing
    else; a progress bar goes to stderr."""
    root = hd_dir[0]
    X, y, info = S.load_shd(root, "test", limit=5, cache_dir=tmp_path / "cache", progress=True)
    assert "HD test features" in capsys.readouterr().err
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and info["cache"] == str(files[0])
    X2, y2, info2 = S.load_shd(root, "test", limit=5, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert info2 == info
    assert len(list((tmp_path / "cache").iterdir())) == 1


def _small_hd(tmp_path, rate=HD_RATE):
    root = tmp_path / "hd"
    _write_hd(root, [20000] * 3, [20000] * 2, rate=rate)
    return root


def test_shd_malformed_datasets(tmp_path, monkeypatch):
    """Oracle: rejection rules. Each malformed layout is a UserInputError whose message names the offending
    file or folder (missing list file, missing audio folder, list entry for a missing file, unknown label in a
    file name, unreadable FLAC, wrong sample rate, stereo, soundfile not installed)."""
    root = _small_hd(tmp_path)
    (root / "test_filenames.txt").unlink()
    with pytest.raises(UserInputError, match="test_filenames.txt"):
        S.load_shd(root, "test", progress=False)
    with pytest.raises(UserInputError, match="zenkelab"):
        S.load_shd(root, "test", progress=False)

    root = _small_hd(tmp_path / "b")
    shutil.rmtree(root / "audio")
    with pytest.raises(UserInputError, match="audio"):
        S.load_shd(root, "train", progress=False)
    with pytest.raises(UserInputError, match="does not exist"):
        S.load_shd(tmp_path / "nowhere", "train", progress=False)

    root = _small_hd(tmp_path / "c")
    missing = _hd_name("english", 3, 9, 4)
    with open(root / "train_filenames.txt", "a") as f:
        f.write(missing + "\n")
    with pytest.raises(UserInputError, match=missing):
        S.load_shd(root, "train", progress=False)

    root = _small_hd(tmp_path / "d")
    odd = "lang-french_speaker-01_trial-0_digit-3.flac"
    _sf().write(str(root / "audio" / odd), np.zeros(20000), HD_RATE)
    (root / "train_filenames.txt").write_text(odd + "\n")
    with pytest.raises(UserInputError, match="lang-french"):
        S.load_shd(root, "train", progress=False)

    root = _small_hd(tmp_path / "e")
    bad = (root / "train_filenames.txt").read_text().split()[1]
    (root / "audio" / bad).write_bytes(b"not a flac file at all" * 10)
    with pytest.raises(UserInputError, match=bad):
        S.load_shd(root, "train", progress=False)
    with pytest.raises(UserInputError, match=bad):
        S.load_shd(root, "test", n_frames="p90", progress=False)  # header read for the train lengths

    root = _small_hd(tmp_path / "f", rate=16000)
    with pytest.raises(UserInputError, match="16000 Hz.*48000"):
        S.load_shd(root, "train", progress=False)

    root = _small_hd(tmp_path / "g")
    stereo = (root / "train_filenames.txt").read_text().split()[0]
    _sf().write(str(root / "audio" / stereo), np.zeros((20000, 2)), HD_RATE)
    with pytest.raises(UserInputError, match=f"{stereo}.*2 channels"):
        S.load_shd(root, "train", progress=False)

    root = _small_hd(tmp_path / "h")
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile -> ImportError
    with pytest.raises(UserInputError, match="pip install soundfile"):
        S.load_shd(root, "train", progress=False)
    monkeypatch.undo()

    with pytest.raises(UserInputError):
        S.load_shd(root, "validation", progress=False)
    with pytest.raises(UserInputError):
        S.load_shd(root, "train", label_order="de_first", progress=False)
    with pytest.raises(UserInputError):
        S.load_shd(root, "train", config=F.gsc_paper(), progress=False)
    with pytest.raises(UserInputError):
        S.load_shd(root, "train", limit=-1, progress=False)


# ---------------------------------------------------------------------------------------------- GSC
def test_gsc_class_orders():
    """Oracle: docs/method.md#google-speech-commands. v1 35-word: 36 classes, unknown/silence 0, nine 1, yes…go 2–11,
    zero…eight 12–20, backward…wow 21–35 (the reference code's map, e.g. learn 30, wow 35); 12-command: unknown 0,
    silence 1, yes…go 2–11; v2 35-word: alphabetical. Vocabularies: 30 words in v1, 35 in v2."""
    v1 = S.gsc_class_names(1, "35")
    assert len(v1) == 36 and v1[0] == "_unknown_" and v1[1] == "nine"
    assert v1[2:12] == S.GSC_COMMANDS == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    assert v1[12:21] == ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
    ref = {'backward': 21, 'bed': 22, 'bird': 23, 'cat': 24, 'dog': 25, 'follow': 26, 'forward': 27, 'happy': 28,
           'house': 29, 'learn': 30, 'marvin': 31, 'sheila': 32, 'tree': 33, 'visual': 34, 'wow': 35}
    assert {w: v1.index(w) for w in ref} == ref
    assert S.gsc_class_names(2, "12") == S.gsc_class_names(1, "12") == ("_unknown_", "_silence_") + S.GSC_COMMANDS
    assert S.gsc_class_names(2, "35") == tuple(sorted(S.GSC_V2_WORDS)) and len(S.GSC_V2_WORDS) == 35
    assert len(S.GSC_V1_WORDS) == 30 and set(S.GSC_V2_WORDS) - set(S.GSC_V1_WORDS) == {
        "backward", "follow", "forward", "learn", "visual"}
    for bad in ((3, "35"), (1, "20"), (True, "12")):
        with pytest.raises(UserInputError):
            S.gsc_class_names(*bad)


def test_gsc_v1_35_labels_splits_and_features(gsc_v1_dir):
    """Oracle: folder word → label per the v1 36-class order; splits per validation_list / testing_list, train
    = the rest (no overlap, union = all clips, _background_noise_ excluded); each clip's tone peaks in the
    mel band of its word's frequency (±1). Paper pipeline: (N, 125, 80); no silence by default."""
    root, val, test = gsc_v1_dir
    names = S.gsc_class_names(1, "35")
    seen = {}
    for split, listed in (("train", None), ("validation", val), ("test", test)):
        X, y, info = S.load_gsc(root, version=1, protocol="35", split=split, progress=False)
        assert X.shape == (len(GSC_V1_FIXTURE_WORDS), 125, 80) and X.dtype == np.float32
        if listed is not None:
            assert info["files"] == listed
        assert [names[lab] for lab in y] == [f.split("/")[0] for f in info["files"]] == info["words"]
        cfg = F.FeatureConfig.from_dict(info["feature_config"])
        assert cfg == F.gsc_paper() and info["pipeline"] == "paper" and info["frame_dt"] == pytest.approx(0.008)
        expected = [_expected_band_paper(_gsc_tone(w), cfg) for w in info["words"]]
        assert np.all(np.abs(_peak_band(X) - expected) <= 1)
        assert info["silence"] == [] and info["source"] == S.GSC_URLS[1]
        json.dumps(info)
        seen[split] = set(info["files"])
    assert not (seen["train"] & seen["validation"]) and not (seen["train"] & seen["test"])
    assert len(seen["train"] | seen["validation"] | seen["test"]) == 3 * len(GSC_V1_FIXTURE_WORDS)
    assert all(f.split("/")[1].startswith("00000000_") for f in seen["train"])


def test_gsc_v2_12_command_silence(gsc_v2_dir):
    """Oracle: docs/method.md#google-speech-commands / decision A8 in docs/decisions.md and Warden's input_data.py.
    Commands → 2–11, other words → 0, silence → 1. Every split gets ceil(0.1 · n_command_clips) silence crops of 16,000
    samples, from that split's segment of a background-noise file (train 0–80 %, validation 80–90 %, test 90–100 %),
    seeded: the same seed gives the same crops, another seed others."""
    root = gsc_v2_dir[0]
    n_noise = 170_000
    for split in ("train", "validation", "test"):
        X, y, info = S.load_gsc(root, version=2, protocol="12", split=split, progress=False)
        words = info["words"]
        n_cmd = sum(w in S.GSC_COMMANDS for w in words)
        n_sil = math.ceil(0.1 * n_cmd)
        assert n_cmd == 10 and words.count("_silence_") == n_sil and len(info["silence"]) == n_sil
        for w, lab in zip(words, y):
            assert lab == (1 if w == "_silence_" else S.GSC_COMMANDS.index(w) + 2 if w in S.GSC_COMMANDS else 0)
        lo, hi = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}[split]
        for c in info["silence"]:
            assert c["file"].startswith("_background_noise_/") and c["samples"] == 16000
            assert math.floor(lo * n_noise) <= c["offset"] <= math.floor(hi * n_noise) - 16000
            assert 0.0 <= c["gain"] < 1.0
        assert info["files"][-n_sil:] == [f"{c['file']}@{c['offset']}" for c in info["silence"]]
        assert X.shape == (len(words), 125, 80)
    X1, _, i1 = S.load_gsc(root, version=2, protocol="12", split="train", seed=0, progress=False)
    X2, _, i2 = S.load_gsc(root, version=2, protocol="12", split="train", seed=0, progress=False)
    X3, _, i3 = S.load_gsc(root, version=2, protocol="12", split="train", seed=1, progress=False)
    np.testing.assert_array_equal(X1, X2)
    assert i1["silence"] == i2["silence"] != i3["silence"]
    _, _, i4 = S.load_gsc(root, version=2, protocol="12", split="train", silence_fraction=0.5, progress=False)
    assert len(i4["silence"]) == 5
    _, y5, i5 = S.load_gsc(root, version=2, protocol="12", split="train", silence_fraction=0, progress=False)
    assert i5["silence"] == [] and 1 not in y5


def test_gsc_v2_35_alphabetical_and_v1_silence_option(gsc_v2_dir, gsc_v1_dir):
    """Oracle: v2 35-word labels are alphabetical indices (no silence class: silence_fraction > 0 is refused);
    v1 35-word silence, when asked for, goes to class 0 (unknown/silence)."""
    X, y, info = S.load_gsc(gsc_v2_dir[0], version=2, protocol="35", split="test", progress=False)
    assert list(y) == [S.GSC_V2_WORDS.index(w) for w in info["words"]] and len(info["class_names"]) == 35
    with pytest.raises(UserInputError, match="silence"):
        S.load_gsc(gsc_v2_dir[0], version=2, protocol="35", split="test", silence_fraction=0.1, progress=False)
    _, y, info = S.load_gsc(gsc_v1_dir[0], version=1, protocol="35", split="test", silence_fraction=0.1,
                            progress=False)
    assert info["words"].count("_silence_") == math.ceil(0.1 * len(GSC_V1_FIXTURE_WORDS))
    assert all(lab == 0 for w, lab in zip(info["words"], y) if w == "_silence_")


def test_gsc_head_pipeline(gsc_v1_dir):
    """Oracle: docs/method.md#google-speech-commands HEAD. Kaldi fbank (N, 98, 40) of the last 16,000 samples
    (left-padded), no normalisation (features equal kaldi_features of the raw clip), Δt_A = 1/98; the tone of each word
    peaks in the fbank bin whose centre (Kaldi mel) is nearest its frequency (±1)."""
    root = gsc_v1_dir[0]
    X, y, info = S.load_gsc(root, version=1, protocol="12", split="validation", pipeline="head",
                            silence_fraction=0, progress=False)
    assert X.shape == (len(GSC_V1_FIXTURE_WORDS), 98, 40) and info["pipeline"] == "head"
    cfg = F.config_from_dict(info["feature_config"])
    assert cfg == F.gsc_head() and info["frame_dt"] == pytest.approx(1 / 98) and info["n_frames"] == 98
    rate, raw = wavfile.read(str(root / info["files"][0]))
    np.testing.assert_array_equal(X[0], F.kaldi_features(raw, cfg))
    lo, hi = F.kaldi_mel_scale(20.0), F.kaldi_mel_scale(8000.0)
    centres = lo + (np.arange(40) + 1) * (hi - lo) / 41
    expected = [int(np.argmin(np.abs(centres - F.kaldi_mel_scale(_gsc_tone(w))))) for w in info["words"]]
    assert np.all(np.abs(_peak_band(X) - expected) <= 1)
    Xz, _, _ = S.load_gsc(root, version=1, protocol="12", split="validation", config=F.gsc_head(normalise=True),
                          silence_fraction=0, limit=2, progress=False)
    np.testing.assert_allclose(Xz.reshape(2, -1).mean(axis=1), 0.0, atol=1e-5)


def test_gsc_per_file_independence_limit_and_cache(gsc_v1_dir, tmp_path):
    """Oracle: per-file features (decision A2 in docs/decisions.md): a clip loaded alone from a one-word folder equals
    its row in the full load; limit keeps the first clips; the cache round-trips exactly."""
    root = gsc_v1_dir[0]
    X, y, info = S.load_gsc(root, version=1, protocol="35", split="validation", progress=False)
    k = info["files"].index("nine/00000001_nohash_0.wav")
    solo = tmp_path / "solo"
    (solo / "nine").mkdir(parents=True)
    shutil.copy(root / "nine" / "00000001_nohash_0.wav", solo / "nine")
    (solo / "validation_list.txt").write_text("nine/00000001_nohash_0.wav\n")
    (solo / "testing_list.txt").write_text("")
    X1, y1, _ = S.load_gsc(solo, version=1, protocol="35", split="validation", progress=False)
    np.testing.assert_array_equal(X1[0], X[k])
    assert y1[0] == y[k] == 1
    Xl, yl, il = S.load_gsc(root, version=1, protocol="35", split="validation", limit=4, progress=False)
    np.testing.assert_array_equal(Xl, X[:4])
    assert il["files"] == info["files"][:4]
    Xc, yc, ic = S.load_gsc(root, version=1, protocol="12", split="test", cache_dir=tmp_path / "c",
                            progress=False)
    Xd, yd, idd = S.load_gsc(root, version=1, protocol="12", split="test", cache_dir=tmp_path / "c",
                             progress=False)
    np.testing.assert_array_equal(Xc, Xd)
    np.testing.assert_array_equal(yc, yd)
    assert ic == idd and ic["cache"] is not None


def test_gsc_malformed_datasets(tmp_path):
    """Oracle: rejection rules. Missing list file, list entry for a missing file, unreadable WAV, wrong sample
    rate, stereo WAV, a word folder of the wrong version, missing background noise when silence is needed,
    bad arguments: each a UserInputError naming the file, folder or option."""
    def fresh(name, words=("yes", "bed")):
        root = tmp_path / name
        root.mkdir()
        _write_gsc(root, words)
        return root

    root = fresh("a")
    (root / "testing_list.txt").unlink()
    with pytest.raises(UserInputError, match="testing_list.txt"):
        S.load_gsc(root, split="train", progress=False)

    root = fresh("b")
    with open(root / "validation_list.txt", "a") as f:
        f.write("yes/deadbeef_nohash_0.wav\n")
    with pytest.raises(UserInputError, match="deadbeef_nohash_0.wav"):
        S.load_gsc(root, split="validation", progress=False)

    root = fresh("c")
    (root / "bed" / "00000000_nohash_0.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(UserInputError, match="00000000_nohash_0.wav"):
        S.load_gsc(root, split="train", progress=False)

    root = fresh("d")
    _write_wav(root / "yes" / "00000000_nohash_0.wav", np.zeros(8000), rate=8000)
    with pytest.raises(UserInputError, match="00000000_nohash_0.wav.*8000 Hz"):
        S.load_gsc(root, split="train", progress=False)

    root = fresh("e")
    wavfile.write(str(root / "yes" / "00000000_nohash_0.wav"), 16000, np.zeros((16000, 2), np.int16))
    with pytest.raises(UserInputError, match="00000000_nohash_0.wav.*2 channels"):
        S.load_gsc(root, split="train", progress=False)

    root = fresh("f", words=("yes", "learn"))
    with pytest.raises(UserInputError, match="learn.*version=2"):
        S.load_gsc(root, version=1, split="train", progress=False)

    root = fresh("g")
    shutil.rmtree(root / "_background_noise_")
    with pytest.raises(UserInputError, match="_background_noise_"):
        S.load_gsc(root, version=1, protocol="12", split="test", progress=False)
    S.load_gsc(root, version=1, protocol="12", split="test", silence_fraction=0, progress=False)

    root = fresh("h")
    for p in (root / "_background_noise_").glob("*.wav"):
        _write_wav(p, np.zeros(50_000))  # 10 % segments of 5,000 samples: too short for 1 s crops
    with pytest.raises(UserInputError, match="too short"):
        S.load_gsc(root, version=1, protocol="12", split="test", progress=False)

    for kw in (dict(version=3), dict(protocol="30"), dict(split="dev"), dict(pipeline="mfcc"),
               dict(config=F.shd()), dict(silence_fraction=-1), dict(limit=1.5)):
        with pytest.raises(UserInputError):
            S.load_gsc(root, **kw, progress=False)
    with pytest.raises(UserInputError, match="does not exist"):
        S.load_gsc(tmp_path / "nowhere", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError, match="no word folders"):
        S.load_gsc(empty, progress=False)
