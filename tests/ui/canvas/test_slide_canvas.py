"""A whole slide in a real window (offscreen): opened from a project as one of its images, drawn from
tiles read in the background at the level that fits the zoom (the whole slide is never decoded), a
brush drag painting its label pyramid where it went, Ctrl+Z and Ctrl+Y, and quitting writes the strokes
to the pyramid's chunks."""

import numpy as np
from PySide6.QtCore import Qt

from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.inference.slide_predict import least_certain_region
from fcn_studio.project.label_pyramid import LabelPyramid
from tests.core.slide.conftest import halvings, photo, write_tiff
from tests.ui.canvas.test_canvas_clicks import at, drag
from tests.ui.conftest import close_window


def _open_slide(qtbot, window, tmp_path, model=None):
    from fcn_studio.core.sample_data import SAMPLE_LABELS
    from fcn_studio.project.project import Project

    slide = write_tiff(tmp_path / "scan.tif", halvings(photo(2048, 3072), 4), tile=(256, 256), compression="jpeg")
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([slide])
    if model is not None:
        project.set_model_path(model)
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    qtbot.waitUntil(lambda: window.slides.shown is not None and window.workspace.slide is not None, timeout=15_000)
    return tmp_path / "proj"


def test_a_slide_opens_from_tiles_and_a_brush_drag_paints_its_labels_undo_redo_and_quit_keep_them(
        qtbot, window, tmp_path):
    root = _open_slide(qtbot, window, tmp_path)
    shown = window.slides.shown
    assert window.canvas.picture is shown.image_tiles and window.canvas.image_item.source is None
    assert shown.source.tile_reads < 20  # opening read the small levels, not the slide's 96 full tiles
    window.canvas.one_to_one()
    window.canvas.centerOn(1000, 1000)
    qtbot.waitUntil(lambda: any(k[0] == 0 for k in shown.image_tiles._ready), timeout=10_000)  # tiles came
    assert shown.source.tile_reads < 60
    window.tools_panel.set_tool("brush")
    window.tools.set_class(2)
    slide = window.workspace.slide
    drag(qtbot, window, [(950, 1000), (1000, 1000), (1050, 1000)])
    assert slide.labels(0, (1000, 1000, 1001, 1001))[0, 0] == 2 and slide.done
    assert slide.labels(0, (900, 900, 901, 901))[0, 0] == IGNORE_INDEX
    assert window.image_list.model.record(1).state == "new"  # journalled; "corrected" once it is written
    qtbot.waitUntil(lambda: window.image_list.model.record(1).state == "corrected", timeout=10_000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert slide.labels(0, (1000, 1000, 1001, 1001))[0, 0] == IGNORE_INDEX
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert slide.labels(0, (1000, 1000, 1001, 1001))[0, 0] == 2
    close_window(qtbot, window)  # quitting writes what the writer had not yet
    pyramid = LabelPyramid.open(root / "masks" / "scan.zarr")
    assert pyramid.read(0, (1000, 1000, 1001, 1001))[0, 0] == 2
    assert (pyramid.read(0, (0, 0, 2048, 3072)) == 2).sum() > 1000
    assert np.array_equal(np.unique(pyramid.read(3, (0, 0, 256, 384))), [2, IGNORE_INDEX])


def test_fill_and_smart_box_work_on_a_slide_within_the_view(qtbot, window, tmp_path):
    _open_slide(qtbot, window, tmp_path)
    slide = window.workspace.slide
    window.canvas.one_to_one()
    window.canvas.centerOn(1000, 1000)
    window.tools.set_class(2)
    window.tools_panel.set_tool("polygon")  # a closed outline of class 2, then fill its inside with 5
    for x, y in ((900, 900), (1100, 900), (1100, 1100), (900, 1100)):
        qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, x, y))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    window.tools.set_class(5)
    window.tools_panel.set_tool("fill")
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, 1000, 1000))
    assert slide.done[-1].name == "fill" and slide.labels(0, (1000, 1000, 1001, 1001))[0, 0] == 5
    window.tools.set_class(1)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     pos=at(window, 1000, 1000))  # Alt+click: the class under the cursor
    assert window.tools.current_class == 5 and slide.done[-1].name == "fill"
    assert slide.labels(0, (950, 850, 951, 851))[0, 0] == IGNORE_INDEX  # outside the region filled
    scene = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    beyond = (int(scene.top()) - 5, int(scene.left()) - 5)  # the unlabelled region goes on past the view
    window.tools.set_class(6)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, 880, 880))
    assert slide.labels(0, (880, 880, 881, 881))[0, 0] == 6
    assert slide.labels(0, (*beyond, beyond[0] + 1, beyond[1] + 1))[0, 0] == IGNORE_INDEX  # filled to the view only
    window.tools_panel.set_tool("smart")
    window.tools.set_class(7)
    steps = len(slide.done)
    said = []
    window.tools.notice.connect(said.append)
    window.tools.failed.connect(said.append)
    drag(qtbot, window, [(900, 900), (1100, 1100)])
    qtbot.waitUntil(lambda: len(slide.done) == steps + 1 or bool(said), timeout=20_000)
    assert not said, said
    qtbot.waitUntil(lambda: len(slide.done) == steps + 1, timeout=20_000)
    assert slide.done[-1].name == "smart selection" and (slide.labels(0, (900, 900, 1100, 1100)) == 7).any()


