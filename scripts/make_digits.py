#!/usr/bin/env python
"""Generate the bundled spoken-digit data set ``lprnn_brian/data/digits_features.npz``.

espeak-ng says "zero" … "nine" with several English accents and voice variants (a *voice* is one
accent+variant pair, e.g. ``en-gb-scotland+m2``), at several speeds (-s), pitches (-p) and amplitudes (-a);
sox trims the leading/trailing silence and resamples to 16 kHz mono float; a seeded trailing pause and a
seeded low-level white noise floor are added in numpy. All variations come from ``numpy.random.default_rng``
seeded by (seed, voice index, digit, take), so a rerun with the same espeak-ng/sox gives the same file.

The train/validation/test split is FIXED and by speaker: every accent occurs in all three splits, but the
validation and test voice variants (espeak-ng's speaker models) never occur in train, nor in each other
(generator version 5: 35 training, 7 validation, 7 test voices). Version 3 had no validation voices, so model
selection used clips of the training voices; version 4 moved seven of its 35 training voices, one per accent, to
a validation split; version 5 adds seven training voices. Every clip of version 3 is made again bit for bit (same
voices at the same indices, same seeded variations); version 2 also held out whole accents, which no front end or
training recipe can bridge (Caribbean "tree" for *three*).

Features: the paper-era GSC front end (:func:`lprnn_brian.tasks.features.gsc_paper`, 16 kHz, n_fft
1024, hop 128, 80 Slaney mel bands 40 Hz–8 kHz, T = 125) with keep-last/left padding (``pad='left'``,
docs/method.md#heidelberg-digits-shd) so the spoken word lies in the second-half read-out window. The file stores the dB
features (per-file max 0, floor −80 dB, first frame dropped) quantised to uint8 at 0.5 dB steps (dB = −0.5·q); the
per-file z-score is applied at load (:func:`lprnn_brian.tasks.digits.load_digits`).

WAVs are written to a temporary work directory (``--work-dir`` to keep them) and are not part of the package.

Usage::

    python scripts/make_digits.py --force          # regenerate lprnn_brian/data/digits_features.npz
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.io import wavfile

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lprnn_brian.errors import UserInputError  # noqa: E402
from lprnn_brian.fileio import atomic_path  # noqa: E402
from lprnn_brian.tasks.digits import DATA_FILES  # noqa: E402
from lprnn_brian.tasks.features import gsc_paper, log_mel_db, shd  # noqa: E402

#: Feature front ends: the default (the bundled model's) and the SHD one of the authors' SHD checkpoint.
FRONT_ENDS = {"gsc_paper": lambda: gsc_paper(pad="left", name="digits"), "shd": lambda: shd(name="digits_shd")}

GENERATOR_VERSION = 5
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# A voice = espeak-ng accent + voice variant (a file under espeak-ng-data/voices/!v). MBROLA voices are listed
# by espeak-ng but their data files are not installed on Debian by default, so only the built-in formant
# synthesiser is used. NB: espeak-ng 1.51 ignores the variant of "en-gb+<variant>" (same audio as "en-gb"),
# so British English is "en"; "en-us-nyc" says most digits exactly like "en-us" and is not used.
# check_voices_distinct() verifies that every voice below gives different audio.
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029", "en-gb-x-gbcwmd")
TRAIN_VARIANTS = ("m1", "f1", "m2", "f2", "m3", "f3", "m5", "adam", "Alicia", "Andy", "Annie", "belinda",
                  "benjamin", "david", "ed", "Gene", "linda", "max", "Michael", "paul", "steph", "travis",
                  "m6", "m7", "aunty", "boris", "caleb", "edward", "grandpa", "iven", "klatt", "norbert",
                  "pablo", "Mike", "Alex")
POOL_VOICES = tuple(f"{ACCENTS[i % len(ACCENTS)]}+{v}" for i, v in enumerate(TRAIN_VARIANTS))
# Validation speakers (model selection, early stopping): one voice per accent taken out of the pool above, with
# the test voices' mix of espeak-ng's numbered and named variants; chosen before any model was trained on them.
VALIDATION_VOICES = ("en+travis", "en-us+f1", "en-gb-scotland+m7", "en-gb-x-rp+f2", "en-gb-x-gbclan+Michael",
                     "en-029+f3", "en-gb-x-gbcwmd+steph")
TRAIN_VOICES = tuple(v for v in POOL_VOICES if v not in VALIDATION_VOICES)
# One test speaker per accent: every accent occurs in train (with other variants), but the test voice
# variants (speaker models) never do, as in speaker-disjoint splits of real corpora.
TEST_VARIANTS = ("m4", "f4", "f5", "Andrea", "john", "m8", "Lee")
TEST_VOICES = tuple(f"{a}+{v}" for a, v in zip(ACCENTS, TEST_VARIANTS))
# More training speakers (generator version 5): the first 7 of espeak-ng's remaining human-named variants in
# alphabetical order, one per accent (seven more would pass the package's 7 MB data budget). They come after the
# test voices in the index order, so every earlier clip keeps its seeds.
EXTRA_TRAIN_VARIANTS = ("Denis", "Diogo", "Henrique", "Hugo", "Jacky", "Marco", "Mario")
EXTRA_TRAIN_VOICES = tuple(f"{ACCENTS[i % len(ACCENTS)]}+{v}" for i, v in enumerate(EXTRA_TRAIN_VARIANTS))
TRAIN_VOICES = TRAIN_VOICES + EXTRA_TRAIN_VOICES

TAKES = {"train": 3, "validation": 3, "test": 3}  # clips per (voice, digit)
SPEED_RANGE = (120, 200)  # espeak-ng -s, words per minute; takes spread over the range, jittered
PITCH_RANGE = (25, 75)  # espeak-ng -p, 0..99
AMPLITUDE_RANGE = (80, 130)  # espeak-ng -a
PAUSE_RANGE_S = (0.02, 0.15)  # trailing silence after the word
NOISE_DB_RANGE = (-55.0, -45.0)  # white-noise RMS relative to the clip's peak amplitude
Q_STEP_DB = 0.5  # uint8 quantisation step of the stored dB features
SPLIT_CODES = {"train": 0, "test": 1, "validation": 2}


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def check_tools() -> dict[str, str]:
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        raise UserInputError(f"{', '.join(missing)} not found on PATH; install them "
                             "(Debian/Ubuntu: apt-get install espeak-ng sox)")
    return {"espeak_ng": _tool_version(["espeak-ng", "--version"]), "sox": _tool_version(["sox", "--version"])}


def check_voices_distinct(work: Path) -> None:
    """Raise if two voices produce identical audio for the same word (espeak-ng silently ignores some
    accent+variant combinations)."""
    seen: dict[bytes, str] = {}
    for voice in POOL_VOICES + TEST_VOICES + EXTRA_TRAIN_VOICES:
        out = work / "voice_check.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-z", "-w", str(out), "seven three"], check=True,
                       capture_output=True)
        digest = hashlib.sha256(out.read_bytes()).digest()
        if digest in seen:
            raise RuntimeError(f"espeak-ng voices {seen[digest]!r} and {voice!r} give identical audio; "
                               "choose another accent or variant")
        seen[digest] = voice
        out.unlink()


def plan_clips(seed: int) -> list[dict]:
    """Every clip's parameters, deterministic in ``seed``."""
    clips = []
    # the pool's order fixes every voice's index, hence its clips' seeds (version 3's clips, version 4's splits)
    voices = [(v, "validation" if v in VALIDATION_VOICES else "train") for v in POOL_VOICES] + \
        [(v, "test") for v in TEST_VOICES] + [(v, "train") for v in EXTRA_TRAIN_VOICES]
    for vi, (voice, split) in enumerate(voices):
        n = TAKES[split]
        for label, word in enumerate(DIGITS):
            rng = np.random.default_rng([seed, vi, label])
            # speeds: one per stratum of the range (in random order), jittered within it
            edges = np.linspace(SPEED_RANGE[0], SPEED_RANGE[1], n + 1)
            speeds = rng.permutation([rng.uniform(edges[k], edges[k + 1]) for k in range(n)])
            for take in range(n):
                clips.append(dict(
                    voice=voice, split=split, label=label, word=word, take=take,
                    speed=int(round(speeds[take])),
                    pitch=int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                    amplitude=int(rng.integers(AMPLITUDE_RANGE[0], AMPLITUDE_RANGE[1] + 1)),
                    pause_s=float(rng.uniform(*PAUSE_RANGE_S)),
                    noise_db=float(rng.uniform(*NOISE_DB_RANGE)),
                    noise_seed=int(rng.integers(0, 2**31 - 1)),
                ))
    return clips


