"""Synaptic propagation by weight rows: a C++ kernel for ``cpp_standalone`` that replaces Brian2 ``Synapses``.

Brian2's own synapses apply the spike effect of :data:`lprnn_brian.equations.sigma_delta.ON_SPIKE_TARGET`
(``i_in += 64·w``) one synapse at a time through a spike queue: a few ns per synaptic event, the bulk of a
ΣΔ-lpRNN's simulation time (design notes, "Performance"). Here every projection (one weight matrix
W_snn, post × pre) is one C++ function, called once per step and network copy in the ``synapses`` slot by a
driver group's ``run_regularly`` (one driver neuron per copy). It reads the presynaptic group's spike space
(the indices of this step's spikes, in increasing order) and, for every spike, adds the presynaptic neuron's
whole row of 64·W_snnᵀ to the targets' ``i_in``:

- **dense rows** (the matrix is more than :data:`DENSE_ABOVE` non-zero): a contiguous loop over all targets
  that the compiler vectorises; a zero weight adds +0.0, which leaves any value unchanged;
- **sparse rows** (CSR, pruned matrices): only the non-zero weights;
- **integer rows** (Loihi-integer mode, where every spike effect is an integer, :func:`integer_rows_exact`): the
  step's rows of a copy are summed in an int16 (or int32) accumulator, thirty-two (sixteen) targets per AVX-512
  instruction (half as many with AVX2), rows stored in whole vectors (:func:`padded_width`), or in half a byte per
  weight where the weights span at most 16 integers (:func:`nibble_rows`), and the sum is added to ``i_in`` once, as
  ``scale · sum``. The kernel asks the cache for the rows of the spikes a few places ahead (:func:`_prefetch_row`).
  Every value involved is far below 2^53 and a multiple of 2^-12 (the states are integers, or integers times the
  12-bit decay; :func:`accumulator` checks that no sum can overflow), so every partial sum is exact and the order of
  the additions cannot change the result (also for rows first summed in int8 or uint8 blocks, :func:`block_rows` and
  :func:`nibble_rows`, whose sums cannot overflow). The same holds across projections: a layer's feed-forward and
  recurrent rows share one accumulator, one kernel and one addition per step where their effects fit one scale
  (:func:`integer_sources`, :func:`target_propagation`).

In the dense and sparse layouts each target receives its increments in the same order as from Brian2's synapses
(spikes in increasing presynaptic index; feed-forward before recurrent, as the synapses' names sort), and every
increment is the same double ``64·w``; in the integer layout the sum is the same number. The result equals
Brian2's bit for bit, in float and Loihi-integer mode alike (``tests/test_batch.py`` checks spikes and states
against the ``Synapses`` path).

With a batch of B network copies in one group (:func:`lprnn_brian.network.build_network` ``batch``),
presynaptic neuron p belongs to copy ⌊p/n_pre⌋ and adds only into that copy's targets: the copies are
independent, and each copy computes exactly what a single network does.

The increment factor (64) and its target variable come from the sympy declaration
(:func:`lprnn_brian.equations.numeric.spike_increment`), not from this module.
"""
from __future__ import annotations

import numpy as np

from .equations.numeric import spike_increment

#: Matrices with more than this fraction of non-zero weights use dense rows, the others sparse rows.
DENSE_ABOVE = 0.25
#: Where sums are exact (Loihi-integer mode) and the weights are small integers, matrices with more than this
#: fraction of non-zero weights use integer rows (a vector instruction adds 16 targets, a sparse row one).
INTEGER_ABOVE = 0.02
#: Integer rows keep their accumulator on the stack: at most this many targets.
INTEGER_MAX_TARGETS = 16384
#: Integer rows are stored in multiples of this many targets (:func:`padded_width`): one AVX-512 vector of int16.
ROW_LANES = 32
#: Rows of 4-bit weights (:func:`nibble_rows`) are stored in groups of this many targets, 32 bytes: one AVX2 vector.
NIBBLE_GROUP = 64


def _unavailable(*args):  # pragma: no cover - only a placeholder for Brian2's Function signature
    raise NotImplementedError("row propagation is implemented for cpp_standalone only")


