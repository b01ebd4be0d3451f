"""The list filter never moves the person off the image being edited (the real window, offscreen)."""

from PySide6.QtCore import Qt

from tests.ui.conftest import wait_for_image
from tests.ui.test_editing import drag, opened  # noqa: F401 - a fixture


def listed(window) -> list[str]:
    proxy = window.image_list.proxy
    return [proxy.index(r, 0).data() for r in range(proxy.rowCount())]


def test_an_edit_under_the_uncorrected_filter_keeps_the_image_until_the_person_moves_on(qtbot, window, opened):  # noqa: F811
    panel = window.image_list
    panel.state_box.setCurrentIndex(panel.state_box.findData("uncorrected"))
    assert "img_0.png" in listed(window)
    first = window.current_id
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(10, 10), (50, 10)])
    qtbot.waitUntil(lambda: window.project.image(first).state == "corrected"
                    and panel.model.record(first).state == "corrected", timeout=10_000)
    qtbot.wait(50)  # any jump the filter would cause happens within the event loop's next turns
    assert window.current_id == first and panel.current_id() == first and "img_0.png" in window.windowTitle()
    assert "img_0.png" in listed(window)  # still listed, though corrected
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo acts on this image
    assert window.session.flush(10)
    assert window.overlay.mask[10, 30] != 1 and window.current_id == first
    drag(qtbot, window, [(10, 20), (50, 20)])
    qtbot.waitUntil(lambda: panel.model.record(first).state == "corrected", timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_D)  # the person moves on: the corrected image leaves the list
    wait_for_image(qtbot, window, "img_1.png")
    qtbot.waitUntil(lambda: "img_0.png" not in listed(window), timeout=5000)
    assert panel.current_id() == window.current_id
