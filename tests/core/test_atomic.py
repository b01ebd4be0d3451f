"""Atomic writes keep the permissions an ordinary write would get: in a lab's shared folder, others
must be able to read the masks, exports and checkpoints."""

import os
import stat

import numpy as np
import pytest

from fcn_studio.core.atomic import atomic_dir, atomic_write_bytes
from fcn_studio.core.mask_io import write_mask

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_like_an_ordinary_write(tmp_path, umask_022):
    ordinary = tmp_path / "plain.bin"
    ordinary.write_bytes(b"x")
    write_mask(tmp_path / "mask.png", np.zeros((4, 4), np.uint8))
    atomic_write_bytes(tmp_path / "data.bin", b"x")
    assert _mode(tmp_path / "mask.png") == _mode(ordinary) == 0o644
    assert _mode(tmp_path / "data.bin") == 0o644


def test_replacing_a_file_keeps_its_permissions(tmp_path, umask_022):
    target = tmp_path / "mask.png"
    write_mask(target, np.zeros((4, 4), np.uint8))
    os.chmod(target, 0o664)  # a group-writable shared folder
    write_mask(target, np.ones((4, 4), np.uint8))
    assert _mode(target) == 0o664


def test_an_atomic_folder_gets_ordinary_permissions(tmp_path, umask_022):
    with atomic_dir(tmp_path / "export") as tmp:
        (tmp / "a.txt").write_text("x")
    assert _mode(tmp_path / "export") == 0o755 and (tmp_path / "export" / "a.txt").read_text() == "x"
