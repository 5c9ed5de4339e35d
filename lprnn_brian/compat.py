"""Module paths and names that moved when the package took its layered shape (docs/architecture.md), kept
importable for one release.

* ``import lprnn_brian.ann.train`` (an old module path, :data:`MOVED`) gives a module whose every attribute is
  looked up in the module at the new path (``lprnn_brian.training.classifier``), then in :data:`MOVED_NAMES`;
* ``lprnn_brian.sweep.simulate_distributed`` (a name that left a module that still exists) is answered by that
  module's ``__getattr__``, which asks :func:`moved_attribute`.

Both warn with a :class:`DeprecationWarning` that names the new home. Nothing in the package uses an old path or
name (tests/test_architecture.py checks it), so these tables add no import edge to the package's graph; the old
paths and names go in the release after next.

How: a finder placed first on :data:`sys.meta_path` by :func:`install` (called once by ``lprnn_brian/__init__``)
answers only for the module names in :data:`MOVED`; every other import goes to Python's own finders untouched.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old dotted module path → new dotted module path.
MOVED: dict[str, str] = {
    "lprnn_brian.genn": "lprnn_brian.targets.genn",
    "lprnn_brian.cuda": "lprnn_brian.targets.cuda",
    "lprnn_brian.loihi.quantise": "lprnn_brian.equations.fixed_point",
    "lprnn_brian.ann.train": "lprnn_brian.training.classifier",
    "lprnn_brian.ann.train_sequence": "lprnn_brian.training.sequence",
    "lprnn_brian.tasks.curriculum": "lprnn_brian.training.curriculum",
    "lprnn_brian.tasks.sequence_eval": "lprnn_brian.evaluate_sequences",
}

#: (old module, old name) → (new module, new name), for names that left their module.
MOVED_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("lprnn_brian.loihi.quantise", "VTH_SHIFT"): ("lprnn_brian.equations.fixed_point", "ACTIVATION_SHIFT_BITS"),
    ("lprnn_brian.ann.train", "default_checkpoint"): ("lprnn_brian.training.common", "default_checkpoint"),
    **{("lprnn_brian.ann.train", n): ("lprnn_brian.training.classifier_config", n)
       for n in ("SHD_CONFIG", "GSC_CONFIG", "GSC_HEAD_CONFIG", "OPTIMIZERS", "PLATEAU_MODES")},
    **{("lprnn_brian.ann.train_sequence", n): ("lprnn_brian.training.sequence_config", n)
       for n in ("ADDING_PAPER", "ADDING_QUICK_SNN", "ADDING_SNN", "COPYING_PAPER", "COPYING_QUICK_SNN",
                 "COPYING_SNN", "OPTIMISERS", "PRESETS")},
    **{("lprnn_brian.tasks.curriculum", n): ("lprnn_brian.tasks.seeds", n)
       for n in ("int_seed", "rng_for", "seed_sequence")},
    ("lprnn_brian.sweep", "DECODES"): ("lprnn_brian.simulation", "DECODES"),
    ("lprnn_brian.sweep", "connect"): ("lprnn_brian.sweep_dask", "connect"),
    ("lprnn_brian.sweep", "simulate_distributed"): ("lprnn_brian.sweep_dask", "simulate_distributed"),
    ("lprnn_brian.sweep", "point_model"): ("lprnn_brian.sweep_tasks", "point_model"),
    ("lprnn_brian.sweep", "point_spec"): ("lprnn_brian.sweep_tasks", "point_spec"),
    ("lprnn_brian.sweep", "simulate_chunk"): ("lprnn_brian.sweep_tasks", "simulate_chunk"),
    ("lprnn_brian.sweep", "read_table"): ("lprnn_brian.sweep_table", "read_table"),
    ("lprnn_brian.simulation", "WINDOWS"): ("lprnn_brian.ann.model", "READOUT_WINDOWS"),
    ("lprnn_brian.loihi.bundle", "SEMANTICS"): ("lprnn_brian.loihi.emulator", "LOIHI_SEMANTICS"),
    ("lprnn_brian.loihi.compare", "VARIANTS"): ("lprnn_brian.loihi.compare", "EMULATOR_RUNS"),
    ("lprnn_brian.equations.render", "spike_increment"): ("lprnn_brian.equations.numeric", "spike_increment"),
}


def moved_names_of(module: str):
    """The module-level ``__getattr__`` of ``module`` (a module that some names left):
    ``__getattr__ = moved_names_of(__name__)`` makes each old name answer through :func:`moved_attribute`."""
    def __getattr__(name: str):
        return moved_attribute(module, name)

    return __getattr__


def moved_attribute(module: str, name: str):
    """The object that ``module.name`` was before it moved (with a warning), or :class:`AttributeError`."""
    new = MOVED_NAMES.get((module, name))
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} moved to {new[0]}.{new[1]}; import it from there (the old name goes in the "
                  f"release after next, see docs/architecture.md)", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(new[0]), new[1])


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path of :data:`MOVED` to a module that reads through to the new one."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        """Python's default: an empty module of the old name."""
        return None

    def exec_module(self, module) -> None:
        old = module.__name__
        target = importlib.import_module(MOVED[old])
        warnings.warn(f"{old} moved to {target.__name__}; import it from there (the old path goes in the release "
                      f"after next, see docs/architecture.md)", DeprecationWarning, stacklevel=2)

        def __getattr__(name: str):
            if hasattr(target, name):
                return getattr(target, name)
            return moved_attribute(old, name)

        module.__getattr__ = __getattr__
        module.__dir__ = lambda: sorted(set(dir(target)) | {n for m, n in MOVED_NAMES if m == old})
        module.__doc__ = f"Moved to :mod:`{target.__name__}` (this path goes in the release after next)."


_FINDER = _MovedModuleFinder()


def install() -> None:
    """Put the finder of old module paths first on :data:`sys.meta_path` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
