"""The README's promises that drift silently when code changes: its pretrained-model table lists the
catalogue the app ships, and its two set-up commands exist in the Makefile."""

import re
from pathlib import Path

from fcn_studio.model.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_pretrained_table_lists_every_catalogue_entry():
    table = _section("Pretrained models")
    listed = set(re.findall(r"`([\w.-]+)`", table))
    missing = [name for name in load_catalogue().names() if name not in listed]
    assert not missing, f"README's Pretrained models table lacks {missing}"


def test_quick_start_commands_are_make_targets():
    quick = _section("Quick start (fresh machine: Linux or macOS with Python 3.10+, `make` and `git`)")
    targets = set(re.findall(r"^make (\w+)$", quick, re.M))
    assert targets == {"run", "test"}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target} target"
