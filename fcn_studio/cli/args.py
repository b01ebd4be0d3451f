"""Argument parsing that fails in one line, and argument types that catch mistakes before anything
is loaded (a count that is not positive, a folder that is a file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse's usage errors as one line that points at --help (subcommands inherit the class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")



def precision(text: str) -> str:
    from fcn_studio.inference.precision import parse_precision  # noqa: PLC0415 (torch: only when given)

    try:
        return parse_precision(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_precision_argument(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """--precision, the same for every command that runs the model (eval's default is float32)."""
    auto = ("auto (FCN_STUDIO_PRECISION if set, else float16 on GPUs and bfloat16 on a CPU with AVX512-BF16 or "
            "AMX for VGG16 models)")
    parser.add_argument("--precision", type=precision, default=None,
                        help=(f"{auto} (the default), float32, bfloat16, float16" if default == "auto" else
                              f"float32 (the default, unless FCN_STUDIO_PRECISION says otherwise), {auto}, bfloat16, "
                              f"float16"))


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: not a folder")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it must not be a file."""
    path = Path(text)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise argparse.ArgumentTypeError(f"{p} is a file, not a folder")
            break
    return path
