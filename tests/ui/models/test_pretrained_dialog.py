"""Model > Get Pretrained Model... and the new-project offer, driven as a person would, against a real
HTTP server on the loopback (tests/model/loopback.py) and a catalogue file pointing at it. The model
cache is under the test's XDG_CACHE_HOME; nothing here contacts the catalogue's real URLs."""

from __future__ import annotations

import io
import shutil
import socket
import threading

import pytest
import torch
import torchvision

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.model.cache import catalogue_checkpoint_path, encoder_cache_path, models_cache_dir
from fcn_studio.model.checkpoint import read_info
from fcn_studio.model.install import CONVERTERS
from fcn_studio.project.project import Project
from fcn_studio.ui.models.pretrained_dialog import COLUMNS
from fcn_studio.ui.models.pretrained_offer import DONT_ASK_KEY
from tests.model.loopback import Route, entry, payload, serve, use_catalogue

ENCODER = "mobilenet_v3_small-test"  # the window fixture makes mobilenet_v3_small the default backbone


@pytest.fixture(scope="module")
def encoder_bytes() -> bytes:
    """A torchvision-format MobileNetV3-Small state dict (random weights: the install path is what is
    tested, not ImageNet accuracy), as a .pth file's bytes."""
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), buf)
    return buf.getvalue()


@pytest.fixture
def server(monkeypatch):
    for var in ("FCN_STUDIO_CACHE_DIR", "FCN_STUDIO_MODEL_MIRROR", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield from serve()


@pytest.fixture
def catalogue(server, tmp_path, monkeypatch, encoder_bytes):
    """A catalogue of three: the encoder (served), a VOC model (its label set is VOC's), and a torchvision
    segmentation model (only ever partly downloaded here). Returns the encoder's route."""
    route = Route(encoder_bytes)
    server.routes["/enc.pth"] = route
    voc = LabelSet.voc()
    use_catalogue(
        tmp_path, monkeypatch,
        entry(ENCODER, "mobilenet_v3_small-test.pth", [f"{server.base}/enc.pth"], encoder_bytes, fmt="state-dict",
              arch="encoder", backbone="mobilenet_v3_small", licence="BSD-3-Clause (test)"),
        entry("fcn8s-voc-test", "fcn8s-test.caffemodel", [f"{server.base}/voc.caffemodel"], payload(),
              fmt="caffemodel", classes="voc", size=300_000,
              accuracy=[{"metric": "mean IoU", "value": 65.5, "dataset": "VOC2011 seg11valid",
                         "source": "the FCN README"}]),
        entry("tv-test", "tv.pth", [f"{server.base}/tv.pth"], payload(seed=3)),
        label_sets={"voc": {"classes": [{"name": n, "colour": list(c)}
                                        for n, c in zip(voc.names, voc.colors, strict=True)]}})
    return route


def _project(window, tmp_path, qtbot, name="proj", labels=SAMPLE_LABELS, offer=False):
    """A new project with its default model loaded; `offer`: whether offers are allowed (None: as set)."""
    if offer is not None:
        window.settings.setValue(DONT_ASK_KEY, not offer)
    window.opening.new_project(tmp_path / name, labels=labels)
    qtbot.waitUntil(lambda: window.status.model.text().startswith("default-"), timeout=60_000)
    return window.project


def _open_dialog(window):
    window.actions["pretrained"].trigger()
    dialog = window.pretrained.dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    return dialog


def _started(server) -> bool:
    """The encoder's first piece is out (and the rest waits at the route's gate)."""
    return any(r["sent"] > 0 for r in server.requests_for("/enc.pth"))


def _idle(window):
    return lambda: not window.pretrained._stops


def test_the_list_shows_the_catalogue_and_what_is_on_this_machine(qtbot, window, catalogue, tmp_path):
    part = models_cache_dir() / "downloads" / "tv.pth.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 2**20)
    dialog = _open_dialog(window)
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == [
        ENCODER, "fcn8s-voc-test", "tv-test"]
    row = {name: dialog.table.item(1, c).text() for c, name in enumerate(COLUMNS) if dialog.table.item(1, c)}
    assert row["What"] == "fcn8s vgg16, 21 classes" and row["Size"] == "0.3 MB"
    assert "65.5 mean IoU" in row["Accuracy (source)"] and "source: the FCN README" in row["Accuracy (source)"]
    assert dialog.table.item(0, COLUMNS.index("Size")).text() == "size not published"
    assert row["Checksum"] == "pinned"
    assert dialog.state(ENCODER) == "not downloaded"
    assert dialog.state("tv-test").startswith("partly downloaded (1.0 MB")
    dialog.select("tv-test")  # not converted yet: said, and Use stays off
    assert not dialog.use_button.isEnabled() and "not downloaded yet" in dialog.use_button.toolTip()


def test_the_list_says_which_entries_no_publisher_pins(qtbot, window, server, tmp_path, monkeypatch):
    use_catalogue(tmp_path, monkeypatch, entry("pinned-test", "p.pth", [f"{server.base}/p.pth"], payload()),
                  entry("unpinned-test", "u.pth", [f"{server.base}/u.pth"], None))
    dialog = _open_dialog(window)
    column = COLUMNS.index("Checksum")
    assert [dialog.table.item(r, column).text() for r in range(2)] == ["pinned", "unpinned: trusted once it converts"]
    assert "no publisher pins it" in dialog.table.item(1, column).toolTip()


def test_a_format_this_build_cannot_convert_says_so_and_use_stays_off(qtbot, window, catalogue, monkeypatch):
    monkeypatch.delitem(CONVERTERS, "torchvision-segmentation")  # as in a build without that converter
    dialog = _open_dialog(window)
    dialog.select("tv-test")
    assert not dialog.use_button.isEnabled() and "no converter" in dialog.use_button.toolTip()


def test_download_with_progress_then_use_loads_the_model(qtbot, window, catalogue, tmp_path, encoder_bytes):
    project = _project(window, tmp_path, qtbot)
    dialog = _open_dialog(window)
    seen: list[tuple[int, int]] = []
    window.pretrained.progress.connect(lambda name, done, total: seen.append((done, total)))
    dialog.select(ENCODER)
    assert dialog.download_button.isEnabled() and not dialog.use_button.isEnabled()
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.state(ENCODER) == "ready to use", timeout=60_000)
    assert seen[-1] == (len(encoder_bytes), len(encoder_bytes)) and seen == sorted(seen)
    assert encoder_cache_path("mobilenet_v3_small").is_file()
    assert "encoder installed" in dialog.message.text()

    assert dialog.use_button.isEnabled()
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.status.model.text().startswith("fcn8s_mobilenet_v3_small-"), timeout=60_000)
    made = window.project.model_path  # a file name of its own, never an earlier model's
    assert made.parent == project.root / "models" and made.name.startswith("fcn8s_mobilenet_v3_small-")
    assert read_info(made).provenance["encoder_tensors_loaded"] > 0  # the downloaded encoder, not random


