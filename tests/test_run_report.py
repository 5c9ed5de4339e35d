"""What a test run says about checks that could not run (tests/conftest.py): selected ``gpu`` tests fail without a
GPU (and are deselected, not skipped, by default); tests skipped for want of an oracle (the authors' checkpoint in
../shared, torch) are listed in a warning section at the end of the run, and fail the run when
``LPRNN_BRIAN_REQUIRE_ORACLES`` is set (CI sets it).

Oracle: pytest itself, run in a subprocess on a tiny test file under this directory's conftest hooks; its exit
code and terminal output.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NO_GPU, REQUIRE_ORACLES, has_gpu

TESTS = Path(__file__).resolve().parent

TINY = '''
import pytest

def test_plain():
    pass

def test_needs_checkpoint():
    pytest.skip("authors' SHD checkpoint not available")

def test_needs_torch():
    pytest.importorskip("torch_is_not_here_lprnn")  # the reason importorskip("torch") gives, another name

def test_torch_reason():
    pytest.skip("could not import 'torch': No module named 'torch'")

def test_other_skip():
    pytest.skip("librosa not installed")

@pytest.mark.gpu
def test_on_gpu():
    pass
'''

CONFTEST = f'''
import importlib.util, sys
_spec = importlib.util.spec_from_file_location("lprnn_tests_conftest", {str(TESTS / "conftest.py")!r})
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
for _name in ("pytest_runtest_setup", "pytest_runtest_logreport", "pytest_collectreport", "pytest_sessionfinish",
              "pytest_terminal_summary"):
    globals()[_name] = getattr(_mod, _name)
'''

INI = """[pytest]
markers =
    slow: long
    gpu: needs a GPU
addopts = -m "not slow and not gpu"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    (d / "test_tiny.py").write_text(TINY)
    # a whole module skipped at collection, as a module-level importorskip("torch") does without torch
    (d / "test_tiny_module.py").write_text("import pytest\n"
                                           "pytest.skip(\"could not import 'torch': No module named 'torch'\", "
                                           "allow_module_level=True)\n")
    (d / "conftest.py").write_text(CONFTEST)
    (d / "pytest.ini").write_text(INI)  # the markers and default selection of setup.cfg
    return d


def _pytest(project, *args, require=None):
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_ORACLES}
    if require is not None:
        env[REQUIRE_ORACLES] = require
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args], cwd=project,
                       env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_setup_cfg_deselects_gpu_and_slow_by_default():
    text = (TESTS.parent / "setup.cfg").read_text()
    assert 'addopts = -m "not slow and not gpu"' in text


def test_missing_oracles_are_listed_and_default_run_deselects_gpu(project):
    rc, out = _pytest(project)
    assert rc == 0, out
    assert "1 passed, 5 skipped, 1 deselected" in out, out
    section = out[out.index("ORACLES THAT DID NOT RUN"):]
    assert "reference checkpoint" in section and "test_tiny.py::test_needs_checkpoint" in section
    assert "torch oracle" in section and "test_tiny.py::test_torch_reason" in section
    assert "test_tiny_module.py" in section
    assert "test_other_skip" not in section and "test_needs_torch" not in section  # other modules: not oracles
    assert f"set {REQUIRE_ORACLES}=1" in section
    assert "GPU TESTS DID NOT RUN" not in out


def test_required_oracles_fail_the_run(project):
    rc, out = _pytest(project, require="1")
    assert rc == 1, out
    assert "ORACLES THAT DID NOT RUN" in out and "so this run FAILS" in out
    rc, out = _pytest(project, "test_tiny.py", "-k", "plain or other", require="1")  # no oracle skipped: green
    assert rc == 0 and "ORACLES THAT DID NOT RUN" not in out, out


def test_selected_gpu_tests_fail_without_a_gpu(project):
    rc, out = _pytest(project, "test_tiny.py", "-m", "gpu")
    if has_gpu():
        assert rc == 0 and "1 passed" in out, out
    else:
        assert rc == 1 and "1 error" in out and "GPU TESTS DID NOT RUN" in out, out
        assert NO_GPU in out
        assert "skipped" not in out.split("short test summary")[-1]
