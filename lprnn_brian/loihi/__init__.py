"""The Loihi mapping helper (docs/method.md#loihi-integer-mode, docs/method.md#loihi-and-lava-constants; issue 7).

:mod:`lprnn_brian.equations.fixed_point` (integer formats) → ``params`` (the two-compartment register map, lossy-step and headroom report)
→ ``cores`` (placement, resources) → ``emulator`` (bit-exact, Lava arithmetic; and the Brian2 Loihi mode's)
→ ``compare`` (divergence) → ``bundle`` (versioned export) → ``export`` (``lprnn-brian export loihi``);
``lava`` builds the network in Lava (environment of ``scripts/setup-lava``).
"""
