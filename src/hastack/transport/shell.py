"""Shell snippets both transports send to the node, argv-safe (values quoted)."""

from __future__ import annotations

import shlex

# Write stdin to a temp file beside the target, set owner and mode, then rename: a reader
# never sees a half-written file, and the file never exists with a wider mode.
PUT_SCRIPT = (
    'set -e; p="$1"; o="$2"; g="$3"; m="$4"; d=$(dirname "$p"); mkdir -p "$d"; '
    't=$(mktemp "$d/.hastack.XXXXXX"); chmod "$m" "$t"; cat > "$t"; chown "$o:$g" "$t"; '
    'mv -f "$t" "$p"'
)


def put_argv(path: str, owner: str, group: str, mode: int) -> list[str]:
    return ["sh", "-c", PUT_SCRIPT, "hastack-put", path, owner, group, f"{mode:04o}"]


def env_argv(env: dict[str, str] | None, argv: list[str]) -> list[str]:
    """Prefix ``env`` assignments: only for values that are not secrets (they show in ps)."""
    if not env:
        return argv
    return ["env", *(f"{k}={v}" for k, v in env.items()), *argv]


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
