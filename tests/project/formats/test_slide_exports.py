"""Whole slides out: GeoJSON polygons per class (what QuPath imports) and label OME-TIFFs, read back by
shapely (a GeoJSON reader) and tifffile; the polygons cover exactly the labelled pixels, join across the
label pyramid's chunk edges, keep holes, and an ordinary image in the same project is exported too."""

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import ExportOptions, export_project
from fcn_studio.project.label_pyramid import LabelPyramid
from fcn_studio.project.project import Project
from fcn_studio.workspace.slide_editing import SlideEditing

LABELS = LabelSet(("background", "tumour", "stroma"))
SHAPE = (3000, 4000)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "scan.svs").write_bytes(b"")
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "photo.png")
    project = Project.create(tmp_path / "proj", LABELS)
    project.add_images([tmp_path / "scan.svs", tmp_path / "photo.png"])
    slide_id = next(r.id for r in project.images() if r.path.endswith("scan.svs"))
    slide = SlideEditing(project, slide_id, SHAPE)
    slide.paint([(300.0, 1000.0), (900.0, 1000.0)], 200, 1)  # crosses the chunk edges at x = 512, y = 1024
    slide.paint([(600.0, 1000.0)], 60, 2)  # stroma inside it, across a chunk edge: a hole in the tumour
    slide.paint([(300.0, 950.0)], 40, 2)  # ... and inside one chunk: a hole there already
    slide.paint([(3500.0, 2500.0)], 30, 2)
    assert slide.close()
    mask = np.full((40, 60), 255, np.uint8)
    mask[5:15, 10:30] = 1
    photo_id = next(r.id for r in project.images() if r.path.endswith("photo.png"))
    project.save_mask(photo_id, mask)
    return project


def test_geojson_polygons_cover_exactly_the_painted_pixels_joined_across_chunks_with_holes(project, tmp_path):
    from shapely.geometry import shape

    assert export_project(project, "geojson", tmp_path / "out", ExportOptions()) == 2
    collection = json.loads((tmp_path / "out" / "scan.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    by_class = {}
    for feature in collection["features"]:
        assert feature["properties"]["objectType"] == "annotation"
        by_class.setdefault(feature["properties"]["classification"]["name"], []).append(shape(feature["geometry"]))
    pyramid = LabelPyramid.open(project.mask_pyramid_path(1 if project.image(1).path.endswith("svs") else 2))
    labels = pyramid.read(0, (0, 0, *SHAPE))
    assert len(by_class["tumour"]) == 1  # one polygon, though it lies in four chunks
    tumour = by_class["tumour"][0]
    assert len(tumour.interiors) == 2  # the stroma inside is a hole
    assert tumour.area == (labels == 1).sum()  # edges along pixel corners: exactly its pixels
    assert sum(p.area for p in by_class["stroma"]) == (labels == 2).sum() and len(by_class["stroma"]) == 3
    assert "background" not in by_class
    assert by_class["tumour"][0].contains(shape({"type": "Point", "coordinates": [320.5, 1000.5]}))
    photo = json.loads((tmp_path / "out" / "photo.geojson").read_text())
    assert [shape(f["geometry"]).area for f in photo["features"]] == [200.0]


def test_label_ome_tiffs_read_back_by_tifffile_with_their_classes_and_levels(project, tmp_path):
    options = ExportOptions(remap={"stroma": "tumour"})
    assert export_project(project, "ome-tiff", tmp_path / "tiff", options) == 2
    slide_id = 1 if project.image(1).path.endswith("svs") else 2
    labels = LabelPyramid.open(project.mask_pyramid_path(slide_id)).read(0, (0, 0, *SHAPE))
    with tifffile.TiffFile(tmp_path / "tiff" / "scan.ome.tif") as tif:
        series = tif.series[0]
        assert len(series.levels) > 1 and series.levels[0].shape == SHAPE
        full = series.asarray()
        meta = json.loads(tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Description"])
    assert meta["fcn_studio_labels"]["names"] == ["background", "tumour"]  # stroma merged into tumour
    assert np.array_equal(full, np.where(labels == 2, 1, labels))
    assert tifffile.imread(tmp_path / "tiff" / "photo.ome.tif").shape == (40, 60)


def test_formats_without_slides_leave_them_out(project, tmp_path):
    assert export_project(project, "masks", tmp_path / "masks", ExportOptions()) == 1  # the photo only


def test_tiles_cut_slides_and_images_into_labelled_tiles_for_voc_coco_and_mask_folders(tmp_path):
    from fcn_studio.core.image_io import load_image
    from fcn_studio.core.mask_io import read_mask
    from fcn_studio.core.slide import open_slide
    from tests.core.slide.conftest import halvings, photo, write_tiff

    slide_file = write_tiff(tmp_path / "scan.tif", halvings(photo(1200, 1600), 2), tile=(256, 256))
    Image.fromarray(photo(100, 150, seed=3)).save(tmp_path / "photo.png")
    project = Project.create(tmp_path / "proj", LABELS)
    project.add_images([slide_file, tmp_path / "photo.png"])
    slide_id = next(r.id for r in project.images() if r.path.endswith("scan.tif"))
    photo_id = next(r.id for r in project.images() if r.path.endswith("photo.png"))
    slide = SlideEditing(project, slide_id, (1200, 1600))
    slide.paint([(1050.0, 250.0), (1250.0, 250.0)], 40, 1)  # crosses the tile edge at x = 1200
    assert slide.close()
    mask = np.full((100, 150), 255, np.uint8)
    mask[10:20, 10:20] = 2
    project.save_mask(photo_id, mask)
    options = ExportOptions(tiles=300)
    assert export_project(project, "masks", tmp_path / "masks", options) == 3  # 2 tiles of the slide + the photo's
    names = sorted(p.stem for p in (tmp_path / "masks" / "images").iterdir())
    assert names == ["photo_0_0", "scan_0_1200", "scan_0_900"]
    assert not (tmp_path / "masks" / ".tiles").exists()
    with open_slide(slide_file) as s:
        tile = load_image(tmp_path / "masks" / "images" / "scan_0_900.png")
        assert np.array_equal(tile, s.read_region(0, (0, 900, 300, 1200)))
    labels = read_mask(tmp_path / "masks" / "labels" / "scan_0_1200_labelIds.png")
    assert labels.shape == (300, 300) and labels[250, 10] == 1 and labels[10, 10] == 255
    assert export_project(project, "voc", tmp_path / "voc", options) == 3
    assert len(list((tmp_path / "voc" / "SegmentationClass").iterdir())) == 3
    assert export_project(project, "coco", tmp_path / "coco", options) == 3
    coco = json.loads(next((tmp_path / "coco").rglob("*.json")).read_text())
    assert sorted(i["file_name"].split("/")[-1] for i in coco["images"]) == [
        "photo_0_0.png", "scan_0_1200.png", "scan_0_900.png"]
