"""The accuracy benchmark's seed sweep (benchmarks/accuracy.py --seeds): per-model rows and a summary whose mean, sd
and min are those of the per-model numbers it printed."""
from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
#: ~30 s: the benchmark trains and converts three models
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Three seeds on a tiny budget (1 epoch on 48 clips; 6 test clips, SNN on the numpy target)."""
    results = tmp_path_factory.mktemp("acc")
    cmd = [sys.executable, str(REPO / "benchmarks" / "accuracy.py"), "--tasks", "digits", "--retrain-digits",
           "--seeds", ",".join(map(str, SEEDS)), "--epochs", "1", "--n-train", "48", "--n-test", "6",
           "--target", "numpy", "--results", str(results)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(next(results.glob("accuracy-*.json")).read_text())
    return proc.stdout, record


def _pcts(cell: str) -> list[float]:
    return [float(v) for v in re.findall(r"(\d+\.\d) %", cell)]


def test_summary_is_the_spread_of_the_printed_rows(sweep):
    """Oracle: statistics.mean/stdev/min of the per-seed percentages printed in the table (one decimal, so to
    0.05 pt for mean and min and 0.1 pt for the sd), and exactly those of the record's per-seed values."""
    stdout, record = sweep
    lines = [ln for ln in stdout.splitlines() if ln.startswith("| digits")]
    assert len(lines) == len(SEEDS) + 1
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    assert [c[0] for c in cells] == [f"digits (seed {s})" for s in SEEDS] + [f"digits, {len(SEEDS)} models"]
    # columns: task, test set, measure, validation, ANN, SNN float, SNN Loihi, published
    for col in (3, 4, 5, 6):  # validation, ANN, SNN float fb, SNN Loihi fb: the first number of each cell
        printed = [_pcts(c[col])[0] for c in cells[:-1]]
        mean, sd, low = (float(v) for v in re.findall(r"(\d+\.\d)", cells[-1][col])[:3])
        assert mean == pytest.approx(statistics.mean(printed), abs=0.051)
        assert sd == pytest.approx(statistics.stdev(printed), abs=0.1)
        assert low == pytest.approx(min(printed), abs=0.051)
    rows = record["rows"]
    summary = rows[-1]
    for key in ("ann", "val", "snn_float_fb", "snn_loihi_fb", "snn_loihi_ip"):
        values = [r["values"][key] for r in rows[:-1]]
        st = summary["stats"][key]
        assert st["mean"] == pytest.approx(statistics.mean(values), rel=1e-12)
        assert st["sd"] == pytest.approx(statistics.stdev(values), rel=1e-12)
        assert st["min"] == min(values) and st["n"] == len(SEEDS)
    for mode in ("float", "loihi"):
        want = max(r["values"]["ann"] - r["values"][f"snn_{mode}_fb"] for r in rows[:-1])
        assert summary["max_ann_minus_snn_fb"][mode] == pytest.approx(want)


def test_each_row_is_its_seeds_model(sweep):
    """Oracle: the seeds differ, so their models do: three trainings, not one repeated (validation accuracies on
    210 clips recorded per row, not all equal for three different initialisations after one epoch)."""
    _, record = sweep
    vals = [r["values"]["val"] for r in record["rows"][:-1]]
    assert len(vals) == len(SEEDS) and len(set(vals)) > 1
    assert record["rows"][-1]["n"] == 6
