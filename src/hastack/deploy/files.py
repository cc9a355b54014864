"""Putting rendered files on a node: compare by content hash, owner and mode; write only what
differs; show diffs with every secret masked."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from hastack.catalog.base import SecretRef
from hastack.render.site import RenderedFile
from hastack.secrets import Secrets
from hastack.transport.base import Transport

STAT_SCRIPT = ('for p in "$@"; do if [ -e "$p" ]; then h=$(sha256sum "$p" | cut -d" " -f1); '
               's=$(stat -c "%U:%G:%a" "$p"); echo "$h $s $p"; else echo "- - $p"; fi; done')


@dataclass(frozen=True)
class FileChange:
    file: RenderedFile
    reason: str  # "new", "content", "owner/mode"


def content(file: RenderedFile, secrets: Secrets) -> bytes:
    """The bytes to write: a lone key secret is raw bytes, anything else text."""
    parts = file.text.parts
    if len(parts) == 1 and isinstance(parts[0], SecretRef) and parts[0].kind == "key":
        return secrets.key_bytes(parts[0])
    return file.text.resolve(secrets.lookup).encode()


async def changes(node: Transport, files: Sequence[RenderedFile],
                  secrets: Secrets) -> list[FileChange]:
    """Which of ``files`` differ on the node (one round trip for all of them)."""
    if not files:
        return []
    done = await node.run(["sh", "-c", STAT_SCRIPT, "hastack-stat", *(f.path for f in files)])
    done.check()
    seen: dict[str, tuple[str, str]] = {}
    for line in done.stdout.splitlines():
        digest, meta, path = line.split(" ", 2)
        seen[path] = (digest, meta)
    out = []
    for f in files:
        digest, meta = seen.get(f.path, ("-", "-"))
        if digest == "-":
            out.append(FileChange(f, "new"))
        elif digest != hashlib.sha256(content(f, secrets)).hexdigest():
            out.append(FileChange(f, "content"))
        elif meta != f"{f.owner}:{f.group}:{f.mode:o}":
            out.append(FileChange(f, "owner/mode"))
    return out


async def write(node: Transport, change: FileChange, secrets: Secrets) -> None:
    f = change.file
    await node.put(f.path, content(f, secrets), owner=f.owner, group=f.group, mode=f.mode)


def mask(text: str, secrets: Secrets) -> str:
    """Replace every secret value (longest first) by its name."""
    for name, value in sorted(secrets.values.items(), key=lambda kv: -len(kv[1])):
        if len(value) >= 8:
            text = text.replace(value, f"{{{{secret:{name}}}}}")
    return text


async def diff(node: Transport, change: FileChange, secrets: Secrets) -> str:
    """A unified diff of the node's file against the rendered one, secrets masked."""
    f = change.file
    if any(isinstance(p, SecretRef) and p.kind == "key" for p in f.text.parts):
        return f"--- {node.host}:{f.path}\n(key file: {change.reason})\n"
    before = ""
    if change.reason != "new":
        before = mask((await node.get(f.path)).decode(errors="replace"), secrets)
    after = f.text.masked()
    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True),
                                 f"{node.host}:{f.path}", f"rendered:{f.path}")
    text = "".join(lines)
    return text or f"--- {node.host}:{f.path}\n({change.reason})\n"
