"""Brian2's global device, in one place: every backend selects, claims and gives back the device here.

Brian2 has one active device per process. The runtime targets (numpy, cython) switch to the ``runtime``
device; a standalone-like target (cpp_standalone, cuda_standalone, genn) builds into its device's global
state, so only one of them can be open per process: :func:`claim_standalone` hands the device to one owner,
and :func:`release_standalone` resets it (``device.reinit()``, back to ``runtime``, preferences restored).
An owner whose ``gives_way`` is true (a standalone exploration, :mod:`lprnn_brian.explore`) is closed by whoever
needs the device next (:func:`give_way`).
"""
from __future__ import annotations

from .base import COMPILE_ARGS

#: The standalone device's current holder (a backend), or None.
_holder = None
#: Preferences the holder's device changed for the whole process, with their values before (restored on release).
_saved_prefs: dict = {}


def use_compile_args() -> None:
    """Give Brian2's C++ code generation (cython, cpp_standalone, GeNN) :data:`COMPILE_ARGS`."""
    from brian2 import prefs

    prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)


def use_runtime(codegen_target: str) -> None:
    """Select Brian2's runtime device with code generation ``codegen_target`` (``numpy`` or ``cython``); a holder
    of the standalone device that gives way (:func:`give_way`) is closed first."""
    from brian2 import prefs, set_device

    give_way()
    set_device("runtime")
    prefs.codegen.target = codegen_target


def give_way() -> None:
    """Close the standalone device's holder if it gives way to whoever needs the device next (its ``gives_way``
    attribute is true: an exploration of :mod:`lprnn_brian.explore`, which keeps its results when closed)."""
    if _holder is not None and getattr(_holder, "gives_way", False):
        _holder.close()


def require_free() -> None:
    """RuntimeError when a standalone-like runner holds the device (a holder that gives way is closed first)."""
    give_way()
    if _holder is not None:
        raise RuntimeError("only one standalone Runner (cpp_standalone, cuda_standalone, genn) can be open per "
                           "process; close the other first")


def claim_standalone(owner, saved_prefs: tuple[str, ...] = ()) -> None:
    """Make ``owner`` the one holder of the standalone device; ``saved_prefs`` (preference names) are restored
    when it gives the device back. RuntimeError when another runner holds it."""
    global _holder, _saved_prefs
    from brian2 import prefs

    require_free()
    _holder = owner
    _saved_prefs = {name: prefs[name] for name in saved_prefs}


def holds_standalone(owner) -> bool:
    """Whether ``owner`` holds the standalone device."""
    return _holder is owner


def activate(name: str, **kwargs) -> None:
    """``set_device(name, **kwargs)``: the holder's device (``cpp_standalone``, brian2cuda's or ``genn``)."""
    from brian2 import set_device

    set_device(name, **kwargs)


def restart_device() -> None:
    """Forget everything built on the active device (``device.reinit()``) and select ``runtime`` again."""
    from brian2 import device, set_device

    device.reinit()
    set_device("runtime")


def release_standalone(owner) -> bool:
    """Give the standalone device back if ``owner`` holds it: reset it, select ``runtime``, restore the saved
    preferences. Returns whether it held the device."""
    global _holder, _saved_prefs
    from brian2 import prefs

    if _holder is not owner:
        return False
    restart_device()
    for name, value in _saved_prefs.items():
        prefs[name] = value
    _holder, _saved_prefs = None, {}
    return True


def active_device():
    """Brian2's active device object (for ``device.build``/``device.run`` and array names)."""
    from brian2 import device

    return device
