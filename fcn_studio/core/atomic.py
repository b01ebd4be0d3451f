"""Atomic file writes: a reader, or a crash, only ever sees the old file or the whole new one.

The temporary file is created with mode 0o666 through `os.open`, so the process umask applies exactly as
it would to an ordinary write (tempfile.mkstemp makes 0600 files, and that mode would survive the
rename: nobody else in a lab's shared folder could read the masks). When an existing file is replaced,
its permissions are kept."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def create_temp_file(path: Path) -> Path:
    """An empty, new file beside `path` named `.<name>.<random>.tmp`, with ordinary permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _keep_mode(old: Path, new: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(new, stat.S_IMODE(os.stat(old).st_mode))


def _settle_mode(path: Path, tmp: Path, ordinary: int) -> None:
    """The replaced file's permissions, or for a new file the ordinary ones the temporary file was
    made with: a writer that replaces it with a file of its own (safetensors' save_file writes 0600)
    must not make a checkpoint private."""
    if path.exists():
        _keep_mode(path, tmp)
    elif stat.S_IMODE(os.stat(tmp).st_mode) != ordinary:
        with contextlib.suppress(OSError):
            os.chmod(tmp, ordinary)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; on success it is fsynced and renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = create_temp_file(path)
    ordinary = stat.S_IMODE(os.stat(tmp_path).st_mode)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        _settle_mode(path, tmp_path, ordinary)
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def prepared_file(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Writes and fsyncs a temporary file beside `path` and returns it, for a caller that renames it
    into place later (inside a database transaction, say). The caller removes it if it is not used."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = create_temp_file(path)
    ordinary = stat.S_IMODE(os.stat(tmp).st_mode)
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _settle_mode(path, tmp, ordinary)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def create_temp_dir(path: Path) -> Path:
    """A new empty folder beside `path` with ordinary permissions (tempfile.mkdtemp's are 0700, and
    they would survive the rename that publishes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary folder beside {path}")


class FolderNotEmpty(FileExistsError):
    """The folder an atomic folder would become exists and holds something, and replacing it was not
    asked for."""


@contextlib.contextmanager
def atomic_dir(path: str | Path, replace: bool = False) -> Iterator[Path]:
    """Yields a new empty folder beside `path` (ordinary permissions); on success it becomes `path` in
    one rename, so a failure leaves nothing half-written and the temporary folder is removed. An
    existing empty folder is taken over; one with content raises FolderNotEmpty before any work is
    done, unless `replace`: then it is moved aside and deleted only once the new one is in place."""
    path = Path(path)
    if path.exists() and not replace and not (path.is_dir() and not any(path.iterdir())):
        raise FolderNotEmpty(f"{path} exists and is not empty")
    tmp = create_temp_dir(path)
    try:
        yield tmp
        old = None
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        elif path.exists() or path.is_symlink():
            old = path.parent / f".{path.name}.{secrets.token_hex(4)}.old"
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)  # the previous folder goes back where it was
            raise
        fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def fsync_dir(folder: Path) -> None:
    """Makes a rename in `folder` durable. Only POSIX can open a folder for this; Windows' rename is
    already durable when it returns (MoveFileEx with write-through semantics for NTFS metadata)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)
