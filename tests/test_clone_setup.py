"""Each clone runs its own code: `make setup` gives a clone its own light environment (.venv) over the
shared heavy one (the Makefile), so another clone's setup, or that clone's deletion, changes nothing here.
When every clone shared one editable install, the last `make setup` decided whose code ran everywhere,
and deleting that clone broke `fcn-studio` in all of them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "bench-out",
                                    ".pytest_cache", ".ruff_cache")


def _shared_venv() -> Path | None:
    """The shared virtualenv that holds the dependencies (pytest among them), when `make` built it."""
    venv = Path(pytest.__file__).resolve().parents[4]  # <venv>/lib/pythonX.Y/site-packages/pytest
    return venv if (venv / ".ready").is_file() else None


@pytest.mark.slow
def test_another_clone_set_up_then_deleted_changes_nothing_here(tmp_path):
    entry = Path(sys.executable).parent / ("fcn-studio.exe" if os.name == "nt" else "fcn-studio")
    shared = _shared_venv()
    if os.environ.get("PYTHONPATH") or shutil.which("make") is None or not entry.is_file() or shared is None:
        pytest.skip("checks the environment that `make test` runs in")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # the other clone's setup caches an encoder there
    other = tmp_path / "other-clone"
    shutil.copytree(ROOT, other, ignore=NOT_COPIED)
    setup = subprocess.run(["make", "-C", str(other), "setup", f"VENV={shared}"], capture_output=True,
                           text=True, timeout=600, env=env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    shutil.rmtree(other)

    version = subprocess.run([str(entry), "--version"], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path, env=env)
    assert version.returncode == 0, version.stderr[-2000:]
    where = subprocess.run([sys.executable, "-c", "import fcn_studio.cli; print(fcn_studio.cli.__file__)"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()).resolve().is_relative_to(ROOT), where.stdout
