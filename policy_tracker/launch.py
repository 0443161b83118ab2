"""The `ptrack` entry point: answers --version before loading the command line, which costs far more."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from policy_tracker import __version__

        print(f"ptrack {__version__}")
        return
    from policy_tracker.cli import app

    app(prog_name="ptrack")
