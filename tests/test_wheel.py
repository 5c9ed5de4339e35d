"""The package as it ships: `python -m build` makes an sdist and, from it, a wheel that holds every module, the bundled
data and the console script, and whose own requirements (no constraints file) give a working set on every Python.

The fast tests build offline (``--no-isolation``, the suite's own setuptools; a few seconds). The slow one builds the
normal way (isolated, setuptools from the registry), installs the wheel into a new venv with nothing but its own
requirements, and runs ``lprnn-brian demo`` there: its report must equal the one the development install writes.
"""
from __future__ import annotations

import configparser
import email.parser
import json
import os
import subprocess
import sys
import tarfile
import threading
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import ANN_BLAS_RTOL

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lprnn_brian"

#: Pythons the requirements are checked for (Requires-Python must admit each, and none outside 3.10…3.14 untested).
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
#: (Brian2 releases, the numpy release they fail with): before 2.7 Brian2 does not run on numpy 2; before 2.10 it
#: calls ``ndarray.ptp``, which numpy 2.4 removed (2.10 and 2.11 check for the method first). Wherever the
#: requirements admit such a Brian2 they must exclude that numpy.
BRIAN2_NUMPY_BREAKS = ((("2.5", "2.5.4", "2.6.0"), "2.0.0"), (("2.7.1", "2.8.0.4", "2.9.0"), "2.4.0"))


def _source_version() -> str:
    from lprnn_brian.version import __version__
    return __version__


def _build(outdir: Path, *args: str) -> tuple[Path, Path]:
    """``python -m build`` (sdist, then the wheel from the sdist) of the checkout into ``outdir``. It runs in
    ``outdir``: a ``build/`` folder in the checkout (setuptools' own) would stand in for the ``build`` package."""
    outdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "build", *args, "--outdir", str(outdir), str(REPO)],
                          capture_output=True, text=True, timeout=600, cwd=outdir)
    if proc.returncode != 0 and "No module named build" in proc.stderr:
        pytest.fail("the `build` package is missing: install the test extra (pip install -c constraints.txt -e "
                    "'.[test]')")
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    wheels, sdists = sorted(outdir.glob("*.whl")), sorted(outdir.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in outdir.iterdir())
    return wheels[0], sdists[0]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, Path]:
    return _build(tmp_path_factory.mktemp("dist"), "--no-isolation")


def _package_files(pattern: str) -> list[str]:
    return sorted(p.relative_to(REPO).as_posix() for p in PACKAGE.rglob(pattern) if "__pycache__" not in p.parts)


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(name).decode())


def test_wheel_holds_every_module_and_the_bundled_data(dist):
    wheel, _ = dist
    names = set(zipfile.ZipFile(wheel).namelist())
    subpackages = [p.parent.relative_to(REPO).as_posix() for p in PACKAGE.rglob("__init__.py")
                   if "__pycache__" not in p.parts]
    assert {"lprnn_brian/targets", "lprnn_brian/equations", "lprnn_brian/loihi", "lprnn_brian/export",
            "lprnn_brian/training", "lprnn_brian/figures", "lprnn_brian/analysis", "lprnn_brian/tasks"} <= set(subpackages)
    missing = [f for f in _package_files("*.py") if f not in names]
    assert not missing, f"modules not in the wheel: {missing}"
    data = _package_files("data/*.npz") + _package_files("data/*.json")
    assert any(f.endswith("digits_lprnn.npz") for f in data) and any(f.endswith("digits_features.npz") for f in data)
    assert not [f for f in data if f not in names], "bundled data not in the wheel"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/")]


def test_wheel_metadata_version_and_console_script(dist):
    wheel, sdist = dist
    meta = _metadata(wheel)
    assert meta["Name"] == "lprnn_brian"
    assert meta["Version"] == _source_version()
    assert wheel.name.startswith(f"lprnn_brian-{_source_version()}-py3-none-any")
    assert sdist.name == f"lprnn_brian-{_source_version()}.tar.gz"
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = configparser.ConfigParser()
        entry_points.read_string(z.read(name).decode())
    assert entry_points["console_scripts"]["lprnn-brian"] == "lprnn_brian.cli:main"
    with zipfile.ZipFile(wheel) as z:  # the licence setup.cfg declares travels with the wheel
        assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
                   for n in z.namelist()), "LICENSE not in the wheel"


@pytest.mark.parametrize("python", PYTHONS)
def test_requirements_exclude_the_numpy_each_admitted_brian2_fails_with(dist, python):
    """For each Python: one Brian2 and one numpy requirement apply, and no admitted Brian2 meets a numpy it fails
    with (numpy 2.4 for Brian2 before 2.10: ``ndarray.ptp``)."""
    meta = _metadata(dist[0])
    assert SpecifierSet(meta["Requires-Python"]).contains(python)
    env = default_environment() | {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}
    applying = [r for r in map(Requirement, meta.get_all("Requires-Dist"))
                if r.marker is None or r.marker.evaluate(env)]
    by_name = {}
    for r in applying:
        by_name.setdefault(r.name.lower(), []).append(r)
    assert {"scipy", "sympy", "matplotlib", "cython", "tqdm", "filelock", "soundfile"} <= set(by_name)
    (brian2,), (numpy,) = by_name["brian2"], by_name["numpy"]
    assert str(brian2.specifier) and "<" in str(brian2.specifier), "Brian2 needs an upper bound (tested releases)"
    for releases, numpy_release in BRIAN2_NUMPY_BREAKS:
        if any(brian2.specifier.contains(v) for v in releases):
            assert not numpy.specifier.contains(numpy_release), \
                f"Python {python}: {brian2} admits a Brian2 that fails with numpy {numpy_release} ({numpy})"


