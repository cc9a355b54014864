"""Loading a site file: YAML with line marks, shape checks, then the guide's rules.

Every problem found is collected, sorted by position and raised once as a ``SiteError``
(exit status 2): a user fixes a whole file in one pass, and nothing reaches a host.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hastack.errors import Problem, Severity, SiteError
from hastack.site.model import (
    INTERFACE_PATTERN,
    NAME_PATTERN,
    PATH_PATTERN,
    RANGE_PATTERN,
    REGION_PATTERN,
    SERVICE_PATTERN,
    SYSTEM_ID_PATTERN,
    USER_PATTERN,
    Site,
)
from hastack.site.placement import Placement, ServiceSpec, place
from hastack.site.rules import validate
from hastack.site.yaml_input import SITE_FILE, KeyPath, compose_yaml, read_text, shown

# What each pattern of the model accepts, in words: a regex is no message for a user.
PATTERN_WORDS = {
    NAME_PATTERN: "a name: lowercase letters, digits and '-', starting with a letter, "
                  "at most 63 characters",
    USER_PATTERN: "a user name: letters, digits, '_', '.', '@' and '-', at most 64 characters",
    REGION_PATTERN: "a region: letters, digits, '_', '.' and '-', at most 64 characters",
    SERVICE_PATTERN: "a service name (lowercase, as `hastack schema` lists them) or '*'",
    SYSTEM_ID_PATTERN: "a Redfish path such as /redfish/v1/Systems/1",
    PATH_PATTERN: "a file path of letters, digits, '_', '.', '/' and '-', not starting "
                  "with '-'",
    INTERFACE_PATTERN: "an interface name of at most 15 letters, digits, '_', '.' and '-'",
    RANGE_PATTERN: "first-last, two IPv4 addresses such as 10.20.0.200-10.20.0.229",
}


@dataclass(frozen=True)
class LoadedSite:
    """A valid site with where it came from and what the rules warned about."""

    site: Site
    path: Path
    placement: Placement
    warnings: tuple[Problem, ...]

    @property
    def secrets_path(self) -> Path:
        if self.site.secrets_file:
            return (self.path.parent / self.site.secrets_file).resolve()
        return self.path.with_name(self.path.stem + ".secrets.yaml")


MAX_PROBLEMS = 100  # thousands of wrong items are reported by their first hundred
MORE_PROBLEMS = "site-more-problems"  # a warning closing a capped list, not an error code


def _locate(marks: dict[KeyPath, tuple[int, int]], path: KeyPath) -> tuple[int, int]:
    """The mark of the deepest existing prefix of ``path`` (a missing key points at its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return (1, 1)


def _field_names_at(path: Sequence[str | int]) -> list[str]:
    """Known keys of the model that ``path`` leads to, for 'did you mean' hints."""
    annotation: Any = Site
    for part in path:
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif origin in (tuple, list):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
        while typing.get_origin(annotation) in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation)
                      if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _shape_problems(exc: ValidationError, marks: dict[KeyPath, tuple[int, int]],
                    source: str) -> list[Problem]:
    """One problem per place and kind, by position; only the first MAX_PROBLEMS are worded
    (a 'did you mean' costs a difflib search)."""
    found: dict[tuple[KeyPath, str], tuple[int, int, str]] = {}
    for err in exc.errors():
        # Unions report one error per branch: keep the first per place and kind.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p)
                    and p not in {"function-after", "enum", "str", "list"})
        found.setdefault((loc, err["type"]), (*_locate(marks, loc), _message(err)))
    ordered = sorted(found.items(), key=lambda item: item[1][:2])
    problems = [_shape_problem(loc, kind, msg, source, line, col)
                for (loc, kind), (line, col, msg) in ordered[:MAX_PROBLEMS]]
    return _capped(problems, hidden=len(ordered) - len(problems))


def _message(err: ErrorDetails) -> str:
    pattern = (err.get("ctx") or {}).get("pattern")
    if err["type"] != "string_pattern_mismatch" or not isinstance(pattern, str):
        return err["msg"]
    return (f"expected {PATTERN_WORDS.get(pattern, f'text matching {pattern}')} (no spaces, "
            "quotes, shell or control characters)")


def _shape_problem(loc: KeyPath, kind: str, msg: str, source: str, line: int,
                   col: int) -> Problem:
    dotted = ".".join(str(p) for p in loc)
    at = Problem(code="", what="", key=dotted, line=line, column=col,
                 where=f"{source}:{line}:{col}")
    if kind == "extra_forbidden":
        known = _field_names_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = (f"did you mean '{close[0]}'? " if close else "") + (
            f"known keys here: {', '.join(known)}" if known else "remove it")
        return replace(at, code="site-unknown-key", what=f"unknown key '{shown(loc[-1])}'",
                       fix=fix)
    if kind == "missing":
        return replace(at, code="site-missing-key", what=f"required key '{loc[-1]}' is missing",
                       fix=f"add '{loc[-1]}:' here (see README, site file reference)")
    return replace(at, code="site-invalid-value", what=f"'{shown(dotted, 80)}': {msg}",
                   fix="give a value of the expected form (see `hastack schema`)")


def _capped(problems: list[Problem], hidden: int = 0) -> list[Problem]:
    """The first MAX_PROBLEMS problems and a note of how many more: a file of 20,000 wrong
    items is fixed the same way, and printing them all would take minutes."""
    hidden += max(0, len(problems) - MAX_PROBLEMS)
    if not hidden:
        return problems
    return [*problems[:MAX_PROBLEMS],
            Problem(code=MORE_PROBLEMS, severity=Severity.WARNING,
                    where=problems[min(len(problems), MAX_PROBLEMS) - 1].where,
                    what=f"{hidden} more problem(s) not shown",
                    fix="fix the ones above and validate again")]


def _parse_path(dotted: str) -> KeyPath:
    return tuple(int(p) if p.isdigit() else p for p in dotted.split(".")) if dotted else ()


def _place_problems(problems: Iterable[Problem], marks: dict[KeyPath, tuple[int, int]],
                    source: str) -> list[Problem]:
    placed = []
    for p in problems:
        line, col = _locate(marks, _parse_path(p.key))
        placed.append(replace(p, line=line, column=col, where=f"{source}:{line}:{col}"))
    return placed


def load_site(path: str | Path, services: Sequence[ServiceSpec]) -> LoadedSite:
    """Read, shape-check and validate a site file against the catalog's services.

    Raises:
        SiteError: with every problem found, sorted by line, when any is an error.
    """
    file = Path(path)
    source = str(path)
    try:
        text = read_text(file, SITE_FILE)
    except OSError as exc:
        raise SiteError([Problem(code="site-not-readable", where=source,
                                 what=f"cannot read the site file: {exc.strerror}",
                                 fix="check the path (examples/ holds sample sites)")]) from None
    data, marks, problems = compose_yaml(text, source)
    if problems:
        raise SiteError(_capped(problems))
    if not isinstance(data, dict):
        raise SiteError([Problem(code="site-not-a-mapping", where=f"{source}:1:1", line=1,
                                 column=1, what="the site file must be a YAML mapping",
                                 fix="start with 'name: <site name>' and 'nodes:'")])
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        raise SiteError(_shape_problems(exc, marks, source)) from None
    found = _place_problems(validate(site, services), marks, source)
    found.sort(key=lambda p: (p.line, p.column, p.code))
    if any(p.is_error for p in found):
        raise SiteError(_capped(found))
    return LoadedSite(site=site, path=file, placement=place(site, services),
                      warnings=tuple(p for p in found if not p.is_error))
