"""Fetches catalogue files into the model cache so that nothing there ever looks complete unless it is.

A download streams into `downloads/<file>.part`, hashed as it goes, and is renamed to `<file>` only
once its size and checksum are right. Beside the part a small JSON sidecar keeps the URL and the
server's validator (ETag or Last-Modified): the next attempt asks for the rest with `Range` plus
`If-Range`, so a file that changed on the server is sent whole (200) and the part restarts from zero.
A stall, a short read or a lost connection keeps the part for that resume, where the server honours
ranges (it answered 206 or `Accept-Ranges: bytes`); elsewhere the part is dropped and the message says
the next download starts over. A wrong checksum deletes it. A file whose size is far from the size the
catalogue gives is refused as not being that file.

A file no publisher pins is trusted on first use only once it is a real model: its sha256 is recorded
(`record_first_use`) after it parsed and converted into the model the catalogue describes, never for a
download alone, so a wrong file served first cannot lock the genuine one out.

Standard library only (urllib): proxies come from the environment (HTTPS_PROXY, NO_PROXY) through
urllib's ProxyHandler, TLS is verified by the default context. Connect and read timeouts are separate,
so an offline machine fails in seconds and a stalled transfer ends with a message, never a hang.
Torch-free."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from fcn_studio import __version__
from fcn_studio.core.atomic import atomic_path, create_temp_file, fsync_dir
from fcn_studio.core.progress import Progress  # bytes so far, expected total or None
from fcn_studio.model.cache import download_path, downloads_dir, partial_path, record_path
from fcn_studio.model.catalogue import Entry, implausible_size

MIRROR_ENV = "FCN_STUDIO_MODEL_MIRROR"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
CHUNK = 1 << 20

IsCancelled = Callable[[], bool]  # asked between chunks; True stops the download


class DownloadError(OSError):
    """A download that did not produce a verified file. One line: the file, what went wrong, what to do."""

    reasons: tuple[str, ...] = ()  # each source's failure alone (set by fetch)

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def __str__(self) -> str:
        return self.args[0]


class ChecksumError(DownloadError):
    pass


class Cancelled(DownloadError):
    """The person stopped the download; where the server honours ranges the part stays, so the next
    download resumes with Range (`resumable`); elsewhere it is dropped."""

    resumable: bool = False  # the part stays for the next download
    drop: bool = False  # the part is of no use (the server cannot resume): it goes


@dataclass(frozen=True)
class Fetched:
    path: Path
    sha256: str
    source: str  # the URL it came from, or the file it was registered from
    resumed_from: int = 0  # bytes kept from an earlier attempt
    note: str = ""  # how it was verified


class _UrlFailed(Exception):
    """One source failed; `kept` says whether a partial download is left for a resume."""

    def __init__(self, reason: str, kept: bool = False) -> None:
        super().__init__(reason)
        self.kept = kept


def source_urls(entry: Entry, env: dict | None = None) -> list[str]:
    """The mirror named by FCN_STUDIO_MODEL_MIRROR first (files looked up by name), then the catalogue's."""
    env = os.environ if env is None else env
    mirror = env.get(MIRROR_ENV, "").strip()
    urls = [f"{mirror.rstrip('/')}/{entry.file}"] if mirror else []
    return urls + [u for u in entry.urls if u not in urls]


