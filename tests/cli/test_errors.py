"""Every subcommand, given bad arguments or broken files, fails with one line on stderr and a
non-zero status, never a traceback; a genuine bug says it is one and where its traceback went."""

import pickle
import random
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main

# (arguments, expected exit status); {T} is a working tiny checkpoint. Each runs in the `ws` folder.
CASES = [
    ("model", 2), ("model new", 2), ("model new --out", 2),
    ("model new --classes nofile.txt --weights none --out x.safetensors", 2),
    ("model new --classes badclasses.txt --weights none --out x.safetensors", 2),
    ("model new --weights nofile.pth --out x.safetensors", 2),
    ("model new --weights random.pth --backbone mobilenet_v3_small --out x.safetensors", 2),
    ("model new --weights pickle.pth --backbone mobilenet_v3_small --out x.safetensors", 2),
    ("model new --weights none --backbone mobilenet_v3_small --out afile.txt/x.safetensors", 2),
    ("model new --alignment classic --backbone resnet18 --weights none --out x.safetensors", 2),
    ("model info nofile.safetensors", 2), ("model info random.safetensors", 2),
    ("model info pickle.safetensors", 2), ("model info notproj", 2),
    ("model convert nofile.pth out.safetensors", 2), ("model convert random.pth out.safetensors", 2),
    ("model convert pickle.pth out.safetensors", 2),
    ("project", 2), ("project new afile.txt", 2), ("project new proj", 2), ("project new afile.txt/sub", 2),
    ("project new p2 --classes nofile.txt", 2), ("project new p3 --classes random.safetensors", 2),
    ("project add notproj imgs", 2), ("project add afile.txt imgs", 2), ("project add corruptproj imgs", 2),
    ("project add nodir imgs", 2), ("project add proj nofile.png", 1),
    ("train notproj --device cpu", 1), ("train corruptproj --device cpu", 1), ("train proj --device nonsense", 1),
    ("train proj --iterations x", 2),
    ("export notproj --format voc --out e1", 2), ("export afile.txt --format voc --out e1", 2),
    ("export corruptproj --format voc --out e1", 2), ("export nodir --format voc --out e1", 2),
    ("export proj --format voc --out afile.txt", 2), ("export proj --format voc --out e2 --remap x", 2),
    ("export proj --format nope --out e1", 2),
    ("import notproj imgs", 2), ("import afile.txt imgs", 2), ("import corruptproj imgs", 2),
    ("import nodir imgs", 2), ("import proj nodir", 2), ("import proj imgs --format coco", 2),
    ("predict imgs --model nofile.safetensors --out o", 2), ("predict imgs --model random.safetensors --out o", 2),
    ("predict imgs --model pickle.safetensors --out o", 2), ("predict imgs --model notproj --out o", 2),
    ("predict corrupt.jpg --model {T} --out o", 1), ("predict notproj --model {T} --out o", 2),
    ("predict imgs --model {T} --out afile.txt", 2), ("predict imgs --model {T} --out o --device nonsense", 2),
    ("predict imgs --model {T} --out o --tile 0", 2), ("predict imgs --model {T} --out o --batch x", 2),
    ("eval --model random.safetensors --images imgs --masks masks_dir", 2),
    ("eval --model {T} --images nodir --masks masks_dir", 2), ("eval --model {T} --images imgs --masks nodir", 2),
    ("eval --model {T} --images afile.txt --masks masks_dir", 2),
    ("bench --models nonsense --device cpu --repeat 1 --size 32", 2), ("bench --device nonsense --size 32", 2),
    ("bench --size 0 --device cpu", 2), ("bench --batch 0 --size 32 --device cpu", 2), ("--nope", 2),
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A folder of good and broken things: a tiny model, random bytes and a pickle posing as
    checkpoints, a file where a folder belongs, a folder that is not a project, a corrupt image,
    a project whose project.sqlite is not a database."""
    root = tmp_path_factory.mktemp("ws")
    assert main(["model", "new", "--backbone", "mobilenet_v3_small", "--weights", "none",
                 "--out", str(root / "tiny.safetensors")]) == 0
    noise = random.Random(0).randbytes(4096)
    (root / "random.safetensors").write_bytes(noise)
    (root / "random.pth").write_bytes(noise)
    (root / "pickle.safetensors").write_bytes(pickle.dumps({"a": 1}))
    (root / "pickle.pth").write_bytes(pickle.dumps({"a": 1}))
    (root / "afile.txt").write_text("hello\n")
    (root / "notproj").mkdir()
    (root / "imgs").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "imgs" / "ok.png")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (root / "corruptproj" / "masks").mkdir(parents=True)
    (root / "corruptproj" / "project.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    (root / "badclasses.txt").write_text("a\na\n")
    (root / "masks_dir").mkdir()
    assert main(["project", "new", str(root / "proj")]) == 0
    return root


def run_main(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("line", "status"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_a_nonzero_status(ws, line, status, capsys, monkeypatch):
    monkeypatch.chdir(ws)
    capsys.readouterr()
    code, err = run_main(shlex.split(line.format(T="tiny.safetensors")), capsys)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("predict:", "train:"))]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert code == status, err


def test_a_bug_is_one_line_that_says_so_and_where_the_traceback_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FCN_STUDIO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("FCN_STUDIO_DEBUG", raising=False)
    from fcn_studio.cli.errors import run_command

    def buggy() -> int:
        return {}["missing"]

    assert run_command(buggy) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "a bug" in err and "KeyError" in err and str(tmp_path / "logs") in err
    log = (tmp_path / "logs" / "fcn-studio.log").read_text()
    assert "Traceback" in log and "buggy" in log
    with pytest.raises(KeyError):
        run_command(buggy, debug=True)
    monkeypatch.setenv("FCN_STUDIO_DEBUG", "1")
    with pytest.raises(KeyError):
        run_command(buggy)


def test_debug_shows_the_traceback_of_a_real_failure(tmp_path):
    """Through a real process: without --debug one line, with it the traceback."""
    cmd = [sys.executable, "-m", "fcn_studio", "model", "info", str(tmp_path / "none.safetensors")]
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    debug = subprocess.run(cmd[:3] + ["--debug"] + cmd[3:], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "CheckpointError" in debug.stderr


def test_library_warnings_go_to_the_log_not_the_screen(ws, capsys, monkeypatch, tmp_path):
    """torch warns (in two lines, with its source line) while refusing a pickle."""
    monkeypatch.chdir(ws)
    monkeypatch.setenv("FCN_STUDIO_LOG_DIR", str(tmp_path))
    code, err = run_main(["model", "convert", "pickle.pth", "out.safetensors"], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("fcn-studio: error: pickle.pth: refused")
    assert "pickle protocol" in (tmp_path / "fcn-studio.log").read_text()
