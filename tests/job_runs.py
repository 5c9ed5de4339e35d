"""The batch loop shared by the job scripts that tests run in another environment (``genn_job.py``,
``cuda_job.py``): imported from the scripts' own directory, so it needs nothing but numpy and the Runner."""
from __future__ import annotations

import time


def run_and_pack(runner, drives, batch: int) -> tuple[list[float], dict]:
    """Run ``drives`` through ``runner`` ``batch`` at a time: the seconds per batch, and the arrays to save
    (``i_<sample>_<layer>``, ``step_<sample>_<layer>`` and ``<state>_<sample>_<layer>``)."""
    seconds, runs = [], []
    for start in range(0, len(drives), batch):
        t = time.perf_counter()
        runs += runner.run_batch(list(drives[start:start + batch]))
        seconds.append(time.perf_counter() - t)
    out = {}
    for s, run in enumerate(runs):
        for k in range(len(run.spike_i)):
            out[f"i_{s}_{k}"] = run.spike_i[k]
            out[f"step_{s}_{k}"] = run.spike_step[k]
            for v, a in run.states[k].items():
                out[f"{v}_{s}_{k}"] = a
    return seconds, out
