"""How the command line fails, in one place: every command raises, and `run_command` turns what it
raised into one line on stderr and an exit status.

- The app's own errors and the environment's (bad input, a missing or damaged file, a full disk, a
  corrupt project database, a GPU out of memory) print `fcn-studio: error: <message>`, exit 2.
  By convention the layers below raise ValueError (or a subclass: CheckpointError, MaskError,
  ImageLoadError, FormatError, ...) for bad input, with a message that names the file and says why.
- Libraries' warnings go to the log, not to the screen, unless debugging.
- Anything else is a bug: one line that says so and where the traceback was logged, exit 1; with
  `--debug` or FCN_STUDIO_DEBUG=1 the traceback is shown instead.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import traceback
import warnings
from collections.abc import Callable

USER_ERROR = 2
BUG = 1
INTERRUPTED = 130

# App errors that are not ValueErrors, by module: looked up only if the module is loaded (if it is
# not, nothing can have raised them), so failing never imports torch.
_APP_ERRORS = (
    ("fcn_studio.project.errors", "ProjectError"),
    ("fcn_studio.project.schema", "SchemaError"),
    ("fcn_studio.training.runner", "TrainingBusy"),
    ("torch.cuda", "OutOfMemoryError"),
)


def debug_requested(flag: bool = False) -> bool:
    return flag or os.environ.get("FCN_STUDIO_DEBUG", "").strip() not in ("", "0")


def is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.ProgrammingError):  # misuse of the database API: ours
        return False
    if isinstance(exc, ValueError | OSError | sqlite3.DatabaseError):
        return True
    for module, name in _APP_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def one_line(exc: BaseException) -> str:
    """The message on one line; an OSError as `<file>: <reason>` rather than `[Errno 2] ...`."""
    if isinstance(exc, OSError) and exc.strerror:
        name = exc.filename2 if exc.filename2 is not None else exc.filename
        text = f"{os.fsdecode(name)}: {exc.strerror}" if name is not None else exc.strerror
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def run_command(func: Callable[[], int], debug: bool = False) -> int:
    """Runs a command; what it raises becomes one line on stderr and the exit status."""
    with warnings.catch_warnings():
        if not debug_requested(debug):
            warnings.showwarning = _warning_to_log
        try:
            return func()
        except KeyboardInterrupt:
            print("fcn-studio: interrupted", file=sys.stderr)
            return INTERRUPTED
        except Exception as exc:  # noqa: BLE001 (this is the one place that decides how commands fail)
            if debug_requested(debug):
                raise
            if is_user_error(exc):
                print(f"fcn-studio: error: {one_line(exc)}", file=sys.stderr)
                return USER_ERROR
            print(bug_line(exc), file=sys.stderr)
            return BUG


def bug_line(exc: BaseException) -> str:
    from fcn_studio.core.logfile import append_to_log  # noqa: PLC0415

    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log = append_to_log(f"command line: {' '.join(sys.argv)}\n{details}")
    where = f"the traceback is in {log}" if log else "the log could not be written"
    return (f"fcn-studio: internal error (a bug in FCN Studio, please report it): {type(exc).__name__}: "
            f"{one_line(exc)}; {where}; run with --debug or FCN_STUDIO_DEBUG=1 to see it here")


def _warning_to_log(message, category, filename, lineno, file=None, line=None) -> None:
    """FCN Studio says what a person must know in its own messages; what libraries warn about
    (torch on a refused pickle, say) is for whoever reads the log."""
    from fcn_studio.core.logfile import append_to_log  # noqa: PLC0415

    append_to_log(f"{category.__name__}: {' '.join(str(message).split())} ({filename}:{lineno})", "WARNING")
