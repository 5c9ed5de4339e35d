"""Spike recording for the row layout (``cpp_standalone``): per network copy, neuron indices and spikes per step.

Brian2's ``SpikeMonitor`` appends every spike's global index (int32) and time (a double) to two growing arrays; a
batch of B network copies then comes back as one time-ordered list that must be split by copy. In the row layout
(:func:`lprnn_brian.network.build_network`, ``propagation='rows'``) a C++ function takes the monitor's place
instead, in its slot (``thresholds``, order 1, after the threshold has filled the spike space): it appends each
spike's index within its copy to that copy's own list (int16 where the layer has at most 32,768 neurons, else
int32) and counts the copy's spikes of the step; it writes the lists when the last step has run. The spikes read
back are the monitor's — same neurons, same steps, same order — from 2 instead of 12 bytes per spike (plus 4 bytes
per copy and step), without a sort by copy. The binary runs once per batch, so every byte it records is fresh memory
that the operating system must map: the recording's size is its cost.

File ``<results directory>/<name>.spikes`` (little-endian, as the machine writes it)::

    int32  magic                  0x324B5053 ("SPK2")
    int32  B                      network copies
    int32  n_steps                steps of the run
    int32  w                      bytes per neuron index: 2 (int16) or 4 (int32)
    int64  count[B]               spikes of each copy
    int32  per_step[B][n_steps]   spikes of each copy at each step (copy-major; each row sums to count[c])
    then for each copy c:  int{8w} index[count[c]]   neuron within the copy (0 … n − 1), step by step, and within
                                                       a step in increasing order

Files of the first format (``int32 B``, ``int64 count[B]``, then per copy ``int32 index[count]`` and
``int32 step[count]``; projects exported before the second) are read too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: First word of a recording of the second format: the bytes "SPK2", read as a little-endian int32.
SPIKES_MAGIC = 0x324B5053
#: Layers of at most this many neurons record their indices as int16.
INT16_NEURONS = 32768
#: The recorder keeps each copy's indices in chunks of this many spikes (64 KiB of int16).
CHUNK_SPIKES = 32768


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
        index_type = "int16_t" if self.n <= INT16_NEURONS else "int32_t"
        spikes = device.get_array_name(group.variables["_spikespace"])
        code = f"""
    static inline int32_t {name}(const int64_t _step)
    {{
        // each copy's indices in chunks of {CHUNK_SPIKES} (allocated, never zero-filled, never moved): a step's
        // indices cost their own stores and, once per chunk, a fresh chunk; not a growing vector's zero-fill and copies
        static std::vector<{index_type}*> _chunks[{self.batch}];
        static int64_t _count[{self.batch}];  // zero-initialised
        static int32_t _per_step[{self.batch}][{int(n_steps)}];  // zero-initialised
        // the spike space lists this step's spikes in increasing index: each copy's are one run
        const int32_t* const _spikes = brian::{spikes};
        const int32_t _n_spikes = _spikes[{group.N}];
        int32_t _s = 0;
        while (_s < _n_spikes)
        {{
            const int32_t _c = _spikes[_s] / {self.n}, _lo = _c * {self.n}, _hi = _lo + {self.n};
            int32_t _e = _s + 1;
            while (_e < _n_spikes && _spikes[_e] < _hi)
                _e++;
            _per_step[_c][_step] = _e - _s;
            while (_s < _e)  // the run, into the copy's last chunk and, where it is full, a new one
            {{
                const int64_t _slot = _count[_c] % {CHUNK_SPIKES};
                if (_slot == 0)
                    _chunks[_c].push_back(new {index_type}[{CHUNK_SPIKES}]);
                const int64_t _room = {CHUNK_SPIKES} - _slot;
                const int32_t _take = (int64_t)(_e - _s) < _room ? _e - _s : (int32_t)_room;
                {index_type}* const _out = _chunks[_c].back() + _slot;
                for (int32_t _k = 0; _k < _take; _k++)
                    _out[_k] = ({index_type})(_spikes[_s + _k] - _lo);
                _count[_c] += _take;
                _s += _take;
            }}
        }}
        if (_step == {int(n_steps) - 1})
        {{
            std::ofstream _out((brian::results_dir + "{self.file_name}").c_str(), std::ios::binary | std::ios::out);
            const int32_t _head[4] = {{{SPIKES_MAGIC}, {self.batch}, {int(n_steps)}, (int32_t)sizeof({index_type})}};
            _out.write(reinterpret_cast<const char*>(_head), sizeof(_head));
            _out.write(reinterpret_cast<const char*>(_count), sizeof(_count));
            _out.write(reinterpret_cast<const char*>(_per_step), sizeof(_per_step));
            for (int32_t _c = 0; _c < {self.batch}; _c++)
                for (size_t _q = 0; _q < _chunks[_c].size(); _q++)
                {{
                    const int64_t _left = _count[_c] - (int64_t)_q * {CHUNK_SPIKES};
                    const int64_t _n = _left < {CHUNK_SPIKES} ? _left : {CHUNK_SPIKES};
                    _out.write(reinterpret_cast<const char*>(_chunks[_c][_q]), _n * sizeof({index_type}));
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
    """A recorder's file (module docstring, either format) of ``batch`` copies: (index within the copy, step) of each
    of the first ``n_used`` copies (default all), both int32; a file of another batch or a truncated one is refused."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, not a spike recording (a truncated file?)")
    head = np.frombuffer(raw, dtype="<i4", count=min(4, len(raw) // 4))
    if int(head[0]) != SPIKES_MAGIC:
        return _read_first_format(path, raw, batch, n_used)
    if head.size < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, shorter than the header (a truncated file?)")
    found, n_steps, width = (int(v) for v in head[1:4])
    if found != batch:
        raise ValueError(f"{path}: a recording of {found} copies where {batch} were run")
    if width not in (2, 4) or n_steps < 0:
        raise ValueError(f"{path}: a header with {width}-byte indices and {n_steps} steps (a damaged file?)")
    offset = 16 + 8 * batch
    if len(raw) < offset + 4 * batch * n_steps:
        raise ValueError(f"{path}: {len(raw)} bytes, shorter than its per-step counts (a truncated file?)")
    counts = np.frombuffer(raw, dtype="<i8", count=batch, offset=16)
    per_step = np.frombuffer(raw, dtype="<i4", count=batch * n_steps, offset=offset).reshape(batch, n_steps)
    offset += 4 * batch * n_steps
    if len(raw) - offset != width * int(counts.sum()) or np.any(per_step.sum(axis=1) != counts):
        raise ValueError(f"{path}: {len(raw) - offset} bytes of indices for {int(counts.sum())} spikes, or per-step "
                         "counts that do not sum to them (a truncated file?)")
    n = batch if n_used is None else n_used
    if n == 0:
        return []
    # every used copy's spikes at once (one conversion, one repeat), then cut into copies: views of the two arrays
    total = int(counts[:n].sum())
    index = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4", count=total, offset=offset).astype(np.int32)
    steps = np.repeat(np.tile(np.arange(n_steps, dtype=np.int32), n), per_step[:n].ravel())
    cut = np.cumsum(counts[:n - 1])
    return list(zip(np.split(index, cut), np.split(steps, cut)))


def _read_first_format(path: Path, raw: bytes, batch: int, n_used: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`read_spikes` for a file of the first format (module docstring)."""
    found = int(np.frombuffer(raw, dtype="<i4", count=1)[0])
    if found != batch:
        raise ValueError(f"{path}: a recording of {found} copies where {batch} were run")
    if len(raw) < 4 + 8 * batch or (len(raw) - 4 - 8 * batch) % 8:
        raise ValueError(f"{path}: {len(raw)} bytes, not a whole recording of {batch} copies (a truncated file?)")
    counts = np.frombuffer(raw, dtype="<i8", count=batch, offset=4)
    body = np.frombuffer(raw, dtype="<i4", offset=4 + 8 * batch)
    if body.size != 2 * int(counts.sum()):
        raise ValueError(f"{path}: {body.size} values for {int(counts.sum())} spikes (a truncated file?)")
    out, start = [], 0
    for c in range(batch if n_used is None else n_used):
        k = int(counts[c])
        out.append((body[start:start + k].copy(), body[start + k:start + 2 * k].copy()))
        start += 2 * k
    return out
