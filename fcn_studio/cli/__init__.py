"""`fcn-studio`: with no arguments the desktop app; subcommands for scripts and servers.
entry (the parser and main), commands, predict, args (one-line usage errors), errors (one place
that turns what a command raised into one line and an exit status)."""

from fcn_studio.cli.entry import main

__all__ = ["main"]
