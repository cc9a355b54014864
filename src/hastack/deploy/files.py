"""Putting rendered files on a node: compare by content hash, owner and mode; write only what
differs; show diffs with every secret masked."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hastack.agents import agent_text
from hastack.catalog.secret_text import SecretRef, Text
from hastack.render.site import RenderedFile
from hastack.secrets import Secrets, secret_parts
from hastack.transport.base import Transport

STAT_SCRIPT = agent_text("stat_files.sh")


@dataclass(frozen=True)
class FileChange:
    file: RenderedFile
    reason: str  # "new", "content", "owner/mode"


def is_key_file(file: RenderedFile) -> bool:
    """A file that is one key secret (an authkey), written as raw bytes."""
    parts = file.text.parts
    return len(parts) == 1 and isinstance(parts[0], SecretRef) and parts[0].kind == "key"


def content(file: RenderedFile, secrets: Secrets) -> bytes:
    """The bytes to write: a lone key secret is raw bytes, anything else text."""
    part = file.text.parts[0] if is_key_file(file) else None
    if isinstance(part, SecretRef):
        return secrets.key_bytes(part)
    return file.text.resolve(secrets.lookup).encode()


def digest(file: RenderedFile, secrets: Secrets) -> str:
    """The sha256 of what ``file`` holds when written (as stat_files reports it)."""
    return hashlib.sha256(content(file, secrets)).hexdigest()


async def stat_files(node: Transport, files: Sequence[RenderedFile]
                     ) -> dict[str, tuple[str, str]]:
    """path -> (sha256, "owner:group:mode") of each of ``files`` on the node, ("-", "-")
    when absent (one round trip for all of them)."""
    if not files:
        return {}
    done = await node.run(["sh", "-c", STAT_SCRIPT, "hastack-stat", *(f.path for f in files)])
    done.check()
    seen: dict[str, tuple[str, str]] = {}
    for line in done.stdout.splitlines():
        sha256, meta, path = line.split(" ", 2)
        seen[path] = (sha256, meta)
    return seen


async def changes(node: Transport, files: Sequence[RenderedFile],
                  secrets: Secrets) -> list[FileChange]:
    """Which of ``files`` differ on the node (one round trip for all of them)."""
    seen = await stat_files(node, files)
    out = []
    for f in files:
        sha256, meta = seen.get(f.path, ("-", "-"))
        if sha256 == "-":
            out.append(FileChange(f, "new"))
        elif sha256 != digest(f, secrets):
            out.append(FileChange(f, "content"))
        elif meta != f"{f.owner}:{f.group}:{f.mode:o}":
            out.append(FileChange(f, "owner/mode"))
    return out


async def write(node: Transport, change: FileChange, secrets: Secrets) -> None:
    f = change.file
    await node.put(f.path, content(f, secrets), owner=f.owner, group=f.group, mode=f.mode)


MIN_VALUE_MASK = 4  # shorter values are masked only where the template puts a secret


def _template_lines(file: RenderedFile) -> list[list[str | SecretRef]]:
    """The rendered text as lines of literal pieces and secrets."""
    lines: list[list[str | SecretRef]] = [[]]
    for part in file.text.parts:
        if isinstance(part, SecretRef):
            lines[-1].append(part)
            continue
        first, *rest = part.split("\n")
        lines[-1].append(first)
        lines += [[piece] for piece in rest]
    return lines


def _secret_places(file: RenderedFile) -> list[tuple[re.Pattern[str], str, list[str]]]:
    """For each template line holding secrets: a pattern matching the line with any values
    in their places, the literal text before the first one, and the secrets' placeholders
    (as the rendered side shows them)."""
    out = []
    for line in _template_lines(file):
        names = [Text((p,)).masked() for p in line if isinstance(p, SecretRef)]
        if not names:
            continue
        pattern = "".join("(.*?)" if isinstance(p, SecretRef) else re.escape(p) for p in line)
        prefix = ""
        for piece in line:
            if isinstance(piece, SecretRef):
                break
            prefix += piece
        out.append((re.compile(pattern), prefix, names))
    return out


def mask_node_text(text: str, file: RenderedFile, secrets: Secrets) -> str:
    """The node's copy of ``file`` safe to show: wherever the template puts a secret, the
    node's value is masked whatever it is (an old password too, however short); a line
    that only begins like such a line is cut after that beginning. Known values are masked
    wherever else they appear."""
    places = _secret_places(file)
    out = []
    for line in text.split("\n"):
        for pattern, prefix, names in places:
            found = pattern.fullmatch(line)
            if found:
                pieces, last = [], 0
                for index, name in enumerate(names, start=1):
                    pieces += [line[last:found.start(index)], name]
                    last = found.end(index)
                line = "".join(pieces) + line[last:]
                break
            if prefix.strip() and line.startswith(prefix):
                line = f"{prefix}{names[0]} (rest of the line hidden)"
                break
        out.append(line)
    return mask("\n".join(out), secrets)


def mask(text: str, secrets: Secrets) -> str:
    """Replace every known secret value (longest first) by its name; a keystone secret's
    password also alone (its value is ``account:password`` after a rotation)."""
    known = [(name, part) for name, value in secrets.values.items()
             for part in secret_parts(value)]
    for name, value in sorted(known, key=lambda kv: -len(kv[1])):
        if len(value) >= MIN_VALUE_MASK:
            text = text.replace(value, f"{{{{secret:{name}}}}}")
    return text


async def diff(node: Transport, change: FileChange, secrets: Secrets) -> str:
    """A unified diff of the node's file against the rendered one, secrets masked."""
    f = change.file
    if any(isinstance(p, SecretRef) and p.kind == "key" for p in f.text.parts):
        return f"--- {node.host}:{f.path}\n(key file: {change.reason})\n"
    before = ""
    if change.reason != "new":
        before = mask_node_text((await node.get(f.path)).decode(errors="replace"), f, secrets)
    after = f.text.masked()
    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True),
                                 f"{node.host}:{f.path}", f"rendered:{f.path}")
    text = "".join(lines)
    return text or f"--- {node.host}:{f.path}\n({change.reason})\n"