def fetch(entry: Entry, progress: Progress | None = None, connect_timeout: float = CONNECT_TIMEOUT,
          read_timeout: float = READ_TIMEOUT, cancelled: IsCancelled | None = None) -> Fetched:
    """Downloads `entry.file` into the cache (or finds it there), verified; raises DownloadError, or
    Cancelled once `cancelled()` says so (checked between chunks; the part is kept for a resume)."""
    target = download_path(entry.file)
    if target.is_file():
        sha256 = _recorded_sha256(entry.file) or _hash_file(target)
        return Fetched(target, sha256, str(target), note="already in the cache")
    downloads_dir().mkdir(parents=True, exist_ok=True)
    opener = _opener(read_timeout)  # the connect timeout goes with each request
    failures: list[str] = []
    with _exclusive(entry.file):
        for url in source_urls(entry):
            _check(entry, cancelled)
            try:
                resumed, digests = _fetch_url(opener, url, entry, progress, connect_timeout, read_timeout,
                                              cancelled)
                check_size(entry, partial_path(entry.file).stat().st_size)
                note = verify(entry, digests)
            except Cancelled as exc:
                if exc.drop:
                    _discard_part(entry.file)
                raise
            except ChecksumError as exc:
                _discard_part(entry.file)
                failures.append(f"{url}: {exc}")
                continue
            except _UrlFailed as exc:
                failures.append(f"{url}: {exc}")
                if exc.kept:
                    break  # a partial file to resume: another source would start it over
                _discard_part(entry.file)  # nothing this server can resume
                continue
            _publish(partial_path(entry.file), target, entry.file, digests["sha256"], record=entry.pinned)
            _sidecar(entry.file).unlink(missing_ok=True)
            return Fetched(target, digests["sha256"], url, resumed, note)
    kept = partial_path(entry.file).is_file()
    advice = ("run the same command again to resume" if kept else "check the network or the proxy (HTTPS_PROXY)")
    error = DownloadError(
        f"{entry.file}: not downloaded ({'; '.join(failures)}); nothing complete was left in the cache, "
        f"{_meanwhile(entry)}. "
        f"{advice.capitalize()}, set {MIRROR_ENV} to a server that has the file, or fetch {entry.urls[0]} by "
        f"hand and run `fcn-studio model get {entry.name} --from-file PATH`.")
    error.reasons = tuple(failures)  # each source's failure alone, for a shorter line in the window
    raise error


def _check(entry: Entry, cancelled: IsCancelled | None, done: int = 0, ranges: bool = False) -> None:
    if cancelled is not None and cancelled():
        if not done:
            kept = ""
        elif ranges:
            kept = f"; the {done} bytes so far are kept and the next download resumes"
        else:
            kept = "; this server does not resume downloads (no Accept-Ranges), so the next download starts over"
        error = Cancelled(f"{entry.file}: download cancelled{kept}")
        error.resumable, error.drop = bool(done) and ranges, bool(done) and not ranges
        raise error


def _meanwhile(entry: Entry) -> str:
    """What the app does without the file, for the one-line error."""
    if entry.format == "state-dict":
        return (f"so new {entry.backbone} models start from torchvision's cached weights if any, else from "
                f"random weights")
    return f"so {entry.name} is not available yet; everything else works as before"


def register_file(entry: Entry, source: str | Path) -> Fetched:
    """`--from-file`: copies a file fetched by hand into the cache, checked like a download."""
    source = Path(source)
    if not source.is_file():
        raise DownloadError(f"{source}: no such file to register as {entry.file}")
    target = download_path(entry.file)
    downloads_dir().mkdir(parents=True, exist_ok=True)
    with _exclusive(entry.file):
        tmp = create_temp_file(target)
        try:
            hashers = _new_hashers(entry)
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while block := src.read(CHUNK):
                    dst.write(block)
                    for h in hashers.values():
                        h.update(block)
                dst.flush()
                os.fsync(dst.fileno())
            digests = {k: h.hexdigest() for k, h in hashers.items()}
            size = tmp.stat().st_size
            if entry.size is not None and size != entry.size:
                raise ChecksumError(f"{source}: {size} bytes, but {entry.file} has {entry.size}; not registered "
                                    f"(a partial or different file?)")
            try:
                check_size(entry, size)
                note = verify(entry, digests)
            except ChecksumError as exc:
                raise ChecksumError(f"{source}: {exc}; not registered") from None
            _publish(tmp, target, entry.file, digests["sha256"], record=entry.pinned)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return Fetched(target, digests["sha256"], str(source), note=note)


def verify(entry: Entry, digests: dict[str, str]) -> str:
    """Checks the publisher's pins; with none, the hash trusted on first use. Returns how it verified."""
    sha256 = digests["sha256"]
    checks = []
    if entry.sha256:
        checks.append(("sha256", digests["sha256"], entry.sha256, digests["sha256"] == entry.sha256))
    if entry.sha1:
        checks.append(("sha1", digests["sha1"], entry.sha1, digests["sha1"] == entry.sha1))
    if entry.sha256_prefix:
        checks.append(("sha256 prefix", digests["sha256"][:len(entry.sha256_prefix)], entry.sha256_prefix,
                       digests["sha256"].startswith(entry.sha256_prefix)))
    for kind, got, want, ok in checks:
        if not ok:
            raise ChecksumError(f"{kind} {got} is not the published {want}: the file is damaged or not "
                                f"{entry.file}")
    if checks:
        return "verified: " + ", ".join(kind for kind, *_ in checks) + " as published"
    trusted = _recorded_sha256(entry.file)
    if trusted is None:
        return (f"no publisher pins {entry.file}: not trusted yet (sha256 {sha256}); it is trusted on first use "
                f"only once it converts into {entry.name}")
    if trusted != sha256:
        raise ChecksumError(f"sha256 {sha256} differs from {trusted}, trusted on first use "
                            f"({record_path(entry.file)}; delete it to trust a new file)")
    return "verified: sha256 as trusted on first use"