def test_the_click_tool_on_a_slide_answers_in_the_view_and_enter_paints_the_object_as_one_step(
        qtbot, window, tmp_path, click_model):
    _open_slide(qtbot, window, tmp_path)
    window.workspace.project.set_click_model_path(click_model)
    window.workspace.clicks.changed.emit(click_model)
    slide = window.workspace.slide
    window.canvas.one_to_one()
    window.canvas.centerOn(1500, 1200)
    window.tools.set_class(4)
    window.tools_panel.set_tool("click")
    tool = window.tools.click_tool
    scene = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, 1500, 1200))
    qtbot.waitUntil(lambda: tool.answer is not None, timeout=30_000)
    assert tool._target.origin == (int(scene.top()), int(scene.left()))  # the view, not the slide
    assert tool._target.shape == (int(scene.bottom()) + 1 - int(scene.top()),
                                  int(scene.right()) + 1 - int(scene.left()))
    answer = tool.answer
    assert answer.rect is not None and not tool.outline.path().isEmpty()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.RightButton, pos=at(window, 1450, 1150))
    qtbot.waitUntil(lambda: tool.answer is not None and len(tool.answers) == 2, timeout=30_000)
    answer = tool.answer
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert slide.done[-1].name == "click object"
    (oy, ox), (y0, x0, y1, x1) = answer.origin, answer.rect
    painted = slide.labels(0, (y0 + oy, x0 + ox, y1 + oy, x1 + ox))
    assert np.array_equal(painted == 4, answer.local)  # exactly the proposed object, where it lies in the slide
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (slide.labels(0, (y0 + oy, x0 + ox, y1 + oy, x1 + ox)) == IGNORE_INDEX).all()


def test_a_slide_is_predicted_around_the_view_into_its_own_pyramid_and_drawn_under_the_persons_labels(
        qtbot, window, tmp_path, tiny_checkpoint):
    root = _open_slide(qtbot, window, tmp_path, tiny_checkpoint)
    shown = window.slides.shown
    view = shown.labels
    qtbot.waitUntil(lambda: window.slides._predicting is not None, timeout=30_000)
    predictor, _project, started = window.slides._predicting
    window.canvas.one_to_one()
    window.canvas.centerOn(200, 200)  # the person looks elsewhere while it predicts
    qtbot.waitUntil(lambda: window.slides._predicting is not None and window.slides._predicting[2] != started,
                    timeout=10_000)  # once the view rests, the prediction goes on from there (tiles done skipped)
    y, x = window.slides._predicting[2]
    assert abs(y - 200) < 300 and abs(x - 200) < 400
    qtbot.waitUntil(lambda: view.prediction is not None and bool(view.prediction.stored_chunks(0)), timeout=60_000)
    window.tools_panel.set_tool("brush")
    window.tools.set_class(1)
    window.canvas.one_to_one()
    window.canvas.centerOn(1024, 1024)
    drag(qtbot, window, [(1000, 1000), (1040, 1000)])
    qtbot.waitUntil(lambda: (view.prediction.read(0, (0, 0, 2048, 3072)) != IGNORE_INDEX).all(), timeout=120_000)
    person, model = view.labels(0, (990, 900, 1010, 1200))
    assert (person[10, 100:140] == 1).all() and model is not None and (model != IGNORE_INDEX).all()
    argb = view.argb(0, (990, 900, 1010, 1200))
    predicted = person == IGNORE_INDEX
    assert (argb[predicted] >> 24).max() < (argb[~predicted] >> 24).min()  # the model's drawn fainter
    window.class_panel.mode_changed.emit("confidence")  # the confidence view, per region
    assert window.overlay.mode == "confidence"
    assert (view.argb(0, (0, 0, 512, 512)) >> 24).any() and view.confidence is not None
    window.canvas.set_zoom(0.1)
    window.actions["least_certain_region"].trigger()  # Shift+N
    assert window.canvas.zoom == 1.0
    centre = window.canvas.mapToScene(window.canvas.viewport().rect().center())
    y0, x0, y1, x1 = least_certain_region(view.confidence, window.workspace.slide.pyramid)
    assert abs(centre.x() - (x0 + x1) / 2) < 2 and abs(centre.y() - (y0 + y1) / 2) < 2
    painted = LabelPyramid.open(root / "masks" / "scan.zarr").read(0, (0, 0, 2048, 3072))
    assert set(np.unique(painted)) == {1, IGNORE_INDEX}  # shown, the prediction never became the person's labels

    window.canvas.centerOn(1020, 1000)  # the stroke in view: Accept Prediction fills around it, keeps it
    scene = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    window.actions["accept"].trigger()
    slide = window.workspace.slide
    assert slide.done[-1].name == "accept prediction"
    person = slide.labels(0, (990, 900, 1010, 1200))
    assert (person[10, 100:140] == 1).all()  # what the person painted stays
    inside = (int(scene.top()) + 5, int(scene.left()) + 5)
    assert slide.labels(0, (*inside, inside[0] + 1, inside[1] + 1))[0, 0] == view.prediction.read(
        0, (*inside, inside[0] + 1, inside[1] + 1))[0, 0]
    outside = slide.labels(0, (0, 0, 10, 10))
    assert (outside == IGNORE_INDEX).all()  # out of view: not accepted
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert slide.labels(0, (*inside, inside[0] + 1, inside[1] + 1))[0, 0] == IGNORE_INDEX
    close_window(qtbot, window)


