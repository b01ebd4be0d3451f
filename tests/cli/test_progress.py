"""The command line's one progress bar: every long operation reports `(done, total)` (core.progress),
and the same bar shows images, files or a download's bytes, on a terminal only."""

import io
import sys

from fcn_studio.cli.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_shows_on_a_terminal_and_never_in_a_log(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with ProgressBar("export") as bar:
        for done in range(4):
            bar(done, 3)
    assert "export" in term.getvalue() and "3/3" in term.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with ProgressBar("export") as bar:
        bar(3, 3)
    assert log.getvalue() == ""


def test_a_resumed_download_counts_its_bytes_from_where_it_resumed(monkeypatch, capsys):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    mib = 1 << 20
    with ProgressBar("weights.pth", unit="B") as bar:
        bar(mib, 4 * mib)  # resumed after 1 MiB
        first = term.getvalue()
        bar(4 * mib, 4 * mib)
        bar.say("weights.pth: verified")  # the step's line comes once the bar is gone
    assert "1.00M/4.00M" in first and "4.00M/4.00M" in term.getvalue()
    assert capsys.readouterr().out == "weights.pth: verified\n"
