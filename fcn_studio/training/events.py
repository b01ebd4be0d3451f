"""The training events: versioned JSON lines (started, progress, validation, checkpoint, warning,
finished, failed); a warning is something the run went on without (a file that vanished mid-epoch).
One stream drives the GUI, the CLI's progress bar and the tests; `event_schema.json` describes it for
anyone else who reads it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

VERSION = 1
KINDS = ("started", "progress", "validation", "checkpoint", "warning", "finished", "failed")
SCHEMA_PATH = Path(__file__).with_name("event_schema.json")


def _clean(value):
    """JSON has no NaN: undefined metrics (a class seen nowhere) travel as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class EventWriter:
    """Writes each event as one flushed line to a stream and/or a file; `listeners` see them too."""

    def __init__(self, stream: IO[str] | None = None, path: str | Path | None = None) -> None:
        self.stream = stream
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115
        self.listeners: list[Callable[[dict], None]] = []

    def emit(self, kind: str, **fields) -> dict:
        if kind not in KINDS:
            raise ValueError(f"unknown event {kind!r}")
        event = {"v": VERSION, "event": kind, "time": round(time.time(), 3), **_clean(fields)}
        line = json.dumps(event, separators=(",", ":"))
        for out in (self.stream, self.file):
            if out is not None:
                out.write(line + "\n")
                out.flush()
        for listener in self.listeners:
            listener(event)
        return event

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def parse_event(line: str) -> dict | None:
    """An event from one line, or None for anything else (warnings that libraries print)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and event.get("event") in KINDS else None
