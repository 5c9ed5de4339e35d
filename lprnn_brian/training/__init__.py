"""Training of the rate lpRNN in PyTorch (the ``train`` extra; torch is imported only when training starts).

- :mod:`lprnn_brian.training.classifier`: QAT training of the classifiers (digits, SHD, GSC), with pruning,
  checkpoints and resume (:func:`~lprnn_brian.training.classifier.train_lprnn`,
  :func:`~lprnn_brian.training.classifier.train_digits`, :func:`~lprnn_brian.training.classifier.train_spoken`).
- :mod:`lprnn_brian.training.sequence`: the adding and copying curricula
  (:func:`~lprnn_brian.training.sequence.train_adding`, :func:`~lprnn_brian.training.sequence.train_copying`);
  their configurations and presets: :mod:`lprnn_brian.training.sequence_config`; the curriculum rules, state
  and checkpoint: :mod:`lprnn_brian.training.curriculum`.
- :mod:`lprnn_brian.training.common`: what both trainers share (the torch import, seeding, checkpoint path).

The scores of the sequence tasks are :mod:`lprnn_brian.evaluate_sequences`; the torch model itself is
:mod:`lprnn_brian.ann.torch_model`. Submodules are imported on use.
"""
