"""A window left maximised (or large) on a big screen opens sensibly on a small one: maximised again, or
at the first size, never the two thirds of the screen Qt falls back to (856 x 480 on 1280 x 720). Each
start is a real app process on an offscreen screen of the given size."""

import json
import os
import subprocess
import sys

import pytest

START = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from fcn_studio.ui import errors
errors.log_only()
from fcn_studio.ui.window.main_window import MainWindow
settings_file, how = sys.argv[1], sys.argv[2]
w = MainWindow(settings=QSettings(settings_file, QSettings.Format.IniFormat))
if how == "maximise":
    w.showMaximized()
elif how == "large":
    w.show()
    w.resize(1800, 1000)
else:
    w.show()
for _ in range(50):
    app.processEvents()
free = w.screen().availableGeometry()
print(json.dumps({"size": [w.width(), w.height()], "maximised": w.isMaximized(),
                  "screen": [free.width(), free.height()]}), flush=True)
w.close()
while not w.quitting.done:
    app.processEvents()
"""


def _start(tmp_path, screen, how):
    width, height = screen
    config = tmp_path / f"screen_{width}x{height}.json"
    config.write_text(json.dumps({"screens": [{"name": "screen", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "XDG_CACHE_HOME": str(tmp_path / "c"),
           "FCN_STUDIO_DEFAULT_BACKBONE": "mobilenet_v3_small", "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", START, str(tmp_path / "settings.ini"), how], capture_output=True,
                          text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("how", ["maximise", "large"])
def test_a_window_left_on_a_big_screen_opens_sensibly_on_a_small_one(tmp_path, how):
    big = _start(tmp_path, (1920, 1080), how)
    assert big["screen"] == [1920, 1080] and big["maximised"] == (how == "maximise")
    small = _start(tmp_path, (1280, 720), "show")
    assert small["screen"] == [1280, 720]
    width, height = small["size"]
    assert small["maximised"] == (how == "maximise")
    assert width >= 1200 and height >= 640  # the screen's width, and its height less a frame
    assert width <= 1280 and height <= 720
