"""Spike recording for the row layout (``cpp_standalone``): integer steps, one list per network copy.

Brian2's ``SpikeMonitor`` appends every spike's global index (int32) and time (a double) to two growing arrays; a
batch of B network copies then comes back as one time-ordered list that must be split by copy. In the row layout
(:func:`lprnn_brian.network.build_network`, ``propagation='rows'``) a C++ function takes the monitor's place
instead, in its slot (``thresholds``, order 1, after the threshold has filled the spike space): it appends each
spike's index within its copy and its step, both int32, to that copy's own list, and writes the lists when the last
step has run. The spikes read back are the monitor's — same neurons, same steps, same order — from 8 instead of 12
bytes per spike, without a sort by copy.

File ``<results directory>/<name>.spikes`` (little-endian, as the machine writes it)::

    int32  B                      network copies
    int64  count[B]               spikes of each copy
    then for each copy c:  int32 index[count[c]]   neuron within the copy (0 … n − 1)
                           int32 step[count[c]]    SNN step (0 … n_steps − 1), non-decreasing
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _unavailable(*args):  # pragma: no cover - only a placeholder for Brian2's Function signature
    raise NotImplementedError("the spike recorder is implemented for cpp_standalone only")


class SpikeRecorder:
    """Records the spikes of a NeuronGroup of ``batch`` copies over a run of ``n_steps`` steps (module docstring).

    Parameters
    ----------
    group : NeuronGroup
        The layer's group (``batch`` copies side by side).
    batch : int
        Network copies in the group.
    n_steps : int
        Steps of the run; the file is written at step ``n_steps − 1``.
    device : brian2 Device
        The active ``cpp_standalone`` device (gives the C++ name of the group's spike space).
    name : str
        C identifier of the recording function; the file is ``<name>.spikes``.
    """

    def __init__(self, group, batch: int, n_steps: int, device, name: str):
        from brian2 import Function

        self.name, self.batch, self.n = name, int(batch), group.N // int(batch)
        self.file_name = f"{name}.spikes"
        spikes = device.get_array_name(group.variables["_spikespace"])
        code = f"""
    static inline int32_t {name}(const int64_t _step)
    {{
        static std::vector<int32_t> _index[{self.batch}], _steps[{self.batch}];
        // the spike space lists this step's spikes in increasing index: each copy's are one run, appended at once,
        // and each copy's list stays in time order
        const int32_t* const _spikes = brian::{spikes};
        const int32_t _n_spikes = _spikes[{group.N}];
        int32_t _s = 0;
        while (_s < _n_spikes)
        {{
            const int32_t _c = _spikes[_s] / {self.n}, _lo = _c * {self.n}, _hi = _lo + {self.n};
            int32_t _e = _s + 1;
            while (_e < _n_spikes && _spikes[_e] < _hi)
                _e++;
            std::vector<int32_t>& _idx = _index[_c];
            const size_t _old = _idx.size();
            _idx.resize(_old + (size_t)(_e - _s));
            for (int32_t _k = _s; _k < _e; _k++)
                _idx[_old + (size_t)(_k - _s)] = _spikes[_k] - _lo;
            _steps[_c].insert(_steps[_c].end(), (size_t)(_e - _s), (int32_t)_step);
            _s = _e;
        }}
        if (_step == {int(n_steps) - 1})
        {{
            std::ofstream _out((brian::results_dir + "{self.file_name}").c_str(), std::ios::binary | std::ios::out);
            const int32_t _batch = {self.batch};
            _out.write(reinterpret_cast<const char*>(&_batch), sizeof(_batch));
            for (int32_t _c = 0; _c < {self.batch}; _c++)
            {{
                const int64_t _count = (int64_t)_index[_c].size();
                _out.write(reinterpret_cast<const char*>(&_count), sizeof(_count));
            }}
            for (int32_t _c = 0; _c < {self.batch}; _c++)
            {{
                _out.write(reinterpret_cast<const char*>(_index[_c].data()), _index[_c].size() * sizeof(int32_t));
                _out.write(reinterpret_cast<const char*>(_steps[_c].data()), _steps[_c].size() * sizeof(int32_t));
            }}
        }}
        return 0;
    }}
    """
        self.function = Function(_unavailable, arg_units=[1], return_unit=1, arg_types=["integer"],
                                 return_type="integer", stateless=False)
        self.function.implementations.add_implementation("cpp", code, name=name)

    def read(self, results_dir, n_used: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(index within the copy, step) of each of the first ``n_used`` copies (default all), both int32."""
        return read_spikes(Path(results_dir) / self.file_name, self.batch, n_used)


def read_spikes(path, batch: int, n_used: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """A recorder's file (module docstring) of ``batch`` copies: (index within the copy, step) of each of the first
    ``n_used`` copies (default all), both int32; a file of another batch or a truncated one is refused."""
    path = Path(path)
    raw = path.read_bytes()
    found = int(np.frombuffer(raw, dtype=np.int32, count=1)[0])
    if found != batch:
        raise ValueError(f"{path}: a recording of {found} copies where {batch} were run")
    counts = np.frombuffer(raw, dtype=np.int64, count=batch, offset=4)
    body = np.frombuffer(raw, dtype=np.int32, offset=4 + 8 * batch)
    if body.size != 2 * int(counts.sum()):
        raise ValueError(f"{path}: {body.size} values for {int(counts.sum())} spikes (a truncated file?)")
    out, start = [], 0
    for c in range(batch if n_used is None else n_used):
        k = int(counts[c])
        out.append((body[start:start + k].copy(), body[start + k:start + 2 * k].copy()))
        start += 2 * k
    return out
