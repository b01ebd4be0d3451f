"""Large images in the real window: the canvas draws the display level that fits the zoom, a stroke
shows at once at that level, and a large image's prediction reaches the canvas tile by tile."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.project.project import Project
from tests.ui.conftest import wait_for_image
from tests.ui.test_editing import drag


def _screen_colour(window, x, y):
    p = window.canvas.mapFromScene(QPointF(x, y))
    return window.canvas.viewport().grab().toImage().pixelColor(p.x(), p.y()).getRgb()[:3]


def test_zoomed_out_the_canvas_draws_a_coarser_level_and_a_stroke_shows_there_at_once(qtbot, window, tmp_path):
    rgb = np.full((2400, 3600, 3), 90, np.uint8)
    Image.fromarray(rgb).save(tmp_path / "wide.png")
    window.opening.open_paths([tmp_path / "wide.png"])
    wait_for_image(qtbot, window, "wide.png")
    qtbot.waitUntil(lambda: window.session.editor is not None)
    window.canvas.fit()
    level = window.canvas.overlay_item.level_at(window.canvas.zoom)
    assert level >= 2  # a 3600-pixel-wide image in a window less than 1800 wide
    window.canvas.viewport().repaint()
    drawn = {key[0] for key in window.overlay.tiles._tiles}
    assert drawn == {level}  # only tiles of the level on screen were coloured
    before = _screen_colour(window, 1750, 1200)
    qtbot.keyClick(window, Qt.Key.Key_B)  # the brush: the window starts in Navigate
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.tools_panel.size.setValue(200)
    drag(qtbot, window, [(1700, 1200), (1900, 1200)])
    window.canvas.viewport().repaint()
    after = _screen_colour(window, 1750, 1200)
    assert after != before and after[0] > after[2]  # the class colour (red-ish) shows at this zoom
    assert (window.overlay._mask_levels.level(level)[1200 >> level, 1750 >> level]) == 1


def _open_predicted(qtbot, window, tmp_path, checkpoint) -> None:
    """A project of one 256 x 320 image, opened with `checkpoint` and its first (whole) prediction in."""
    root = tmp_path / "proj"
    (root / "images").mkdir(parents=True)
    Image.fromarray(sample_image(0, 256, 320)[0]).save(root / "images" / "big.png")
    project = Project.create(root, SAMPLE_LABELS)
    project.add_images([root / "images"])
    project.set_model_path(checkpoint)
    project.close()
    with qtbot.waitSignal(window.worker.predicted, timeout=30_000):
        window.opening.open_paths([root])
    wait_for_image(qtbot, window, "big.png")
    qtbot.waitUntil(lambda: window.worker.predictor is not None and window.session.editor is not None,
                    timeout=20_000)


def test_a_large_images_prediction_reaches_the_canvas_tile_by_tile(qtbot, window, tmp_path, tiny_checkpoint):
    _open_predicted(qtbot, window, tmp_path, tiny_checkpoint)
    predictor = window.worker.predictor
    predictor.max_pixels, predictor.tile, predictor.overlap = 20_000, 128, 32  # "large": tiled
    window.session.editors.clear()  # so the new prediction is adopted as an untouched image's
    seen = []

    def tile(image_id, done, total, rect, labels):
        y0, x0, y1, x1 = rect
        shown = window.overlay.pixels()[y0:y1, x0:x1] >> 24  # alpha of what the canvas draws there
        seen.append((done, total, window.overlay._partial is not None, bool(shown.any()),
                     window.status.currentMessage()))

    window.worker.tile_predicted.connect(tile)
    window.overlay.set_image_data(np.full((256, 320), 255, np.uint8), None)  # an unlabelled mask
    window._render_overlay()
    window.worker.request(window.current_id, window.current_rgb)
    # every tile of this request (another prediction of the image, whole and untiled, may end first)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == seen[-1][1], timeout=30_000)
    total = seen[-1][1]
    assert total > 1 and [s[0] for s in seen] == list(range(1, total + 1))
    assert all(partial and shown for _, _, partial, shown, _ in seen)  # each tile was on the canvas
    assert seen[0][4] == f"Predicting this image: tile 1 of {total}"
    # the finished prediction replaces the partial tiles
    qtbot.waitUntil(lambda: window.overlay._partial is None, timeout=30_000)
    assert "Predicting" not in window.status.currentMessage()


def test_quitting_during_a_large_images_prediction_is_clean_and_never_blocks(qtbot, window, tmp_path,
                                                                            tiny_checkpoint):
    """Issue 18 point 7 and issue 19 point 3: the window hides at once, the prediction stops at its next
    tile, and the window closes for good only once its threads have ended (no 'QThread: Destroyed while
    thread is still running', no abort)."""
    _open_predicted(qtbot, window, tmp_path, tiny_checkpoint)
    predictor = window.worker.predictor
    predictor.max_pixels, predictor.tile, predictor.overlap = 2_000, 64, 16  # many small tiles
    seen, tiles = [], []

    def quit_now(image_id, done, total, rect, labels):
        tiles.append(done)
        if len(tiles) == 1:
            window.close()  # from the GUI thread, mid-prediction, as a person's Ctrl+Q would
            seen.append((done, total, window.isHidden(), window.closed, window.quitting.done))

    window.worker.tile_predicted.connect(quit_now)
    window.worker.request(window.current_id, window.current_rgb)
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    done, total, hidden, closed, shut_down = seen[0]
    assert done < total and hidden and closed
    assert not shut_down, "close() waited on the GUI thread for the window to shut down"
    with qtbot.waitSignal(window.shut_down, timeout=30_000):
        pass
    assert window.worker.isFinished() and window.lanes.idle()
    QApplication.processEvents()  # any tile report still queued arrives now
    assert len(tiles) < total // 2, f"the prediction went on after the quit ({len(tiles)} of {total} tiles)"
