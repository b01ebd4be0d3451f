"""A guard against a reference-count bug of shiboken6 6.12 under Python 3.11: every call of a Qt method
that returns nothing (void) takes one reference from `None` without having given one (shiboken now
assumes Python 3.12's immortal None). None's count starts near 5,000, so after a few thousand such
calls (a few seconds of painting: each paint calls several) Python aborts with "none_dealloc:
deallocating None". Making None's count huge at start-up, as 3.12 does, keeps the app alive; on 3.12
and later, or with another shiboken, nothing is done."""

from __future__ import annotations

import ctypes
import sys

IMMORTAL = 1 << 40


def guard() -> bool:
    """Raises None's reference count out of reach (CPython 3.11 and earlier with shiboken6 6.12)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    try:
        import shiboken6  # noqa: PLC0415
    except ImportError:
        return False
    if not shiboken6.__version__.startswith("6.12"):
        return False
    count = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is a PyObject's first field
    if count.value < IMMORTAL:
        count.value += IMMORTAL
    return True


guard()