def test_a_flat_image_too_large_to_open_is_shown_from_a_tiled_copy_made_once(qtbot, window, tmp_path, monkeypatch):
    from PIL import Image

    from fcn_studio.core.sample_data import SAMPLE_LABELS
    from fcn_studio.project.project import Project
    from fcn_studio.project.slide_files import converted_path

    monkeypatch.setenv("FCN_STUDIO_MAX_PIXELS", "1000000")  # so a 3-megapixel PNG stands for a 30,000-pixel one
    Image.fromarray(photo(1500, 2000)).save(tmp_path / "huge.png")
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([tmp_path / "huge.png"])
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    qtbot.waitUntil(lambda: window.slides.shown is not None, timeout=30_000)
    copy = converted_path(window.project, 1)
    assert copy.is_file() and window.slides.shown.source.path == copy
    assert window.slides.shown.shape == (1500, 2000)
    made = copy.stat().st_mtime_ns
    window.tools_panel.set_tool("brush")
    window.tools.set_class(1)
    window.canvas.one_to_one()
    window.canvas.centerOn(1000, 750)
    drag(qtbot, window, [(980, 750), (1020, 750)])
    assert window.workspace.slide.labels(0, (750, 1000, 751, 1001))[0, 0] == 1
    window.show_image(1)  # shown again: from the copy, not made again
    qtbot.waitUntil(lambda: window.slides.shown is not None and window.workspace.slide is not None, timeout=10_000)
    assert copy.stat().st_mtime_ns == made


def test_polygon_and_lasso_fill_a_slides_labels_as_one_step_each(qtbot, window, tmp_path):
    _open_slide(qtbot, window, tmp_path)
    slide = window.workspace.slide
    window.canvas.one_to_one()
    window.canvas.centerOn(1000, 1000)
    window.tools.set_class(3)
    window.tools_panel.set_tool("polygon")
    for x, y in ((900, 900), (1100, 900), (1100, 1100)):
        qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, x, y))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert slide.labels(0, (1050, 1080, 1051, 1081))[0, 0] == 3  # inside the triangle
    assert slide.labels(0, (1080, 950, 1081, 951))[0, 0] == IGNORE_INDEX  # outside it
    window.tools_panel.set_tool("lasso")
    drag(qtbot, window, [(800, 800), (850, 800), (850, 850), (800, 850)], Qt.MouseButton.RightButton)  # erases
    window.tools.set_class(4)
    drag(qtbot, window, [(700, 700), (760, 700), (760, 760), (700, 760)])
    assert slide.labels(0, (730, 730, 731, 731))[0, 0] == 4 and [e.name for e in slide.done] == ["polygon", "lasso"]
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert slide.labels(0, (730, 730, 731, 731))[0, 0] == IGNORE_INDEX


def test_a_slide_opened_loose_keeps_taking_strokes_in_the_project_it_is_saved_as(qtbot, window, tmp_path):
    from fcn_studio.project.project import Project

    slide_file = write_tiff(tmp_path / "scan.tif", halvings(photo(1024, 1536), 3), tile=(256, 256))
    window.opening.open_paths([slide_file])  # no project: a session
    qtbot.waitUntil(lambda: window.workspace.slide is not None, timeout=15_000)
    window.canvas.one_to_one()
    window.canvas.centerOn(500, 500)
    window.tools_panel.set_tool("brush")
    window.tools.set_class(1)
    drag(qtbot, window, [(480, 500), (520, 500)])
    assert window.workspace.slide.labels(0, (500, 500, 501, 501))[0, 0] == 1
    window.session_saver.save(tmp_path / "kept")
    qtbot.waitUntil(lambda: not window.project.temporary and window.workspace.slide is not None
                    and window.workspace.slide.project is window.project, timeout=20_000)
    assert window.workspace.slide.labels(0, (500, 500, 501, 501))[0, 0] == 1  # the session's stroke came along
    window.canvas.one_to_one()
    window.canvas.centerOn(500, 600)
    drag(qtbot, window, [(480, 600), (520, 600)])
    close_window(qtbot, window)
    kept = Project.open(tmp_path / "kept")
    pyramid = LabelPyramid.open(kept.mask_pyramid_path(kept.images()[0].id))
    assert pyramid.read(0, (500, 500, 501, 501))[0, 0] == 1 and pyramid.read(0, (600, 500, 601, 501))[0, 0] == 1
