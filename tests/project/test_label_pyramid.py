"""Label pyramids of whole-slide masks: a write touches only its chunks, the coarser levels stay the
nearest sampling of level 0, a killed writer leaves every finished write readable, and the journal
gives back strokes that never reached the chunks. Read back by plain zarr, as other tools would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

from fcn_studio.project.label_pyramid import IGNORE, LabelPyramid, pyramid_path, replay_orphans
from tests.project.pyramid_child import SHAPE, strokes

ROOT = Path(__file__).resolve().parents[2]


def class_table(ome_xml: str) -> dict:
    """The class table an OME-TIFF's image Description holds, read as any OME reader would."""
    import json
    import xml.etree.ElementTree as ET

    root = ET.fromstring(ome_xml)
    text = next(e.text for e in root.iter() if e.tag.endswith("}Description"))
    return json.loads(text)["fcn_studio_labels"]


def chunk_files(path: Path) -> dict[str, tuple[int, int]]:
    """Every chunk file (level/row/column) with its inode and modification time."""
    out = {}
    for p in path.rglob("*"):
        rel = p.relative_to(path).as_posix()
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            out[rel] = (st.st_ino, st.st_mtime_ns)
    return out


def test_a_write_touches_only_its_chunks_at_every_level(tmp_path):
    pyramid = LabelPyramid.create(tmp_path / "m.zarr", (3000, 4000), chunk=256)
    assert pyramid.levels == 4 and chunk_files(tmp_path / "m.zarr") == {}  # unpainted: nothing stored
    pyramid.write((300, 600, 310, 700), np.full((10, 100), 3, np.uint8))
    first = chunk_files(tmp_path / "m.zarr")
    assert sorted(first) == ["0/1/2", "1/0/1", "2/0/0", "3/0/0"]
    assert [pyramid.chunks_of(k, (300, 600, 310, 700)) for k in range(4)] == [[(1, 2)], [(0, 1)], [(0, 0)], [(0, 0)]]
    pyramid.write((2900, 3900, 3000, 4000), np.full((100, 100), 1, np.uint8))  # the far corner
    second = chunk_files(tmp_path / "m.zarr")
    assert sorted(set(second) - set(first)) == ["0/11/15", "1/5/7", "2/2/3", "3/1/1"]
    assert all(second[k] == first[k] for k in first)  # not one chunk of the first write rewritten


def test_coarser_levels_stay_the_nearest_sampling_of_level_0(tmp_path):
    rng = np.random.default_rng(5)
    shape = (1500, 2100)
    truth = np.full(shape, IGNORE, np.uint8)
    pyramid = LabelPyramid.create(tmp_path / "m.zarr", shape, chunk=256)
    for _ in range(30):  # overlapping, odd-placed, some one pixel wide
        y0, x0 = int(rng.integers(0, shape[0] - 1)), int(rng.integers(0, shape[1] - 1))
        y1 = int(rng.integers(y0 + 1, min(shape[0], y0 + 400) + 1))
        x1 = int(rng.integers(x0 + 1, min(shape[1], x0 + 400) + 1))
        patch = rng.integers(0, 4, (y1 - y0, x1 - x0), dtype=np.uint8)
        truth[y0:y1, x0:x1] = patch
        pyramid.write((y0, x0, y1, x1), patch)
    group = zarr.open_group(str(tmp_path / "m.zarr"), mode="r")
    for k in range(pyramid.levels):
        np.testing.assert_array_equal(group[str(k)][:], truth[::2**k, ::2**k])
    np.testing.assert_array_equal(pyramid.read(1, (10, 20, 200, 300)), truth[::2, ::2][10:200, 20:300])
    assert set(np.unique(group["2"][:])) <= {0, 1, 2, 3, IGNORE}  # never an average of labels


def test_ome_zarr_labels_metadata(tmp_path):
    LabelPyramid.create(pyramid_path(tmp_path / "masks", "slides/a.svs.png"), (1200, 900), colors={1: (255, 0, 0)})
    group = zarr.open_group(str(tmp_path / "masks" / "slides" / "a.svs.zarr"), mode="r")
    ms = group.attrs["multiscales"][0]
    assert [d["path"] for d in ms["datasets"]] == ["0", "1", "2"] and [a["name"] for a in ms["axes"]] == ["y", "x"]
    assert ms["datasets"][2]["coordinateTransformations"][0]["scale"] == [4.0, 4.0]
    assert group.attrs["image-label"]["colors"] == [{"label-value": 1, "rgba": [255, 0, 0, 255]}]
    assert group["1"].shape == (600, 450) and group["0"].fill_value == IGNORE


