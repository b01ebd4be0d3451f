"""torchvision's models are imported in the background once the window shows, so the first model made
(a new project's default) does not hold the GIL while an image opens; nothing before that needs them."""

import os
import subprocess
import sys

CHECK = """
import sys
import fcn_studio.ui.app as app
import fcn_studio.ui.window.main_window
assert "torchvision" not in sys.modules, "imported before the window shows"
thread = app.warm_up_torchvision()
assert thread.daemon
thread.join(120)
assert "torchvision.models" in sys.modules
"""


def test_torchvision_comes_in_the_background_after_the_window_not_before():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-2000:]
