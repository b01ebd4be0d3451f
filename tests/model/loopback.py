"""A real HTTP server on the loopback that serves files the tests make, and a catalogue file pointing
at it: shared by the download tests (tests/model) and the window's tests (tests/ui). Routes answer
with and without Range, cut the first answer short, stall, or trickle slowly (for Cancel)."""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Route:
    data: bytes
    # range (Range honoured and offered: Accept-Ranges) | norange | stall (ranges, but stops after 1000 bytes)
    # | slow (ranges, sent in small pieces) | slow-norange (small pieces, Range neither offered nor honoured)
    mode: str = "range"
    etag: str = '"v1"'
    cut_first: bool = False  # the first answer promises everything, sends half and closes
    piece: int = 4096  # slow: bytes per piece
    pause: float = 0.02  # slow: seconds between pieces
    gate: threading.Event | None = None  # slow: after the first piece, the rest waits until it is set


@dataclass
class Server:
    base: str
    routes: dict[str, Route]
    log: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def requests_for(self, path: str) -> list[dict]:
        return [r for r in self.log if r["path"] == path]


def _handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest's output clean
            pass

        def do_GET(self):  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path  # a proxy request carries the whole URL
            record = {"path": path, "request": self.path, "range": self.headers.get("Range"),
                      "if_range": self.headers.get("If-Range"), "sent": 0, "status": 404}
            server.log.append(record)
            route = server.routes.get(path)
            if route is None:
                self.send_error(404)
                return
            data, start = route.data, 0
            ranged = self.headers.get("Range", "")
            if route.mode in ("range", "slow", "stall") and ranged.startswith("bytes=") and self.headers.get(
                    "If-Range") in (None, route.etag):
                start = int(ranged[6:].split("-")[0])
            body = data[start:]
            record["status"] = 206 if start else 200
            self.send_response(record["status"])
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", route.etag)
            if route.mode in ("range", "slow", "stall"):
                self.send_header("Accept-Ranges", "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if route.cut_first:
                route.cut_first = False
                body = body[: len(body) // 2]
            elif route.mode == "stall":
                self.wfile.write(body[:1000])
                self.wfile.flush()
                record["sent"] = 1000
                server.release.wait(10)  # bounded: the fixture releases it when the test ends
                return
            elif route.mode in ("slow", "slow-norange"):
                for i in range(0, len(body), route.piece):
                    try:
                        self.wfile.write(body[i:i + route.piece])
                        self.wfile.flush()
                    except OSError:  # the client stopped reading (a cancelled download)
                        return
                    record["sent"] += len(body[i:i + route.piece])
                    if i == 0 and route.gate is not None:
                        route.gate.wait(10)  # bounded, like a stall
                    if server.release.wait(route.pause):
                        return
                return
            self.wfile.write(body)
            record["sent"] = len(body)

    return Handler


def serve(tls: ssl.SSLContext | None = None):
    """A generator for fixtures: yields the Server, shuts it down when resumed."""
    state = Server("", {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.base = f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()


def payload(n: int = 300_000, seed: int = 1) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (n // 32) + bytes(n % 32)


def entry(name: str, file: str, urls: list[str], data: bytes | None, fmt: str = "torchvision-segmentation",
          **extra) -> dict:
    """A catalogue entry; `data` pins its sha256 (None: no publisher pin, trusted on first use)."""
    item = {"name": name, "description": "test model", "format": fmt, "arch": "fcn8s", "backbone": "vgg16",
            "classes": None, "input": "imagenet", "file": file, "urls": urls, "size": None,
            "licence": "test"}
    if data is None:
        item["checksum_note"] = "no publisher pins it: trusted on first use"
    else:
        item["sha256"] = hashlib.sha256(data).hexdigest()
    item.update(extra)
    return item


def use_catalogue(tmp_path, monkeypatch, *entries: dict, label_sets: dict | None = None) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"version": 1, "inputs": {"imagenet": {"channel_order": "RGB"}},
                                "label_sets": label_sets or {}, "models": list(entries)}), encoding="utf-8")
    monkeypatch.setenv("FCN_STUDIO_MODEL_CATALOGUE", str(path))
    return path