def check_size(entry: Entry, size: int) -> None:
    """Refuses a file far from the size the catalogue gives (a random file served under the name)."""
    why = implausible_size(entry, size)
    if why:
        raise ChecksumError(why)


def record_first_use(entry: Entry, sha256: str) -> str | None:
    """Trusts an unpinned file that proved to be the model (it converted): its sha256 is recorded, and
    later copies are held to it. Returns what was done, or None when there was nothing to do."""
    if entry.pinned or _recorded_sha256(entry.file) is not None or not sha256:
        return None
    _write_record(entry.file, sha256)
    return (f"{entry.file}: trusted on first use now that it converted; sha256 {sha256} recorded in "
            f"{record_path(entry.file)}, and later copies are held to it")


def trusted(entry: Entry) -> bool:
    """Whether the file is held to a hash: the publisher's, or one recorded on first use."""
    return entry.pinned or _recorded_sha256(entry.file) is not None


def extract_member(entry: Entry) -> Path:
    """Takes the entry's one member out of the verified archive, checks its own sha256, and publishes
    it beside the archive. Other members are never written anywhere."""
    assert entry.member is not None
    member = entry.member
    target = download_path(member.file)
    if target.is_file():
        return target
    archive = download_path(entry.file)
    try:
        with zipfile.ZipFile(archive) as zf, atomic_path(target) as tmp:
            h = hashlib.sha256()
            with zf.open(member.path) as src, open(tmp, "wb") as dst:
                while block := src.read(CHUNK):
                    h.update(block)
                    dst.write(block)
            if h.hexdigest() != member.sha256:
                raise ChecksumError(f"{archive.name}: {member.path} has sha256 {h.hexdigest()}, not the pinned "
                                    f"{member.sha256}; not extracted")
    except KeyError:
        raise DownloadError(f"{archive}: no {member.path} inside; delete the file and get it again") from None
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive}: not a readable zip archive ({exc}); delete it and get it again") from None
    return target


def discard_download(entry: Entry) -> None:
    """Removes the original download (and an extracted member) but keeps the trust record, so a later
    download of a file no publisher pins is still held to the hash first trusted."""
    for path in (download_path(entry.file), *([download_path(entry.member.file)] if entry.member else [])):
        path.unlink(missing_ok=True)


# -- one source ---------------------------------------------------------------------------------------