def _run_child_until_killed(mode: str, root: Path, seed: int, finished_wanted: int) -> int:
    """Starts the writer, kills it (Popen.kill: TerminateProcess on Windows) once it has reported
    `finished_wanted` strokes, and returns how many it reported."""
    child = subprocess.Popen([sys.executable, "-m", "tests.project.pyramid_child", mode, str(root), str(seed)],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    finished = 0
    try:
        for line in child.stdout:
            finished = int(line) + 1
            if finished >= finished_wanted:
                break
    finally:
        child.kill()
        rest, _ = child.communicate(timeout=60)
    assert finished >= finished_wanted, "the writer stopped by itself"
    return finished + sum(1 for _ in rest.split())  # lines it printed before the kill landed


def _expected(seed: int, count: int) -> tuple[np.ndarray, tuple]:
    """Level 0 after `count` strokes, and the rectangle of the next one (which may be half done)."""
    truth = np.full(SHAPE, IGNORE, np.uint8)
    sequence = strokes(seed)
    for _ in range(count):
        (y0, x0, y1, x1), patch = next(sequence)
        truth[y0:y1, x0:x1] = patch
    return truth, next(sequence)


def _check(root: Path, seed: int, finished: int) -> None:
    truth, ((y0, x0, y1, x1), patch) = _expected(seed, finished)
    group = zarr.open_group(str(root / "masks" / "slide.zarr"), mode="r")
    level0 = group["0"][:]  # a torn chunk would fail to decompress here
    in_flight = level0[y0:y1, x0:x1].copy()
    assert ((in_flight == patch) | (in_flight == IGNORE)).all()  # the stroke killed mid-way: old or new
    level0[y0:y1, x0:x1] = truth[y0:y1, x0:x1]
    np.testing.assert_array_equal(level0, truth)  # every finished stroke, exactly
    for k in range(1, len(group.attrs["multiscales"][0]["datasets"])):
        level = group[str(k)][:]
        s = 2**k
        fresh = level0[::s, ::s]
        rows, cols = slice(-(-y0 // s), -(-y1 // s)), slice(-(-x0 // s), -(-x1 // s))
        level[rows, cols] = fresh[rows, cols]  # the stroke in flight: checked at level 0
        np.testing.assert_array_equal(level, fresh)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_writer_killed_mid_write_leaves_every_finished_write_readable(tmp_path, seed):
    LabelPyramid.create(tmp_path / "masks" / "slide.zarr", SHAPE, chunk=256)
    finished = _run_child_until_killed("write", tmp_path, seed, 12 + 5 * seed)
    _check(tmp_path, seed, finished)
    assert LabelPyramid.open(tmp_path / "masks" / "slide.zarr", sweep=True) is not None  # as the project opens
    assert not list((tmp_path / "masks").rglob("*.partial"))  # a killed chunk write's leftover is swept


def test_journal_replay_restores_strokes_that_never_reached_the_chunks(tmp_path):
    path = tmp_path / "masks" / "slide.zarr"
    LabelPyramid.create(path, SHAPE, chunk=256)
    finished = _run_child_until_killed("journal", tmp_path, 3, 13)  # flushed after 5 and 10: 3+ only journalled
    journals = list((tmp_path / "masks" / ".slide-journal").rglob("*.jnl"))
    assert len(journals) == 1
    assert replay_orphans(tmp_path, lambda image_id: LabelPyramid.open(path)) == [1]
    assert not (tmp_path / "masks" / ".slide-journal").exists() or not list(
        (tmp_path / "masks" / ".slide-journal").iterdir())
    truth, (rect, patch) = _expected(3, finished)
    level0 = zarr.open_group(str(path), mode="r")["0"][:]
    after = truth.copy()
    after[rect[0]:rect[2], rect[1]:rect[3]] = patch  # journalled, then killed before it said so
    assert np.array_equal(level0, truth) or np.array_equal(level0, after)  # a stroke is all in or all out
    _check(tmp_path, 3, finished)


def test_the_project_opening_sweeps_a_killed_chunk_writes_leftover(tmp_path):
    pyramid = LabelPyramid.create(tmp_path / "m.zarr", (600, 600), chunk=256)
    pyramid.write((0, 0, 10, 10), np.zeros((10, 10), np.uint8))
    leftover = tmp_path / "m.zarr" / "0" / "0" / "0.3f2a9c.partial"  # what zarr's write leaves when killed
    leftover.write_bytes(b"half a chunk")
    again = LabelPyramid.open(tmp_path / "m.zarr", sweep=True)
    assert not leftover.exists() and (again.read(0, (0, 0, 10, 10)) == 0).all()


def test_export_as_a_pyramidal_ome_tiff_read_back_by_tifffile(tmp_path):
    import tifffile

    rng = np.random.default_rng(2)
    truth = np.full((1300, 700), IGNORE, np.uint8)
    truth[100:900, 50:600] = rng.integers(0, 3, (800, 550), dtype=np.uint8)
    pyramid = LabelPyramid.create(tmp_path / "m.zarr", truth.shape, chunk=256)
    pyramid.write((0, 0, 1300, 700), truth)
    from fcn_studio.core.labels import LabelSet
    from fcn_studio.project.label_pyramid import export_label_tiff

    labels = LabelSet(("glass", "tumour", "stroma"), ((255, 255, 255), (200, 0, 0), (0, 150, 0)))
    out = export_label_tiff(pyramid, tmp_path / "labels.ome.tif", labels=labels)
    with tifffile.TiffFile(out) as tif:
        assert class_table(tif.ome_metadata) == labels.to_dict()
        assert tif.is_ome and [lv.shape for lv in tif.series[0].levels] == [(1300, 700), (650, 350), (325, 175)]
        np.testing.assert_array_equal(tif.series[0].levels[0].asarray(), truth)
        np.testing.assert_array_equal(tif.series[0].levels[1].asarray(), truth[::2, ::2])


def test_only_the_writer_sweeps_left_over_partial_writes_a_reader_never_deletes_one_in_flight(tmp_path):
    LabelPyramid.create(tmp_path / "p.zarr", (600, 600))
    partial = tmp_path / "p.zarr" / "0" / ".zattrs.1234.partial"  # a write another thread has in flight
    partial.write_bytes(b"{}")
    LabelPyramid.open(tmp_path / "p.zarr")  # the canvas opening a prediction being made
    assert partial.exists()
    LabelPyramid.open(tmp_path / "p.zarr", sweep=True)  # the project opening, after a kill
    assert not partial.exists()