def compact_rows(rows: np.ndarray) -> tuple[np.ndarray, float]:
    """The narrowest exact storage of a weight matrix: (values, scale) with ``scale · values == rows`` exactly
    in float64, values int8, int16, float32 or float64 (the first that holds every weight exactly).

    ``scale`` is the largest power of two dividing every weight (1.0 for float storage): the spike effects of a
    Loihi-mode network are multiples of 64·2^exp with 8-bit mantissas, so they fit int8 or int16. The kernel
    then adds ``scale · (double) value``, which is the same double as ``rows`` holds: the increments, and so the
    result, are those of float64 rows bit for bit, from an eighth of the memory (a 512 × 512 matrix: 256 KB
    instead of 2 MB, inside a core's L2 cache)."""
    rows = np.asarray(rows, dtype=np.float64)
    nz = np.abs(rows[rows != 0])
    if nz.size and np.all(np.isfinite(nz)):
        # the largest power of two dividing every weight: start at the smallest weight's and halve until exact
        p = int(np.floor(np.log2(nz.min())))
        for _ in range(64):
            k = rows / 2.0 ** p
            if np.array_equal(k, np.round(k)):
                break
            p -= 1
        else:
            k = None
        if k is not None:
            for dtype in (np.int8, np.int16):
                info = np.iinfo(dtype)
                if info.min <= k.min() and k.max() <= info.max:
                    return k.astype(dtype), 2.0 ** p
    if not nz.size:
        return np.zeros(rows.shape, dtype=np.int8), 1.0
    as_float = rows.astype(np.float32)
    if np.array_equal(as_float.astype(np.float64), rows):
        return as_float, 1.0
    return rows, 1.0


def _element(values: np.ndarray, scale: float, index: str) -> str:
    """C++ expression of one stored weight as the double it stands for (exact: see :func:`compact_rows`)."""
    if values.dtype == np.float64:
        return index
    return f"{float(scale)!r} * (double){index}" if scale != 1.0 else f"(double){index}"


#: The dense and sparse layouts' loop over this copy's spikes (from ``_s``), presynaptic neuron ``_q`` within the copy.
_SPIKE_LOOP = """
        for (; _s < _n_spikes && _spikes[_s] < _hi; _s++)
        {{
            const int32_t _q = _spikes[_s] - _lo;{inner}
        }}"""


def accumulator(*values: np.ndarray) -> np.dtype | None:
    """The narrowest integer type that holds any step's sum of integer rows ``values`` (each (n_pre, n_post), every
    projection into one target) into one target (every presynaptic neuron spiking at once, at most once per step):
    int16 or int32, or None when the values are not integers or their sums could overflow int32."""
    if any(v.dtype.kind != "i" for v in values):
        return None
    columns = sum(np.abs(v.astype(np.int64)).sum(axis=0) for v in values)  # per target, every row at once
    worst = int(np.max(columns, initial=0))
    for dtype in (np.int16, np.int32):
        if worst <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return None


def integer_sources(rows: list[np.ndarray]) -> tuple[list[np.ndarray], float] | None:
    """The spike effects ``rows`` of the projections into one target (each (n_pre, n_post)) as integer rows on one
    scale: (values, scale) with ``scale · values[k] == rows[k]`` exactly, each values[k] int8 or int16 (the
    narrowest that holds it), scale the smallest of their :func:`compact_rows` scales (a power of two ≥ 1); None
    where a projection's effects are not integers, or their step sums together do not fit an accumulator
    (:func:`accumulator`)."""
    compact = [compact_rows(r) for r in rows]
    if not compact or any(v.dtype.kind != "i" or sc < 1.0 for v, sc in compact):
        return None
    scale = min(sc for _, sc in compact)
    values = []
    for v, sc in compact:
        k = v.astype(np.int64) * int(sc / scale)  # a power of two: exact
        dtype = next((d for d in (np.int8, np.int16) if np.iinfo(d).min <= k.min(initial=0)
                      and k.max(initial=0) <= np.iinfo(d).max), None)
        if dtype is None:
            return None
        values.append(k.astype(dtype))
    return (values, scale) if accumulator(*values) is not None else None