def _fetch_url(opener: urllib.request.OpenerDirector, url: str, entry: Entry, progress: Progress | None,
               connect_timeout: float, read_timeout: float, cancelled: IsCancelled | None = None,
               ) -> tuple[int, dict[str, str]]:
    """Leaves the whole file in the part; returns (bytes resumed, its digests). Raises _UrlFailed."""
    part, sidecar = partial_path(entry.file), _sidecar(entry.file)
    offset, validator = _resumable(part, sidecar, url)
    headers = {"User-Agent": f"fcn-studio/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers.update({"Range": f"bytes={offset}-", "If-Range": validator})
    try:
        response = opener.open(urllib.request.Request(url, headers=headers), timeout=connect_timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416:  # our part is no prefix of what the server has now
            _discard_part(entry.file)
        raise _UrlFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            reason = f"no answer within {connect_timeout:g} s"
        raise _UrlFailed(f"cannot connect ({reason})") from None
    with response:
        start = _content_range_start(response) if response.status == 206 else None
        if start != offset:
            offset = 0  # a whole file (200), or a range we did not ask for: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else entry.size
        if entry.size is not None and total is not None and total != entry.size:
            raise _UrlFailed(f"the server offers {total} bytes but {entry.file} has {entry.size}")
        if total is not None and implausible_size(entry, total):
            raise _UrlFailed(f"the server offers {implausible_size(entry, total)}")
        ranges = response.status == 206 or response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        _write_json(sidecar, {"url": url, "validator": response.headers.get("ETag")
                              or response.headers.get("Last-Modified") or "", "size": total, "ranges": ranges})
        hashers = _new_hashers(entry)
        mode = "r+b" if offset else "wb"
        with open(part, mode) as out:
            while offset and (block := out.read(CHUNK)):  # the kept part is exactly `offset` bytes
                for h in hashers.values():
                    h.update(block)
            done = offset
            if progress:
                progress(done, total)
            try:
                while block := response.read1(CHUNK):  # what has arrived: a stall keeps it
                    out.write(block)
                    for h in hashers.values():
                        h.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
                    if total is None or done < total:
                        _check(entry, cancelled, done, ranges)
            except Cancelled:
                raise  # not a failure of this source: the part stays for the next download
            except TimeoutError:
                raise _UrlFailed(f"stalled: no data for {read_timeout:g} s after {done} bytes",
                                 kept=done > 0 and ranges) from None
            except (OSError, http.client.HTTPException) as exc:
                raise _UrlFailed(f"connection lost after {done} bytes ({exc})", kept=done > 0 and ranges) from None
            finally:
                out.flush()
                os.fsync(out.fileno())
    if total is not None and done != total:
        raise _UrlFailed(f"the connection closed after {done} of {total} bytes", kept=done > 0 and ranges)
    return offset, {k: h.hexdigest() for k, h in hashers.items()}


def _resumable(part: Path, sidecar: Path, url: str) -> tuple[int, str]:
    """(bytes to keep, validator) when the part came from this URL and the server named its version;
    otherwise (0, "") and the part is dropped: without a validator a resume could splice two versions."""
    try:
        meta = json.loads(sidecar.read_text("utf-8"))
        size = part.stat().st_size
    except (OSError, ValueError):
        _discard(part, sidecar)
        return 0, ""
    if meta.get("url") != url or not meta.get("validator") or meta.get("ranges") is False or size <= 0 or (
            isinstance(meta.get("size"), int) and size >= meta["size"]):
        _discard(part, sidecar)
        return 0, ""
    return size, str(meta["validator"])


def _content_range_start(response) -> int | None:
    value = response.headers.get("Content-Range", "")  # "bytes 100-999/1000"
    unit, _, span = value.partition(" ")
    first = span.partition("-")[0]
    return int(first) if unit == "bytes" and first.isdigit() else None


def _new_hashers(entry: Entry) -> dict[str, hashlib._Hash]:
    hashers = {"sha256": hashlib.sha256()}
    if entry.sha1:
        hashers["sha1"] = hashlib.sha1()  # noqa: S324 (the publisher's pin; not our choice)
    return hashers


def _publish(tmp: Path, target: Path, file: str, sha256: str, record: bool) -> None:
    """Records the hash (a pinned file's; an unpinned one's only once it converted, record_first_use),
    then makes the verified file appear under its real name."""
    if record:
        _write_record(file, sha256)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def _write_record(file: str, sha256: str) -> None:
    with atomic_path(record_path(file)) as tmp:
        tmp.write_text(f"{sha256}  {file}\n", encoding="utf-8")


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _recorded_sha256(file: str) -> str | None:
    try:
        text = record_path(file).read_text("utf-8").split()
    except OSError:
        return None
    return text[0].lower() if text else None


def _sidecar(file: str) -> Path:
    return partial_path(file).with_name(partial_path(file).name + ".json")


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data), encoding="utf-8")


def _discard_part(file: str) -> None:
    _discard(partial_path(file), _sidecar(file))


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def _exclusive(file: str):
    """One download of a file at a time, across processes (two would write the same part)."""
    lock = FileLock(str(downloads_dir() / f"{file}.lock"), timeout=0)
    try:
        with lock:
            yield
    except Timeout:
        raise DownloadError(f"{file}: another FCN Studio is downloading it right now; wait for it to "
                            f"finish") from None


# -- urllib with separate connect and read timeouts ----------------------------------------------------

class _TimedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, read_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # under the connect timeout
        self.sock.settimeout(self._read_timeout)


class _TimedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, read_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # TCP, proxy tunnel and TLS handshake under the connect timeout
        self.sock.settimeout(self._read_timeout)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self._read_timeout = read_timeout

    def http_open(self, req):
        return self.do_open(functools.partial(_TimedHTTPConnection, read_timeout=self._read_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()  # the default context: certificates and host names verified
        self._read_timeout = read_timeout

    def https_open(self, req):
        return self.do_open(functools.partial(_TimedHTTPSConnection, read_timeout=self._read_timeout), req,
                            context=self._context)


def _opener(read_timeout: float) -> urllib.request.OpenerDirector:
    """urllib's usual chain (ProxyHandler from the environment, redirects, errors) with our handlers."""
    return urllib.request.build_opener(_HTTPHandler(read_timeout), _HTTPSHandler(read_timeout))