def test_sdist_holds_what_builds_the_wheel(dist):
    """The wheel above was built from this sdist; it also carries the citation and no half of the test suite."""
    _, sdist = dist
    root = sdist.name[: -len(".tar.gz")]
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for f in ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "CITATION.cff", "LICENSE", "PKG-INFO"):
        assert f in names, f"{f} not in {root}"
    missing = [f for f in _package_files("*.py") + _package_files("data/*.npz") if f not in names]
    assert not missing, f"not in the sdist: {missing}"
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def _install_requires() -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = (line.split("#")[0].strip() for line in cfg["options"]["install_requires"].splitlines())
    return [Requirement(line) for line in lines if line]


@pytest.mark.parametrize("script", ["setup-genn", "setup-cuda", "setup-lava"])
def test_environment_scripts_pins_admit_the_package_or_skip_its_requirements(script):
    """Each target environment pins its own Brian2/numpy (brian2genn needs brian2 2.5.4); the package installed
    there must either accept every exact pin, or be installed with ``--no-deps`` and get its other requirements
    from setup.cfg. (A pin its requirements refuse made pip's resolver fail in CI.)"""
    text = (REPO / "scripts" / script).read_text()
    block = text.split("REQUIREMENTS=(", 1)[1].split(")", 1)[0]
    pins = [Requirement(q.split('"')[1]) for q in block.splitlines() if q.strip().startswith('"')]
    assert pins, f"no REQUIREMENTS=( ... ) block read from scripts/{script}"
    (install,) = [line for line in text.splitlines() if '-e "$REPO"' in line and not line.lstrip().startswith("#")]
    own = {r.name.lower(): r for r in _install_requires()}
    refused = []
    for pin in pins:
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if pin.name.lower() in own and exact and exact[0] not in own[pin.name.lower()].specifier:
            refused.append(f"{pin} (the package asks for {own[pin.name.lower()]})")
    if "--no-deps" in install:
        assert "install_requires" in text, f"scripts/{script} installs the package --no-deps but never its requirements"
    else:
        assert not refused, f"scripts/{script} pins what the package's requirements refuse: {refused}"


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the project's pip constraints or this interpreter's venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PIP_CONSTRAINT", "PIP_REQUIREMENT", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return env | extra


def _headline(report: dict) -> dict:
    keys = ("n_samples", "target", "mode", "threshold", "ann_accuracy", "ann_predictions", "snn_accuracy",
            "snn_predictions", "class_agreement", "spikes_per_sample")
    return {k: report[k] for k in keys}


@pytest.mark.slow
def test_wheel_installs_alone_and_runs_the_demo(tmp_path, build_root):
    """The normal build (isolated); a new venv; ``pip install <wheel>`` with the package's own requirements and no
    constraints file; then the console script, the version and the demo, whose report equals the dev install's."""
    wheel, _ = _build(tmp_path / "dist")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / "bin"
    env = _clean_env(LPRNN_BRIAN_CACHE=str(tmp_path / "venv-cache"), MPLBACKEND="Agg")
    run = lambda *cmd, **kw: subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,  # noqa: E731
                                            cwd=tmp_path, **kw)

    install = run(bindir / "python", "-m", "pip", "install", wheel, timeout=1200)
    assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]
    freeze = run(bindir / "python", "-m", "pip", "freeze").stdout
    print(f"installed from {wheel.name}:\n{freeze}")
    assert "lprnn_brian @ file:" in freeze or "lprnn-brian @ file:" in freeze, "not installed from the wheel"

    helped = run(bindir / "lprnn-brian", "--help")
    assert helped.returncode == 0 and "demo" in helped.stdout, helped.stderr
    version = run(bindir / "python", "-c", "import lprnn_brian, sys; print(lprnn_brian.__version__); "
                                           "print(lprnn_brian.__file__)")
    assert version.returncode == 0, version.stderr
    printed_version, location = version.stdout.split()
    assert printed_version == _source_version()
    assert Path(location).is_relative_to(env_dir), f"imported from {location}, not from the new venv"

    # the wheel's demo in the new venv and the dev install's, side by side (two processes on two cores)
    demo = subprocess.Popen([str(bindir / "lprnn-brian"), "demo", "--out", str(tmp_path / "wheel_demo"), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    outputs = {}
    reader = threading.Thread(target=lambda: outputs.update(zip(("out", "err"), demo.communicate(timeout=3600))))
    reader.start()
    from lprnn_brian.cli import main
    assert main(["demo", "--out", str(tmp_path / "dev_demo"), "--quiet", "--build-dir", str(build_root)]) == 0
    reader.join()
    assert demo.returncode == 0, outputs.get("err", "")[-4000:]

    ours = json.loads((tmp_path / "wheel_demo" / "report.json").read_text())
    dev = json.loads((tmp_path / "dev_demo" / "report.json").read_text())
    assert ours["n_samples"] == 210 and _headline(ours) == _headline(dev)
    # spikes and decisions identical (the headline); the layer statistics compare the spikes with the float32 ANN's
    # states, and without the constraints file the new venv may resolve another numpy, whose OpenBLAS may choose
    # another kernel on this CPU: conftest.ANN_BLAS_RTOL
    for key in ("layer_correlation", "layer_rmse"):
        for decode, values in dev[key].items():
            assert [v is None for v in ours[key][decode]] == [v is None for v in values], (key, decode)
            assert [v for v in ours[key][decode] if v is not None] == \
                pytest.approx([v for v in values if v is not None], rel=ANN_BLAS_RTOL, abs=1e-12), (key, decode)
    assert (tmp_path / "venv-cache").is_dir(), "the venv's demo did not build in its own LPRNN_BRIAN_CACHE"
