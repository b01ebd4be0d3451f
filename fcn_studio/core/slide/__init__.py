"""Whole-slide and gigapixel images, read tile by tile without ever holding the image (no torch, no Qt)."""

from fcn_studio.core.slide.opening import is_slide, open_slide
from fcn_studio.core.slide.source import Level, SlideSource
from fcn_studio.core.slide.tile_cache import TileCache, shared_cache

__all__ = ["Level", "SlideSource", "TileCache", "is_slide", "open_slide", "shared_cache"]
