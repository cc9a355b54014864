"""Reading a site or secrets file's YAML safely: a regular, small, UTF-8 file of printable
text, composed without recursion into plain data plus the line:column of every key path.

Whatever a file holds ends in a Problem at its place, never a traceback, a hang or a memory
blow-up: aliases (the "billion laughs"), deep nesting, non-string keys, huge numbers and tags
are refused as they are met.
"""

from __future__ import annotations

import datetime
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hastack.errors import Problem, SiteError

KeyPath = tuple[str | int, ...]

MAX_BYTES = 512 * 1024  # 200 times the largest example; libyaml reads it in ~0.1 s
MAX_DEPTH = 16  # the site model nests 6 deep (nodes.0.fencing.pdu.outlet)
MAX_VALUES = 20_000  # YAML keys and values: ~1000 nodes with fencing and a PDU outlet
MAX_NUMBER_CHARS = 64  # int() of a huge or sexagesimal number costs quadratic time
MAP_TAG, SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
STR_TAG = "tag:yaml.org,2002:str"
VALUE_TAG = "tag:yaml.org,2002:value"  # a lone '=': no safe constructor, read it as text
MERGE_TAG = "tag:yaml.org,2002:merge"  # '<<: *alias'; refused with the aliases
NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
# C0 and C1 control characters (tab, LF and CR aside), DEL and the non-characters: YAML
# refuses most of them anyway; naming the exact place is kinder than a parser error.
BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# libyaml when present: its parser is ~20 times faster and keeps no Python recursion.
_EVENT_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileKind:
    """Which file is read, for its problems' codes (``<prefix>-too-large`` ...) and texts."""

    prefix: str
    label: str
    syntax_code: str  # the codes older than the rest, which tests and users know
    duplicate_code: str

    def code(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"


SITE_FILE = FileKind(prefix="site", label="site file", syntax_code="site-yaml-syntax",
                     duplicate_code="site-duplicate-key")


class _Refused(Exception):
    """A problem that ends composing: the rest of the file cannot be trusted."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.what)
        self.problem = problem


def _at(code: str, source: str, line: int, col: int, what: str, fix: str,
        key: str = "") -> Problem:
    where = f"{source}:{line}:{col}" if line else source
    return Problem(code=code, where=where, line=line, column=col, what=what, fix=fix, key=key)


def shown(value: object, limit: int = 40) -> str:
    """A value quoted for a message: control characters escaped, long ones cut."""
    text = repr(value) if not isinstance(value, str) else repr(value)[1:-1]
    return text if len(text) <= limit else text[:limit] + "..."


def read_text(path: Path, kind: FileKind) -> str:
    """The file's text, refused unless it is a regular, small, UTF-8 file of printable text.

    Raises:
        OSError: when it cannot be opened or read (the caller names the file's role).
        SiteError: ``<prefix>-not-a-file``, ``-too-large``, ``-not-utf8`` or
            ``-bad-character``.
    """
    source, label = str(path), kind.label
    if not stat.S_ISREG(path.stat().st_mode):
        raise SiteError([_at(kind.code("not-a-file"), source, 0, 0,
                             f"the {label} is not a regular file (a directory, device or "
                             "pipe)", f"give the path of the {label} itself")])
    with path.open("rb") as stream:
        data = stream.read(MAX_BYTES + 1)  # a file growing under us is cut, not read
    if len(data) > MAX_BYTES:
        raise SiteError([_at(kind.code("too-large"), source, 0, 0,
                             f"the {label} is larger than {MAX_BYTES // 1024} KiB, the most "
                             "hastack reads", f"is this the right file? A {label} is a few "
                             "KiB of YAML")])
    return _decode(data, source, kind)


def _decode(data: bytes, source: str, kind: FileKind) -> str:
    label = kind.label
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SiteError([_at(kind.code("not-utf8"), source, line, col,
                             f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                             f"UTF-8: the {label} must be UTF-8 text",
                             "save the file as UTF-8 (is it a binary or a UTF-16 file?)")]
                         ) from None
    bad = BAD_CHARACTER.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise SiteError([_at(kind.code("bad-character"), source, line, col,
                             f"control character U+{ord(bad.group()):04X} in the {label}",
                             "remove it: only printable text, tabs and line breaks are "
                             "allowed")])
    return text


def kind_of(value: object) -> str:
    """What YAML made of a plain scalar, in a user's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a {type(value).__name__}"


def _mark(event: yaml.Event) -> tuple[int, int]:
    """1-based line and column where ``event`` starts."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


@dataclass
class _Frame:
    """An open mapping or sequence while composing; ``key`` is set between key and value."""

    value: dict[str, Any] | list[Any]
    path: KeyPath
    key: str | None = None


class _Composer:
    """Builds plain data and each key path's line:column from YAML events, one pass, no
    recursion: aliases, deep nesting, non-string keys and odd scalars end it with a Problem;
    duplicate keys are collected."""

    def __init__(self, source: str, kind: FileKind) -> None:
        self.source, self.kind = source, kind
        self.marks: dict[KeyPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.count = 0
        self.documents = 0
        self.scalars = yaml.SafeLoader("")  # resolver and constructor of plain scalars

    def refuse(self, kind: str, event: yaml.Event, what: str, fix: str,
               key: KeyPath = (), *, code: str = "") -> _Refused:
        """The problem ``<prefix>-<kind>`` (or ``code``) at ``event``, to raise."""
        line, col = _mark(event)
        return _Refused(_at(code or self.kind.code(kind), self.source, line, col, what, fix,
                            key=".".join(str(p) for p in key)))

    def compose(self, text: str) -> Any:
        for event in yaml.parse(text, Loader=_EVENT_LOADER):
            self.feed(event)
        return self.root

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.refuse("", event, "the file holds more than one YAML document",
                                  "keep one document: remove the second '---'",
                                  code=self.kind.syntax_code)
        elif isinstance(event, yaml.AliasEvent):
            raise self.refuse("yaml-alias", event, f"YAML alias '*{shown(event.anchor)}': "
                              "aliases are not supported", "write the value out in full "
                              "where the alias stands (and drop its '&' anchor)",
                              self.path_here())
        elif isinstance(event, yaml.CollectionEndEvent):
            self.attach(self.stack.pop().value)
        elif isinstance(event, yaml.NodeEvent):
            self.count += 1
            if self.count > MAX_VALUES:
                raise self.refuse("too-many-values", event, f"more than {MAX_VALUES} values "
                                  f"in the {self.kind.label}", "is this the right file? A "
                                  "site of 1000 nodes fits")
            frame = self.stack[-1] if self.stack else None
            if frame is not None and isinstance(frame.value, dict) and frame.key is None:
                self.open_key(frame, event)
            else:
                self.open_value(event)

    def path_here(self) -> KeyPath:
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.value, dict):
            return (*frame.path, frame.key) if frame.key is not None else frame.path
        return (*frame.path, len(frame.value))

    def open_key(self, frame: _Frame, event: yaml.NodeEvent) -> None:
        mark = _mark(event)
        key = self.scalar(event, frame.path) if isinstance(event, yaml.ScalarEvent) else None
        if not isinstance(key, str):
            what = (f"key '{shown(event.value)}' is read by YAML as {kind_of(key)}"
                    if isinstance(event, yaml.ScalarEvent) else "a key is a mapping or a list")
            raise self.refuse("key-not-a-string", event, f"{what}, not a name",
                              "keys are plain names: quote a key that YAML reads as a "
                              "number, date, boolean or null ('on', 'no', '~')", frame.path)
        path = (*frame.path, key)
        if BAD_CHARACTER.search(key) or any(c in key for c in "\t\r\n"):
            raise self.refuse("bad-character", event, f"key '{shown(key)}' holds a control "
                              "character", "keys are plain names: remove it", frame.path)
        assert isinstance(frame.value, dict)
        if key in frame.value:
            self.problems.append(_at(self.kind.duplicate_code, self.source, *mark,
                                     f"key '{shown(key)}' appears twice in the same mapping",
                                     "keep one of them: YAML would silently drop the first",
                                     key=".".join(str(p) for p in path)))
        self.marks[path] = mark
        frame.key = key

    def open_value(self, event: yaml.NodeEvent) -> None:
        path = self.path_here()
        self.marks.setdefault(path, _mark(event))
        if isinstance(event, yaml.ScalarEvent):
            self.attach(self.scalar(event, path))
            return
        if len(self.stack) >= MAX_DEPTH:
            raise self.refuse("too-deep", event, f"the {self.kind.label} nests deeper than "
                              f"{MAX_DEPTH} levels", "check the brackets and the indentation "
                              "(a site file nests 6 levels at most)", path)
        tag = getattr(event, "tag", None)
        is_map = isinstance(event, yaml.MappingStartEvent)
        if tag not in (None, "!", MAP_TAG if is_map else SEQ_TAG):
            raise self.refuse("yaml-tag", event, f"YAML tag '{shown(tag)}' is not supported",
                              "remove the tag: write a plain mapping or list", path)
        self.stack.append(_Frame(value={} if is_map else [], path=path))

    def attach(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.value, dict):
            assert frame.key is not None
            frame.value[frame.key] = value
            frame.key = None
        else:
            frame.value.append(value)

    def scalar(self, event: yaml.ScalarEvent, path: KeyPath) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.scalars.resolve(yaml.ScalarNode, event.value,  # type: ignore[no-untyped-call]
                                       event.implicit)
        if tag in (STR_TAG, VALUE_TAG):
            return event.value  # most scalars: no constructor needed
        if tag == MERGE_TAG:
            raise self.refuse("yaml-alias", event, "merge key '<<': YAML aliases are not "
                              "supported", "write the merged keys out in full", path)
        if tag in NUMBER_TAGS and len(event.value) > MAX_NUMBER_CHARS:
            raise self.refuse("number-too-large", event, f"a number of {len(event.value)} "
                              "characters", "use a number of usual size, or quote it if it "
                              "is text", path)
        node = yaml.ScalarNode(tag, event.value, None, None, style=event.style)
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.refuse("yaml-tag", event, f"cannot read this value: {exc.problem}",
                              "remove the YAML tag ('!...') before the value", path) from None
        except Exception as exc:  # PyYAML's constructors raise ValueError, KeyError, ...
            # The value is never quoted: in a secrets file it is a secret.
            reason = f" ({exc})" if isinstance(exc, ValueError) and event.value not in str(exc) \
                else ""
            raise self.refuse("yaml-value", event, "this value cannot be read as YAML type "
                              f"'{tag.rsplit(':', 1)[-1]}'{reason}", "quote it if it is text, "
                              "or fix the value (or its '!!' tag)", path) from None
        finally:
            self.scalars.constructed_objects.clear()


def compose_yaml(text: str, source: str, kind: FileKind = SITE_FILE,
                 ) -> tuple[Any, dict[KeyPath, tuple[int, int]], list[Problem]]:
    """Plain data of one YAML document, the line:column of every key path, and the problems
    that made it unreadable or ambiguous (then data is None or incomplete)."""
    composer = _Composer(source, kind)
    try:
        data = composer.compose(text)
    except _Refused as exc:
        return None, composer.marks, [*composer.problems, exc.problem]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if "nesting depth" in str(exc.problem):  # libyaml's own cap (1000), met scanning ahead
            return None, composer.marks, [*composer.problems, _at(
                kind.code("too-deep"), source, line, col, f"the {kind.label} nests deeper "
                f"than {MAX_DEPTH} levels", "check the brackets and the indentation")]
        return None, composer.marks, [*composer.problems, _at(
            kind.syntax_code, source, line, col, f"the file is not valid YAML: {exc.problem}",
            "fix the YAML syntax at that line (indentation, quotes, colons)")]
    except yaml.YAMLError as exc:  # a reader error: an unreadable character
        return None, composer.marks, [*composer.problems, _at(
            kind.syntax_code, source, 0, 0, f"the file is not valid YAML: {shown(exc, 200)}",
            "fix the character it names")]
    return ({} if data is None else data), composer.marks, composer.problems
