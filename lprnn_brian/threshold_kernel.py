"""The spike threshold of the row layout (``cpp_standalone``): Brian2's threshold, without a branch per neuron.

Brian2's threshold code object fills a group's spike space by appending, inside an ``if``, the index of every
neuron whose condition holds. A ΣΔ layer spikes in a few percent of its neurons at every step, at no predictable
place, so that branch mispredicts at almost every spike, and the loop, which carries the count from one neuron to
the next, is not vectorised. The template ``lprnn_brian/templates/threshold.cpp`` evaluates the condition of 64
neurons at a time into a buffer (a loop without branches, which the compiler vectorises: a byte per neuron with
AVX-512, elsewhere 64 bits, the width of the compare's result, which AVX2 reads four at a time), turns the buffer into
a bit mask (AVX-512 or AVX2 where the compiler targets them, a portable loop otherwise) and appends the mask's set bits,
lowest first (with AVX-512 sixteen at a time, their indices compressed into a vector's lowest lanes and stored under a
mask: no branch per spike either): the same spike space — the same indices in the same increasing order, the same count. The cost per
step follows the neurons divided by the vector width plus the spikes, not the neurons.

Only the row layout (:func:`lprnn_brian.network.build_network`, ``propagation='rows'``) uses it: the ``synapses``
layout stays Brian2's own network, the reference the row layout is tested against (``tests/test_batch.py``: spikes
and states identical).
"""
from __future__ import annotations

from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject


class BranchFreeThreshold(CPPStandaloneCodeObject):
    """A ``cpp_standalone`` code object whose ``threshold`` template is the package's (module docstring); every
    other template is Brian2's."""

    templater = CPPStandaloneCodeObject.templater.derive("lprnn_brian", templates_dir="templates")


def use_branch_free_threshold(group) -> None:
    """Generate the ``spike`` threshold of ``group`` (a NeuronGroup under the ``cpp_standalone`` device, not yet
    built) from the branch-free template. Refused for a group with refractoriness, which the template does not
    handle."""
    if group._refractory is not False:
        raise ValueError(f"{group.name}: the branch-free threshold has no refractoriness")
    group.thresholder["spike"].codeobj_class = BranchFreeThreshold
