"""The application itself ends when the person quits: the window hides at once (quitting never blocks
the GUI thread) and the process exits once the window's threads have ended, with status 0."""

import os
import subprocess
import sys

from PIL import Image

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.project.project import Project

QUIT_WHEN_SHOWN = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from fcn_studio.ui import app
from fcn_studio.ui.errors import log_only

log_only()
qapp = QApplication(sys.argv[:1])

def quit_once_shown():
    windows = [w for w in qapp.topLevelWidgets() if hasattr(w, "shut_down") and w.isVisible()]
    shown = windows and windows[0].workspace.ready
    if not shown:
        QTimer.singleShot(50, quit_once_shown)
        return
    windows[0].close()  # as File > Quit does
    assert not windows[0].isVisible(), "the window did not hide at once"
    print("closed", flush=True)

QTimer.singleShot(50, quit_once_shown)
sys.exit(app.run_app([sys.argv[1]]))
"""


def test_quitting_ends_the_process(tmp_path):
    (tmp_path / "images").mkdir()
    Image.fromarray(sample_image(0, 96, 128)[0]).save(tmp_path / "images" / "a.png")
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([tmp_path / "images"])
    project.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "FCN_STUDIO_DEFAULT_BACKBONE": "mobilenet_v3_small",
           "TMPDIR": str(tmp_path)}  # sessions left by others are not this app's to offer
    proc = subprocess.run([sys.executable, "-c", QUIT_WHEN_SHOWN, str(tmp_path / "proj")], capture_output=True,
                          text=True, timeout=240, env=env)
    assert proc.returncode == 0 and "closed" in proc.stdout, proc.stderr[-3000:]
    assert "QThread: Destroyed while thread is still running" not in proc.stderr
