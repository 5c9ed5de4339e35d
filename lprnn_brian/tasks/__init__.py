"""Tasks and their data: feature front ends and data-set loaders.

- :mod:`lprnn_brian.tasks.features`: the log-mel front end of docs/method.md#heidelberg-digits-shd,
  docs/method.md#google-speech-commands (numpy/scipy), with the presets :func:`~lprnn_brian.tasks.features.shd` and
  :func:`~lprnn_brian.tasks.features.gsc_paper`.
- :mod:`lprnn_brian.tasks.digits`: the bundled spoken-digit set (:func:`~lprnn_brian.tasks.digits.load_digits`).
- :mod:`lprnn_brian.tasks.adding`, :mod:`lprnn_brian.tasks.copying`: the 2019 temporal adding and copying
  generators, scores and length rules (docs/method.md#temporal-adding, docs/method.md#temporal-copying);
  :mod:`lprnn_brian.tasks.seeds`: their random streams. The curricula and trainers (torch) are
  :mod:`lprnn_brian.training`; the scores of a model in the ANN or its ΣΔ network,
  :mod:`lprnn_brian.evaluate_sequences`.

Submodules are imported on use (``from lprnn_brian.tasks.digits import load_digits``).
"""
