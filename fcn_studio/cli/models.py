"""`fcn-studio model list` and `model get`: the pretrained-model catalogue from the command line.
`add_model_commands` adds both to the `model` subcommand's parsers; the handlers raise ValueError or
OSError with one-line messages, which `cli.main` prints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fcn_studio.cli.progress import ProgressBar
from fcn_studio.model.download import CONNECT_TIMEOUT, MIRROR_ENV, READ_TIMEOUT


def add_model_commands(model_subparsers) -> None:
    ls = model_subparsers.add_parser("list", help="the pretrained-model catalogue and what is in the cache")
    ls.add_argument("--json", action="store_true", help="machine-readable, one object per model")
    ls.set_defaults(func=cmd_model_list)

    get = model_subparsers.add_parser(
        "get", help="download a catalogue model, verify its checksum and convert it",
        description=f"Streams the file into the model cache, verifies it, then converts it. {MIRROR_ENV} names "
                    "a server tried first (files by name); HTTPS_PROXY is honoured. A stopped download resumes.")
    get.add_argument("name", help="a name from `fcn-studio model list`")
    get.add_argument("--out", type=Path, help="where the converted checkpoint goes (default: the model cache)")
    get.add_argument("--from-file", type=Path, metavar="PATH",
                     help="register a file downloaded by hand instead (checked against the same checksum)")
    get.add_argument("--no-keep", action="store_true", help="delete the original download once converted")
    get.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT, help=argparse.SUPPRESS)
    get.add_argument("--read-timeout", type=float, default=READ_TIMEOUT, help=argparse.SUPPRESS)
    get.set_defaults(func=cmd_model_get)


def cmd_model_list(args) -> int:
    from fcn_studio.model.catalogue import cache_state, load_catalogue, size_text

    catalogue = load_catalogue()
    rows = [dict(_public(entry.raw), url=entry.urls[0], size_text=size_text(entry), **cache_state(entry))
            for entry in catalogue.entries]
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "size_text"} for r in rows], indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        state = "installed" if r["installed"] else "downloaded" if r["downloaded"] else (
            f"partial ({r['partial_bytes']} bytes)" if r["partial_bytes"] else "-")
        what = f"{r['arch']} {r['backbone']}" if r["arch"] != "encoder" else f"{r['backbone']} encoder"
        print(f"{r['name']:<{width}}  {what:<26} {r.pop('size_text'):>18}  {state}")
    print(f"catalogue: {catalogue.source}")
    return 0


def _public(raw: dict) -> dict:
    keys = ("name", "description", "format", "arch", "backbone", "file", "urls", "sha256", "sha1",
            "sha256_prefix", "checksum_source", "checksum_note", "size", "approx_mb", "licence", "classes",
            "input", "accuracy", "torchvision_weights", "member")
    return {k: raw.get(k) for k in keys}


def cmd_model_get(args) -> int:
    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.get import get_model

    entry = load_catalogue().get(args.name)
    with ProgressBar(entry.file, unit="B", leave=False) as bar:
        get_model(entry, progress=bar, from_file=args.from_file, out=args.out, keep=not args.no_keep,
                  connect_timeout=args.connect_timeout, read_timeout=args.read_timeout, say=bar.say)
    return 0
