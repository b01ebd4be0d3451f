"""labelme files mean in FCN Studio what they mean in labelme: every shape type is drawn as labelme's
shape_to_mask draws it, over the background (what no shape covers is `_background_` in labelme), and a
shape that cannot be drawn is reported with its file, never guessed."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import import_into
from fcn_studio.project.formats.labelme import mask_to_shapes
from fcn_studio.project.formats.labelme_shapes import mask_shape_data, mask_shape_pixels
from fcn_studio.project.project import Project

H, W = 24, 24


def labelme_file(folder, shapes, name="a"):
    """A real labelme folder: the image and its JSON beside it."""
    folder.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(folder / f"{name}.png")
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"{name}.png", "imageData": None,
           "imageHeight": H, "imageWidth": W}
    (folder / f"{name}.json").write_text(json.dumps(doc))


def shape(shape_type, points, label="cat", **extra):
    return {"label": label, "points": points, "group_id": None, "description": "", "shape_type": shape_type,
            "flags": {}, "mask": None, **extra}


def imported(tmp_path, shapes):
    src = tmp_path / "lm"
    labelme_file(src, shapes)
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    report = import_into(project, src, "labelme")
    rec = project.images()[0]
    return project.load_mask(rec.id), project.labels.names.index("cat"), report


def box(x1, y1, x2, y2):
    """Pixels x1..x2, y1..y2 inclusive."""
    m = np.zeros((H, W), bool)
    m[y1:y2 + 1, x1:x2 + 1] = True
    return m


def disc(cx, cy, r):
    """PIL's filled ellipse for a circle of integer centre and radius: dx^2 + dy^2 <= r (r + 1)."""
    ys, xs = np.mgrid[:H, :W]
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * (r + 1)


def encoded_png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


CROP = np.array([[1, 0, 1], [0, 1, 0]], bool)  # a 3 x 2 mask shape, placed with its box's top-left at (4, 6)
CASES = {
    "rectangle": (shape("rectangle", [[3, 2], [9, 5]]), box(3, 2, 9, 5)),
    "rectangle drawn backwards": (shape("rectangle", [[9, 5], [3, 2]]), box(3, 2, 9, 5)),
    "circle": (shape("circle", [[10, 10], [10, 12]]), disc(10, 10, 2)),
    "point (radius 5)": (shape("point", [[10, 11]]), disc(10, 11, 5)),
    # width 10: from 4 above to 5 below the line, the length of the line itself
    "line (width 10)": (shape("line", [[2, 10], [12, 10]]), box(2, 6, 12, 15)),
    "linestrip (width 10)": (shape("linestrip", [[2, 5], [14, 5], [14, 18]]), box(2, 1, 14, 10) | box(10, 5, 19, 18)),
    "polygon": (shape("polygon", [[2, 2], [6, 2], [6, 4], [2, 4]]), box(2, 2, 6, 4)),
    "mask": (shape("mask", [[4, 6], [6, 7]], mask=encoded_png(CROP)),
             np.pad(CROP, ((6, H - 8), (4, W - 7)))),
}


@pytest.mark.parametrize("case", CASES)
def test_each_shape_type_is_drawn_as_labelme_draws_it(tmp_path, case):
    s, expected = CASES[case]
    mask, cat, report = imported(tmp_path, [s])
    assert not report.problems, report.problems
    assert np.array_equal(mask == cat, expected), case
    assert (mask[~expected] == 0).all()  # everything else is the background, as labelme reads it


def test_later_shapes_paint_over_earlier_ones_and_ignore_cuts_holes(tmp_path):
    shapes = [shape("rectangle", [[0, 0], [9, 9]]), shape("rectangle", [[2, 2], [4, 4]], label="__ignore__"),
              shape("point", [[15, 15]], label="dog")]
    src = tmp_path / "lm"
    labelme_file(src, shapes)
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    import_into(project, src, "labelme")
    mask = project.load_mask(project.images()[0].id)
    cat, dog = project.labels.names.index("cat"), project.labels.names.index("dog")
    assert np.array_equal(mask == cat, box(0, 0, 9, 9) & ~box(2, 2, 4, 4))
    assert np.array_equal(mask == 255, box(2, 2, 4, 4))
    assert np.array_equal(mask == 0, ~box(0, 0, 9, 9) & ~disc(15, 15, 5))
    assert np.array_equal(mask == dog, disc(15, 15, 5))


def test_shapes_that_cannot_be_drawn_are_reported_with_their_file_and_the_rest_kept(tmp_path):
    shapes = [shape("rectangle", [[3, 2], [9, 5]]),
              shape("ellipse", [[1, 1], [5, 5]]),  # no such labelme shape type
              shape("circle", [[1, 1]]),  # a circle needs its centre and a point on it
              shape("polygon", [[1, 1], [5, 5]]),  # two points are no polygon
              shape("mask", [[0, 0], [9, 9]], mask=encoded_png(CROP)),  # PNG smaller than its box
              shape("mask", [[0, 0], [2, 1]], mask="not base64!"),
              {"points": [[0, 0], [1, 1], [2, 0]], "shape_type": "polygon"}]  # no label
    mask, cat, report = imported(tmp_path, shapes)
    assert np.array_equal(mask == cat, box(3, 2, 9, 5))
    text = "\n".join(report.problems)
    assert len(report.problems) == 6 and all("a.json" in p for p in report.problems), text
    for words in ("'ellipse' is not one labelme draws", "a circle has 2 points, not 1",
                  "a polygon has at least 3 points, not 2", "PNG is 3x2 but its box is 10x10",
                  "PNG is unreadable", "it has no label"):
        assert words in text


def test_a_mask_shape_reaching_past_the_image_is_clipped_with_a_note(tmp_path):
    mask, cat, report = imported(tmp_path, [shape("mask", [[W - 2, 6], [W, 7]], mask=encoded_png(CROP))])
    assert np.array_equal(mask == cat, np.pad(CROP[:, :2], ((6, H - 8), (W - 2, 0))))
    assert not report.problems and any("past the image's edge; clipped" in n for n in report.notes)


def test_export_is_polygons_that_labelme_draws_back_exactly(tmp_path):
    """A class region with a hole holding an island of another class, one pixel wide arms and a
    diagonal touch: the polygons, drawn as labelme draws them, give the mask back."""
    labels = LabelSet(("background", "cat", "dog"))
    m = np.full((H, W), 255, np.uint8)
    m[2:20, 2:20] = 1
    m[6:14, 6:14] = 255
    m[8:11, 8:11] = 2
    m[2:20, 21] = 0  # one pixel wide
    m[21, 0], m[22, 1] = 2, 2  # touching only at a corner
    shapes = mask_to_shapes(m, labels)
    assert {s["shape_type"] for s in shapes} == {"polygon"}
    src = tmp_path / "lm"
    labelme_file(src, shapes)
    (src / "labels.txt").write_text("__ignore__\nbackground\ncat\ndog\n")
    project = Project.create(tmp_path / "p", labels)
    report = import_into(project, src, "labelme")
    assert not report.problems
    assert np.array_equal(project.load_mask(project.images()[0].id), m)


def test_a_region_written_as_a_mask_shape_reads_back_exactly():
    """The exporter's fallback where no polygon would be exact: a mask shape over the region's box."""
    fill = np.random.default_rng(0).random((5, 7)) < 0.5
    pixels, clipped = mask_shape_pixels((H, W), [[3.0, 4.0], [9.0, 8.0]], mask_shape_data(fill))
    assert not clipped and np.array_equal(pixels, np.pad(fill, ((4, H - 9), (3, W - 10))))
