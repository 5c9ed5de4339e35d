r"""NIR export and import of a converted ΣΔ network (nir 1.0.x graphs in HDF5).

NIR has no ΣΔ node, so each layer's neuron (docs/method.md#state-and-update) becomes a small circuit of standard NIR
primitives whose continuous-time dynamics are the neuron's. The exact :class:`~lprnn_brian.convert.SNNSpec` travels in
the graph's metadata, and :func:`from_nir` checks that the nodes still agree with it.

**Conventions.** Δ = ``spec.dt`` (Δt_S, s); every time constant is in seconds, τ_X·Δ. A spike is a unit-area
Dirac impulse δ(t − t_k) (NIR's convention; a simulator that passes a spike as a one-step pulse of height 1, such
as norse, divides the spike-driven weights by its dt). States are in the SNN's integer units of
docs/method.md#state-and-update, not divided by the factor f (the read-out's decode in ANN units is −i_fb/(κ f),
κ = kick·τ_S/Iin_snn, docs/method.md#input-decoding-and-compartments). Every neuron node has ``r = 1`` (some
consumers, e.g. norse, ignore ``r``), so each scale sits in a ``Linear`` weight or a ``v_leak``.

Nodes of layer ``L`` (n neurons; τ_I may be a per-neuron vector under per-unit retention):

============  ======  ===========================================  ==================================================
node          type    parameters (every neuron node: r = 1)        state / signal
============  ======  ===========================================  ==================================================
``L_syn``     LI      tau = τ_U·Δ, v_leak = 0                      y = τ_I·i_in; in layers that receive spikes
``L_w_ff``    Linear  64·W_snn·τ_I (by row)·τ_U·Δ                  previous soma → L_syn: spike adds 64·W_snn to i_in
``L_w_rec``   Linear  64·U_snn·τ_I (by row)·τ_U·Δ                  own soma → L_syn (lpRNN layers)
``L_ip``      LI      tau = τ_I·Δ, v_leak = τ_I·b_tilde            i_ip; input y (layer 0: also L_w_x)
``L_w_x``     Linear  f0·W_ann·τ_I/τ_U                             layer 0: x → L_ip (per-unit retention: f0·W_ann)
``L_fb``      LI      tau = τ_S·Δ, v_leak = 0                      i_fb
``L_w_self``  Linear  diag(−kick·τ_S·Δ)                            own soma → L_fb: a spike adds −kick to i_fb
``L_soma``    LIF     tau = Δ, v_threshold = θ                     v (v_leak = v_reset = 0), input i_ip + i_fb; spikes
``input``     Input   (n_features,)                                x: ANN input features, a frame held per step
``output``    Output  (n_last,)                                    spikes of the last layer
============  ======  ===========================================  ==================================================

The circuit's equations (NIR: LI τ v̇ = v_leak − v + r·I; inputs of a node are summed) are

.. math::

    \tau_U\Delta\,\dot y &= -y + 64\,\tau_I\,\tau_U\Delta\,(W s^{prev} + U s)
        \quad\Leftrightarrow\quad \Delta\,\dot i_{in} = -i_{in}/\tau_U, \; i_{in} \mathrel{+}= 64 w \\
    \tau_I\Delta\,\dot i_{ip} &= \tau_I\tilde b - i_{ip} + y + \tau_I X/\tau_U
        \quad\Leftrightarrow\quad \Delta\,\dot i_{ip} = -i_{ip}/\tau_I + i_{in} + \tilde b + X/\tau_U \\
    \tau_S\Delta\,\dot i_{fb} &= -i_{fb} - \mathrm{kick}\,\tau_S\Delta\, s
        \quad\Leftrightarrow\quad \Delta\,\dot i_{fb} = -i_{fb}/\tau_S, \; i_{fb} \mathrel{-}= \mathrm{kick} \\
    \Delta\,\dot v &= -v + i_{ip} + i_{fb}, \quad s = [v > \theta], \; v \leftarrow 0,

the continuous form of docs/method.md#state-and-update (X: the layer-0 drive of
docs/method.md#input-decoding-and-compartments, :func:`~lprnn_brian.convert.layer0_drive`). The soma's τ = Δ makes it
the memoryless comparator of docs/method.md#per-step-order: one forward-Euler step at dt = Δ gives v = i_ip + i_fb (v
holds no margin from one step to the next, as the spec's τ_V = 1 for θ > 0 and the floor at θ = 0 give; τ_V is kept in
the metadata only).

**What NIR cannot express** (the metadata keeps it, a NIR consumer does not see it): the floor i_ip ≥ 0 of
docs/method.md#per-step-order (no rectifier primitive: the graph's i_ip may go negative where the spec's is held at 0,
so the two agree while every neuron's drive stays ≥ 0); in ``loihi`` mode the 24-bit clipping and truncation of every
state (the nodes carry the mode's Loihi-rounded weights, biases and 12-bit time constants, as floats); the per-step
order of docs/method.md#per-step-order (one simulator step of delay per stage), which is the simulator's discretisation.

**Metadata** (graph level): ``format`` = ``'lprnn_brian.nir'``, ``format_version``, ``lprnn_brian_version``,
``dt``, ``spike``, ``state_units``, ``spec`` (the JSON of :meth:`SNNSpec.summary`) and ``arrays``
(``arrays/<layer index>/<name>``: :meth:`SNNSpec.to_arrays`' arrays, dtype kept), enough to rebuild the spec bit for
bit. NIR asks consumers not to rely on metadata; the graph's nodes alone define the (float) network.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np

from ..version import __version__
from ..convert import SNNSpec
from ..equations.sigma_delta import ACTIVATION_SHIFT
from ..errors import UserInputError
from ..fileio import atomic_path

FORMAT = "lprnn_brian.nir"
#: 2: the soma LIF's v_threshold carries the comparator threshold θ (1: always 0, the threshold policy 'zero').
FORMAT_VERSION = 2
#: Layer names become parts of node names and HDF5 group names ('/' would nest groups, '.' names subgraph ports).
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
#: Relative tolerance of the node/metadata agreement check: a tool that stores the graph in float32 still passes.
NODE_RTOL = 1e-6
_NODE_FIELDS_SKIPPED = ("input_type", "output_type", "metadata")


def _nir():
    try:
        import nir
    except ImportError:
        raise UserInputError("NIR export needs the nir package: pip install 'lprnn_brian[nir]' (nir 1.0.x)") from None
    return nir


def _vec(value, n: int) -> np.ndarray:
    """A per-layer scalar or per-neuron vector as a float64 (n,) array."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def _graph_parts(spec: SNNSpec):
    """Nodes (dict) and edges (list) of the graph of ``spec`` (the encoding of the module docstring)."""
    nir = _nir()
    names = [L.name for L in spec.layers]
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise UserInputError(f"layer names {bad} cannot name NIR nodes; use letters, digits, '_' and '-' only")
    if len(set(names)) != len(names):
        raise UserInputError(f"layer names {names} are not unique; NIR nodes need unique names")
    dt = float(spec.dt)
    zeros = lambda n: np.zeros(n)  # noqa: E731
    ones = lambda n: np.ones(n)  # noqa: E731
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    L0 = spec.layers[0]
    n_features = L0.W_ann.shape[1]
    nodes["input"] = nir.Input(input_type={"input": np.array([n_features])})
    for k, L in enumerate(spec.layers):
        n = L.n
        tau_I = _vec(L.tau_I, n)
        meta = lambda state: {"layer": L.name, "state": state}  # noqa: E731
        ip, fb, soma, syn = (f"{L.name}_{s}" for s in ("ip", "fb", "soma", "syn"))
        nodes[ip] = nir.LI(tau=tau_I * dt, r=ones(n), v_leak=tau_I * np.asarray(L.b_tilde, dtype=np.float64),
                           metadata=meta("i_ip"))
        nodes[fb] = nir.LI(tau=_vec(L.tau_S * dt, n), r=ones(n), v_leak=zeros(n), metadata=meta("i_fb"))
        nodes[soma] = nir.LIF(tau=_vec(dt, n), r=ones(n), v_leak=zeros(n), v_threshold=_vec(L.threshold, n),
                              v_reset=zeros(n), metadata=meta("v (comparator i_ip + i_fb > threshold); output: spikes"))
        nodes[f"{L.name}_w_self"] = nir.Linear(weight=np.diag(_vec(-L.kick * L.tau_S * dt, n)),
                                               metadata=meta("own spikes -> i_fb (-kick each)"))
        edges += [(ip, soma), (fb, soma), (soma, f"{L.name}_w_self"), (f"{L.name}_w_self", fb)]
        # spikes into i_in: the weight carries τ_I (state y = τ_I·i_in) and τ_U·Δ (a Dirac of area 1 through
        # τ_U·Δ·ẏ = −y + w·δ jumps by w/(τ_U·Δ))
        syn_scale = ACTIVATION_SHIFT * tau_I[:, None] * L.tau_U * dt
        projections = []
        if k > 0:
            projections.append(("w_ff", L.W_snn, f"{spec.layers[k - 1].name}_soma"))
        if L.U_snn is not None:
            projections.append(("w_rec", L.U_snn, soma))
        if projections:
            nodes[syn] = nir.LI(tau=_vec(L.tau_U * dt, n), r=ones(n), v_leak=zeros(n), metadata=meta("tau_I * i_in"))
            edges.append((syn, ip))
            for tag, W, source in projections:
                name = f"{L.name}_{tag}"
                nodes[name] = nir.Linear(weight=np.asarray(W, dtype=np.float64) * syn_scale,
                                         metadata=meta(f"spikes of {source} -> tau_I * i_in"))
                edges += [(source, name), (name, syn)]
        if k == 0:
            nodes[f"{L.name}_w_x"] = nir.Linear(weight=_input_weight(spec), metadata=meta("input x -> i_ip"))
            edges += [("input", f"{L.name}_w_x"), (f"{L.name}_w_x", ip)]
    last = spec.layers[-1]
    nodes["output"] = nir.Output(output_type={"output": np.array([last.n])})
    edges.append((f"{last.name}_soma", "output"))
    return nodes, edges


