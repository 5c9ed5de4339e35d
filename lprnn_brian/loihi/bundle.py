"""The Loihi export bundle: every integer register of the mapped network, self-described and versioned.

A bundle is a directory with two files:

* ``bundle.json``: format name and version, the package that wrote it, the per-step integer semantics
  (:data:`lprnn_brian.loihi.emulator.LOIHI_SEMANTICS`), the discretisation record (dt, factors, time constants, rounding rules), every scalar
  register per layer and compartment, the lossy-step and headroom report, the resource report and core
  placement, the SNN spec's scalars, and the SHA-256 of the arrays file;
* ``bundle.npz``: the integer arrays (weight mantissas, per-neuron decays and bias mantissas) and the SNN spec's
  arrays (float64), no pickles.

:func:`load_bundle` checks the format, the version (a newer one is refused with what to do), the checksum and
every array's presence and shape, and returns the same :class:`LoihiNetwork` (bit for bit). Lava-dl's netx HDF5
layout does not fit: it has no two-compartment neuron with a self-synapse, so we keep our own format.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..version import __version__
from ..convert import SNNSpec
from ..errors import UserInputError
from ..fileio import atomic_path, file_sha256, prepare_output_dir, write_text_atomic
from .emulator import LOIHI_SEMANTICS
from .params import Compartment, LoihiLayer, LoihiNetwork, Projection
from ..compat import moved_names_of

FORMAT = "lprnn_brian.loihi_bundle"
VERSION = 1
JSON_NAME, NPZ_NAME = "bundle.json", "bundle.npz"
_COMPARTMENT_SCALARS = ("du", "bias_exp", "vth_mant", "spikes", "refractory", "v_min")


@dataclass
class LoihiBundle:
    """A loaded bundle: the network, and the bundle's JSON (resources, placement, provenance)."""

    network: LoihiNetwork
    meta: dict = field(default_factory=dict)

    @property
    def resources(self) -> dict | None:
        return self.meta.get("resources")


def _arrays(net: LoihiNetwork) -> dict[str, np.ndarray]:
    out = {}
    for L in net.layers:
        for cname in ("ic", "soma"):
            c = getattr(L, cname)
            out[f"layers/{L.name}/{cname}/dv"] = np.broadcast_to(np.asarray(c.dv, np.int32), (L.n,)).copy()
            out[f"layers/{L.name}/{cname}/bias_mant"] = np.asarray(c.bias_mant, np.int32)
        for p in L.projections:
            out[f"layers/{L.name}/{p.kind}/mant"] = np.asarray(p.mant, np.int32)
    return out


def save_bundle(net: LoihiNetwork, out: str | Path, *, resources: dict | None = None, extra: dict | None = None,
                force: bool = False) -> Path:
    """Write ``net`` as a bundle directory ``out`` (created; refused if it holds a bundle and not ``force``).

    ``resources``: the resource report and placement (:mod:`lprnn_brian.loihi.cores`); ``extra``: more JSON-ready
    provenance (e.g. the emulator's divergence from Brian2)."""
    out = prepare_output_dir(out, [JSON_NAME, NPZ_NAME], force, "a Loihi bundle")
    spec_scalars, spec_arrays = net.spec.to_arrays()
    arrays = _arrays(net)
    with atomic_path(out / NPZ_NAME, force=True) as tmp:
        np.savez(tmp, **arrays, **spec_arrays)
        checksum = file_sha256(tmp)
    layers = []
    for L in net.layers:
        layers.append({
            "name": L.name, "kind": L.kind, "n": L.n,
            "ic": {k: _py(getattr(L.ic, k)) for k in _COMPARTMENT_SCALARS},
            "soma": {k: _py(getattr(L.soma, k)) for k in _COMPARTMENT_SCALARS},
            "projections": {p.kind: {"exp": _py(p.exp), "sign_mode": p.sign_mode, "num_weight_bits": p.num_weight_bits,
                                     "shape": list(p.mant.shape)} for p in L.projections},
        })
    meta = {
        "format": FORMAT, "version": VERSION, "created_by": f"lprnn_brian {__version__}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "arrays": {"file": NPZ_NAME, "sha256": checksum, "names": sorted(arrays)},
        "semantics": LOIHI_SEMANTICS,
        "compartments": {"ic": "input compartment: u = i_in, v = i_ip (bias, v ≥ 0, no output axon)",
                         "soma": "soma: u = i_fb (self-synapse), v = decayed v + u + the IC's v (join ADD); "
                                 "spikes when v > vth_mant·64"},
        "discretisation": net.discretisation(),
        "layers": layers,
        "quantisation_report": net.report,
        "resources": resources,
        "spec": spec_scalars,
        "extra": extra or {},
    }
    write_text_atomic(out / JSON_NAME, json.dumps(meta, indent=1, default=_py, allow_nan=False), force=True)
    return out


