"""`model get`'s steps in one place, so the command line and the window do exactly the same thing:
fetch the file (or register one fetched by hand), take an archive's member out, convert it, and say
each step in one line. Torch is imported only by the converters."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fcn_studio.core.atomic import atomic_path
from fcn_studio.model.catalogue import Entry, installed_path
from fcn_studio.model.download import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    Fetched,
    IsCancelled,
    Progress,
    discard_download,
    extract_member,
    fetch,
    record_first_use,
    register_file,
    trusted,
)
from fcn_studio.model.install import ConversionUnavailable, check_out, install


@dataclass
class Got:
    entry: Entry
    fetched: Fetched
    made: str | None  # what the converter made; None: no converter, the download is what there is
    installed: Path | None  # the file the app uses (the encoder in the cache, or a checkpoint)
    lines: list[str] = field(default_factory=list)  # what was said, in order


def get_model(entry: Entry, *, progress: Progress | None = None, cancelled: IsCancelled | None = None,
              from_file: Path | None = None, out: Path | None = None, keep: bool = True,
              connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
              say: Callable[[str], None] | None = None) -> Got:
    """Raises DownloadError (Cancelled when `cancelled()` said so), ValueError for a file that cannot
    be converted (the verified download stays), ConversionUnavailable."""
    lines: list[str] = []

    def tell(line: str) -> None:
        lines.append(line)
        if say is not None:
            say(line)

    check_out(entry, out)
    if from_file is not None:
        fetched = register_file(entry, from_file)
    else:
        fetched = fetch(entry, progress, connect_timeout, read_timeout, cancelled)
    resumed = f", resumed after {fetched.resumed_from} bytes" if fetched.resumed_from else ""
    tell(f"{entry.file}: {fetched.note} (from {fetched.source}{resumed})")
    weights = extract_member(entry) if entry.member else fetched.path
    was_trusted = trusted(entry)
    try:
        made = install(entry, weights, out)
    except ConversionUnavailable:
        raise  # this build cannot tell: nothing is trusted, the download stays
    except ValueError as exc:
        if was_trusted:
            raise
        discard_download(entry)  # not the model, and nothing holds it: it must not lock the genuine file out
        raise ValueError(f"{entry.file}: not {entry.name}, so not trusted and deleted ({exc}); nothing was "
                         f"recorded, so the genuine file can still be fetched") from None
    trust = record_first_use(entry, fetched.sha256) if made is not None and not was_trusted else None
    if trust:
        tell(trust)
    if made is None:
        if out is not None:
            with atomic_path(out) as tmp:
                shutil.copyfile(fetched.path, tmp)
            tell(f"{entry.file}: copied to {out}")
        tell(f"{entry.name}: kept as downloaded at {fetched.path} (this build has no converter for "
             f"{entry.format} files)")
        return Got(entry, fetched, None, None, lines)
    tell(f"{entry.name}: {made}")
    if keep:
        tell(f"{entry.file}: original kept at {fetched.path} (--no-keep deletes it)")
    else:
        discard_download(entry)
        tell(f"{entry.file}: original deleted (--no-keep); its sha256 stays recorded")
    return Got(entry, fetched, made, out or installed_path(entry), lines)
