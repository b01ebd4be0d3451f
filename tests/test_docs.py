"""The documentation's promises that drift silently when the code changes: the command-line reference
is what the parser says, every relative link and anchor leads somewhere, and every command in a
```sh or ```bash block of README.md, CHANGELOG.md and docs/ names a real command with real options
(a `make` target the Makefile has, a script that exists and takes those options)."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from fcn_studio.cli.entry import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _load_gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_what_the_parser_says(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # render() sets its own width; this restores the test's after
    monkeypatch.setenv("NO_COLOR", "1")
    gen = _load_gen_cli()
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "docs/cli.md is stale: run make docs"


def test_cli_reference_has_every_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in ("model new", "model convert", "model info", "model list", "model get", "project new",
                    "project add", "train", "export", "import", "predict", "eval", "bench"):
        assert f"\n## fcn-studio {command}\n" in text, command


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings (and of explicit <a id=...> tags)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set(re.findall(r'<a id="([^"]+)"', text))
    for title in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        base, n = slug, 1
        while slug in found:  # a repeated heading gets -1, -2, ...
            slug, n = f"{base}-{n}", n + 1
        found.add(slug)
    return found


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return LINK.findall(text)


def test_docs_exist():
    names = {p.name for p in PAGES}
    for name in ("README.md", "CHANGELOG.md", "cli.md", "formats.md", "benchmarks.md", "troubleshooting.md",
                 "projects.md", "correcting.md", "keep-learning.md", "import-export.md", "pretrained-models.md",
                 "shortcuts.md"):
        assert name in names, name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for target in _links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ... are not checked (no network in tests)
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with that anchor in {dest.name}")
    assert not broken, f"{page.name}: {broken}"


# -- commands --------------------------------------------------------------------------------------


def _commands(page: Path) -> list[str]:
    """Each command of the page's ```sh / ```bash blocks, continuation lines joined, comments dropped."""
    found = []
    for lang, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if lang not in ("sh", "bash", "shell"):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def _subparser(parser, words: list[str]):
    """The (sub)parser a command line reaches, and the words left after the command names."""
    import argparse  # noqa: PLC0415

    while words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or words[0] not in subs[0].choices:
            break
        parser, words = subs[0].choices[words[0]], words[1:]
    return parser, words


def _check_fcn_studio(words: list[str]) -> list[str]:
    """The options a command line uses exist on the command it names, with allowed values."""
    parser, rest = _subparser(build_parser(), words)
    options = {s: a for a in parser._actions for s in a.option_strings}
    problems = []
    for i, word in enumerate(rest):
        if not word.startswith("--"):
            continue
        name, _, value = word.partition("=")
        action = options.get(name)
        if action is None:
            problems.append(f"{parser.prog} has no {name}")
            continue
        value = value or (rest[i + 1] if i + 1 < len(rest) and action.nargs != 0 else "")
        if action.choices and value and not value.startswith("-") and value not in action.choices:
            problems.append(f"{parser.prog} {name}: {value!r} is not one of {list(action.choices)}")
    return problems


def _check_script(script: Path, words: list[str]) -> list[str]:
    if not script.is_file():
        return [f"{script.relative_to(ROOT)}: no such file"]
    source = script.read_text(encoding="utf-8")
    return [f"{script.name} takes no {w}" for w in words if w.startswith("--") and f'"{w.split("=")[0]}"' not in source]


def check_command(line: str) -> list[str]:
    """What is wrong with one documented command line (empty: nothing)."""
    words = shlex.split(line)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # FOO=bar before the command
        words = words[1:]
    if not words:
        return []
    head, rest = words[0], words[1:]
    if head in ("source", ".") and rest == [".venv/bin/activate"]:  # the clone's environment, made by make
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        return [] if "ENV := $(CURDIR)/.venv" in makefile else ["the Makefile no longer makes .venv"]
    if head.endswith("/fcn-studio"):  # .venv/bin/fcn-studio
        head = "fcn-studio"
    if head == "make":
        targets = [w for w in rest if "=" not in w and not w.startswith("-")]
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        return [f"Makefile has no {t} target" for t in targets if not re.search(rf"^{re.escape(t)}:", makefile, re.M)]
    if head == "fcn-studio":
        return _check_fcn_studio(rest)
    if head == "torchrun":
        rest = rest[rest.index("-m") + 1:] if "-m" in rest else rest
        head, rest = "python", ["-m", *rest]
    if head.endswith("python") or head.endswith("python3"):
        if rest[:2] == ["-m", "fcn_studio"]:
            return _check_fcn_studio(rest[2:])
        if rest[:2] == ["-m", "fcn_studio.training"]:
            return _check_fcn_studio(["train", *rest[2:]])
        if rest and rest[0].endswith(".py"):
            return _check_script(ROOT / rest[0], rest[1:])
    return [f"no check knows {head!r}: teach tests/test_docs.py, or use a ```text block"]


def test_every_documented_command_names_real_commands_and_options():
    problems = [f"{page.name}: `{line}`: {p}"
                for page in PAGES for line in _commands(page) for p in check_command(line)]
    assert not problems, "\n".join(problems)
    assert sum(len(_commands(p)) for p in PAGES) > 10  # the check found the blocks at all


def test_the_command_check_catches_mistakes():
    assert check_command("fcn-studio export P --format voc --out D") == []
    assert check_command("fcn-studio export P --format pascal --out D")  # not a choice
    assert check_command("fcn-studio export P --fromat voc --out D")  # not an option
    assert check_command("fcn-studio model get NAME --from-file PATH") == []
    assert check_command("make nosuchtarget")
    assert check_command("python benchmarks/loop_bench.py --no-such-flag")
    assert check_command("python benchmarks/no_such_bench.py")


def test_readme_setup_commands_are_the_makefile_and_ci_ones():
    """The README's two set-up commands: one sets up and launches the app, one sets up and tests; CI
    runs the README's test command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [body.strip() for lang, body in FENCE.findall(readme) if lang in ("sh", "bash")]
    assert "make run" in blocks and "make test" in blocks
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    assert len(readme.splitlines()) <= 150, "the README is a front page: keep it under ~150 lines"
