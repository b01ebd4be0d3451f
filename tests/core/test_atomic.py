"""Atomic writes keep the permissions an ordinary write would get: in a lab's shared folder, others
must be able to read the masks, exports and checkpoints. An atomic folder (an export) appears whole
or not at all, and replaces one with content only when asked."""

import os
import stat

import numpy as np
import pytest

from fcn_studio.core.atomic import FolderNotEmpty, atomic_dir, atomic_write_bytes
from fcn_studio.core.mask_io import write_mask

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
def test_a_new_file_gets_the_umask_like_an_ordinary_write(tmp_path, umask_022):
    ordinary = tmp_path / "plain.bin"
    ordinary.write_bytes(b"x")
    write_mask(tmp_path / "mask.png", np.zeros((4, 4), np.uint8))
    atomic_write_bytes(tmp_path / "data.bin", b"x")
    assert _mode(tmp_path / "mask.png") == _mode(ordinary) == 0o644
    assert _mode(tmp_path / "data.bin") == 0o644


@posix_only
def test_replacing_a_file_keeps_its_permissions(tmp_path, umask_022):
    target = tmp_path / "mask.png"
    write_mask(target, np.zeros((4, 4), np.uint8))
    os.chmod(target, 0o664)  # a group-writable shared folder
    write_mask(target, np.ones((4, 4), np.uint8))
    assert _mode(target) == 0o664


@posix_only
def test_an_atomic_folder_gets_ordinary_permissions(tmp_path, umask_022):
    with atomic_dir(tmp_path / "export") as tmp:
        (tmp / "a.txt").write_text("x")
    assert _mode(tmp_path / "export") == 0o755 and (tmp_path / "export" / "a.txt").read_text() == "x"


def _siblings(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "export") as tmp:
        (tmp / "a.txt").write_text("x")
        raise RuntimeError("the export failed half-way")
    assert _siblings(tmp_path) == []  # neither the folder nor its temporary one
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty") as tmp:  # an empty folder (one just chosen in a dialog) is taken over
        (tmp / "b.txt").write_text("y")
    assert _siblings(tmp_path) == ["empty"] and _siblings(tmp_path / "empty") == ["b.txt"]


def test_a_folder_with_content_is_replaced_only_when_asked(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("old")
    worked = []
    with pytest.raises(FolderNotEmpty, match="not empty"), atomic_dir(out) as tmp:
        worked.append(tmp)  # refused before any work is done
    assert not worked and _siblings(out) == ["old.txt"] and _siblings(tmp_path) == ["export"]
    with pytest.raises(RuntimeError), atomic_dir(out, replace=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("failed")
    assert _siblings(out) == ["old.txt"] and _siblings(tmp_path) == ["export"]  # the old one stays on failure
    with atomic_dir(out, replace=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert _siblings(out) == ["new.txt"] and _siblings(tmp_path) == ["export"]  # nothing of the old one is left
