"""The ``cuda_standalone`` target: brian2cuda 1.0b1 with the settings that make CUDA 12/13 compile it.

brian2cuda's device derives from Brian2's ``CPPStandaloneDevice``, so :class:`CudaStandaloneBackend` (a subclass
of :class:`lprnn_brian.targets.standalone.CppStandaloneBackend`) drives it like ``cpp_standalone`` (build once,
then one ``device.run(run_args=...)`` per batch of samples: brian2cuda's ``main`` sets TimedArray values from the
command line and copies them to the GPU). What this module adds:

- **C++17.** brian2cuda's makefile template hard-codes ``nvcc -std=c++11``; the Thrust/CUB/libcu++ (CCCL) of
  CUDA 13 refuse anything below C++17 (``#error CUB requires at least C++17``). :class:`Cxx17CUDADevice` writes
  the makefile with ``-std=c++17`` and gives the host compiler the same standard.
- **cuRAND from PyPI.** brian2cuda links every project with ``-lcurand`` and includes ``curand.h``, which the
  CUDA toolkit on these machines lacks. The ``nvidia-curand`` wheel has them under ``nvidia/cu13`` (CUDA 13)
  or ``nvidia/curand`` (CUDA 12), but only as ``libcurand.so.10``: the build directory gets a ``libcurand.so``
  link to it, ``-I``/``-L`` flags and an rpath (:func:`curand_dirs`).
- **No GPU needed to build.** brian2cuda detects the GPU with ``nvidia-smi`` and fails without one;
  :func:`configure` switches detection off and sets ``gpu_id`` and ``compute_capability`` itself:
  ``$LPRNN_BRIAN_CUDA_ARCH`` when set, else the first visible GPU's, else :data:`DEFAULT_COMPUTE_CAPABILITY`
  (compiled with its PTX, so the binary also runs on newer GPUs). ``cuda_path`` and the runtime version come
  from the toolkit's nvcc (a wrapper script on the PATH is not taken for the toolkit).
- **Reproducible code.** brian2cuda's monitor template lists the recorded variables in set order, which
  changes with each process's string hashing: sorted here, so an unchanged model is not recompiled.
- **Own clock.** brian2cuda's synapses template tests ``defaultclock.timestep`` before propagating, which
  does not compile for a network on its own clock (ours: ``snn_clock``); the generated synapses code gets
  the pathway's clock instead.
- **Same arithmetic as the CPU targets.** brian2cuda's default nvcc flags include ``-use_fast_math``
  (approximate division); here they are ``--fmad=false`` (no fused multiply-add, like ``-ffp-contract=off``
  on the CPU) with IEEE division. The Loihi-integer variant then gives the same spikes as ``cpp_standalone``;
  the float variant differs only by the order of floating-point synaptic sums (GPU atomics).

Running needs a GPU: :func:`require_gpu` says so in one clear message when there is none.
brian2cuda lacks ``Network.store/restore`` (not used by the standalone runner) and cannot call the C++
row-propagation kernel (``propagation='rows'`` is refused by :func:`lprnn_brian.network.check_layout`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError
from .base import compile_args, register
from .standalone import CppStandaloneBackend

#: Name under which :class:`Cxx17CUDADevice` is registered in Brian2's ``all_devices``.
DEVICE_NAME = "lprnn_cuda_standalone"
#: Compute capability compiled for when no GPU is visible and ``$LPRNN_BRIAN_CUDA_ARCH`` is unset: 7.5
#: (Turing) is the oldest that CUDA 13 compiles for, and its embedded PTX runs on every newer GPU.
DEFAULT_COMPUTE_CAPABILITY = 7.5
#: Environment variable overriding the compute capability (``9.0`` or ``90``: H100/H200; ``8.0``: A100).
ARCH_ENV = "LPRNN_BRIAN_CUDA_ARCH"
#: Environment variable for the number of parallel nvcc jobs (default: the number of CPUs).
JOBS_ENV = "LPRNN_BRIAN_CUDA_JOBS"
#: nvcc flags besides the architecture, include paths and C++ standard: no warnings, no fused multiply-add,
#: IEEE division and square root (brian2cuda's default ``-use_fast_math`` is left out on purpose).
NVCC_FLAGS = ("-w", "--fmad=false", "-prec-div=true", "-prec-sqrt=true", "-ftz=false")
#: C++ standard for nvcc and the host compiler (CUDA 13's CCCL needs at least C++17).
CXX_STANDARD = "c++17"
_SETUP_HINT = "run scripts/setup-cuda and use the Python of its environment (.venv-cuda/bin/python)"


@dataclass(frozen=True)
class GPU:
    """One GPU as ``nvidia-smi`` reports it."""

    index: int
    name: str
    compute_capability: float


@dataclass(frozen=True)
class CudaSettings:
    """What :func:`configure` chose (also for reports and build-directory names)."""

    cuda_path: Path
    nvcc: Path
    release: float
    compute_capability: float
    gpu: GPU | None
    curand_include: Path
    curand_lib: Path

    @property
    def arch(self) -> str:
        """``sm_XY`` of :attr:`compute_capability`."""
        return "sm_" + _cc_digits(self.compute_capability)


def _cc_digits(cc: float) -> str:
    major, minor = f"{cc:.1f}".split(".")
    return major + minor


def parse_compute_capability(text: str) -> float:
    """``'9.0'``, ``'90'``, ``'sm_90'`` or ``'8.6'`` → 9.0, 9.0, 9.0, 8.6."""
    s = str(text).strip().lower().removeprefix("sm_").removeprefix("compute_")
    if re.fullmatch(r"\d+\.\d", s):
        return float(s)
    if re.fullmatch(r"\d{2,3}", s):
        return float(f"{s[:-1]}.{s[-1]}")
    raise UserInputError(f"cannot read the compute capability {text!r}: write it as 9.0, 90 or sm_90")


# --- the CUDA toolkit ----------------------------------------------------------------------------------
def cuda_home() -> Path:
    """The CUDA toolkit: ``$CUDA_PATH``, else the toolkit of ``nvcc`` on the PATH, else ``/usr/local/cuda``.

    A toolkit directory holds ``bin/nvcc`` and ``include/cuda_runtime.h`` (an ``nvcc`` wrapper script in
    ``/usr/local/bin`` does not make ``/usr/local`` one)."""
    candidates = []
    if os.environ.get("CUDA_PATH"):
        candidates.append(Path(os.environ["CUDA_PATH"]))
    on_path = shutil.which("nvcc")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    candidates.append(Path("/usr/local/cuda"))
    for c in candidates:
        if (c / "bin" / "nvcc").is_file() and (c / "include" / "cuda_runtime.h").is_file():
            return c
    raise UserInputError("target 'cuda_standalone' needs nvcc (the CUDA toolkit, 12 or 13) and found none in "
                         "$CUDA_PATH, on the PATH or in /usr/local/cuda: install the toolkit and set CUDA_PATH to "
                         "its directory (the one holding bin/nvcc)")


def nvcc_release(cuda: Path) -> float:
    """The toolkit release that ``nvcc --version`` reports (13.0 for 'release 13.0, V13.0.88')."""
    out = subprocess.run([str(cuda / "bin" / "nvcc"), "--version"], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"release (\d+\.\d+)", out)
    if m is None:
        raise RuntimeError(f"cannot read the CUDA release from `nvcc --version`:\n{out}")
    return float(m.group(1))


def supported_archs(cuda: Path) -> set[str]:
    """The ``sm_XY`` that this nvcc compiles for (``nvcc --list-gpu-code``)."""
    out = subprocess.run([str(cuda / "bin" / "nvcc"), "--list-gpu-code"], capture_output=True, text=True)
    return set(re.findall(r"sm_\d+", out.stdout)) if out.returncode == 0 else set()


def curand_dirs(cuda: Path | None = None) -> tuple[Path, Path]:
    """(include, lib) directories of cuRAND: the ``nvidia-curand`` wheel (``nvidia/cu13`` or ``nvidia/curand``),
    else the CUDA toolkit's own (``cuda`` or :func:`cuda_home`)."""
    try:
        import nvidia  # namespace package of NVIDIA's wheels
        roots = [Path(p) for p in nvidia.__path__]
    except ImportError:
        roots = []
    for root in roots:
        for sub in ("cu13", "curand", "cu12"):
            inc, lib = root / sub / "include", root / sub / "lib"
            if (inc / "curand.h").is_file() and any(lib.glob("libcurand.so*")):
                return inc, lib
    try:
        cuda = cuda if cuda is not None else cuda_home()
    except UserInputError:
        cuda = None
    if cuda is not None and (cuda / "include" / "curand.h").is_file():
        for lib in (cuda / "lib64", cuda / "lib"):
            if any(lib.glob("libcurand.so*")):
                return cuda / "include", lib
    raise UserInputError("cuRAND (curand.h, libcurand.so) not found, neither from the nvidia-curand wheel nor in "
                         f"the CUDA toolkit: {_SETUP_HINT}")


