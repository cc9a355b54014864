"""User-facing errors and problems: one shape for every message hastack prints.

This module is a leaf: it imports nothing from hastack, so any layer can raise these.
Only ``cli.py`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding of a validator: validators return lists of these and never raise.

    ``code`` is kebab-case and stable (tests assert it); ``where`` is ``file:line:col`` or a
    host/resource id; ``key`` is the dotted key path in the site file, when there is one.
    """

    code: str
    what: str
    fix: str = ""
    where: str = ""
    key: str = ""
    severity: Severity = Severity.ERROR
    line: int = 0
    column: int = 0

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class HastackError(Exception):
    """Base of every error hastack reports to a user (exit status from ``exit_status``)."""

    exit_status = 1

    def __init__(self, code: str, what: str, *, where: str = "", fix: str = "") -> None:
        super().__init__(what)
        self.code = code
        self.what = what
        self.where = where
        self.fix = fix

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (Problem(code=self.code, what=self.what, fix=self.fix, where=self.where),)


class SiteError(HastackError):
    """The site file (or the command line) is wrong: nothing was touched; exit status 2."""

    exit_status = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        errors = [p for p in problems if p.is_error]
        first = errors[0] if errors else problems[0]
        super().__init__(first.code, first.what, where=first.where, fix=first.fix)
        self._problems = tuple(problems)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._problems


class UsageError(HastackError):
    """The command line asks for something that cannot be done; exit status 2."""

    exit_status = 2


class PlanError(HastackError):
    """The catalog or a rendering violates one of hastack's own invariants."""


class ToolError(HastackError):
    """An external tool (crm_verify, cibadmin, haproxy ...) failed; argv is already masked."""

    def __init__(self, tool: str, argv: tuple[str, ...], returncode: int, stderr: str,
                 *, what: str = "") -> None:
        super().__init__(f"tool-{tool}-failed", what or f"{tool} exited with status {returncode}",
                         where=" ".join(argv), fix=stderr.strip()[-2000:])
        self.tool = tool
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class TransportError(HastackError):
    """A host could not be reached or a command on it could not be run."""

    def __init__(self, host: str, what: str, *, fix: str = "") -> None:
        super().__init__("transport-failed", what, where=host, fix=fix)
        self.host = host
