"""Rate lpRNN (docs/method.md#the-rate-network-the-low-pass-rnn): quantiser, model and file format, numpy reference
forward, checkpoint import.

torch is optional: :mod:`lprnn_brian.ann.torch_model` (training twin) is the only module that imports it,
and it is not imported here.
"""
from .checkpoint import import_reference, read_reference_checkpoint
from .forward import AnnResult, forward
from .model import FORMAT_VERSION, Layer, LpRNNModel, load_model, save_model
from .quantise import code_bits, quantise, weight_codes
from .torch_pickle import load_torch_state_dict

__all__ = [
    "AnnResult", "FORMAT_VERSION", "Layer", "LpRNNModel", "code_bits", "forward", "import_reference",
    "load_model", "load_torch_state_dict", "quantise", "read_reference_checkpoint", "save_model",
    "weight_codes",
]
