"""The command line's one progress bar: a core.progress.Progress that drives tqdm on stderr."""

from __future__ import annotations

import sys


class ProgressBar:
    """`bar(done, total)`, as every long operation reports. The bar appears at the first call (when the
    total is known; None counts without an end, a download starts at the bytes it resumes from), and is
    drawn only when stderr is a terminal, so logs and tests stay clean. `unit="B"` shows bytes."""

    def __init__(self, desc: str, unit: str = "img", leave: bool = True) -> None:
        self.desc, self.unit, self.leave = desc, unit, leave
        self.bar = None

    def __call__(self, done: int, total: int | None, **postfix) -> None:
        if self.bar is None:
            from tqdm import tqdm  # noqa: PLC0415 (only for the commands that show a bar)

            scaled = {"unit_scale": True, "unit_divisor": 1024} if self.unit == "B" else {}
            self.bar = tqdm(total=total, initial=done, desc=self.desc, unit=self.unit, leave=self.leave,
                            disable=None, file=sys.stderr, **scaled)
        elif total != self.bar.total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)
        if postfix:
            self.bar.set_postfix(postfix)

    def write(self, line: str) -> None:
        """A line above the bar (or a plain print when there is none yet)."""
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line)

    def say(self, line: str) -> None:
        """A step's line once the bar is gone: the next step's progress, if any, starts a new bar."""
        self.close()
        print(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