def _py(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def load_bundle(path: str | Path) -> LoihiBundle:
    """Read a bundle directory written by :func:`save_bundle`.

    Raises
    ------
    UserInputError
        A missing or unreadable file, another format, a newer version, a checksum mismatch or a missing array:
        the message says which and what to do.
    """
    path = Path(path)
    if path.is_file() and path.name == JSON_NAME:
        path = path.parent
    jpath, npath = path / JSON_NAME, path / NPZ_NAME
    if not jpath.is_file():
        raise UserInputError(f"{path} is not a Loihi bundle ({JSON_NAME} missing); write one with "
                             "`lprnn-brian export loihi MODEL.npz --out DIR`")
    try:
        meta = json.loads(jpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserInputError(f"{jpath} is corrupted ({type(e).__name__}: {e}); export the bundle again") from None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt != FORMAT:
        raise UserInputError(f"{jpath} is not an lprnn_brian Loihi bundle (format {fmt!r}, expected {FORMAT!r}); "
                             "export the model with `lprnn-brian export loihi`")
    version = meta.get("version")
    if not isinstance(version, int):
        raise UserInputError(f"{jpath} has no integer format version; export the bundle again")
    if version > VERSION:
        raise UserInputError(f"{path} is a version-{version} bundle ({meta.get('created_by', 'a newer release')}); "
                             f"this lprnn_brian {__version__} reads versions ≤ {VERSION}: upgrade lprnn_brian")
    if not npath.is_file():
        raise UserInputError(f"{path}: {NPZ_NAME} is missing; export the bundle again")
    want = meta.get("arrays", {}).get("sha256")
    got = file_sha256(npath)
    if want != got:
        raise UserInputError(f"{npath} does not match the checksum in {JSON_NAME} (corrupted or edited); export "
                             "the bundle again")
    try:
        with np.load(npath, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        spec = SNNSpec.from_arrays(meta["spec"], arrays)
        layers = []
        for Lm in meta["layers"]:
            name, n = Lm["name"], int(Lm["n"])

            def comp(cname: str) -> Compartment:
                c = Lm[cname]
                dv = arrays[f"layers/{name}/{cname}/dv"].astype(np.int64)
                bias = arrays[f"layers/{name}/{cname}/bias_mant"].astype(np.int64)
                if dv.shape != (n,) or bias.shape != (n,):
                    raise KeyError(f"{name}/{cname} arrays of the wrong shape")
                return Compartment(du=int(c["du"]), dv=int(dv[0]) if np.all(dv == dv[0]) else dv, bias_mant=bias,
                                   bias_exp=int(c["bias_exp"]), vth_mant=int(c["vth_mant"]), spikes=bool(c["spikes"]),
                                   refractory=int(c["refractory"]), v_min=int(c["v_min"]))

            projections = {}
            for kind, pm in Lm["projections"].items():
                mant = arrays[f"layers/{name}/{kind}/mant"].astype(np.int64)
                if list(mant.shape) != pm["shape"]:
                    raise KeyError(f"{name}/{kind} mantissas of shape {mant.shape}, not {pm['shape']}")
                exp = pm["exp"]
                if isinstance(exp, list):  # one exponent per receiving neuron
                    exp = np.asarray(exp, dtype=np.int64)
                    if exp.shape != (mant.shape[0],):
                        raise KeyError(f"{name}/{kind} has {exp.size} row exponents for {mant.shape[0]} rows")
                else:
                    exp = int(exp)
                projections[kind] = Projection(kind, mant, exp, pm["sign_mode"], int(pm["num_weight_bits"]))
            layers.append(LoihiLayer(name, Lm["kind"], n, comp("ic"), comp("soma"), projections["fb"],
                                     projections.get("ff"), projections.get("rec")))
    except (KeyError, TypeError, ValueError) as e:
        raise UserInputError(f"{path} is incomplete or inconsistent ({e}); export the bundle again") from None
    return LoihiBundle(LoihiNetwork(layers, spec, meta.get("quantisation_report", {})), meta)


#: Names that moved out of this module still answer for one release, with a warning (:mod:`lprnn_brian.compat`).
__getattr__ = moved_names_of(__name__)
