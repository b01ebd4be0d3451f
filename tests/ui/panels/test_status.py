"""A long status message ends before the fields at the right (size, zoom, model, device), with a gap,
instead of running into them cut mid-letter."""

from PySide6.QtWidgets import QMainWindow

from fcn_studio.ui.panels.status import StatusBar

LONG = ("Stopping the training run before quitting (its last checkpoint is kept)... and a long tail of words "
        "that goes on and on past every field of the status bar")


def test_a_long_message_stops_short_of_the_fields_at_the_right(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = StatusBar(window)
    window.setStatusBar(bar)
    window.resize(900, 100)
    window.show()
    bar.set_size(12000, 9000)
    bar.set_zoom(0.35)
    bar.model.setText("fcn8s_vgg16_voc_converted.safetensors")
    bar.device.setText("cuda:0")
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bar.model.width() >= bar.model.sizeHint().width() and bar.size.x() > 300, timeout=5000)
    empty = bar.grab().toImage()
    bar.showMessage(LONG, 0)
    shown = bar.grab().toImage()
    assert bar.currentMessage() == LONG  # the whole of it, for whoever asks
    x0 = bar.size.x()
    strip = [(x, y) for x in range(x0 - 10, x0) for y in range(shown.height())]
    assert all(shown.pixel(x, y) == empty.pixel(x, y) for x, y in strip)  # nothing drawn right before the field
    assert any(shown.pixel(x, y) != empty.pixel(x, y) for x in range(6, 200) for y in range(shown.height()))