def _input_weight(spec: SNNSpec) -> np.ndarray:
    """Weight of ``input → L0_ip``: x ↦ τ_I·X/τ_U with X = :func:`~lprnn_brian.convert.layer0_drive` (which scales
    each unit by τ_U/τ_I,i under per-unit retention, so that the weight is then f0·W_ann itself)."""
    L0 = spec.layers[0]
    W = L0.factor * np.asarray(L0.W_ann, dtype=np.float64)
    if isinstance(L0.tau_I, np.ndarray):
        return W
    return W * (L0.tau_I / L0.tau_U)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def to_nir(spec: SNNSpec):
    """The NIR graph of ``spec`` (encoding in the module docstring), with the exact spec in its metadata.

    Parameters
    ----------
    spec : SNNSpec
        A converted network (:func:`lprnn_brian.convert.to_snn_spec`), float or loihi mode.

    Returns
    -------
    nir.NIRGraph
        One flat graph: ``input`` (features) → … → ``output`` (spikes of the last layer).
    """
    nir = _nir()
    nodes, edges = _graph_parts(spec)
    summary, named = spec.to_arrays(prefix="")
    # grouped by layer index (a group per layer in HDF5), keyed by the array's name in SNNSpec.to_arrays
    index = {L.name: str(k) for k, L in enumerate(spec.layers)}
    arrays: dict[str, dict[str, np.ndarray]] = {str(k): {} for k in range(len(spec.layers))}
    for key, value in named.items():
        layer, name = key.rsplit("/", 1)
        arrays[index[layer]][name] = np.asarray(value)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lprnn_brian_version": __version__,
        "dt": float(spec.dt),
        "spike": "unit-area Dirac impulse",
        "state_units": "SNN integer units; read-out decode in ANN units: -i_fb/(kappa f), kappa = kick tau_S/Iin_snn",
        "spec": json.dumps(summary, default=_json_default),
        "arrays": arrays,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _spec_from_metadata(meta: dict) -> SNNSpec:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserInputError(f"this NIR graph was not written by lprnn_brian (metadata format "
                             f"{meta.get('format') if isinstance(meta, dict) else None!r}, expected {FORMAT!r}); "
                             "only graphs from `lprnn-brian export nir` can be read back into a network spec")
    try:
        version = int(meta["format_version"])
    except (KeyError, TypeError, ValueError):
        raise UserInputError("the NIR graph's lprnn_brian metadata has no valid format_version") from None
    if version > FORMAT_VERSION:
        raise UserInputError(f"the NIR graph was written by a newer lprnn_brian (format version {version}, this one "
                             f"reads up to {FORMAT_VERSION}); upgrade lprnn_brian to read it")
    try:
        summary = json.loads(str(meta["spec"]))
        arrays = {}
        for k, Ls in enumerate(summary["layers"]):
            for a, value in meta["arrays"][str(k)].items():
                arrays[f"{Ls['name']}/{a}"] = np.asarray(value)
        spec = SNNSpec.from_arrays(summary, arrays, prefix="")
        for L in spec.layers:  # from_arrays leaves a missing array None: every layer needs these three
            for a, shape in (("W_snn", (L.n, None)), ("b_tilde", (L.n,)), ("W_ann", (L.n, None))):
                value = getattr(L, a)
                if value is None or value.ndim != len(shape) or value.shape[0] != L.n:
                    raise ValueError(f"array {a} of layer {L.name} is missing or has the wrong shape")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserInputError(f"the NIR graph's lprnn_brian metadata is incomplete or damaged "
                             f"({type(e).__name__}: {e}); re-export the model") from None
    return spec