def test_cancel_keeps_the_part_and_the_next_download_resumes(qtbot, window, catalogue, server, tmp_path,
                                                            encoder_bytes):
    catalogue.mode, catalogue.gate = "slow", threading.Event()
    dialog = _open_dialog(window)
    dialog.select(ENCODER)
    dialog.download_button.click()
    assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: _started(server), timeout=10_000)
    dialog.cancel_button.click()
    catalogue.gate.set()  # the next piece arrives, and the download stops before writing more
    qtbot.waitUntil(_idle(window), timeout=30_000)
    part = models_cache_dir() / "downloads" / "mobilenet_v3_small-test.pth.part"
    kept = part.stat().st_size
    assert 0 < kept < len(encoder_bytes)
    assert "cancelled" in window.status.currentMessage() and "resumes" in window.status.currentMessage()
    assert dialog.state(ENCODER).startswith("partly downloaded")
    assert not encoder_cache_path("mobilenet_v3_small").exists()

    catalogue.mode = "range"
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.state(ENCODER) == "ready to use", timeout=60_000)
    last = server.requests_for("/enc.pth")[-1]
    assert last["range"] == f"bytes={kept}-" and last["status"] == 206 and last["sent"] == len(encoder_bytes) - kept
    assert "resumed after" in window.status.currentMessage()


