"""Tasks and their data: feature front ends and data-set loaders.

- :mod:`lprnn_brian.tasks.features`: the log-mel front end of spec §7.3/§7.4 (numpy/scipy), with the
  presets :func:`~lprnn_brian.tasks.features.shd` and :func:`~lprnn_brian.tasks.features.gsc_paper`.
- :mod:`lprnn_brian.tasks.digits`: the bundled spoken-digit set (:func:`~lprnn_brian.tasks.digits.load_digits`).

Submodules are imported on use (``from lprnn_brian.tasks.digits import load_digits``).
"""
