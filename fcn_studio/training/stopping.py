"""How a run is asked to stop, on every platform. The app writes a line "stop" on the backend's stdin
(QProcess.terminate sends WM_CLOSE on Windows, which a console Python never sees), and closing stdin
means the same, so a backend whose app died stops too. SIGTERM and Ctrl+C still work where they exist.
The trainer looks at the flag after every step, so a stop ends the run cleanly between steps."""

from __future__ import annotations

import signal
import sys
import threading
from typing import IO

STOP_LINE = "stop"


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """The person (or the app) asked the run to stop."""


def watch_stdin(flag: threading.Event, stream: IO[str] | None = None) -> threading.Thread:
    """Sets `flag` when a line "stop" arrives or the stream ends; a daemon thread, so it never holds
    the process open."""
    stream = stream if stream is not None else sys.stdin

    def watch() -> None:
        try:
            for line in stream:
                if line.strip().lower() == STOP_LINE:
                    break
        except (OSError, ValueError):
            pass
        flag.set()

    thread = threading.Thread(target=watch, name="stop-on-stdin", daemon=True)
    thread.start()
    return thread


def stop_on_sigterm(flag: threading.Event) -> None:
    """SIGTERM (POSIX, or `kill` from a shell) asks for the same clean stop as the stdin line."""
    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())
