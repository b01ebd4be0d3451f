"""Opening a slide: which reader a path needs, and a one-line error naming the file for anything that
is not a readable tiled image (so the image list can say why, as it does for ordinary images)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fcn_studio.core.image_io import ImageLoadError
from fcn_studio.core.slide.source import SlideSource, _LevelArray, _TiffTiles
from fcn_studio.core.slide.tile_cache import TileCache

TIFF_SUFFIXES = (".tif", ".tiff", ".svs", ".ndpi", ".scn", ".bif", ".btf", ".tf8", ".qptiff")
ZARR_SUFFIXES = (".zarr", ".ome.zarr")


def is_zarr(path: Path) -> bool:
    return path.suffix.lower() == ".zarr" or (path.is_dir() and any(
        (path / name).is_file() for name in ("zarr.json", ".zattrs", ".zgroup")))


SCANNER_SUFFIXES = (".svs", ".ndpi", ".scn", ".bif", ".qptiff")


def is_slide(path: str | Path) -> bool:
    """Whether `path` is for the slide reader rather than the flat loader: an OME-Zarr folder, a
    scanner's format, or a TIFF with reduced levels or more pixels than FCN_STUDIO_MAX_PIXELS. A small
    flat TIFF stays an ordinary image. Reads only the TIFF's header; False for what it cannot read."""
    path = Path(path)
    if is_zarr(path) or path.suffix.lower() in SCANNER_SUFFIXES:
        return True
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        return False
    import tifffile

    from fcn_studio.core.image_io import max_pixels

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = series.levels[0].keyframe
            h, w = page.imagelength, page.imagewidth
            return len(series.levels) > 1 or h * w > max_pixels()
    except Exception:  # noqa: BLE001 - not a TIFF tifffile reads: the flat loader says why
        return False


def open_slide(path: str | Path, cache: TileCache | None = None) -> SlideSource:
    """The slide at `path` (a TIFF-like file or an OME-Zarr folder), its tiles read through `cache`
    (default: the process's shared one). Raises ImageLoadError."""
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(path, "no such file")
    try:
        if is_zarr(path):
            return _open_zarr(path, cache)
        if path.is_dir():
            raise ImageLoadError(path, "is a folder, not a slide (an OME-Zarr folder holds zarr.json or .zattrs)")
        return _open_tiff(path, cache)
    except ImageLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile, zarr and json raise many kinds; one line for all
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(path, f"not a slide FCN Studio can read ({reason})") from exc


def _open_tiff(path: Path, cache: TileCache | None) -> SlideSource:
    import tiffslide  # imported here: opening an ordinary project never pays for it

    logging.getLogger("tifffile").setLevel(logging.ERROR)  # its warnings become our one-line error
    slide = tiffslide.TiffSlide(path)
    try:
        if not slide.ts_tifffile.pages:
            raise ImageLoadError(path, "the TIFF holds no image")
        axes = slide.properties["tiffslide.series-axes"]
        group = slide.zarr_group
        arrays = [_LevelArray(group[str(k)], axes) for k in range(slide.level_count)]
        series = slide.ts_tifffile.series[0]
        if len(series.levels) == len(arrays):
            pages = [lv.keyframe for lv in series.levels]
            handle = slide.ts_tifffile.filehandle
            arrays = [_TiffTiles(a.array, axes, page, handle) if a.channels in (1, 3) and _TiffTiles.fits(page, a)
                      else a for a, page in zip(arrays, pages, strict=True)]
        return SlideSource(path, arrays, cache, closer=slide.close)
    except BaseException:
        slide.close()
        raise


def _open_zarr(path: Path, cache: TileCache | None) -> SlideSource:
    import zarr

    group = zarr.open_group(str(path), mode="r")
    attrs = dict(group.attrs)
    ome = attrs.get("ome", attrs)  # NGFF 0.5 nests its metadata under "ome"
    multiscales = ome.get("multiscales")
    if not multiscales:
        raise ImageLoadError(path, "an OME-Zarr image needs 'multiscales' metadata; found keys "
                                   + json.dumps(sorted(attrs)))
    first = multiscales[0]
    axes = "".join(_axis_name(a) for a in first.get("axes", ["y", "x"]))
    arrays = [_LevelArray(group[d["path"]], axes) for d in first["datasets"]]
    if not arrays:
        raise ImageLoadError(path, "the OME-Zarr image lists no datasets")
    return SlideSource(path, arrays, cache)


def _axis_name(axis) -> str:
    name = axis["name"] if isinstance(axis, dict) else str(axis)
    return {"c": "C", "t": "T", "z": "Z", "y": "Y", "x": "X"}.get(name.lower(), "Q")
