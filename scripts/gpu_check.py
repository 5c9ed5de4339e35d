"""The prepared GPU check: brian2cuda and GeNN's CUDA backend on the authors' SHD network, their spikes against
cpp_standalone, then samples/s against the CPU fast path, in one command on a machine with an NVIDIA GPU.

    scripts/gpu-check --prepare                     # here (package registries reachable): fills .gpu-check/
    PYTHONUNBUFFERED=1 scripts/gpu-check --out DIR  # on the GPU machine (DIR defaults to $OUT): one JSON, a table
    scripts/gpu-check --cpu-dry-run --out DIR       # the same harness without a GPU, the GPU targets replaced

**Two phases.** The GPU machine has no package index and nothing beside the repository, so ``--prepare`` (run where
pip reaches PyPI) puts everything the check needs into the ignored folder ``.gpu-check/``: the cp312 wheels of
two Python sites (``wheels-cuda``: brian2, brian2cuda and numpy at the pins of ``scripts/setup-cuda``;
``wheels-genn``: brian2, brian2genn, numpy and setuptools at the pins of ``scripts/setup-genn``, brian2 2.5.4 built
here from its sdist because PyPI has no cp312 wheel of it), the authors' SHD checkpoint and the GeNN source tarball
(both copied from ``../shared``), and ``manifest.json`` (sizes and SHA-256 of every file). It installs each site
into a scratch directory with a Python 3.12 of this machine, imports it, checks that the working tree and the
folder stay well under the 64 MiB that travel to the GPU machine, and prints the device call to make.

**On the GPU machine** (``scripts/gpu-check`` without ``--prepare``), in this order:

1. no GPU (``nvidia-smi -L`` fails or lists none): one line on stderr, exit code 1, before anything slow;
2. *setup*: the manifest is checked, the two sites are installed with ``pip install --no-index --no-deps
   --target`` (two separate sites: brian2cuda needs brian2 2.10 and numpy 2, brian2genn brian2 2.5 and numpy 1),
   GeNN is unpacked and its CUDA backend built (``make -j``), in the background of the next steps;
3. *prep*: the checkpoint becomes the Loihi-mode SNN spec, and every bundled test clip its layer-0 drive
   through the SHD front end (as ``benchmarks/snn_throughput.py`` does);
4. *builds*: every (target, batch) network is generated and compiled, three processes at a time, each compiler
   with ``make -j <cores>`` (brian2cuda through ``LPRNN_BRIAN_CUDA_JOBS``, GeNN through ``MAKEFLAGS``): the CPU fast
   path (``cpp_standalone``, batch 32, ``readout`` sampling, ``rows`` propagation, one OpenMP thread per core), the
   reference (``cpp_standalone``'s plain network: one sample per run, Brian2 synapses, spikes only),
   ``cuda_standalone`` (``readout`` sampling, as the fast path) and ``genn`` (GeNN records every step: spikes only)
   at batch 32, 256 and 1024;
5. *runs*, one at a time, nothing compiling beside them: the fast path runs all 210 clips (the CPU baseline,
   and each clip's hidden-layer spike count); the ``--clips`` clips whose hidden layers spike most go through the
   reference; every GPU build runs them in its first batch (the rest of the batch filled with other clips) and
   compares their spike trains (neuron, step) in every layer with the reference's (*identity*), and
   ``cuda_standalone``'s read-out window sums with the fast path's; then it runs the same batch again to time it
   (samples/s of the warm runs; the first run, cold, is reported apart);
6. batches beyond 1024 (``--extra-batches``) when the time left, the host memory, the GPU memory and the disk
   allow, judged from the measured points.

A hard internal budget (``--budget``, 420 s) skips the timing points whose predicted time no longer fits, and says
so in the JSON; the identity check is never skipped. A phase that fails records its error (with the tail of its
log) and the others go on; the exit code is then 3. The JSON (``gpu_check-<date>.json``, rewritten atomically after
every phase, so that a killed run still leaves what it had) and a log of every process go to ``--out``; the table is
printed at the end.

``--cpu-dry-run`` runs the same harness on a machine without a GPU: ``cuda_standalone`` is replaced by
``cpp_standalone`` in another layout (``readout`` sampling, Brian2 synapses) and ``genn`` runs on GeNN's CPU backend
in the environment of ``scripts/setup-genn`` (skipped when it does not exist); small batches, few clips. With
``--sites`` it also installs the prepared sites with ``--python`` (a Python 3.12) and builds GeNN from the carried
tarball, as on the GPU machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lprnn_brian.errors import UserInputError  # noqa: E402  (stdlib only: the driver needs no numpy or Brian2)

#: The prepared folder (ignored by git), carried to the GPU machine.
PREPARED = REPO / ".gpu-check"
SHARED = REPO.parent / "shared"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lprnn_brian gpu-check prepared folder"
REPORT_FORMAT = "lprnn_brian gpu-check"
#: What travels to the GPU machine at most (device README), and the room kept free below it.
TRAVEL_LIMIT_MIB = 64
HEADROOM_MIB = 8
#: The setup scripts whose pins the two sites follow.
SETUP_SCRIPTS = {"cuda": REPO / "scripts" / "setup-cuda", "genn": REPO / "scripts" / "setup-genn"}
#: Requirements of the setup scripts that are not carried, with the reason.
NOT_CARRIED = {
    "nvidia-curand": "the GPU machine's PyTorch brings nvidia-curand (CUDA 13: nvidia/cu13, curand.h and "
                     "libcurand.so.10), which lprnn_brian.targets.cuda.curand_dirs finds; its wheel alone would "
                     "not fit the 64 MiB that travel",
    "cython": "only Brian2's runtime 'cython' target uses Cython, not the standalone builds timed here (the GPU "
              "machine has Cython)",
}
#: Platform tags that a cp312 wheel for the GPU machine (x86-64 Linux, glibc of Ubuntu 24.04) may carry.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
#: Batch sizes of the GPU targets' timing points (the first also holds the identity check), and beyond.
BATCHES = (32, 256, 1024)
EXTRA_BATCHES = (2048, 4096)
CPU_BATCH = 32
DRY_BATCHES = (2,)
DRY_CLIPS = 3
#: Exit codes: no GPU, a user error (missing prepared folder, bad option), a failed phase or a spike difference.
EXIT_NO_GPU, EXIT_USER, EXIT_FAILED = 1, 2, 3

_T0 = time.monotonic()


# --- small helpers --------------------------------------------------------------------------------------
def elapsed() -> float:
    """Seconds since this process started."""
    return time.monotonic() - _T0


def say(msg: str) -> None:
    """One progress line, with the elapsed time."""
    print(f"[{elapsed():6.1f} s] {msg}", flush=True)


def write_json_atomic(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:600]


def tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a text file ('' when missing)."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mib(n_bytes: float) -> float:
    return n_bytes / 2 ** 20


def genn_patches():
    """scripts/genn_patches.py (the source fixes GeNN 4.9 needs for CUDA 13), loaded from beside this file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("genn_patches", SCRIPT.parent / "genn_patches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- GPUs -----------------------------------------------------------------------------------------------
def list_gpus() -> tuple[list[str], str]:
    """The lines of ``nvidia-smi -L`` naming a GPU, and why there are none ('' when there are)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], "nvidia-smi is not on the PATH"
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"nvidia-smi -L failed: {one_line(exc)}"
    if out.returncode != 0:
        first = (out.stderr.strip() or out.stdout.strip()).splitlines()[:1]
        return [], f"nvidia-smi -L exited with {out.returncode}" + (f": {first[0][:200]}" if first else "")
    gpus = [line.strip() for line in out.stdout.splitlines() if line.strip().startswith("GPU ")]
    return gpus, "" if gpus else "nvidia-smi -L lists no GPU"


def gpu_properties() -> list[dict]:
    """Name, memory (MiB, total and free), driver and compute capability of each GPU (empty without nvidia-smi)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    fields = ("name", "memory.total", "memory.free", "driver_version", "compute_cap")
    try:
        out = subprocess.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.stdout.splitlines() if out.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == len(fields):
            g = dict(zip(fields, parts))
            for k in ("memory.total", "memory.free"):
                g[k] = float(g[k]) if re.fullmatch(r"\d+(\.\d+)?", g[k]) else None
            gpus.append(g)
    return gpus


def host_memory_available() -> float | None:
    """Bytes of memory available to new processes (``MemAvailable`` of /proc/meminfo), None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# --- the pins of the setup scripts --------------------------------------------------------------------------
def setup_requirements(script: Path) -> list[str]:
    """The ``REQUIREMENTS=( ... )`` array of a setup script (``scripts/setup-cuda``, ``scripts/setup-genn``), one
    requirement per line, quotes and comments removed."""
    text = Path(script).read_text()
    m = re.search(r"^REQUIREMENTS=\((.*?)^\)", text, re.M | re.S)
    if m is None:
        raise RuntimeError(f"no REQUIREMENTS=( ... ) array in {script}")
    reqs = []
    for line in m.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            reqs.append(line.strip("\"'"))
    return reqs


def requirement_name(req: str) -> str:
    """The normalised project name of a requirement (``"numpy>=2.0,<2.4"`` → ``numpy``)."""
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]*", req.strip())
    if m is None:
        raise ValueError(f"cannot read a project name from {req!r}")
    return re.sub(r"[-_.]+", "-", m.group(0)).lower()


def wheel_name(filename: str) -> str:
    """The normalised project name of a wheel file."""
    return re.sub(r"[-_.]+", "-", Path(filename).name.split("-")[0]).lower()


def site_requirements() -> dict[str, list[str]]:
    """Per site (``cuda``, ``genn``): the requirements of its setup script that are carried."""
    return {site: [r for r in setup_requirements(script) if requirement_name(r) not in NOT_CARRIED]
            for site, script in SETUP_SCRIPTS.items()}


def wheel_fits_cp312(filename: str) -> bool:
    """Whether a wheel file's tags install on CPython 3.12 for x86-64 Linux."""
    parts = Path(filename).name[:-len(".whl")].split("-")
    if len(parts) < 5:
        return False
    pythons, abis, platforms = (set(p.split(".")) for p in parts[-3:])
    py_ok = bool(pythons & {"cp312", "py3", "py312"})
    abi_ok = bool(abis & {"cp312", "abi3", "none"})
    plat_ok = "any" in platforms or any(p.endswith("x86_64") and p.startswith(("manylinux", "linux"))
                                        for p in platforms)
    return py_ok and abi_ok and plat_ok


# --- preparing the folder (needs PyPI) ------------------------------------------------------------------------
def find_python312(given: str | None) -> Path:
    """A CPython 3.12 of this machine: ``given``, ``$LPRNN_BRIAN_PYTHON312``, the CUDA environment's (it has
    sympy, jinja2 and pyparsing, as the GPU machine's Python does), pyenv's, or python3.12 on the PATH."""
    candidates = [given, os.environ.get("LPRNN_BRIAN_PYTHON312"),
                  str(Path(os.environ.get("LPRNN_BRIAN_CUDA_ENV") or REPO / ".venv-cuda") / "bin" / "python"),
                  str(REPO.parent / "main" / ".venv-cuda" / "bin" / "python")]
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += sorted((str(p) for p in root.glob("versions/3.12.*/bin/python3.12")), reverse=True)
    candidates.append(shutil.which("python3.12"))
    for c in candidates:
        if not c or not Path(c).is_file():
            if c and c == given:
                raise UserInputError(f"--python312 {given}: no such file; point it at a Python 3.12 interpreter")
            continue
        out = subprocess.run([c, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"], capture_output=True,
                             text=True)
        if out.stdout.strip() == "True":
            return Path(c)
        if c == given:
            raise UserInputError(f"--python312 {given} is not a Python 3.12 interpreter")
    raise UserInputError("no Python 3.12 found (needed to build and test the cp312 sites): run scripts/setup-cuda, "
                         "or pass --python312 /path/to/python3.12")


def _run_quiet(cmd: list, what: str, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {out.returncode}): {shlex.join(str(c) for c in cmd)}\n"
                           + "\n".join((out.stdout + out.stderr).splitlines()[-15:]))
    return out


def fetch_wheel(req: str, dest: Path, python312: Path, scratch: Path) -> tuple[Path, str]:
    """The cp312 wheel of ``req`` in ``dest``: downloaded from PyPI, or where PyPI has none for CPython 3.12,
    built here from the sdist with ``python312``. Returns (wheel, 'downloaded' or 'built from the sdist')."""
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
           "--abi", "abi3", "--abi", "none"]
    for p in PLATFORMS + ("any",):
        cmd += ["--platform", p]
    got = subprocess.run([str(c) for c in cmd + ["-d", dest, req]], capture_output=True, text=True)
    how = "downloaded"
    if got.returncode != 0:
        if "No matching distribution" not in got.stderr and "Could not find a version" not in got.stderr:
            raise RuntimeError(f"pip download {req} failed:\n" + "\n".join(got.stderr.splitlines()[-10:]))
        name = requirement_name(req)
        sdists = scratch / f"sdist-{name}"
        _run_quiet([python312, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-binary", name, "-d", sdists, req], f"downloading the sdist of {req}")
        sdist = sorted(sdists.iterdir())
        if len(sdist) != 1:
            raise RuntimeError(f"expected one sdist of {req} in {sdists}, found {[p.name for p in sdist]}")
        _run_quiet([python312, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "-w", dest, sdist[0]], f"building the cp312 wheel of {req}")
        how = "built from the sdist"
    new = sorted(set(dest.glob("*.whl")) - before)
    if len(new) != 1:
        raise RuntimeError(f"expected one new wheel for {req} in {dest}, found {[p.name for p in new]}")
    if not wheel_fits_cp312(new[0].name):
        raise RuntimeError(f"{new[0].name} ({req}) does not install on CPython 3.12 for x86-64 Linux")
    return new[0], how


def working_tree_bytes(repo: Path = REPO, exclude: Path | None = None) -> int:
    """Bytes of what travels besides carried paths: tracked files and untracked files git does not ignore
    (those under ``exclude`` left out)."""
    out = _run_quiet(["git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                     "listing the working tree")
    total = 0
    for rel in {p for p in out.stdout.split("\0") if p}:
        path = repo / rel
        if exclude is not None and Path(exclude) in path.parents:
            continue
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def folder_files(folder: Path) -> dict[str, dict]:
    """Every file under ``folder`` (paths relative to it, the manifest left out): bytes and SHA-256."""
    return {p.relative_to(folder).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256(p)}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def install_site(python: Path, wheels: list[Path], target: Path) -> subprocess.Popen:
    """Start ``pip install --no-index --no-deps --target`` of ``wheels`` (what the GPU machine runs)."""
    if target.exists():
        shutil.rmtree(target)
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps",
           "--no-compile", "--no-cache-dir", "--target", str(target)] + [str(w) for w in wheels]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


#: Per site, a check that its packages import with the versions wanted (run with the site first on the path).
SITE_CHECKS = {
    "cuda": "import brian2, brian2cuda, numpy\n"
            "from lprnn_brian.targets.cuda import parse_compute_capability\n"
            "print(f'brian2 {brian2.__version__}, brian2cuda {brian2cuda.__version__}, numpy {numpy.__version__}')",
    # brian2 2.5 imports distutils, which Python 3.12 has only through setuptools' shim (installed by importing it)
    "genn": "import setuptools, brian2, brian2genn, numpy, brian2genn.device\n"
            "from lprnn_brian.targets import genn\n"
            "print(f'brian2 {brian2.__version__}, brian2genn {brian2genn.__version__}, numpy {numpy.__version__}, "
            "setuptools {setuptools.__version__}')",
}


def site_env(site: Path, base: dict | None = None) -> dict:
    """The environment of a process using ``site``: the site, then this repository, first on the path."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env.pop("PYTHONHOME", None)
    return env


def check_site(python: Path, site: Path, name: str) -> str:
    """Import the packages of site ``name`` from ``site`` with ``python``; their versions (RuntimeError if not)."""
    out = subprocess.run([str(python), "-c", SITE_CHECKS[name]], capture_output=True, text=True,
                         env=site_env(site), cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise RuntimeError(f"the {name} site does not import with {python}:\n"
                           + "\n".join((out.stdout + out.stderr).splitlines()[-12:]))
    return out.stdout.strip().splitlines()[-1]


def ignored_by_git(path: Path) -> bool:
    """Whether git ignores ``path`` in this repository."""
    # a file inside: a directory pattern ('/.gpu-check/') matches a path git cannot see is a directory otherwise
    return subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(Path(path) / MANIFEST)]).returncode == 0


def prepare(args) -> int:
    """Fill the prepared folder (``--prepared``, default ``.gpu-check``) and print the device call."""
    from lprnn_brian.ann.checkpoint import SHD_REFERENCE_FILE
    from lprnn_brian.targets.genn import GENN_VERSION

    dest = Path(args.prepared).resolve()
    inside = REPO in dest.parents
    if inside and not ignored_by_git(dest):
        raise UserInputError(f"{dest} is inside the repository but not ignored by git: add it to .gitignore or "
                             ".git/info/exclude (the prepared folder must never be committed)")
    reference = Path(args.reference or SHARED / "reference" / SHD_REFERENCE_FILE)
    tarball = Path(os.environ.get("LPRNN_BRIAN_GENN_TARBALL") or SHARED / "vendor" / f"genn-{GENN_VERSION}.tar.gz")
    for what, path in (("the authors' SHD checkpoint", reference), (f"the GeNN {GENN_VERSION} tarball", tarball)):
        if not path.is_file():
            raise UserInputError(f"{what} is missing: {path} (../shared beside the repository; see README.md)")
    python312 = find_python312(args.python312)
    say(f"prepare: Python 3.12 for building and testing the sites: {python312}")
    stage = dest.with_name(dest.name + ".partial")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    manifest = {"format": MANIFEST_FORMAT, "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "python": "3.12", "genn_version": GENN_VERSION, "sites": {}, "not_carried": NOT_CARRIED}
    with tempfile.TemporaryDirectory(prefix="gpu-check-prepare-") as scratch:
        scratch = Path(scratch)
        for site, reqs in site_requirements().items():
            wheels = []
            for req in reqs:
                wheel, how = fetch_wheel(req, stage / f"wheels-{site}", python312, scratch)
                say(f"prepare: {site} site: {wheel.name} ({mib(wheel.stat().st_size):.1f} MiB, {how})")
                wheels.append({"requirement": req, "wheel": f"wheels-{site}/{wheel.name}", "how": how})
            names = [wheel_name(w["wheel"]) for w in wheels]
            if len(set(names)) != len(names):
                raise RuntimeError(f"the {site} site holds two wheels of one project: {names}")
            manifest["sites"][site] = {"setup_script": SETUP_SCRIPTS[site].name, "wheels": wheels}
        (stage / "reference").mkdir()
        shutil.copyfile(reference, stage / "reference" / reference.name)
        (stage / "vendor").mkdir()
        shutil.copyfile(tarball, stage / "vendor" / tarball.name)
        manifest["reference"] = f"reference/{reference.name}"
        manifest["genn_tarball"] = f"vendor/{tarball.name}"
        # the install recipe of the GPU machine, with this machine's Python 3.12
        versions = {}
        for site, entry in manifest["sites"].items():
            proc = install_site(python312, [stage / w["wheel"] for w in entry["wheels"]], scratch / f"site-{site}")
            log = proc.communicate()[0]
            if proc.returncode != 0:
                raise RuntimeError(f"installing the {site} site failed:\n{log[-2000:]}")
            versions[site] = check_site(python312, scratch / f"site-{site}", site)
            say(f"prepare: {site} site installs and imports with {python312}: {versions[site]}")
        manifest["checked_with"] = {"python": str(python312), "imports": versions}
    manifest["files"] = folder_files(stage)
    folder = sum(f["bytes"] for f in manifest["files"].values())
    tree = working_tree_bytes(exclude=dest if inside else None)
    total = folder + tree
    manifest["bytes"] = {"folder": folder, "working_tree": tree}
    limit = (TRAVEL_LIMIT_MIB - HEADROOM_MIB) * 2 ** 20
    if total > limit:
        shutil.rmtree(stage)
        raise UserInputError(f"the working tree ({mib(tree):.1f} MiB) and the prepared folder ({mib(folder):.1f} "
                             f"MiB) make {mib(total):.1f} MiB, over the {TRAVEL_LIMIT_MIB - HEADROOM_MIB} MiB kept "
                             f"below the {TRAVEL_LIMIT_MIB} MiB that travel: remove large untracked files from the "
                             "checkout")
    write_json_atomic(stage / MANIFEST, manifest)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(stage, dest)
    rel = dest.relative_to(REPO).as_posix() if inside else str(dest)
    say(f"prepare: {rel}: {len(manifest['files'])} files, {mib(folder):.1f} MiB; with the working tree "
        f"({mib(tree):.1f} MiB) {mib(total):.1f} MiB of the {TRAVEL_LIMIT_MIB} MiB that travel")
    print("\nOn a machine with an NVIDIA GPU, make this call of the device tool `run` (one call, about 6 minutes):")
    print(f"  command:   {device_command()}")
    print(f"  carry:     {json.dumps([rel])}")
    print("  timeout_s: 600")
    return 0


def device_command() -> str:
    """The command string of the device call."""
    return "PYTHONUNBUFFERED=1 scripts/gpu-check --out $OUT"


def load_manifest(prepared: Path, verify: bool = True) -> dict:
    """The prepared folder's manifest; with ``verify``, every file's size and SHA-256 checked (UserInputError
    naming what is missing or changed)."""
    path = Path(prepared) / MANIFEST
    hint = ("run `scripts/gpu-check --prepare` on a machine that reaches PyPI and carry .gpu-check to this one "
            "(the device call's carry list)")
    if not path.is_file():
        raise UserInputError(f"no prepared folder at {prepared} ({MANIFEST} missing): {hint}")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path} is not readable JSON ({one_line(exc)}): {hint}") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise UserInputError(f"{path} is not a gpu-check manifest: {hint}")
    if verify:
        bad = []
        for rel, meta in manifest["files"].items():
            p = Path(prepared) / rel
            if not p.is_file():
                bad.append(f"{rel} missing")
            elif p.stat().st_size != meta["bytes"] or sha256(p) != meta["sha256"]:
                bad.append(f"{rel} changed")
        if bad:
            raise UserInputError(f"the prepared folder {prepared} is incomplete ({'; '.join(bad[:5])}): {hint}")
    return manifest


# --- the lanes: one (target, layout) network each, built and run in a process of its own --------------------
@dataclass
class Lane:
    """One network to build and run: ``role`` ``fast`` (the CPU baseline), ``reference`` (the oracle) or ``gpu``
    (a GPU target, or its stand-in in a dry run); ``family`` names its environment (``cpu``, ``cuda``, ``genn``)."""

    name: str
    role: str
    family: str
    label: str
    target: str
    batch: int
    sampling: str
    propagation: str = "synapses"
    threads: int = 0
    record: tuple[str, ...] = ()
    #: built and run whatever the budget (the baseline, the reference and the identity points)
    essential: bool = False
    #: the GPU target this lane stands for ('cuda_standalone', 'genn'; '' for the CPU lanes)
    stands_for: str = ""

    def config(self, build_root: Path) -> dict:
        return {**asdict(self), "record": list(self.record), "build_root": str(build_root)}


def gpu_lane(family: str, batch: int, essential: bool, dry: bool) -> Lane:
    """The lane of a GPU target at ``batch``: ``cuda_standalone`` with read-out sampling (as the fast path), or
    ``genn`` (every step, so spikes only); in a dry run ``cpp_standalone`` in another layout and GeNN's CPU
    backend."""
    if family == "cuda":
        target, label = ("cpp_standalone", "cuda_standalone [dry run: cpp_standalone, synapses]") if dry else \
            ("cuda_standalone", "cuda_standalone (GPU)")
        return Lane(f"cuda-b{batch}", "gpu", "cuda", label, target, batch, "readout", "synapses", 0, ("i_fb",),
                    essential, "cuda_standalone")
    label = "genn [dry run: GeNN CPU backend]" if dry else "genn (GeNN CUDA backend)"
    return Lane(f"genn-b{batch}", "gpu", "genn", label, "genn", batch, "steps", "synapses", 0, (), essential, "genn")


def plan_lanes(batches, cpu_batch: int, threads: int, dry: bool, families=("cuda", "genn")) -> list[Lane]:
    """Every lane in the order they are run: the fast path, the reference, then each batch's GPU lanes."""
    lanes = [Lane("cpu-fast", "fast", "cpu", f"cpp_standalone fast path (CPU, {threads} OpenMP threads)",
                  "cpp_standalone", cpu_batch, "readout", "rows", threads, ("i_fb",), True),
             Lane("cpu-reference", "reference", "cpu", "cpp_standalone plain network (reference)", "cpp_standalone",
                  1, "steps", "synapses", 0, (), True)]
    for k, batch in enumerate(batches):
        lanes += [gpu_lane(f, batch, k == 0, dry) for f in families]
    return lanes


def pick_identity_clips(counts: dict, k: int) -> list[int]:
    """The ``k`` clips whose hidden layers (all but the first and the last) spike most, from ``counts`` (clip →
    spikes per layer); ties go to the lower clip number."""
    def hidden(c):
        n = counts[c]
        return sum(n[1:-1]) if len(n) > 2 else sum(n)

    return sorted(sorted(counts, key=int), key=lambda c: -hidden(c))[:k]


def batch_clips(identity: list[int], n_clips: int, batch: int) -> list[int]:
    """One batch's clips: ``identity`` first, then the other clips in order, cycled until ``batch`` are there."""
    others = [c for c in range(n_clips) if c not in identity] or list(range(n_clips))
    clips = list(identity[:batch])
    i = 0
    while len(clips) < batch:
        clips.append(others[i % len(others)])
        i += 1
    return clips


def predict_run_s(points: list[tuple[int, float]], batch: int) -> float | None:
    """Seconds of one run at ``batch`` from measured (batch, seconds per run) points of the same target: the
    largest point's time scaled linearly with the batch (an upper estimate where a GPU is not yet saturated)."""
    if not points:
        return None
    b, s = max(points)
    return s * max(1.0, batch / b)


def memory_need(info: dict, batch: int, spikes_per_clip: float) -> dict[str, float]:
    """Bytes that a run at ``batch`` needs (estimates): ``host`` (the stacked drive in Python, its file and the
    binary's copy; synapse index and weight arrays with their temporaries while building; the recorded spikes),
    ``gpu`` (the drive, about 32 bytes per synapse, the spikes) and ``disk`` (the build's static arrays and the
    drive file)."""
    synapses = info["synapses"] * batch
    drive = info["n_steps"] * info["n0"] * 8 * batch
    spikes = spikes_per_clip * batch * 12
    return {"host": 3 * drive + 40 * synapses + 3 * spikes, "gpu": drive + 32 * synapses + spikes,
            "disk": 16 * synapses + drive}


# --- the report -----------------------------------------------------------------------------------------
class Report:
    """The JSON record, rewritten atomically after every phase."""

    def __init__(self, path: Path, data: dict):
        self.path = path
        self.data = data
        self.data.setdefault("phases", {})
        self.data.setdefault("lanes", {})
        self.data.setdefault("skipped", [])
        self.data.setdefault("errors", [])

    def save(self) -> None:
        self.data["elapsed_s"] = round(elapsed(), 2)
        write_json_atomic(self.path, self.data)

    def phase(self, name: str, seconds: float, **info) -> None:
        self.data["phases"][name] = {"s": round(seconds, 2), **info}
        say(f"{name}: {seconds:.1f} s" + (f" ({info['note']})" if info.get("note") else ""))
        self.save()

    def error(self, where: str, message: str, log: str = "") -> None:
        self.data["errors"].append({"where": where, "error": message, **({"log_tail": log} if log else {})})
        say(f"ERROR in {where}: {message}")
        self.save()

    def skip(self, what: str, why: str) -> None:
        self.data["skipped"].append({"what": what, "why": why})
        say(f"skipped {what}: {why}")
        self.save()


# --- the driver: processes of the lanes ---------------------------------------------------------------------
class Worker:
    """A lane's process: it builds, writes ``status/<name>.json`` (``built`` or ``failed``), then waits for one
    line on stdin (a JSON run request, or ``stop``), runs, writes the status ``done`` and exits."""

    def __init__(self, lane: Lane, job: Path, python: str, env: dict):
        self.lane = lane
        self.status_path = job / "status" / f"{lane.name}.json"
        self.log_path = job / "logs" / f"{lane.name}.log"
        self.status_path.unlink(missing_ok=True)
        config = job / "lanes" / f"{lane.name}.json"
        write_json_atomic(config, lane.config(job.parent / "builds"))
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([python, str(SCRIPT), "--worker", "lane", "--job", str(job), "--lane", lane.name],
                                     stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT, text=True,
                                     env=env, cwd=str(REPO), start_new_session=True)

    def status(self) -> dict | None:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None

    def poll(self) -> dict | None:
        """The worker's latest status; a ``failed`` one when it exited without saying why."""
        st = self.status()
        if st is None and self.proc.poll() is not None:
            st = self.status() or {"state": "failed", "phase": "process",
                                   "error": f"the worker exited with code {self.proc.returncode} without a status"}
        if st is not None and st.get("state") == "failed" and "log_tail" not in st:
            st["log_tail"] = tail(self.log_path)
        return st

    def wait(self, states: tuple[str, ...], deadline: float) -> dict:
        """Block until the status is one of ``states`` or ``failed``, the process ends, or ``deadline`` (monotonic
        seconds) passes (the worker is then killed)."""
        while True:
            st = self.poll()
            if st is not None and st.get("state") in states + ("failed",):
                return st
            if self.proc.poll() is not None:
                st = self.status()
                if st is not None and st.get("state") in states + ("failed",):
                    return st
                return {"state": "failed", "phase": "process", "log_tail": tail(self.log_path),
                        "error": f"the worker exited with code {self.proc.returncode} "
                                 f"(status {st and st.get('state')})"}
            if time.monotonic() > deadline:
                self.kill()
                return {"state": "failed", "phase": "time", "error": "killed at the time limit",
                        "log_tail": tail(self.log_path)}
            time.sleep(0.2)

    def send(self, message) -> None:
        try:
            self.proc.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def stop(self) -> None:
        """Tell a built worker that it will not run (it closes its runner and exits)."""
        if self.proc.poll() is None:
            self.send("stop")

    def kill(self) -> None:
        """End the worker and everything it started (its own process group)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()

    def close(self, timeout: float = 60) -> None:
        """Wait for the worker to exit (killing it after ``timeout`` s) and close its log."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.log.close()


def run_prep(python: str, env: dict, job: Path, reference: Path, n_clips: int | None, probe_cuda: bool,
             timeout: float) -> dict:
    """The prep worker (spec, drives, the CUDA toolkit seen by the package); its JSON, or RuntimeError."""
    cmd = [python, str(SCRIPT), "--worker", "prep", "--job", str(job), "--reference", str(reference)]
    cmd += (["--max-clips", str(n_clips)] if n_clips else []) + (["--probe-cuda"] if probe_cuda else [])
    log = job / "logs" / "prep.log"
    with open(log, "w") as f:
        try:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=str(REPO), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"prep did not finish in {timeout:.0f} s\n{tail(log)}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"prep failed (exit {proc.returncode})\n{tail(log)}")
    return json.loads((job / "prep.json").read_text())


def genn_build(genn_dir: Path, backend: str, jobs: int, env: dict, log: Path) -> subprocess.Popen:
    """Start building GeNN's libraries for ``backend`` (``cuda`` or ``single_threaded_cpu``), as setup-genn does."""
    f = open(log, "w")
    proc = subprocess.Popen(["make", "-C", str(genn_dir), "-j", str(jobs), "libgenn", backend], stdout=f,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    proc.log_file = f  # closed when the build is waited for
    return proc


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


class Check:
    """One run of the check (GPU mode or a CPU dry run); :meth:`run` returns the exit code."""

    def __init__(self, args, dry: bool):
        self.args = args
        self.dry = dry
        self.cores = os.cpu_count() or 1
        self.out = Path(args.out)
        self.work = Path(args.work).resolve() if args.work else None
        self.families: dict[str, dict] = {}
        self.workers: dict[str, Worker] = {}
        self.deadline = _T0 + args.budget  # monotonic: no timing point predicted to end later starts
        self.hard = _T0 + args.budget + args.grace  # everything still running is killed

    # -- environments --
    def base_env(self) -> dict:
        """This process's environment, one BLAS thread (the fast path's OpenMP threads are set by the runner)."""
        return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def preflight(self) -> None:
        """Refuse, before anything runs, a missing or changed prepared folder (GPU mode, or a dry run with
        ``--sites``) and a missing checkpoint (UserInputError)."""
        self.use_sites = not self.dry or self.args.sites
        self.manifest = load_manifest(Path(self.args.prepared)) if self.use_sites else None
        if self.args.reference:
            self.reference = Path(self.args.reference)
        elif self.manifest is not None:
            self.reference = Path(self.args.prepared) / self.manifest["reference"]
        else:
            self.reference = SHARED / "reference" / "shd_QlpRNN_128_2x512_ret0.8_mel80_hop256.pth"
        if not self.reference.is_file():
            raise UserInputError(f"the authors' SHD checkpoint is missing: {self.reference} (pass --reference, or "
                                 "run scripts/gpu-check --prepare)")
        if self.args.python and not Path(self.args.python).is_file():
            raise UserInputError(f"--python {self.args.python}: no such file")

    def setup(self, report: Report) -> None:
        """Sites (GPU mode, or a dry run with --sites), GeNN unpacked; the lane families' Python and environment."""
        args = self.args
        t = time.monotonic()
        base = self.base_env()
        use_sites = self.use_sites
        self.genn_dir = None
        if use_sites:
            prepared = Path(args.prepared)
            manifest = self.manifest
            report.data["prepared"] = {"created": manifest["created"], "bytes": manifest.get("bytes"),
                                       "checked_with": manifest.get("checked_with")}
            python = args.python or sys.executable
            procs = {}
            for site, entry in manifest["sites"].items():
                procs[site] = install_site(Path(python), [prepared / w["wheel"] for w in entry["wheels"]],
                                           self.work / f"site-{site}")
            for site, proc in procs.items():
                out = proc.communicate()[0]
                if proc.returncode != 0:
                    raise RuntimeError(f"installing the {site} site failed: {out[-1500:]}")
            genn_parent = self.work / "genn"
            self.genn_dir = genn_parent / f"genn-{manifest['genn_version']}"
            version = self.genn_dir / "version.txt"
            if not (version.is_file() and version.read_text().strip() == manifest["genn_version"]):
                # unpacked once per work directory (make then rebuilds only what is missing)
                if genn_parent.exists():
                    shutil.rmtree(genn_parent)
                genn_parent.mkdir(parents=True)
                _run_quiet(["tar", "-xzf", prepared / manifest["genn_tarball"], "-C", genn_parent], "unpacking GeNN")
            fixed = genn_patches().apply(self.genn_dir)  # GeNN 4.9's CUDA backend with CUDA 13 (setup-genn does too)
            report.data["genn_patches"] = fixed or "already patched"
            for fam, site in (("cpu", "cuda"), ("cuda", "cuda"), ("genn", "genn")):
                self.families[fam] = {"python": python, "env": site_env(self.work / f"site-{site}", base)}
            self.families["genn"]["env"]["GENN_PATH"] = str(self.genn_dir)
            if not self.dry and " " in self.families["cuda"]["env"].get("CXX", "").strip():
                # brian2cuda passes -ccbin $(CXX) to nvcc, which takes one program ('ccache g++' is two)
                self.families["cuda"]["env"].pop("CXX")
        else:
            env = dict(base, PYTHONPATH=str(REPO))
            self.families["cpu"] = self.families["cuda"] = {"python": sys.executable, "env": env}
            genn_env = Path(os.environ.get("LPRNN_BRIAN_GENN_ENV") or REPO / ".venv-genn")
            if (genn_env / "bin" / "python").is_file() and "genn" in args.families:
                self.families["genn"] = {"python": str(genn_env / "bin" / "python"), "env": dict(env)}
            elif "genn" in args.families:
                report.skip("genn lanes", f"no GeNN environment at {genn_env} (scripts/setup-genn creates it)")
        jobs = args.jobs or self.cores
        for fam in self.families.values():
            fam["env"]["LPRNN_BRIAN_CUDA_JOBS"] = str(jobs)
            fam["env"]["MAKEFLAGS"] = f"-j{jobs}"
        report.phase("setup", time.monotonic() - t, sites=use_sites,
                     note="sites installed, GeNN unpacked" if use_sites else "this machine's environments")

    # -- the check --
    def run(self) -> int:
        args = self.args
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"gpu_check-{stamp}.json"
        n = 1
        while path.exists():
            n += 1
            path = self.out / f"gpu_check-{stamp}-{n}.json"
        gpus = gpu_properties()
        report = Report(path, {
            "format": REPORT_FORMAT, "version": 1, "mode": "cpu-dry-run" if self.dry else "gpu",
            "command": shlex.join(["scripts/gpu-check", *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cores": self.cores, "host_memory_available_bytes": host_memory_available(), "gpus": gpus,
                        "python": sys.version.split()[0]},
            "budget_s": args.budget, "hard_limit_s": args.budget + args.grace})
        self.report = report
        self.log_path = path.with_suffix(".log")
        scratch = None
        if self.work is None:
            scratch = tempfile.mkdtemp(prefix="lprnn-gpu-check-")
            self.work = Path(scratch)
        self.work.mkdir(parents=True, exist_ok=True)
        job = self.work / "job"
        if job.exists():
            shutil.rmtree(job)
        for sub in ("status", "logs", "lanes"):
            (job / sub).mkdir(parents=True)
        (self.work / "builds").mkdir(exist_ok=True)  # kept across runs with the same --work: builds are re-used
        self.job = job
        try:
            self._run(report)
        except Exception as exc:  # a failure of the harness itself: recorded, then the exit code says so
            report.error("harness", one_line(exc), traceback.format_exc()[-3000:])
        finally:
            for w in self.workers.values():
                w.kill()
                w.close(timeout=5)
            self._write_log()
            identical = self._identical()  # also marks the targets that no lane checked
            code = EXIT_FAILED if report.data["errors"] or not identical else 0
            report.data["exit_code"] = code
            report.save()
            try:
                print(self.table())
            except Exception as exc:  # the JSON holds everything; a broken table must not hide it
                print(f"(the table could not be printed: {one_line(exc)})")
            say(f"wrote {report.path} and {self.log_path.name}")
            if scratch is not None and not args.keep_work:
                shutil.rmtree(scratch, ignore_errors=True)
        return code

    def _identical(self) -> bool:
        """Every GPU target checked, and identical (spikes, and read-out sums where recorded)."""
        d = self.report.data
        for target in d.get("targets", ()):
            d.setdefault("identity", {}).setdefault(target, {"identical": False, "lanes": {},
                                                             "note": "no lane of it ran (see errors)"})
        return (all(v.get("identical", False) for v in d.get("identity", {}).values())
                and all(v["identical_readout_sums"] for v in d.get("decodes", {}).values()))

    def _write_log(self) -> None:
        try:
            with open(self.log_path, "w") as out:
                for log in sorted(self.job.glob("logs/*.log")):
                    out.write(f"===== {log.name}\n{log.read_text(errors='replace')[-200_000:]}\n")
        except OSError:
            pass

    def _run(self, report: Report) -> None:
        args = self.args
        self.setup(report)
        # prep: the spec, the drives, what the package sees of the CUDA toolkit
        t = time.monotonic()
        cuda_fam = self.families["cuda"]
        info = run_prep(cuda_fam["python"], cuda_fam["env"], self.job, self.reference,
                        args.max_clips or (DRY_CLIPS if self.dry else None), probe_cuda=not self.dry,
                        timeout=max(30.0, self.hard - time.monotonic()))
        self.info = info
        report.data["network"] = {k: info[k] for k in ("checkpoint", "mode", "digest", "layers", "neurons", "synapses",
                                                        "n_steps", "n0", "clips", "dt")}
        if info.get("cuda"):
            report.data["machine"]["cuda"] = info["cuda"]
        report.phase("prep", time.monotonic() - t, note=f"{info['clips']} clips, {info['n_steps']} steps")
        # GeNN's libraries, in the background of the builds
        genn_proc = None
        if "genn" in self.families and self.genn_dir is not None:
            env = dict(self.families["genn"]["env"])
            backend = "single_threaded_cpu" if self.dry else "cuda"
            if not self.dry:
                cuda_path = (info.get("cuda") or {}).get("cuda_path")
                if cuda_path:
                    env["CUDA_PATH"] = cuda_path
                    self.families["genn"]["env"]["CUDA_PATH"] = cuda_path
            genn_proc = genn_build(self.genn_dir, backend, args.jobs or self.cores, env, self.job / "logs" / "genn.log")
            genn_proc.started = time.monotonic()
        batches = tuple(args.batches)
        threads = self.cores if args.threads is None else args.threads
        families = tuple(f for f in args.families if f in self.families)
        report.data["targets"] = ["cuda_standalone" if f == "cuda" else "genn" for f in families]
        lanes = plan_lanes(batches, args.cpu_batch, threads, self.dry, families)
        for lane in lanes:
            report.data["lanes"][lane.name] = {"label": lane.label, "target": lane.target, "batch": lane.batch,
                                               "sampling": lane.sampling, "propagation": lane.propagation,
                                               "threads": lane.threads, "record": list(lane.record),
                                               "stands_for": lane.stands_for, "essential": lane.essential}
        self.build_all(lanes, genn_proc)
        n_clips = self.info["clips"]
        self.identity = list(range(min(args.clips, n_clips)))  # until the fast path has chosen
        self.ref_spikes = None
        self.points: dict[str, list[tuple[int, float]]] = {}
        self.run_all(lanes, "runs")
        if args.extra_batches:
            self.extras(args.extra_batches, families)

    # -- builds --
    def start(self, lane: Lane) -> Worker:
        fam = self.families[lane.family]
        w = Worker(lane, self.job, fam["python"], fam["env"])
        self.workers[lane.name] = w
        return w

    def build_all(self, lanes: list[Lane], genn_proc) -> None:
        """Build every lane, ``--parallel`` at a time; GeNN lanes once GeNN's libraries are built. Builds of
        non-essential lanes not finished by ``--build-share`` of the budget are stopped."""
        report, args = self.report, self.args
        t = time.monotonic()
        build_deadline = _T0 + args.budget * args.build_share
        pending = list(lanes)
        building: list[Worker] = []
        genn_state = "none" if genn_proc is None else "building"
        if genn_proc is None and any(lane.family == "genn" for lane in lanes) and self.genn_dir is not None:
            genn_state = "failed"
        while pending or building:
            if genn_state == "building" and genn_proc.poll() is not None:
                genn_proc.log_file.close()
                seconds = time.monotonic() - genn_proc.started
                if genn_proc.returncode == 0:
                    genn_state = "ready"
                    report.phase("genn-libraries", seconds, note="GeNN's libraries built")
                else:
                    genn_state = "failed"
                    report.error("genn-libraries", f"building GeNN's libraries failed (exit {genn_proc.returncode})",
                                 tail(self.job / "logs" / "genn.log"))
            for w in list(building):
                st = w.poll()
                if st is not None and st.get("state") in ("built", "failed"):
                    building.remove(w)
                    self._record_build(w, st)
                elif not w.lane.essential and time.monotonic() > build_deadline:
                    w.kill()
                    building.remove(w)
                    report.data["lanes"][w.lane.name]["build"] = {"state": "stopped"}
                    report.skip(w.lane.name, f"its build had not finished {args.budget * args.build_share:.0f} s into "
                                             "the budget (the share of the budget given to builds)")
            if time.monotonic() > self.hard:
                for w in building:
                    w.kill()
                    report.data["lanes"][w.lane.name]["build"] = {"state": "failed",
                                                                  "error": "killed at the hard limit"}
                    report.error(f"build {w.lane.name}", "killed at the hard time limit")
                building = []
                for lane in pending:
                    report.skip(lane.name, "the hard time limit passed before its build started")
                pending = []
                break
            for lane in list(pending):
                if len(building) >= args.parallel:
                    break
                if lane.family == "genn" and genn_state == "building":
                    continue
                pending.remove(lane)
                if lane.family == "genn" and genn_state == "failed":
                    report.data["lanes"][lane.name]["build"] = {"state": "failed", "error": "GeNN's libraries failed"}
                    continue
                if not lane.essential and time.monotonic() > build_deadline:
                    report.skip(lane.name, "the builds' share of the budget was spent before its build started")
                    continue
                building.append(self.start(lane))
            time.sleep(0.2)
        if genn_state == "building":  # no GeNN lane waited for it
            genn_proc.kill()
        built = sum(1 for lane in lanes if report.data["lanes"][lane.name].get("build", {}).get("state") == "built")
        report.phase("builds", time.monotonic() - t, note=f"{built} of {len(lanes)} lanes built")

    def _record_build(self, w: Worker, st: dict) -> None:
        entry = {k: v for k, v in st.items() if k != "log_tail"}
        self.report.data["lanes"][w.lane.name]["build"] = entry
        if st["state"] == "built":
            say(f"built {w.lane.name} in {st.get('build_s', float('nan')):.1f} s")
            self.report.save()
        else:
            self.report.error(f"build {w.lane.name}", st.get("error", "failed"), st.get("log_tail", ""))

    # -- runs --
    def run_all(self, lanes: list[Lane], phase: str) -> None:
        """Run the built lanes one at a time, in order: the fast path (choosing the identity clips), the reference,
        then the GPU lanes (identity, timing) while the budget allows."""
        report, args = self.report, self.args
        t = time.monotonic()
        n_clips = self.info["clips"]
        for lane in lanes:
            w = self.workers.get(lane.name)
            entry = report.data["lanes"][lane.name]
            if w is None or entry.get("build", {}).get("state") != "built":
                if lane.role == "reference":
                    report.data["identity_note"] = "the reference was not built: no identity check"
                continue
            if lane.role == "fast":
                # every clip once (the last batch filled up with the first clips): the baseline and the clip choice
                clips = batch_clips([], n_clips, -(-n_clips // lane.batch) * lane.batch)
                go = {"mode": "timing", "clips": clips, "runs": len(clips) // lane.batch, "per_clip": True}
            elif lane.role == "reference":
                go = {"mode": "reference", "clips": self.identity, "runs": len(self.identity),
                      "save_spikes": str(self.job / "reference.npz"), "hard": True}
            else:
                go = {"mode": "timing", "clips": batch_clips(self.identity, n_clips, lane.batch),
                      "runs": 1 + args.repeats, "identity": self.identity,
                      "reference": str(self.ref_spikes) if self.ref_spikes else None, "readout_of": self.identity}
                if not lane.essential:
                    predicted = predict_run_s(self.points.get(lane.stands_for, []), lane.batch)
                    left = self.deadline - time.monotonic()
                    if predicted is not None and 2.5 * predicted > left:
                        w.stop()
                        w.close(timeout=30)
                        report.skip(f"{lane.name} timing", f"predicted {2.5 * predicted:.0f} s (a cold and a warm "
                                                           f"run), {max(left, 0):.0f} s of the budget left")
                        continue
            st = self.go(w, go)
            if st.get("state") != "done":
                report.error(f"run {lane.name}", st.get("error", "failed"), st.get("log_tail", ""))
                if lane.role == "reference":
                    report.data["identity_note"] = "the reference run failed: no identity check"
                continue
            result = st["result"]
            entry["result"] = result
            if lane.role == "fast":
                self.fast = result
                counts = {int(c): v["spikes"] for c, v in result["per_clip"].items()}
                self.identity = pick_identity_clips(counts, min(args.clips, n_clips))
                report.data["identity_clips"] = self.identity
                report.data["identity_clip_choice"] = (
                    f"the {len(self.identity)} clips whose hidden layers spiked most on the fast path, of {n_clips}")
                report.data["identity_clip_spikes"] = {c: counts[c] for c in self.identity}
                self.spikes_per_clip = sum(sum(v) for v in counts.values()) / max(1, len(counts))
            elif lane.role == "reference":
                self.ref_spikes = self.job / "reference.npz"
            else:
                self._record_gpu(lane, result)
            if result.get("run_s") and lane.role == "gpu":
                self.points.setdefault(lane.stands_for or lane.target, []).append((lane.batch, _median(
                    result["run_s"][1:] or result["run_s"][:1])))
            say(f"ran {lane.name}: {self._rate_text(result)}")
            report.save()
        report.phase(phase, time.monotonic() - t)

    def go(self, w: Worker, go: dict) -> dict:
        """Send a run request (with the deadline of its warm runs: the budget's end, or for the reference, whose
        every clip is needed, the hard limit) and wait for the result."""
        end = self.hard if go.get("hard") else self.deadline
        go = dict(go, deadline=time.time() + (end - time.monotonic()))
        w.send(go)
        st = w.wait(("done",), self.hard)
        w.close(timeout=30)
        return st

    def _record_gpu(self, lane: Lane, result: dict) -> None:
        """Fold a GPU lane's identity check (spikes against the reference) and read-out sums (against the fast
        path) into the per-target summaries."""
        report = self.report
        total = report.data.setdefault("identity", {}).setdefault(
            lane.stands_for, {"identical": True, "clips": 0, "spikes": 0, "differing": 0, "lanes": {}})
        ident = result.get("identity")
        if ident is None:
            total["identical"] = False
            total["lanes"][lane.name] = {"note": report.data.get("identity_note", "not compared")}
        else:
            total["identical"] = total["identical"] and ident["identical"]
            for k in ("clips", "spikes", "differing"):
                total[k] += ident[k]
            total["lanes"][lane.name] = ident
        if lane.record and getattr(self, "fast", None):
            fast, mine = self.fast["per_clip"], result.get("per_clip", {})
            same = [mine[str(c)]["readout"] == fast[str(c)]["readout"] for c in self.identity
                    if str(c) in fast and mine.get(str(c), {}).get("readout") is not None]
            dec = report.data.setdefault("decodes", {}).setdefault(
                lane.stands_for, {"identical_readout_sums": True, "clips": 0, "lanes": {}})
            dec["lanes"][lane.name] = {"clips": len(same), "identical": bool(same) and all(same)}
            dec["clips"] += len(same)
            dec["identical_readout_sums"] = dec["identical_readout_sums"] and bool(same) and all(same)

    @staticmethod
    def _rate_text(result: dict) -> str:
        return (f"{result['samples_per_s']:.1f} samples/s" + (" (cold run only)" if result.get("cold_only") else "")
                if result.get("samples_per_s") else "no timing")

    def extras(self, batches, families) -> None:
        """Batches beyond the main points, each built and run alone, when time, memory and disk allow."""
        report = self.report
        for batch in batches:
            for fam in families:
                lane = gpu_lane(fam, batch, False, self.dry)
                name = lane.name
                report.data["lanes"][name] = {"label": lane.label, "target": lane.target, "batch": batch,
                                              "stands_for": lane.stands_for, "extra": True}
                why = self._extra_refusal(lane)
                if why:
                    report.skip(name, why)
                    continue
                w = self.start(lane)
                st = w.wait(("built",), self.hard)
                if st.get("state") != "built":
                    report.data["lanes"][name]["build"] = {k: v for k, v in st.items() if k != "log_tail"}
                    report.error(f"build {name}", st.get("error", "failed"), st.get("log_tail", ""))
                    w.kill()
                    continue
                self._record_build(w, st)
                self.run_all([lane], f"extra {name}")

    def _extra_refusal(self, lane: Lane) -> str:
        """Why an extra batch is not tried ('' when it is)."""
        points = self.points.get(lane.stands_for, [])
        if not points:
            return f"no smaller batch of {lane.stands_for} was measured"
        builds = [self.report.data["lanes"][n].get("build", {}).get("build_s") for n in self.report.data["lanes"]
                  if self.report.data["lanes"][n].get("stands_for") == lane.stands_for]
        build_s = max([b for b in builds if b] or [60.0]) * 1.5
        run_s = predict_run_s(points, lane.batch)
        need = build_s + 2.5 * run_s
        left = self.deadline - time.monotonic()
        if need > left:
            return f"predicted {need:.0f} s (build and two runs), {max(left, 0):.0f} s of the budget left"
        mem = memory_need(self.info, lane.batch, getattr(self, "spikes_per_clip", 0.0))
        host = host_memory_available()
        if host is not None and mem["host"] > 0.5 * host:
            return f"needs about {mem['host'] / 2**30:.0f} GiB of host memory, {host / 2**30:.0f} GiB available"
        free_disk = shutil.disk_usage(self.work).free
        if mem["disk"] > 0.5 * free_disk:
            return f"needs about {mem['disk'] / 2**30:.0f} GiB of disk, {free_disk / 2**30:.0f} GiB free"
        if not self.dry:
            gpus = gpu_properties()
            free = gpus[0]["memory.free"] * 2 ** 20 if gpus and gpus[0]["memory.free"] else None
            if free is None or mem["gpu"] > 0.6 * free:
                return f"needs about {mem['gpu'] / 2**30:.0f} GiB of GPU memory, " + \
                    (f"{free / 2**30:.0f} GiB free" if free else "free GPU memory unknown")
        return ""

    # -- the table --
    def table(self) -> str:
        d = self.report.data
        lines = [f"\ngpu-check ({d['mode']}) on "
                 + (", ".join(g["name"] for g in d["machine"].get("gpus") or []) or "no GPU")
                 + f", {d['machine']['cores']} cores: {elapsed():.0f} s (budget {d['budget_s']:.0f} s)"]
        lines.append("phases: " + ", ".join(f"{k} {v['s']:.1f} s" for k, v in d["phases"].items()))
        if d.get("identity_clips") is not None:
            lines.append(f"identity clips {d['identity_clips']} ({d.get('identity_clip_choice', '')})")
        for target, v in d.get("identity", {}).items():
            compared = [n for n, lane in v["lanes"].items() if "identical" in lane]
            if compared:
                state = "IDENTICAL" if v["identical"] else "DIFFERENT"
                lines.append(f"  {target:<16} spikes {state} to the reference: {v['clips']} clip runs in "
                             f"{len(compared)} lanes ({', '.join(compared)}), {v['spikes']:,} spikes compared, "
                             f"{v['differing']:,} differing")
            unchecked = [f"{n}: {lane['note']}" for n, lane in v["lanes"].items() if "identical" not in lane]
            if unchecked or not compared:
                lines.append(f"  {target:<16} identity NOT CHECKED: " + "; ".join(unchecked or [v.get("note", "")]))
        for target, v in d.get("decodes", {}).items():
            lines.append(f"  {target:<16} read-out window sums "
                         f"{'identical' if v['identical_readout_sums'] else 'DIFFERENT'} to the fast path's "
                         f"({v['clips']} clip runs)")
        base = d["lanes"].get("cpu-fast", {}).get("result", {}).get("samples_per_s")
        lines.append(f"\n{'lane':<14} {'target':<50} {'batch':>6} {'cold s':>8} {'warm s':>8} {'samples/s':>10} "
                     f"{'× CPU':>7}")
        for name, lane in d["lanes"].items():
            r = lane.get("result")
            if lane.get("role") == "reference" or name == "cpu-reference":
                continue
            if not r or not r.get("samples_per_s"):
                state = lane.get("build", {}).get("state", "not built")
                lines.append(f"{name:<14} {lane['label']:<50} {lane['batch']:>6} {'—':>8} {'—':>8} "
                             f"{'(' + state + ')':>10}")
                continue
            warm = f"{_median(r['run_s'][1:]):8.2f}" if len(r["run_s"]) > 1 else f"{'—':>8}"
            ratio = f"{r['samples_per_s'] / base:.2f}" if base else "—"
            lines.append(f"{name:<14} {lane['label']:<50} {lane['batch']:>6} {r['run_s'][0]:>8.2f} {warm} "
                         f"{r['samples_per_s']:>10.1f} {ratio:>7}")
        for s in d["skipped"]:
            lines.append(f"skipped: {s['what']}: {s['why']}")
        for e in d["errors"]:
            lines.append(f"ERROR: {e['where']}: {e['error']}")
        return "\n".join(lines)


# --- the workers (run in a lane's environment) ---------------------------------------------------------------
def worker_prep(args) -> int:
    """Convert the checkpoint (Loihi mode), compute every clip's drive, write spec.npz, drives.npy, prep.json."""
    import numpy as np

    from lprnn_brian.ann.checkpoint import read_reference_checkpoint
    from lprnn_brian.convert import layer0_drive, to_snn_spec
    from lprnn_brian.tasks.digits import load_digits

    job = Path(args.job)
    model = read_reference_checkpoint(args.reference, arch="shd")
    spec = to_snn_spec(model, mode="loihi")
    X, y, _ = load_digits("test", front_end="shd")
    if args.max_clips:
        X, y = X[:args.max_clips], y[:args.max_clips]
    drives = np.stack([layer0_drive(x, spec) for x in X])
    np.save(job / "drives.npy", drives)
    summary, arrays = spec.to_arrays()
    np.savez(job / "spec.npz", summary=json.dumps(summary, default=str), digest=spec.digest(), **arrays)
    synapses = sum(int(np.count_nonzero(L.W_snn)) if k > 0 else 0 for k, L in enumerate(spec.layers))
    synapses += sum(int(np.count_nonzero(L.U_snn)) for L in spec.layers if L.U_snn is not None)
    info = {"checkpoint": Path(args.reference).name, "mode": spec.mode, "digest": spec.digest(),
            "layers": [[L.name, L.n] for L in spec.layers], "neurons": sum(L.n for L in spec.layers),
            "synapses": synapses, "n_steps": spec.n_steps, "n0": spec.layers[0].n, "clips": len(X),
            "dt": spec.dt, "labels": y.tolist()}
    if args.probe_cuda:
        info["cuda"] = probe_cuda()
    write_json_atomic(job / "prep.json", info)
    return 0


def probe_cuda() -> dict:
    """What lprnn_brian.targets.cuda finds on this machine (each item's error instead where it fails)."""
    from lprnn_brian.targets import cuda

    out: dict = {}
    for key, fn in (("cuda_path", lambda: str(cuda.cuda_home())),
                    ("nvcc_release", lambda: cuda.nvcc_release(cuda.cuda_home())),
                    ("gpus", lambda: [asdict(g) for g in cuda.find_gpus()]),
                    ("curand", lambda: [str(p) for p in cuda.curand_dirs()])):
        try:
            out[key] = fn()
        except Exception as exc:  # recorded: the lanes that need it fail with their own message
            out[key + "_error"] = one_line(exc)
    return out


def _load_spec(job: Path):
    import numpy as np

    from lprnn_brian.convert import SNNSpec

    with np.load(job / "spec.npz") as z:
        summary = json.loads(str(z["summary"]))
        spec = SNNSpec.from_arrays(summary, {k: z[k] for k in z.files if k.startswith("spec/")})
        want = str(z["digest"])
    if spec.digest() != want:
        raise RuntimeError(f"the spec rebuilt here has digest {spec.digest()}, prep wrote {want}")
    return spec


def _target_info(runner, lane: dict) -> dict:
    """Versions and what the target chose (compute capability, GeNN backend)."""
    import brian2
    import numpy

    info = {"python": sys.version.split()[0], "brian2": brian2.__version__, "numpy": numpy.__version__}
    if lane["target"] == "cuda_standalone":
        import brian2cuda

        from lprnn_brian.targets.cuda import configure

        s = configure()
        info.update(brian2cuda=brian2cuda.__version__, arch=s.arch, nvcc_release=s.release,
                    gpu=None if s.gpu is None else s.gpu.name)
    elif lane["target"] == "genn":
        import brian2genn

        info.update(brian2genn=brian2genn.__version__, genn_gpu=runner.backend.use_gpu,
                    compiled=runner.backend.compiled)
    return info


def _by_step(i, step):
    """Spikes ordered by step, then neuron (a GPU fills a step's spike list in the order its threads finish)."""
    import numpy as np

    order = np.lexsort((i, step))
    return i[order], step[order]


def worker_lane(args) -> int:
    """Build one lane, say so, wait for the run request on stdin, run, report."""
    job = Path(args.job)
    lane = json.loads((job / "lanes" / f"{args.lane}.json").read_text())
    status = job / "status" / f"{args.lane}.json"
    if lane["target"] == "genn" and sys.version_info >= (3, 12):  # the carried GeNN site (brian2 2.5, numpy 1.26)
        import setuptools  # noqa: F401  brian2 2.5 imports distutils: on Python 3.12 only setuptools' shim has it

        # brian2 2.5 imports scipy only to log its version (None when missing) and GeNN needs none of it; the
        # machine's scipy is built for numpy 2 (it warns, or worse, under numpy 1.26): kept out
        sys.modules.setdefault("scipy", None)
    t0 = time.perf_counter()
    try:
        from lprnn_brian.targets import Runner

        spec = _load_spec(job)
        runner = Runner(spec, lane["target"], build_root=lane["build_root"], record=tuple(lane["record"]),
                        batch=lane["batch"], sampling=lane["sampling"], propagation=lane["propagation"],
                        threads=lane["threads"])
        build_s = time.perf_counter() - t0
        info = _target_info(runner, lane)
    except BaseException as exc:
        traceback.print_exc()
        write_json_atomic(status, {"state": "failed", "phase": "build", "error": one_line(exc),
                                   "build_s": time.perf_counter() - t0})
        return 1
    write_json_atomic(status, {"state": "built", "build_s": build_s, "build_dir": str(runner.build_dir), **info})
    print(f"built {args.lane} in {build_s:.1f} s: {json.dumps(info)}", flush=True)
    line = sys.stdin.readline().strip()
    if not line or line == "stop":
        runner.close()
        return 0
    try:
        result = run_lane(runner, spec, json.loads(line), job)
    except BaseException as exc:
        traceback.print_exc()
        write_json_atomic(status, {"state": "failed", "phase": "run", "error": one_line(exc)})
        return 1
    finally:
        runner.close()
    write_json_atomic(status, {"state": "done", "build_s": build_s, **info, "result": result})
    return 0


def run_lane(runner, spec, go: dict, job: Path) -> dict:
    """Run ``go['clips']`` in consecutive batches of the runner's size, ``go['runs']`` runs in all (cycling the
    batches); per clip the spikes per layer (and the read-out window sums of i_fb where recorded), the identity
    check of ``go['identity']`` against ``go['reference']`` (from the first run), the time of every run. Runs after
    the first stop when the next one would end after ``go['deadline']`` (epoch seconds)."""
    import numpy as np

    from lprnn_brian.simulation import decode_scale

    drives = np.load(job / "drives.npy", mmap_mode="r")
    B = runner.batch
    clips = [int(c) for c in go["clips"]]
    chunks = [clips[i:i + B] for i in range(0, len(clips), B)]
    scale = decode_scale("fb", spec.layers[-1])
    per_clip: dict[str, dict] = {}
    run_s, n_used = [], []
    identity = None
    saved = {}
    want = set(go.get("readout_of") or [])
    for r in range(int(go["runs"])):
        if r > 0 and time.time() + 1.1 * run_s[-1] > go["deadline"]:
            break
        chunk = chunks[r % len(chunks)]
        batch = [np.asarray(drives[c]) for c in chunk]
        t = time.perf_counter()
        raws = runner.run_batch(batch)
        run_s.append(time.perf_counter() - t)
        n_used.append(len(chunk))
        print(f"run {r}: {len(chunk)} samples in {run_s[-1]:.3f} s", flush=True)
        if r >= len(chunks):
            continue  # a repeat: the same clips again, timed only
        for c, raw in zip(chunk, raws):
            if str(c) in per_clip:
                continue
            entry = {"spikes": [int(len(i)) for i in raw.spike_i]}
            sums = raw.window_sums[-1].get("i_fb") if raw.window_sums else None
            if sums is not None and (go.get("per_clip") or c in want):
                w = sums[spec.readout_window]
                entry["readout"] = [float(v) for v in w]
                entry["prediction"] = int(np.argmax(scale * w))
            if go.get("per_clip") or go["mode"] == "reference" or c in want or c in (go.get("identity") or []):
                per_clip[str(c)] = entry
            if go["mode"] == "reference":
                for k in range(len(raw.spike_i)):
                    saved[f"i_{c}_{k}"], saved[f"step_{c}_{k}"] = raw.spike_i[k], raw.spike_step[k]
        if r == 0 and go.get("identity") and go.get("reference"):
            identity = compare_identity(go["identity"], chunk, raws, Path(go["reference"]))
    if saved:
        np.savez(go["save_spikes"], **saved)
    warm = list(zip(run_s[1:], n_used[1:]))
    result = {"batch": B, "runs": len(run_s), "run_s": run_s, "n_used": n_used, "per_clip": per_clip}
    if warm:
        result["samples_per_s"] = sum(n for _, n in warm) / sum(s for s, _ in warm)
    elif run_s:
        result["samples_per_s"], result["cold_only"] = n_used[0] / run_s[0], True
    if identity is not None:
        result["identity"] = identity
    return result


def compare_identity(identity: list[int], chunk: list[int], raws, reference: Path) -> dict:
    """Spike trains (neuron, step) of every layer of the ``identity`` clips against the reference's."""
    import numpy as np

    ref = np.load(reference)
    clips, spikes, differing, layers_differing = 0, 0, 0, []
    for c in [c for c in identity if c in chunk]:
        raw = raws[chunk.index(c)]
        clips += 1
        for k in range(len(raw.spike_i)):
            gi, gs = _by_step(np.asarray(raw.spike_i[k]), np.asarray(raw.spike_step[k]))
            ri, rs = _by_step(ref[f"i_{c}_{k}"], ref[f"step_{c}_{k}"])
            spikes += len(ri)
            if not (np.array_equal(gi, ri) and np.array_equal(gs, rs)):
                a, b = set(zip(gi.tolist(), gs.tolist())), set(zip(ri.tolist(), rs.tolist()))
                differing += len(a ^ b) or abs(len(gi) - len(ri)) or 1
                layers_differing.append([c, k])
    return {"identical": not layers_differing, "clips": clips, "spikes": spikes, "differing": differing,
            "layers_differing": layers_differing}


# --- the command line -------------------------------------------------------------------------------------
def _batches(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of positive integers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="scripts/gpu-check", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", action="store_true", help="fill the prepared folder (needs PyPI) and print the "
                    "device call")
    ap.add_argument("--cpu-dry-run", action="store_true", help="run the harness without a GPU (GPU targets replaced)")
    ap.add_argument("--sites", action="store_true", help="dry run: install and use the prepared sites, as on the GPU")
    ap.add_argument("--prepared", default=str(PREPARED), help="the prepared folder (default .gpu-check)")
    ap.add_argument("--out", default=os.environ.get("OUT"), help="where the JSON and the log go (default $OUT)")
    ap.add_argument("--work", help="scratch directory (default: a new temporary one, removed at the end)")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary scratch directory")
    ap.add_argument("--python", help="the Python of the lanes (default: this one)")
    ap.add_argument("--python312", help="--prepare: a Python 3.12 to build and test the sites with")
    ap.add_argument("--reference", help="the SHD checkpoint (default: the prepared folder's, else ../shared)")
    ap.add_argument("--batches", type=_batches, help="batch sizes of the GPU lanes (default 32,256,1024; dry run 2)")
    ap.add_argument("--extra-batches", type=_batches, help="tried after the main points when time and memory allow "
                    "(default 2048,4096; none in a dry run)")
    ap.add_argument("--cpu-batch", type=int, help="batch of the CPU fast path (default 32; dry run 2)")
    ap.add_argument("--threads", type=int, help="OpenMP threads of the CPU fast path (default: the cores; dry run 0)")
    ap.add_argument("--clips", type=int, default=4, help="clips compared with the reference (default 4)")
    ap.add_argument("--max-clips", type=int, help="use only the first N bundled clips (default all 210; dry run 3)")
    ap.add_argument("--repeats", type=int, default=3, help="warm runs per timing point (default 3)")
    ap.add_argument("--budget", type=float, help="seconds after which no timing point starts (default 420; dry run "
                    "3600)")
    ap.add_argument("--grace", type=float, default=45.0, help="seconds after the budget when everything still running "
                    "is stopped (default 45)")
    ap.add_argument("--build-share", type=float, default=0.55, help="share of the budget after which builds of "
                    "non-essential lanes stop (default 0.55)")
    ap.add_argument("--parallel", type=int, default=3, help="lanes building at once (default 3)")
    ap.add_argument("--jobs", type=int, help="compile jobs per build (default: the cores)")
    ap.add_argument("--families", default="cuda,genn", help="GPU targets to check: cuda, genn or both (default)")
    # worker mode (internal)
    ap.add_argument("--worker", choices=("prep", "lane"), help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--lane", help=argparse.SUPPRESS)
    ap.add_argument("--probe-cuda", action="store_true", help=argparse.SUPPRESS)
    return ap


def _resolve(args, dry: bool) -> None:
    """Defaults that differ between a GPU run and a dry run; option errors as UserInputError."""
    args.batches = args.batches or (DRY_BATCHES if dry else BATCHES)
    if args.extra_batches is None:
        args.extra_batches = () if dry else EXTRA_BATCHES
    args.cpu_batch = args.cpu_batch or (DRY_BATCHES[0] if dry else CPU_BATCH)
    if args.threads is None and dry:
        args.threads = 0
    args.budget = args.budget if args.budget is not None else (3600.0 if dry else 420.0)
    fams = tuple(f.strip() for f in args.families.split(",") if f.strip())
    if not fams or set(fams) - {"cuda", "genn"}:
        raise UserInputError(f"--families takes cuda, genn or cuda,genn; got {args.families!r}")
    args.families = fams
    for name in ("clips", "repeats", "parallel", "cpu_batch"):
        if getattr(args, name) < (0 if name == "repeats" else 1):
            raise UserInputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.budget <= 0 or args.grace < 0 or not 0 < args.build_share <= 1:
        raise UserInputError("--budget must be positive, --grace non-negative and --build-share in (0, 1]")
    if not args.out:
        raise UserInputError("no output folder: pass --out DIR (or set $OUT, as on the device machine)")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker == "prep":
        return worker_prep(args)
    if args.worker == "lane":
        return worker_lane(args)
    try:
        if args.prepare:
            return prepare(args)
        dry = args.cpu_dry_run
        if not dry:
            gpus, why = list_gpus()
            if not gpus:
                print(f"gpu-check: no NVIDIA GPU here ({why}); run it on a machine with a GPU, or test the harness "
                      "here with --cpu-dry-run", file=sys.stderr)
                return EXIT_NO_GPU
        _resolve(args, dry)
        check = Check(args, dry)
        check.preflight()
        return check.run()
    except UserInputError as exc:
        print(f"gpu-check: error: {exc}", file=sys.stderr)
        return EXIT_USER


if __name__ == "__main__":
    sys.exit(main())
