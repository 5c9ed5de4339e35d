"""Exports of a converted ΣΔ network to formats read by other tools (:mod:`.nir`: the Neuromorphic Intermediate
Representation)."""