def synthesise(clip: dict, work: Path, sample_rate: int) -> np.ndarray:
    """espeak-ng → sox (trim silence, mono, resample) → float64 audio at ``sample_rate`` with pause + noise."""
    stem = f"{clip['voice'].replace('+', '_')}_{clip['word']}_{clip['take']}"
    raw = work / f"{stem}_raw.wav"
    wav = work / f"{stem}.wav"
    subprocess.run(["espeak-ng", "-v", clip["voice"], "-s", str(clip["speed"]), "-p", str(clip["pitch"]),
                    "-a", str(clip["amplitude"]), "-z", "-w", str(raw), clip["word"]],
                   check=True, capture_output=True)
    subprocess.run(["sox", "-R", "-D", str(raw), "-e", "floating-point", "-b", "32", "-c", "1", str(wav),
                    "silence", "1", "0.005", "0.1%", "reverse", "silence", "1", "0.005", "0.1%", "reverse",
                    "rate", "-h", str(sample_rate)],
                   check=True, capture_output=True)
    raw.unlink()
    sr, audio = wavfile.read(wav)
    if sr != sample_rate:
        raise RuntimeError(f"sox wrote {sr} Hz, expected {sample_rate}")
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    audio = np.concatenate([audio, np.zeros(int(round(clip["pause_s"] * sample_rate)))])
    rng = np.random.default_rng(clip["noise_seed"])
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio + rng.standard_normal(audio.shape[0]) * peak * 10.0 ** (clip["noise_db"] / 20.0)
    return audio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--front-end", choices=sorted(FRONT_ENDS), default="gsc_paper",
                    help="gsc_paper: 16 kHz, hop 128 (the bundled model's input); shd: 48 kHz, hop 256 "
                         "(docs/method.md#heidelberg-digits-shd, the input of the authors' SHD checkpoint)")
    ap.add_argument("--split", choices=("all",) + tuple(SPLIT_CODES), default="all", help="which clips to write")
    ap.add_argument("--out", default=None, help="default: lprnn_brian/data/<file of the front end>")
    ap.add_argument("--force", action="store_true", help="replace an existing output file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work-dir", default=None, help="keep the WAVs here (default: a deleted temp dir)")
    ap.add_argument("--jobs", type=int, default=4, help="concurrent espeak-ng/sox subprocesses")
    args = ap.parse_args(argv)

    try:
        t0 = time.time()
        tools = check_tools()
        cfg = FRONT_ENDS[args.front_end]()
        out = args.out or str(REPO / "lprnn_brian" / "data" / DATA_FILES[args.front_end])
        clips = [c for c in plan_clips(args.seed) if args.split in ("all", c["split"])]
        tmp = None
        if args.work_dir:
            work = Path(args.work_dir)
            work.mkdir(parents=True, exist_ok=True)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="lprnn_digits_")
            work = Path(tmp.name)
        try:
            check_voices_distinct(work)
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                audios = list(pool.map(lambda c: synthesise(c, work, cfg.sample_rate), clips))
        finally:
            if tmp is not None:
                tmp.cleanup()

        db = np.stack([log_mel_db(a, cfg) for a in audios])  # (N, T, n_mels) in [-80, 0]
        q = np.clip(np.round(-db / Q_STEP_DB), 0, round(-cfg.db_floor / Q_STEP_DB)).astype(np.uint8)
        durations = np.array([a.shape[0] / cfg.sample_rate for a in audios])

        voice_names = list(POOL_VOICES) + list(TEST_VOICES) + list(EXTRA_TRAIN_VOICES)
        meta = {
            "format": "lprnn_brian digits features",
            "generator": "scripts/make_digits.py",
            "generator_version": GENERATOR_VERSION,
            "front_end": args.front_end,
            "seed": args.seed,
            "class_names": list(DIGITS),
            "feature_config": cfg.to_dict(),
            "quantisation": {"dtype": "uint8", "step_db": Q_STEP_DB,
                             "decode": "db = -step_db * q (dB relative to the per-file maximum, floor -80, "
                                       "first frame dropped); the per-file z-score is applied at load"},
            "voices": {"train": list(TRAIN_VOICES), "validation": list(VALIDATION_VOICES), "test": list(TEST_VOICES)},
            "takes_per_voice_digit": TAKES,
            "variations": {"speed_wpm": SPEED_RANGE, "pitch": PITCH_RANGE, "amplitude": AMPLITUDE_RANGE,
                           "trailing_pause_s": PAUSE_RANGE_S, "noise_db_re_peak": NOISE_DB_RANGE},
            "n_clips": {s: int(sum(c["split"] == s for c in clips)) for s in SPLIT_CODES},
            "espeak_ng_version": tools["espeak_ng"],
            "sox_version": tools["sox"],
            "clip_seconds": {"min": float(durations.min()), "max": float(durations.max()),
                             "mean": float(durations.mean()),
                             "longer_than_L": int(np.sum(durations * cfg.sample_rate > cfg.clip_samples))},
        }
        arrays = dict(
            features_q=q,
            labels=np.array([c["label"] for c in clips], dtype=np.int8),
            voice=np.array([voice_names.index(c["voice"]) for c in clips], dtype=np.int8),
            voice_names=np.array(voice_names),
            speed=np.array([c["speed"] for c in clips], dtype=np.int16),
            pitch=np.array([c["pitch"] for c in clips], dtype=np.int16),
            amplitude=np.array([c["amplitude"] for c in clips], dtype=np.int16),
            take=np.array([c["take"] for c in clips], dtype=np.int8),
            split=np.array([SPLIT_CODES[c["split"]] for c in clips], dtype=np.int8),
            meta=np.array(json.dumps(meta, sort_keys=True)),
        )
        with atomic_path(out, args.force) as tmp_out:
            np.savez_compressed(tmp_out, **arrays)
        size = Path(out).stat().st_size
        print(f"wrote {out}: {len(clips)} clips ({meta['n_clips']}), {size / 1e6:.2f} MB, "
              f"{len(TRAIN_VOICES)} train / {len(VALIDATION_VOICES)} validation / {len(TEST_VOICES)} test voices, "
              f"clip length "
              f"{durations.min():.2f}-{durations.max():.2f} s, {time.time() - t0:.1f} s", file=sys.stderr)
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        err = e.stderr.decode(errors="replace").strip() if isinstance(e.stderr, bytes) else e.stderr
        print(f"error: {' '.join(map(str, e.cmd))} failed ({e.returncode}): {err}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
