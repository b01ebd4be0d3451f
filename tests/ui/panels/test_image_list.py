"""The image list on its own: the name filter, and thumbnails made off the GUI thread for the project
that is open (never a previous one's). Real projects, real PNGs, a real list widget (offscreen)."""

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from fcn_studio.ui.panels import image_list
from fcn_studio.ui.panels.image_list import ImageListPanel


def _project(root, names, colour):
    folder = root / "images"
    folder.mkdir(parents=True)
    for name in names:
        Image.fromarray(np.full((40, 60, 3), colour, np.uint8)).save(folder / name)
    project = Project.create(root, SAMPLE_LABELS)
    project.add_images([folder])
    return project


def _show(panel, project):
    records = project.images()
    panel.set_records(records, {r.id: project.image_path(r) for r in records})


def _ask_all_thumbnails(model):
    for row in range(model.rowCount()):
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)


def _centre_colour(pixmap):
    image = pixmap.toImage()
    c = image.pixelColor(image.width() // 2, image.height() // 2)
    return c.red(), c.green(), c.blue()


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = ImageListPanel()
    qtbot.addWidget(p)
    yield p
    p.model.pool.waitForDone(10_000)


def test_the_name_filter_matches_names_with_dashes_and_dots(qtbot, tmp_path, panel):
    project = _project(tmp_path / "p", ["img-01.png", "img_02.png", "a.jpg", "b.png"], (90, 90, 90))
    _show(panel, project)
    rows = panel.proxy.rowCount
    for text, expected in (("img-01", 1), ("a.jpg", 1), ("IMG-01.PNG", 1), (".png", 3), ("img", 2),
                           ("img.01", 0), ("", 4)):
        panel.search.setText(text)
        assert rows() == expected, text


def test_thumbnails_are_made_off_the_gui_thread(qtbot, tmp_path, panel, monkeypatch):
    made_on = []
    real = image_list.make_thumbnail

    def recording(*args, **kwargs):
        made_on.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(image_list, "make_thumbnail", recording)
    project = _project(tmp_path / "p", [f"i{i}.png" for i in range(4)], (200, 30, 30))
    _show(panel, project)
    _ask_all_thumbnails(panel.model)
    qtbot.waitUntil(lambda: len(panel.model._thumbs) == 4, timeout=10_000)
    assert len(made_on) == 4 and threading.get_ident() not in made_on


def test_thumbnails_of_a_closed_project_never_land_on_the_next_ones_images(qtbot, tmp_path, panel):
    red = _project(tmp_path / "red", [f"r{i}.png" for i in range(4)], (220, 20, 20))
    blue = _project(tmp_path / "blue", [f"b{i}.png" for i in range(4)], (20, 20, 220))
    assert [r.id for r in red.images()] == [r.id for r in blue.images()]  # the same ids in both
    _show(panel, red)
    _ask_all_thumbnails(panel.model)
    panel.model.pool.waitForDone(10_000)  # red's thumbnails are made; their results not yet delivered
    _show(panel, blue)
    QApplication.processEvents()  # red's results arrive now, after the switch
    _ask_all_thumbnails(panel.model)
    for row in range(4):  # what the list paints right now: nothing yet, or blue
        pixmap = panel.model.data(panel.model.index(row), Qt.ItemDataRole.DecorationRole)
        assert pixmap is None or _centre_colour(pixmap)[2] > 150, "a thumbnail of the previous project"
    qtbot.waitUntil(lambda: len(panel.model._thumbs) == 4, timeout=10_000)
    for pixmap in panel.model._thumbs.values():
        r, _g, b = _centre_colour(pixmap)
        assert b > 150 and r < 80


def test_a_thumbnail_failure_of_a_closed_project_is_not_pinned_on_the_next_ones_image(qtbot, tmp_path, panel):
    broken = _project(tmp_path / "broken", ["x.png"], (1, 2, 3))
    (tmp_path / "broken" / "images" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    good = _project(tmp_path / "good", ["y.png"], (20, 20, 220))
    _show(panel, broken)
    _ask_all_thumbnails(panel.model)
    panel.model.pool.waitForDone(10_000)
    _show(panel, good)
    QApplication.processEvents()
    assert panel.model.errors == {}
    tip = panel.model.data(panel.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "cannot" not in tip.lower()


def test_the_corrected_badge_stands_out_on_the_selected_row(qtbot, panel):
    """The highlight is nearly the badge's own blue: the badge is ringed so it does not melt into it, and
    it is wide enough for its word."""
    from PySide6.QtGui import QColor, QFont, QImage, QPainter
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    from fcn_studio.project.project import ImageRecord
    from fcn_studio.ui.panels.image_list import ThumbDelegate, badge_rect

    panel.set_records([ImageRecord(1, "a.png", "corrected", 10, 10, None)], {})
    index = panel.proxy.index(0, 0)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 260, 72)
    option.palette = panel.view.palette()
    option.state = QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_Enabled
    highlight = option.palette.highlight().color()
    for point_size in (9, 14):  # a larger font: the word still fits its badge
        image = QImage(260, 72, QImage.Format.Format_RGB32)
        image.fill(QColor("black"))
        painter = QPainter(image)
        font = QFont()
        font.setPointSize(point_size)
        painter.setFont(font)
        ThumbDelegate().paint(painter, option, index)
        metrics = painter.fontMetrics()
        painter.end()
        badge = badge_rect(option.rect, metrics, "corrected")
        assert badge.width() >= metrics.horizontalAdvance("corrected") + 8
        edge = QColor(image.pixel(badge.center().x(), badge.top()))  # the badge's top edge

        def distance(a, b):
            return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())
        assert distance(edge, highlight) > 150, (edge.getRgb(), highlight.getRgb())
