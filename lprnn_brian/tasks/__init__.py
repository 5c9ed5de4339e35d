"""Tasks and their data: feature front ends and data-set loaders.

- :mod:`lprnn_brian.tasks.features`: the log-mel front end of spec §7.3/§7.4 (numpy/scipy), with the
  presets :func:`~lprnn_brian.tasks.features.shd` and :func:`~lprnn_brian.tasks.features.gsc_paper`.
- :mod:`lprnn_brian.tasks.digits`: the bundled spoken-digit set (:func:`~lprnn_brian.tasks.digits.load_digits`).
- :mod:`lprnn_brian.tasks.adding`, :mod:`lprnn_brian.tasks.copying`: the 2019 temporal adding and copying
  generators and curriculum rules (spec §7.1, §7.2).
- :mod:`lprnn_brian.tasks.curriculum`: the curriculum decisions, seeds and resumable checkpoint;
  :mod:`lprnn_brian.tasks.sequence_eval`: task scores of a model in the ANN or its ΣΔ network. The trainers
  (torch) are :func:`lprnn_brian.ann.train_sequence.train_adding` / ``train_copying``.

Submodules are imported on use (``from lprnn_brian.tasks.digits import load_digits``).
"""
