"""The one exception family for problems a user can fix, each able to say what, where and how to fix."""

from __future__ import annotations

from dataclasses import dataclass


class PtrackError(Exception):
    """A problem the user can fix. The CLI prints it as one line: `Error: what (where). fix`."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        text = self.what
        if self.where:
            text += f" ({self.where})"
        if self.fix:
            text += f" {self.fix}" if text.endswith(("?", ".", "!")) else f". {self.fix}"  # a sentence ends once
        return text


@dataclass(frozen=True)
class Problem:
    """One problem in a workspace file, printed as `file:line: field: message`."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class WorkspaceInvalid(PtrackError):
    """The workspace has problems; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        n = len(problems)
        super().__init__(
            f"the workspace has {n} problem{'s' if n != 1 else ''}",
            fix="Fix the lines above, then check with `ptrack validate`",
        )
        self.problems = problems


class Interrupted(PtrackError):
    """SIGINT or SIGTERM ended a command; the message says what state the workspace was left in."""

    def __init__(self, signum: int, what: str) -> None:
        super().__init__(what)
        self.signum = signum
        self.exit_code = 128 + signum  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM
