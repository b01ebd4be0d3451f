"""Setup step: this clone's own light virtualenv (.venv) over the shared heavy one. Run by the shared
venv's Python, it makes ENV (no pip, a few files) whose site-packages reads the shared site-packages
after its own, through a .pth line; `make setup` then installs this clone into ENV in editable mode. So
each clone runs its own code and its own `fcn-studio`, whatever other clones install, and PyTorch's
gigabytes are installed once."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

PTH = "fcn-studio-shared-venv.pth"


def main(env: Path) -> int:
    shared = Path(sysconfig.get_path("purelib"))
    venv.EnvBuilder(clear=True, with_pip=False, symlinks=sys.platform != "win32").create(env)
    python = env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    # addsitedir, not a bare path: the shared site-packages' own .pth files are read too
    (Path(own) / PTH).write_text(f"import site; site.addsitedir({str(shared)!r})\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