def block_rows(values: np.ndarray) -> int:
    """How many int8 rows ``values`` (n_pre, n_post) can be summed in int8 without overflow, whatever the rows:
    ⌊127 / max |v|⌋ (1 for int16 values, or where a weight's magnitude exceeds 63). A quantised network's weights
    are small integers (the authors' SHD network: −4 … 3, so blocks of 31 rows), and a block of rows summed in int8
    is one vector addition per 64 targets and row instead of a widening and two additions; each block's sum, exact,
    is then widened into the accumulator."""
    if values.dtype != np.int8 or not values.size:
        return 1
    largest = int(np.abs(values.astype(np.int16)).max())
    return max(1, np.iinfo(np.int8).max // largest) if largest else 1


def padded_width(n_post: int, lanes: int = ROW_LANES) -> int:
    """The stored width of an integer row of ``n_post`` targets: ``n_post`` rounded up to a multiple of ``lanes``
    (:data:`ROW_LANES`; :data:`NIBBLE_GROUP` for 4-bit rows), so that the row loop is whole vector instructions (a
    20-target read-out row is otherwise a scalar loop with stack spills); the padding is zero weights, which add
    nothing."""
    return -(-n_post // lanes) * lanes


def nibble_rows(values: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """Integer rows ``values`` (n_pre, n_post) in half a byte per weight, where every weight, and zero, lies in a
    range of at most 16 integers (the authors' SHD network: −4 … 3): (packed, offset, block), or None where they
    do not, or where a row is shorter than :data:`NIBBLE_GROUP` (a byte per weight is as small there, padded).

    Each weight is stored as ``u = w + offset`` (0 … 15; ``offset = −min(w, 0)``), the row padded with zero weights
    to whole groups of :data:`NIBBLE_GROUP` targets, each group in 32 bytes: byte k holds target k of the group in
    its low four bits and target k + 32 in its high four. ``packed`` is (n_pre, padded width / 2) bytes, as int8
    (Brian2 stores no uint8 arrays; the kernel reads them as uint8). ``block`` rows of u sum to at most 255 in uint8
    lanes; the kernel subtracts ``offset`` times the rows of a block from its sum, which gives the weights' sum
    exactly. The rows of a 512-target layer take 256 instead of 512 bytes: the weights that every step reads from
    memory halve (the reason, docs/targets.md)."""
    if values.dtype.kind != "i" or values.shape[1] < NIBBLE_GROUP or not values.size:
        return None
    lo, hi = min(int(values.min()), 0), max(int(values.max()), 0)
    if hi - lo > 15:
        return None
    n_pre, n_post = values.shape
    width = padded_width(n_post, NIBBLE_GROUP)
    u = np.full((n_pre, width), -lo, dtype=np.uint8)  # padding: the weight 0
    u[:, :n_post] = values.astype(np.int16) - lo
    groups = u.reshape(n_pre, width // NIBBLE_GROUP, 2, NIBBLE_GROUP // 2)
    packed = groups[:, :, 0, :] | (groups[:, :, 1, :] << 4)
    return packed.reshape(n_pre, width // 2).view(np.int8), -lo, np.iinfo(np.uint8).max // max(hi - lo, 1)


#: Rows ahead whose bytes the integer kernels ask the cache for (:func:`_prefetch_row`).
PREFETCH_ROWS = 4


def _prefetch_row(table: str, row_bytes: int) -> str:
    """C++ lines asking the cache for the row, in ``table`` (rows of ``row_bytes`` bytes), of the
    spike :data:`PREFETCH_ROWS` places ahead of ``_s`` in this copy: the spikes' rows lie anywhere in the table, so
    the hardware cannot guess the next one, and a row that comes from the L3 cache or memory would otherwise stall
    the loop on its first bytes (docs/targets.md). A hint only: nothing is read or written (GCC and Clang)."""
    return f"""
                    #if defined(__GNUC__) || defined(__clang__)
                    if (_s + {PREFETCH_ROWS} < _n_spikes && _spikes[_s + {PREFETCH_ROWS}] < _hi)
                    {{
                        const char* const _ahead = reinterpret_cast<const char*>(_namespace{table})
                                                   + (size_t)(_spikes[_s + {PREFETCH_ROWS}] - _lo) * {row_bytes};
                        for (int32_t _line = 0; _line < {row_bytes}; _line += 64)
                            __builtin_prefetch(_ahead + _line);
                    }}
                    #endif"""


def _copy_spikes(spikes: str, n_total: int, n_pre: int) -> str:
    """C++ lines finding this copy's run of spikes in the spike space ``spikes`` of a group of ``n_total`` neurons
    (copies of ``n_pre``): ``_spikes``, ``_n_spikes``, ``_lo``, ``_hi`` and ``_a``, the run's first entry (no spike
    of this copy where ``_a == _n_spikes`` or ``_spikes[_a] >= _hi``)."""
    return f"""
        // this copy's spikes: the spike space lists indices in increasing order, so they form one run
        const int32_t* const _spikes = brian::{spikes};
        const int32_t _n_spikes = _spikes[{n_total}];
        const int32_t _lo = _copy * {n_pre}, _hi = _lo + {n_pre};
        int32_t _a = 0, _b = _n_spikes;
        while (_a < _b) {{ const int32_t _m = (_a + _b) / 2; if (_spikes[_m] < _lo) _a = _m + 1; else _b = _m; }}"""


def _dense_rows(name: str, rows: np.ndarray) -> tuple[dict, str]:
    """Namespace and C++ loop adding presynaptic neuron ``_q``'s whole row of ``rows`` (n_pre, n_post) to ``_t``
    (stored as :func:`compact_rows` finds)."""
    n_post = rows.shape[1]
    key = f"{name}_rows"
    values, scale = compact_rows(rows)
    namespace = {key: values.ravel()}
    body = _SPIKE_LOOP.format(inner=f"""
            const auto* const _row = _namespace{key} + (size_t)_q * {n_post};
            for (int32_t _j = 0; _j < {n_post}; _j++)
                _t[_j] += {_element(values, scale, "_row[_j]")};""")
    return namespace, body


def _sparse_rows(name: str, rows: np.ndarray) -> tuple[dict, str]:
    """Namespace (CSR arrays) and C++ loop adding the non-zero weights of presynaptic neuron ``_q``'s row of
    ``rows`` (n_pre, n_post) to ``_t`` (targets int16 where they fit, weights as :func:`compact_rows` stores them:
    3 bytes per Loihi synapse instead of 12)."""
    n_pre = rows.shape[0]
    pre_idx, post_idx = np.nonzero(rows)  # row-major: per presynaptic neuron, increasing target
    ptr = np.zeros(n_pre + 1, dtype=np.int32)
    np.add.at(ptr, pre_idx + 1, 1)
    ptr = np.cumsum(ptr, dtype=np.int32)
    values, scale = compact_rows(rows[pre_idx, post_idx])
    col_type = np.int16 if rows.shape[1] <= np.iinfo(np.int16).max + 1 else np.int32  # targets 0 … n_post − 1
    namespace = {f"{name}_ptr": ptr, f"{name}_col": post_idx.astype(col_type), f"{name}_val": values}
    if len(pre_idx) == 0:  # Brian2 cannot store empty arrays: one unused entry
        namespace[f"{name}_col"] = np.zeros(1, dtype=col_type)
        namespace[f"{name}_val"] = np.zeros(1, dtype=values.dtype)
    body = _SPIKE_LOOP.format(inner=f"""
            for (int32_t _k = _namespace{name}_ptr[_q]; _k < _namespace{name}_ptr[_q + 1]; _k++)
                _t[_namespace{name}_col[_k]] += {_element(values, scale, f"_namespace{name}_val[_k]")};""")
    return namespace, body


#: The float row storages: namespace and spike loop of each (integer rows: :func:`integer_propagation`).
_ROW_LOOPS = {"dense": _dense_rows, "sparse": _sparse_rows}
#: Every row storage.
LAYOUTS = ("dense", "sparse", "integer")


def integer_rows_exact(rows: np.ndarray) -> bool:
    """Whether integer rows reproduce ``rows`` (n_pre, n_post, the spike effects) exactly in Loihi-integer mode:
    every effect an integer (stored as small integers times a power of two ≥ 1, :func:`compact_rows`) and every
    step's sum within the accumulator (:func:`accumulator`). The targets then hold integers times the decay's
    12-bit fraction, so every partial sum is exact in a double."""
    return integer_sources([rows]) is not None


def choose_layout(rows: np.ndarray, exact_sums: bool) -> str:
    """The row storage of ``rows`` (n_pre, n_post, the spike effects): ``'integer'`` where ``exact_sums`` (the
    states hold integers: Loihi-integer mode), :func:`integer_rows_exact`, the targets fit the stack
    (:data:`INTEGER_MAX_TARGETS`) and more than :data:`INTEGER_ABOVE` of them are non-zero; otherwise ``'dense'``
    above :data:`DENSE_ABOVE` non-zero, else ``'sparse'``."""
    density = np.count_nonzero(rows) / max(rows.size, 1)
    if exact_sums and density > INTEGER_ABOVE and rows.shape[1] <= INTEGER_MAX_TARGETS and integer_rows_exact(rows):
        return "integer"
    return "dense" if density > DENSE_ABOVE else "sparse"


def _effect_rows(name: str, pre, post, W_snn: np.ndarray, batch: int) -> np.ndarray:
    """The spike effects of projection ``name`` per presynaptic neuron, (n_pre, n_post) = factor · W_snnᵀ (the factor
    of the declaration's spike effect); ValueError where the groups do not hold ``batch`` copies of it."""
    _, factor = spike_increment()
    n_post, n_pre = W_snn.shape
    if pre.N != batch * n_pre or post.N != batch * n_post:
        raise ValueError(f"{name}: groups of {pre.N} and {post.N} neurons do not hold {batch} copies of a "
                         f"{n_post} × {n_pre} projection")
    return np.ascontiguousarray((factor * np.asarray(W_snn, dtype=np.float64)).T)


def _function(name: str, code: str, namespace: dict):
    """A Brian2 ``Function`` of one integer argument (the network copy) with the C++ implementation ``code``."""
    from brian2 import Function

    f = Function(_unavailable, arg_units=[1], return_unit=1, arg_types=["integer"], return_type="integer",
                 stateless=False)
    f.implementations.add_implementation("cpp", code, namespace=namespace, name=name)
    return f


def _description(name: str, layout: str, rows: np.ndarray, kernel: str) -> dict:
    return {"name": name, "layout": layout, "nnz": int(np.count_nonzero(rows)), "n_pre": rows.shape[0],
            "n_post": rows.shape[1], "kernel": kernel}


def row_propagation(name: str, pre, post, W_snn: np.ndarray, batch: int, device, *, layout: str | None = None,
                    exact_sums: bool = False):
    """A Brian2 ``Function`` of one argument, a network copy c (returns 0), that propagates one step's
    spikes of copy c of ``pre`` into copy c of ``post`` through ``W_snn`` (post × pre) by weight rows.

    Copies write to disjoint slices of the target, so the calls for different copies may run in parallel
    (OpenMP threads split the driver group's loop over copies); within a copy the order of the increments is
    that of Brian2's synapses.

    Parameters
    ----------
    name : str
        C identifier of the function (unique per network); the projection's name is ``name`` without ``_rows``.
    pre, post : NeuronGroup
        Presynaptic and target groups, each ``batch`` copies of n_pre / n_post neurons.
    W_snn : ndarray
        (n_post, n_pre) weights of one copy.
    batch : int
        Network copies per group.
    device : brian2 Device
        The active standalone device (gives the C++ names of the groups' arrays).
    layout : {'dense', 'sparse', 'integer'}, optional
        Row storage; default :func:`choose_layout`. ``'integer'`` needs integer spike effects
        (:func:`integer_rows_exact`) and states whose sums are exact (Loihi-integer mode).
    exact_sums : bool
        The target's values are integers (or integers times the decay's 12-bit fraction): true in Loihi-integer
        mode; allows the integer layout.

    Returns
    -------
    (Function, dict)
        The function and a description (``name``, ``layout``, ``nnz``, ``n_pre``, ``n_post``, ``kernel``: the
        function's name).
    """
    projection = name.removesuffix("_rows")
    rows = _effect_rows(projection, pre, post, W_snn, batch)
    if layout is None:
        layout = choose_layout(rows, exact_sums)
    elif layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    elif layout == "integer" and not (exact_sums and integer_rows_exact(rows)):
        raise ValueError(f"{name}: integer rows need integer spike effects whose sums fit int32 and exact sums "
                         "(Loihi-integer mode)")
    if layout == "integer":
        f, (info,) = integer_propagation(name, [(projection, pre, W_snn)], post, batch, device)
        return f, info
    n_post, n_pre = W_snn.shape
    spikes = device.get_array_name(pre.variables["_spikespace"])
    target = device.get_array_name(post.variables[spike_increment()[0]])
    head = f"""
    static inline int32_t {name}(const int32_t _copy)
    {{{_copy_spikes(spikes, pre.N, n_pre)}
        if (_a >= _n_spikes || _spikes[_a] >= _hi)
            return 0;  // no spike in this copy
        double* const _t = brian::{target} + (size_t)_copy * {n_post};
        int32_t _s = _a;
    """
    namespace, body = _ROW_LOOPS[layout](name, rows)
    code = head + body + """
        return 0;
    }
    """
    return _function(name, code, namespace), _description(projection, layout, rows, name)


def _nibble_loop(key: str, packed: np.ndarray, offset: int, k: int, c_type: str) -> tuple[np.ndarray, int, str]:
    """Stored rows, block size and C++ loop of a projection's 4-bit rows in :func:`integer_propagation` (``packed``,
    ``offset``, ``k``: :func:`nibble_rows`): a copy's spikes in blocks of ``k`` rows, each block summed in uint8
    lanes, less ``offset`` per row, and widened into the accumulator ``_acc`` (``c_type``)."""
    row_bytes, half = packed.shape[1], NIBBLE_GROUP // 2
    loop = f"""
            for (int32_t _s = _a; _s < _n_spikes && _spikes[_s] < _hi; )
            {{
                _any = true;
                uint8_t _block[{2 * row_bytes}];
                for (int32_t _j = 0; _j < {2 * row_bytes}; _j++)
                    _block[_j] = 0;
                int32_t _rows = 0;
                for (const int32_t _stop = _s + {k}; _s < _stop && _s < _n_spikes && _spikes[_s] < _hi; _s++, _rows++)
                {{{_prefetch_row(key, row_bytes)}
                    const uint8_t* const _row = reinterpret_cast<const uint8_t*>(_namespace{key})
                                                + (size_t)(_spikes[_s] - _lo) * {row_bytes};
                    for (int32_t _g = 0; _g < {row_bytes // half}; _g++)
                        for (int32_t _k = 0; _k < {half}; _k++)
                        {{
                            const uint8_t _x = _row[_g * {half} + _k];
                            _block[_g * {NIBBLE_GROUP} + _k] += _x & 15;
                            _block[_g * {NIBBLE_GROUP} + {half} + _k] += _x >> 4;
                        }}
                }}
                const int32_t _offsets = _rows * {offset};  // the stored values' offset, once per row
                for (int32_t _j = 0; _j < {2 * row_bytes}; _j++)
                    _acc[_j] += ({c_type})((int32_t)_block[_j] - _offsets);
            }}"""
    return packed.ravel(), k, loop


def _byte_loop(key: str, values: np.ndarray, n_post: int) -> tuple[np.ndarray, int, str]:
    """Stored rows, block size and C++ loop of a projection's int8 or int16 rows ``values`` (n_pre, n_post) in
    :func:`integer_propagation`: rows :func:`padded_width` wide, added into the accumulator ``_acc`` one by one, or
    first summed in int8 blocks of :func:`block_rows` where that is more than one."""
    row_width, k = padded_width(n_post), block_rows(values)
    padded = np.zeros((values.shape[0], row_width), dtype=values.dtype)
    padded[:, :n_post] = values
    row = f"const auto* const _row = _namespace{key} + (size_t)(_spikes[_s] - _lo) * {row_width};"
    prefetch = _prefetch_row(key, row_width * values.dtype.itemsize)
    if k > 1:  # rows summed in int8 blocks of k, each block widened into the accumulator once
        loop = f"""
            for (int32_t _s = _a; _s < _n_spikes && _spikes[_s] < _hi; )
            {{
                _any = true;
                int8_t _block[{row_width}];
                for (int32_t _j = 0; _j < {row_width}; _j++)
                    _block[_j] = 0;
                for (const int32_t _stop = _s + {k}; _s < _stop && _s < _n_spikes && _spikes[_s] < _hi; _s++)
                {{{prefetch}
                    {row}
                    for (int32_t _j = 0; _j < {row_width}; _j++)
                        _block[_j] += _row[_j];
                }}
                for (int32_t _j = 0; _j < {row_width}; _j++)
                    _acc[_j] += _block[_j];
            }}"""
    else:
        loop = f"""
            for (int32_t _s = _a; _s < _n_spikes && _spikes[_s] < _hi; _s++)
            {{
                _any = true;{prefetch}
                {row}
                for (int32_t _j = 0; _j < {row_width}; _j++)
                    _acc[_j] += _row[_j];
            }}"""
    return padded.ravel(), k, loop


def integer_propagation(name: str, sources: list, post, batch: int, device):
    """One Brian2 ``Function`` of a network copy c that propagates one step's spikes of copy c of every projection
    in ``sources`` ((projection name, presynaptic group, W_snn), all into ``post``) by integer rows
    (:func:`integer_sources`: their effects integers on one scale, their step sums together within one
    accumulator): the rows of every projection's spikes are summed in one int16 (int32) accumulator, thirty-two
    (sixteen) targets per AVX-512 instruction, and ``scale · sum`` is added to the target once per step (module
    docstring: the sums are exact, so they equal the projections' increments added one by one, in any order). Rows
    are stored :func:`padded_width` wide; where a projection's weights are small enough, its rows are first summed
    in int8 blocks (:func:`block_rows`), or in 4 bits where they fit (:func:`nibble_rows`). The descriptions add
    ``block_rows`` and ``weight_bits`` (4, 8 or 16).

    Returns (Function, descriptions of the projections, as :func:`row_propagation`'s). ValueError where the
    projections cannot share integer rows."""
    target_var, _ = spike_increment()
    rows = [_effect_rows(projection, pre, post, W, batch) for projection, pre, W in sources]
    shared = integer_sources(rows)
    if shared is None:
        raise ValueError(f"{name}: the projections {[s[0] for s in sources]} have no integer rows on one scale whose "
                         "sums fit int32")
    values, scale = shared
    n_post = rows[0].shape[1]
    nibbles = [nibble_rows(v) for v in values]
    width = max([padded_width(n_post)] + [2 * p.shape[1] for p, _, _ in filter(None, nibbles)])  # the accumulator's
    c_type = {np.dtype(np.int16): "int16_t", np.dtype(np.int32): "int32_t"}[accumulator(*values)]
    target = device.get_array_name(post.variables[target_var])
    namespace, blocks, infos = {}, [], []
    for (projection, pre, _), v, effects, nibble in zip(sources, values, rows, nibbles):
        key = f"{projection}_row_values"  # not the function's name, which may be "<projection>_rows"
        if nibble is not None:  # 4-bit rows, summed in uint8 blocks, each block widened into the accumulator
            namespace[key], k, loop = _nibble_loop(key, *nibble, c_type)
            bits = 4
        else:
            namespace[key], k, loop = _byte_loop(key, v, n_post)
            bits = 8 * v.dtype.itemsize
        spikes = device.get_array_name(pre.variables["_spikespace"])
        blocks.append(f"""
        {{  // {projection}{_copy_spikes(spikes, pre.N, v.shape[0])}{loop}
        }}""")
        infos.append(_description(projection, "integer", effects, name) | {"block_rows": k, "weight_bits": bits})
    code = f"""
    static inline int32_t {name}(const int32_t _copy)
    {{
        {c_type} _acc[{width}];
        for (int32_t _j = 0; _j < {width}; _j++)
            _acc[_j] = 0;
        bool _any = false;{"".join(blocks)}
        if (!_any)
            return 0;  // no spike in this copy
        double* const _t = brian::{target} + (size_t)_copy * {n_post};
        for (int32_t _j = 0; _j < {n_post}; _j++)
            _t[_j] += {float(scale)!r} * (double)_acc[_j];
        return 0;
    }}
    """
    return _function(name, code, namespace), infos


def target_propagation(post, sources: list, batch: int, device, *, exact_sums: bool = False) -> list:
    """The row-propagation functions of every projection into ``post`` (``sources``: (projection name, presynaptic
    group, W_snn), in the schedule's order): one :func:`integer_propagation` for all of them where each would have
    integer rows (:func:`choose_layout`) and they share them (:func:`integer_sources`), which adds to the target once
    per step instead of once per projection; otherwise one :func:`row_propagation` per projection.

    Returns a list of (function name, Function, descriptions of the projections it propagates), in schedule order."""
    rows = [_effect_rows(projection, pre, post, W, batch) for projection, pre, W in sources]
    if (len(sources) > 1 and all(choose_layout(r, exact_sums) == "integer" for r in rows)
            and integer_sources(rows) is not None):
        name = f"{post.name}_in_rows"
        f, infos = integer_propagation(name, sources, post, batch, device)
        return [(name, f, infos)]
    out = []
    for projection, pre, W in sources:
        f, info = row_propagation(f"{projection}_rows", pre, post, W, batch, device, exact_sums=exact_sums)
        out.append((f"{projection}_rows", f, [info]))
    return out
