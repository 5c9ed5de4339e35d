"""Source fixes that GeNN 4.9.0 needs to build its CUDA backend with the CUDA 13 toolkit, applied to an unpacked
GeNN directory by ``scripts/setup-genn`` and ``scripts/gpu-check`` (standard library only; idempotent)::

    python scripts/genn_patches.py GENN_DIR

- **cuCtxCreate.** CUDA 13's ``cuda.h`` maps ``cuCtxCreate`` to ``cuCtxCreate_v4(ctx, params, flags, device)``;
  GeNN's block-size optimiser calls it with the three arguments of CUDA ≤ 12 (``ctx, flags, device``), which no
  longer compiles. With CUDA ≥ 13 the call gets a null ``CUctxCreateParams`` (no execution affinity, no CIG: the
  context of CUDA ≤ 12), under ``#if CUDA_VERSION >= 13000`` so that older toolkits compile the original call.

Each fix names the file, the original text and its replacement; a file holding neither is an error (another GeNN
release: the fix must be looked at again).
"""
from __future__ import annotations

import sys
from pathlib import Path

#: (file relative to GeNN's directory, original text, replacement)
PATCHES = (
    ("src/genn/backends/cuda/optimiser.cc",
     "    CHECK_CU_ERRORS(cuCtxCreate(&cuContext, 0, cuDevice));\n",
     "#if CUDA_VERSION >= 13000\n"
     "    CHECK_CU_ERRORS(cuCtxCreate(&cuContext, nullptr, 0, cuDevice));  // lprnn_brian: CUDA 13's cuCtxCreate_v4\n"
     "#else\n"
     "    CHECK_CU_ERRORS(cuCtxCreate(&cuContext, 0, cuDevice));\n"
     "#endif\n"),
)


def apply(genn_dir: Path) -> list[str]:
    """Apply every fix of :data:`PATCHES` to the GeNN source in ``genn_dir``; the files changed now (already
    patched files are left alone). RuntimeError when a file has neither the original nor the patched text."""
    changed = []
    for rel, old, new in PATCHES:
        path = Path(genn_dir) / rel
        text = path.read_text()
        if new in text:
            continue
        if text.count(old) != 1:
            raise RuntimeError(f"{path}: the text that the CUDA 13 fix replaces is not there once; is this GeNN 4.9.0?")
        tmp = path.with_name(path.name + ".lprnn-tmp")
        tmp.write_text(text.replace(old, new))
        tmp.replace(path)
        changed.append(rel)
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "src" / "genn").is_dir():
        print("usage: python scripts/genn_patches.py GENN_DIR (an unpacked GeNN 4.9.0)", file=sys.stderr)
        return 2
    try:
        changed = apply(Path(argv[0]))
    except (OSError, RuntimeError) as exc:
        print(f"genn_patches: {exc}", file=sys.stderr)
        return 1
    print(f"genn_patches: {', '.join(changed) if changed else 'already patched'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
