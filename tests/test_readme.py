"""The README's and the guide's promises that drift silently when code changes: the pretrained-model
table lists the catalogue the app ships, and the README's two set-up commands exist in the Makefile."""

import re
from pathlib import Path

from fcn_studio.model.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PRETRAINED = (ROOT / "docs" / "pretrained-models.md").read_text(encoding="utf-8")


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no '## {title}' section"
    return match.group(1)


def test_pretrained_table_lists_every_catalogue_entry():
    table = _section(PRETRAINED, "The catalogue")
    listed = set(re.findall(r"`([\w.-]+)`", table))
    missing = [name for name in load_catalogue().names() if name not in listed]
    assert not missing, f"docs/pretrained-models.md's catalogue table lacks {missing}"


def test_install_commands_are_make_targets():
    quick = _section(README, "Install and run")
    targets = set(re.findall(r"^make (\w+)$", quick, re.M))
    assert targets == {"run", "test"}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target} target"
