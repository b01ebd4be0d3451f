"""Where FCN Studio keeps what it can make again (downloaded and converted models, ImageNet encoders,
thumbnails): one rule for every kind, so one setting moves the whole cache.

- `$XDG_CACHE_HOME/fcn-studio/<kind>` where XDG_CACHE_HOME is set (and absolute, as the spec asks);
  else `~/Library/Caches/fcn-studio/<kind>` on macOS, `%LOCALAPPDATA%\\fcn-studio\\<kind>` on Windows,
  `~/.cache/fcn-studio/<kind>` elsewhere.
- `FCN_STUDIO_CACHE_DIR` overrides it: that folder is the models folder itself (as the README has
  always said, so existing caches, CI and tests keep working), and the other kinds live in it, in a
  folder named after them."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "FCN_STUDIO_CACHE_DIR"
APP_FOLDER = "fcn-studio"
MODELS = "models"
THUMBNAILS = "thumbnails"


def platform_cache_root(platform: str = sys.platform, env: Mapping[str, str] = os.environ,
                        home: Path | None = None) -> Path:
    """The user's cache folder (shared by every application): $XDG_CACHE_HOME where set and absolute,
    else ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows, ~/.cache elsewhere."""
    home = home if home is not None else Path.home()
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    if platform == "darwin":
        return home / "Library" / "Caches"
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        return Path(local) if local else home / "AppData" / "Local"
    return home / ".cache"


def cache_folder(kind: str, platform: str = sys.platform, env: Mapping[str, str] = os.environ,
              home: Path | None = None) -> Path:
    """FCN Studio's cache folder for `kind` (MODELS, THUMBNAILS), whether or not it exists yet."""
    override = env.get(CACHE_ENV, "")
    if override:
        return Path(override) if kind == MODELS else Path(override) / kind
    return platform_cache_root(platform, env, home) / APP_FOLDER / kind