def _disagreement(got, want) -> str | None:
    """Why node parameter ``got`` differs from ``want`` (None if it agrees within :data:`NODE_RTOL`)."""
    want = np.asarray(want, dtype=np.float64)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"a non-numeric value {got!r}"
    if got.shape != want.shape:
        return f"shape {got.shape} instead of {want.shape}"
    if not np.all(np.isfinite(got)):
        return "non-finite values"
    err = np.abs(got - want)
    bad = err > NODE_RTOL * np.abs(want)
    if np.any(bad):
        idx = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), err.shape) if err.ndim else ()
        return f"{got[idx]!r} instead of {want[idx]!r} at index {tuple(int(i) for i in idx)}"
    return None


def _parameters(node) -> dict:
    """The parameters of a node that define the network: its dataclass fields, and the shape of an Input/Output."""
    nir = _nir()
    out = {f.name: getattr(node, f.name) for f in dataclasses.fields(node) if f.name not in _NODE_FIELDS_SKIPPED}
    if isinstance(node, nir.Input):
        out["shape"] = node.input_type["input"]
    if isinstance(node, nir.Output):
        out["shape"] = node.output_type["output"]
    return out


def from_nir(graph) -> SNNSpec:
    """Rebuild the :class:`SNNSpec` of a graph written by :func:`to_nir`, after checking that its nodes still agree
    with the spec in its metadata.

    Parameters
    ----------
    graph : nir.NIRGraph

    Returns
    -------
    SNNSpec
        Equal, scalar for scalar and array for array, to the exported spec.

    Raises
    ------
    UserInputError
        The graph has no lprnn_brian metadata (or a newer format version), or a node, parameter or edge differs
        from what the metadata's spec gives (relative tolerance :data:`NODE_RTOL`): the message names it.
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise UserInputError(f"expected a nir.NIRGraph, got {type(graph).__name__}")
    spec = _spec_from_metadata(getattr(graph, "metadata", None))
    nodes, edges = _graph_parts(spec)
    missing = sorted(set(nodes) - set(graph.nodes))
    extra = sorted(set(graph.nodes) - set(nodes))
    if missing or extra:
        raise UserInputError(f"the NIR graph's nodes disagree with its lprnn_brian metadata (missing {missing}, "
                             f"unexpected {extra}); it was edited after export: re-export the model")
    for name, want in nodes.items():
        got = graph.nodes[name]
        if type(got) is not type(want):
            raise UserInputError(f"NIR node {name!r} is a {type(got).__name__}, the lprnn_brian metadata says "
                                 f"{type(want).__name__}")
        have = _parameters(got)
        for field, value in _parameters(want).items():
            why = _disagreement(have[field], value)
            if why:
                raise UserInputError(f"NIR node {name!r} parameter {field!r} disagrees with the lprnn_brian metadata "
                                     f"({why}); the graph was edited after export: re-export the model")
    got_edges = {(str(a), str(b)) for a, b in graph.edges}
    if got_edges != set(edges):
        raise UserInputError(f"the NIR graph's edges disagree with its lprnn_brian metadata (missing "
                             f"{sorted(set(edges) - got_edges)}, unexpected {sorted(got_edges - set(edges))})")
    return spec


def write_nir(spec: SNNSpec, path: str | os.PathLike, force: bool = False) -> Path:
    """Write the NIR graph of ``spec`` to ``path`` (HDF5, ``nir.write``), atomically.

    Parameters
    ----------
    spec : SNNSpec
    path : str or path-like
        Output file (conventionally ``.nir``).
    force : bool
        Replace an existing file; otherwise an existing ``path`` is refused (:class:`UserInputError`).
    """
    nir = _nir()
    graph = to_nir(spec)
    with atomic_path(path, force) as tmp:
        nir.write(tmp, graph)
    return Path(path)


def read_nir(path: str | os.PathLike) -> SNNSpec:
    """Read a file written by :func:`write_nir` back into an equal :class:`SNNSpec` (checked as in
    :func:`from_nir`)."""
    nir = _nir()
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"NIR file {path} does not exist")
    try:
        graph = nir.read(path)
    except Exception as e:  # noqa: BLE001 - h5py and nir raise many types; all mean "not a readable NIR file"
        raise UserInputError(f"{path} is not a readable NIR file ({type(e).__name__}: {e}); write one with "
                             "`lprnn-brian export nir MODEL.npz --out net.nir`") from None
    return from_nir(graph)
