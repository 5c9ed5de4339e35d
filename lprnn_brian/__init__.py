"""lprnn_brian: trained low-pass RNNs as adaptive sigma-delta spiking networks in Brian2.

Pipeline (each arrow a plain function over plain data)::

    model file (.npz) -> convert.to_snn_spec -> network.build -> targets.run -> analysis
"""
__version__ = "0.1.0"