def test_server_down_is_one_line_and_the_model_stays(qtbot, window, tmp_path, monkeypatch, encoder_bytes):
    with socket.socket() as s:  # a port nothing listens on: offline, refused at once
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.delenv("FCN_STUDIO_CACHE_DIR", raising=False)
    monkeypatch.delenv("FCN_STUDIO_MODEL_MIRROR", raising=False)
    use_catalogue(tmp_path, monkeypatch, entry(ENCODER, "enc.pth", [f"{closed}/enc.pth"], encoder_bytes,
                                               fmt="state-dict", arch="encoder", backbone="mobilenet_v3_small"))
    project = _project(window, tmp_path, qtbot)
    before = project.model_path
    dialog = _open_dialog(window)
    dialog.select(ENCODER)
    dialog.download_button.click()
    qtbot.waitUntil(_idle(window), timeout=30_000)
    line = window.status.currentMessage()
    assert "\n" not in line and line.startswith("enc.pth could not be fetched, so the current model stays (")
    assert "cannot connect" in line and "From File..." in line
    assert window.project.model_path == before and window.status.model.text().startswith("default-")
    assert dialog.state(ENCODER) == "not downloaded" and dialog.message.text() == line


def test_from_file_registers_a_file_downloaded_by_hand(qtbot, window, catalogue, tmp_path, encoder_bytes):
    dialog = _open_dialog(window)
    dialog.select(ENCODER)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(encoder_bytes[:100] + b"X" + encoder_bytes[101:])
    dialog.register_file(bad)
    qtbot.waitUntil(_idle(window), timeout=30_000)
    assert "not registered" in dialog.message.text() and dialog.state(ENCODER) == "not downloaded"
    good = tmp_path / "good.pth"
    good.write_bytes(encoder_bytes)
    dialog.register_file(good)
    qtbot.waitUntil(lambda: dialog.state(ENCODER) == "ready to use", timeout=60_000)


def test_a_voc_project_is_offered_the_voc_model_until_told_not_to_ask(qtbot, window, catalogue, tmp_path):
    _project(window, tmp_path, qtbot, "voc1", LabelSet.voc(), offer=True)
    qtbot.waitUntil(lambda: window.pretrained.offer is not None, timeout=10_000)
    offer = window.pretrained.offer
    assert offer is not None and offer.isVisible() and not offer.isModal()
    assert offer.entry.name == "fcn8s-voc-test" and offer.accept_button.text() == "Download and Use"
    offer.dont_ask.setChecked(True)
    offer.not_now.click()
    assert not offer.isVisible() and "keeps its default model" in window.status.currentMessage()
    assert window.status.model.text().startswith("default-")

    _project(window, tmp_path, qtbot, "voc2", LabelSet.voc(), offer=None)
    assert window.pretrained.offer is None  # remembered


def test_a_project_switched_mid_download_keeps_its_model_and_the_download_is_cached(
        qtbot, window, catalogue, server, tmp_path):
    other = Project.create(tmp_path / "other", SAMPLE_LABELS)
    other.close()
    catalogue.mode, catalogue.gate = "slow", threading.Event()
    catalogue.piece = 1 << 18
    first = _project(window, tmp_path, qtbot, "first", offer=True)
    qtbot.waitUntil(lambda: window.pretrained.offer is not None, timeout=10_000)
    offer = window.pretrained.offer  # no encoder here: the encoder is offered, for a model with our classes
    assert offer is not None and offer.entry.name == ENCODER
    offer.accept_button.click()
    qtbot.waitUntil(lambda: _started(server), timeout=10_000)
    window.opening.open_project(tmp_path / "other")
    qtbot.waitUntil(lambda: window.status.model.text().startswith("default-"), timeout=60_000)
    catalogue.gate.set()
    qtbot.waitUntil(_idle(window), timeout=60_000)
    assert encoder_cache_path("mobilenet_v3_small").is_file()  # just cached
    assert "first is no longer open, so its model is unchanged" in window.status.currentMessage()
    assert window.project.model_path.name.startswith("default-")
    assert not (first.root / "models" / "fcn8s_mobilenet_v3_small.safetensors").exists()


def test_use_loads_a_converted_model_as_a_checkpoint_would_be(qtbot, window, catalogue, tmp_path, tiny_checkpoint):
    converted = catalogue_checkpoint_path("fcn8s-voc-test")  # as `model get` leaves a converted caffemodel
    converted.parent.mkdir(parents=True)
    shutil.copyfile(tiny_checkpoint, converted)
    _project(window, tmp_path, qtbot)
    dialog = _open_dialog(window)
    assert dialog.state("fcn8s-voc-test") == "ready to use"
    dialog.select("fcn8s-voc-test")
    assert dialog.use_button.isEnabled() and not dialog.download_button.isEnabled()
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.status.model.text() == converted.name, timeout=60_000)
    assert window.project.model_path == converted