def _curand_link_dir(lib: Path, build_dir: Path) -> Path:
    """A directory holding ``libcurand.so`` for the linker's ``-lcurand``: ``lib`` itself when it has one, else
    ``<build_dir>/curand_link`` with a link to the wheel's ``libcurand.so.<N>``."""
    if (lib / "libcurand.so").exists():
        return lib
    versioned = sorted(lib.glob("libcurand.so.*"))
    if not versioned:
        raise UserInputError(f"no libcurand.so* in {lib}: {_SETUP_HINT}")
    link_dir = build_dir / "curand_link"
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / "libcurand.so"
    if not (link.is_symlink() and Path(os.readlink(link)) == versioned[0]):
        tmp = link_dir / f"libcurand.so.tmp{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(versioned[0])
        tmp.replace(link)  # atomic: a parallel build never sees a half-made link
    return link_dir


# --- GPUs --------------------------------------------------------------------------------------------------
def find_gpus() -> list[GPU]:
    """The GPUs visible to this process (``nvidia-smi``, filtered by ``$CUDA_VISIBLE_DEVICES`` as CUDA does,
    in that order); an empty list when there is no driver or no GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index,name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    gpus = []
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[0].isdigit():
            try:
                gpus.append(GPU(int(parts[0]), parts[1], float(parts[2])))
            except ValueError:
                continue
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        order = [int(v) for v in visible.split(",") if v.strip().isdigit()]
        by_index = {g.index: g for g in gpus}
        gpus = [by_index[i] for i in order if i in by_index]
    return gpus


def require_gpu(build_dir: Path | str | None = None) -> GPU:
    """The GPU that a run will use (the first visible one); a :class:`UserInputError` saying what to do when
    there is none."""
    gpus = find_gpus()
    if gpus:
        return gpus[0]
    where = f" (the compiled project is in {build_dir})" if build_dir is not None else ""
    raise UserInputError("target 'cuda_standalone' needs an NVIDIA GPU to run and nvidia-smi finds none on this "
                         f"machine{where}: run on a machine with a GPU and its driver, or use "
                         "target='cpp_standalone'")


# --- Brian2 --------------------------------------------------------------------------------------------
def _load_brian2cuda():
    try:
        # importing brian2cuda registers its device, preferences and CUDA function implementations
        from brian2cuda.device import CUDAStandaloneDevice
    except ImportError as e:
        import sys
        raise UserInputError(f"target 'cuda_standalone' needs brian2cuda, which this Python "
                             f"({sys.version.split()[0]}) cannot import ({e}): {_SETUP_HINT}") from e
    return CUDAStandaloneDevice


_DEVICE_CLASS = None


def _cxx17_makefile(filename: str, contents: str) -> str:
    """brian2cuda's makefile with nvcc's ``-std=c++11`` replaced by :data:`CXX_STANDARD`."""
    fixed = re.sub(r"-std=c\+\+\d+", f"-std={CXX_STANDARD}", contents)
    if f"-std={CXX_STANDARD}" not in fixed:
        raise RuntimeError("brian2cuda's makefile template changed: no -std= flag to replace")
    return fixed


@contextmanager
def _rewriting(writer, only: str | None, fix):
    """While active, every file that ``writer`` writes (or only the one named ``only``) passes through
    ``fix(filename, contents)`` first."""
    original = writer.write

    def write(filename, contents):
        if only is None or filename == only:
            contents = fix(filename, contents) if isinstance(contents, str) else contents
        original(filename, contents)

    writer.write = write
    try:
        yield
    finally:
        del writer.write


def _device_class():
    """:class:`Cxx17CUDADevice`, defined once brian2cuda is importable."""
    global _DEVICE_CLASS
    if _DEVICE_CLASS is not None:
        return _DEVICE_CLASS
    CUDAStandaloneDevice = _load_brian2cuda()

    class Cxx17CUDADevice(CUDAStandaloneDevice):
        """brian2cuda's device compiling with C++17, the cuRAND wheel and a bounded number of nvcc jobs.

        Set :attr:`settings` (from :func:`configure`) before building."""

        settings: CudaSettings | None = None

        def generate_makefile(self, writer, cpp_compiler, cpp_compiler_flags, cpp_linker_flags, debug,
                              disable_asserts):
            s = self.settings
            if s is None:
                raise RuntimeError("call lprnn_brian.targets.cuda.configure() before building with the CUDA device")
            # host compiler: the same standard as nvcc (a later -std=c++11 would win over nvcc's -std=c++17)
            host = [f for f in cpp_compiler_flags if not f.startswith("-std=")]
            host += [f"-std={CXX_STANDARD}", f"-I{s.curand_include}"]
            link_dir = _curand_link_dir(s.curand_lib, Path(self.project_dir))
            # rpaths: the wheel's libcurand.so.10 and the toolkit's libcudart, wherever the toolkit lies
            linker = list(cpp_linker_flags) + [f"-L{link_dir}", f"-Xlinker -rpath={s.curand_lib}"]
            linker += [f"-Xlinker -rpath={d}" for d in (s.cuda_path / "lib64", s.cuda_path / "lib") if d.is_dir()]
            with _rewriting(writer, "makefile", _cxx17_makefile):
                super().generate_makefile(writer, cpp_compiler, host, linker, debug, disable_asserts)

        def code_object(self, owner, name, abstract_code, variables, template_name, variable_indices,
                        codeobj_class=None, template_kwds=None, override_conditional_write=None,
                        compiler_kwds=None):
            # Spike/EventMonitor pass their variables as a dict built from a set, which brian2cuda's template
            # iterates unsorted (Brian2's C++ template sorts it): with Python's per-process string hashing
            # the generated monitor code changed from one process to the next, and every process recompiled
            if template_kwds and isinstance(template_kwds.get("record_variables"), dict):
                template_kwds = dict(template_kwds)
                template_kwds["record_variables"] = dict(sorted(template_kwds["record_variables"].items()))
            return super().code_object(owner, name, abstract_code, variables, template_name, variable_indices,
                                       codeobj_class=codeobj_class, template_kwds=template_kwds,
                                       override_conditional_write=override_conditional_write,
                                       compiler_kwds=compiler_kwds)

        def generate_codeobj_source(self, writer):
            # brian2cuda's synapses template tests `defaultclock.timestep[0]` against the delay before it
            # propagates: a network on its own clock has no `defaultclock` in the generated code (nvcc:
            # 'identifier "defaultclock" is undefined'); the pathway's own clock is the one meant
            clocks = {co.name: co.owner.clock.name for co in self.code_objects.values()
                      if co.template_name == "synapses"}

            def fix(filename: str, contents: str) -> str:
                name = filename.removeprefix("code_objects/").removesuffix(".cu")
                if name in clocks:
                    contents = contents.replace("defaultclock.timestep[0]", f"{clocks[name]}.timestep[0]")
                return contents

            with _rewriting(writer, None, fix):
                super().generate_codeobj_source(writer)

        def compile_source(self, directory, compiler, debug, clean):
            from brian2 import prefs

            jobs = os.environ.get(JOBS_ENV) or str(os.cpu_count() or 1)
            if not jobs.isdigit() or int(jobs) < 1:
                raise UserInputError(f"${JOBS_ENV} must be a positive integer, got {jobs!r}")
            old = prefs.devices.cpp_standalone.extra_make_args_unix
            # make -j without a number would start one nvcc (up to ~1 GB each) per source file at once
            prefs.devices.cpp_standalone.extra_make_args_unix = ["-j", jobs]
            try:
                super().compile_source(directory, compiler, debug, clean)
            finally:
                prefs.devices.cpp_standalone.extra_make_args_unix = old

    _DEVICE_CLASS = Cxx17CUDADevice
    return Cxx17CUDADevice


def configure(compute_capability: float | str | None = None) -> CudaSettings:
    """Import brian2cuda, register :class:`Cxx17CUDADevice` as :data:`DEVICE_NAME` and set brian2cuda's
    preferences for this machine; returns what was chosen. Call it before ``set_device(DEVICE_NAME, ...)``.

    ``compute_capability`` (or ``$LPRNN_BRIAN_CUDA_ARCH``) forces the architecture compiled for; by default it
    is the first visible GPU's, or :data:`DEFAULT_COMPUTE_CAPABILITY` without a GPU."""
    from brian2 import prefs
    from brian2.devices.device import all_devices

    cls = _device_class()
    cuda = cuda_home()
    release = nvcc_release(cuda)
    gpus = find_gpus()
    gpu = gpus[0] if gpus else None
    if compute_capability is None and os.environ.get(ARCH_ENV):
        compute_capability = os.environ[ARCH_ENV]
    if compute_capability is not None:
        cc = compute_capability if isinstance(compute_capability, float) else \
            parse_compute_capability(str(compute_capability))
    else:
        cc = gpu.compute_capability if gpu is not None else DEFAULT_COMPUTE_CAPABILITY
    archs = supported_archs(cuda)
    if archs and "sm_" + _cc_digits(cc) not in archs:
        raise UserInputError(f"nvcc {release} cannot compile for compute capability {cc} (sm_{_cc_digits(cc)}); "
                             f"it supports {', '.join(sorted(archs, key=lambda a: int(a[3:])))}: set ${ARCH_ENV}")
    include, lib = curand_dirs(cuda)
    settings = CudaSettings(cuda, cuda / "bin" / "nvcc", release, cc, gpu, include, lib)

    backend = prefs.devices.cuda_standalone.cuda_backend
    backend.detect_gpus = False  # brian2cuda's detection fails without a GPU; ours does not
    backend.gpu_id = 0  # the first visible GPU (brian2cuda's ids count the CUDA_VISIBLE_DEVICES)
    backend.compute_capability = float(cc)
    backend.cuda_path = str(cuda)
    backend.cuda_runtime_version = float(release)
    backend.extra_compile_args_nvcc = list(NVCC_FLAGS) + [f"-I{include}"]

    device = all_devices.get(DEVICE_NAME)
    if not isinstance(device, cls):
        device = all_devices[DEVICE_NAME] = cls()
    # a class attribute: Device.reinit() re-runs __init__, which must not lose the settings
    cls.settings = settings
    return settings


@register("cuda_standalone")
class CudaStandaloneBackend(CppStandaloneBackend):
    """The ``cuda_standalone`` target: :class:`Cxx17CUDADevice`, configured by :func:`configure`, built in a
    directory of its own per compute capability (``...-cuda-sm_XY``); running checks for a GPU first."""

    propagations = ("synapses",)  # brian2cuda cannot call the C++ row kernel

    def device_name(self) -> str:
        return DEVICE_NAME

    def tag_suffix(self) -> str:
        return f"-cuda-{configure().arch}"

    def compiler_flags(self) -> list[str]:
        """The spec's mode's flags only: nvcc compiles the sources (with ``$(CXX)`` as host compiler), and a GCC
        precompiled header is of no use to it."""
        return compile_args(self.config.spec.mode)

    def before_run(self) -> None:
        require_gpu(self.build_dir)
