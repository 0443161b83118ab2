"""The `ptrack` entry point: answers --version before loading the command line, which costs far more."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from policy_tracker import __version__

        print(f"ptrack {__version__}")
        return
    from policy_tracker.cli import app

    app(args=bare_json(sys.argv[1:]), prog_name="ptrack")


def bare_json(args: list[str]) -> list[str]:
    """A bare `--json` (last, or before another option) asks for the list of fields, as in gh: Typer has no option
    whose value may be left out, so it is given the value that means "list them"."""
    out = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--json" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append("?")
        if arg == "--":
            return out + args[i + 1 :]
    return out
