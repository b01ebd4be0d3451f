"""Where the user guide is, for the help inside the app (the F1 dialog, the empty window's first-run
text): the one guide in docs/, so the app and the repository never tell two stories. A clone or a
source install has docs/ beside the package and the app links to the file; an installed package that
names a documentation URL in its metadata links there; otherwise the app names the page in words."""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

GUIDE_PAGE = "docs/README.md"  # the guide's front page, relative to the repository root
WHERE = "docs/README.md in FCN Studio's source"


def guide_file() -> Path | None:
    """docs/README.md of the clone this package runs from, if it is there."""
    page = Path(__file__).resolve().parents[2] / GUIDE_PAGE
    return page if page.is_file() else None


@cache
def _documentation_url() -> str | None:
    """The Documentation (else Homepage) URL of the installed distribution's metadata, if any."""
    try:
        urls = metadata.metadata("fcn-studio").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    named = dict(u.split(", ", 1) for u in urls if ", " in u)
    return next((named[k] for k in ("Documentation", "Homepage") if k in named), None)


def guide_url() -> QUrl | None:
    page = guide_file()
    if page is not None:
        return QUrl.fromLocalFile(str(page))
    url = _documentation_url()
    return QUrl(url) if url else None


def guide_link_html(text: str = "the user guide") -> str:
    """Rich text for a QLabel with openExternalLinks on: a link where there is somewhere to go."""
    url = guide_url()
    if url is None:
        return f"{text} ({WHERE})"
    return f'<a href="{url.toString()}">{text}</a>'


def guide_hint() -> str:
    """Plain words for the places that cannot hold a link (the empty canvas)."""
    page = guide_file()
    return f"The user guide: {page}" if page is not None else f"The user guide: {_documentation_url() or WHERE}"


def open_guide() -> bool:
    """Opens the guide in the system's viewer (browser or editor); False when there is nothing to open.
    For a Help > User Guide action."""
    url = guide_url()
    return url is not None and QDesktopServices.openUrl(url)
