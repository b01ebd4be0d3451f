"""Label sets: class names, colours and the ignore index, travelling with masks, checkpoints, exports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)
IGNORE_INDEX = 255


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """Pascal VOC's bit-interleaved palette, so our masks look the same as VOC's in any viewer."""
    colours = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours.append((r, g, b))
    return colours


VOC_COLORMAP = tuple(voc_colormap())


@dataclass(frozen=True)
class LabelSet:
    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...] = field(default=())
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self) -> None:
        names = tuple(str(n).strip() for n in self.names)
        if not names:
            raise ValueError("a label set needs at least one class")
        if len(names) > 255:
            raise ValueError(f"at most 255 classes fit in a uint8 mask beside the ignore index, got {len(names)}")
        if any(not n for n in names):
            raise ValueError("class names must not be empty")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"class names must be unique; repeated: {', '.join(dupes)}")
        colors = tuple(tuple(int(v) for v in c) for c in self.colors) or VOC_COLORMAP[: len(names)]
        if len(colors) != len(names):
            raise ValueError(f"{len(names)} classes but {len(colors)} colours")
        for c in colors:
            if len(c) != 3 or not all(0 <= v <= 255 for v in c):
                raise ValueError(f"a colour is three values in 0..255, got {c}")
        if not 0 <= self.ignore_index <= 255 or self.ignore_index < len(names):
            raise ValueError(f"ignore index {self.ignore_index} must be in {len(names)}..255")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "colors", colors)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def voc(cls) -> LabelSet:
        return cls(VOC_CLASSES)

    def palette(self) -> list[int]:
        """A 768-entry PNG palette: our colours first, VOC's for the rest, so 255 keeps VOC's cream."""
        entries = list(VOC_COLORMAP)
        entries[: len(self.colors)] = self.colors
        return [v for rgb in entries for v in rgb]

    def to_dict(self) -> dict:
        return {"names": list(self.names), "colors": [list(c) for c in self.colors],
                "ignore_index": self.ignore_index}

    @classmethod
    def from_dict(cls, data: dict) -> LabelSet:
        try:
            return cls(tuple(data["names"]), tuple(tuple(c) for c in data.get("colors", ())),
                       int(data.get("ignore_index", IGNORE_INDEX)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a label set: {exc}") from exc

    @classmethod
    def from_file(cls, path: str | Path) -> LabelSet:
        """Reads a JSON label set, or a text file of names, one per line, optionally `name r g b`
        or CVAT's labelmap.txt (`name:r,g,b::`)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read label file {path}: {exc}") from exc
        if path.suffix.lower() == ".json":
            try:
                return cls.from_dict(json.loads(text))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        names, colors = [], []
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                name, color = _parse_label_line(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from exc
            names.append(name)
            colors.append(color)
        if any(c is None for c in colors):
            colors = [c if c is not None else VOC_COLORMAP[i] for i, c in enumerate(colors)]
        try:
            return cls(tuple(names), tuple(colors))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @classmethod
    def parse(cls, spec: str) -> LabelSet:
        """`voc` or a path, as the CLI's --classes takes it."""
        if spec.lower() == "voc":
            return cls.voc()
        return cls.from_file(spec)


def _parse_label_line(line: str) -> tuple[str, tuple[int, int, int] | None]:
    if ":" in line:  # CVAT / VOC labelmap: name:r,g,b:parts:actions
        name, _, rest = line.partition(":")
        rgb = rest.split(":")[0].strip()
        return name.strip(), (tuple(int(v) for v in rgb.split(",")) if rgb else None)
    parts = line.split()
    if len(parts) >= 4 and all(p.isdigit() for p in parts[-3:]):
        return " ".join(parts[:-3]), tuple(int(p) for p in parts[-3:])
    return line, None
