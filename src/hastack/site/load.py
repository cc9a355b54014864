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

import yaml
from pydantic import BaseModel, ValidationError

from hastack.errors import Problem, SiteError
from hastack.site.model import Site
from hastack.site.placement import Placement, ServiceSpec, place
from hastack.site.rules import validate

KeyPath = tuple[str | int, ...]


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


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one."""


def _compose(text: str, source: str) -> tuple[Any, dict[KeyPath, tuple[int, int]], list[Problem]]:
    marks: dict[KeyPath, tuple[int, int]] = {}
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_MarkedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.append(Problem(code="site-yaml-syntax", where=f"{source}:{line}:{col}",
                                line=line, column=col,
                                what=f"the file is not valid YAML: {exc.problem}",
                                fix="fix the YAML syntax at that line (indentation, quotes, "
                                    "colons)"))
        return None, marks, problems
    if root is None:
        return {}, marks, problems
    loader = _MarkedLoader("")

    def convert(node: yaml.Node, path: KeyPath) -> Any:
        marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    problems.append(Problem(
                        code="site-duplicate-key", line=where[0], column=where[1],
                        where=f"{source}:{where[0]}:{where[1]}",
                        key=".".join(str(p) for p in (*path, key)),
                        what=f"key '{key}' appears twice in the same mapping",
                        fix="keep one of them: YAML would silently drop the first"))
                marks[(*path, key)] = where
                out[key] = convert(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    return convert(root, ()), marks, problems


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
    problems = []
    seen: set[tuple[KeyPath, str]] = set()
    for err in exc.errors():
        # Unions report one error per branch: keep the first per place and kind.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p)
                    and p not in {"function-after", "enum", "str", "list"})
        kind = err["type"]
        if (loc, kind) in seen:
            continue
        seen.add((loc, kind))
        line, col = _locate(marks, loc)
        dotted = ".".join(str(p) for p in loc)
        if kind == "extra_forbidden":
            known = _field_names_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            fix = (f"did you mean '{close[0]}'? " if close else "") + (
                f"known keys here: {', '.join(known)}" if known else "remove it")
            problems.append(Problem(code="site-unknown-key", what=f"unknown key '{loc[-1]}'",
                                    fix=fix, key=dotted, line=line, column=col,
                                    where=f"{source}:{line}:{col}"))
        elif kind == "missing":
            problems.append(Problem(code="site-missing-key",
                                    what=f"required key '{loc[-1]}' is missing", key=dotted,
                                    fix=f"add '{loc[-1]}:' here (see README, site file "
                                        "reference)", line=line, column=col,
                                    where=f"{source}:{line}:{col}"))
        else:
            problems.append(Problem(code="site-invalid-value", key=dotted, line=line,
                                    column=col, where=f"{source}:{line}:{col}",
                                    what=f"'{dotted}': {err['msg']}",
                                    fix="give a value of the expected form (see `hastack "
                                        "schema`)"))
    return problems


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
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteError([Problem(code="site-not-readable", where=source,
                                 what=f"cannot read the site file: {exc.strerror}",
                                 fix="check the path (examples/ holds sample sites)")]) from None
    data, marks, problems = _compose(text, source)
    if problems:
        raise SiteError(problems)
    if not isinstance(data, dict):
        raise SiteError([Problem(code="site-not-a-mapping", where=f"{source}:1:1", line=1,
                                 column=1, what="the site file must be a YAML mapping",
                                 fix="start with 'name: <site name>' and 'nodes:'")])
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        raise SiteError(sorted(_shape_problems(exc, marks, source),
                               key=lambda p: (p.line, p.column))) from None
    found = _place_problems(validate(site, services), marks, source)
    found.sort(key=lambda p: (p.line, p.column, p.code))
    if any(p.is_error for p in found):
        raise SiteError(found)
    return LoadedSite(site=site, path=file, placement=place(site, services),
                      warnings=tuple(p for p in found if not p.is_error))
