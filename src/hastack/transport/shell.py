"""Shell snippets both transports send to the node, argv-safe (values quoted)."""

from __future__ import annotations

import shlex

# Write stdin to a temp file beside the target, set owner and mode, then rename: a reader
# never sees a half-written file, and the file never exists with a wider mode. The file lands
# only when every byte arrived: a stream can end early (a lost connection, a channel closed
# at a timeout) and cat takes that for the end of the file; the temp file never stays.
PUT_SIZED = (
    'set -e; p="$1"; o="$2"; g="$3"; m="$4"; n="$5"; d=$(dirname "$p"); mkdir -p "$d"; '
    't=$(mktemp "$d/.hastack.XXXXXX"); trap \'rm -f "$t"\' EXIT; trap \'exit 143\' TERM HUP; '
    'chmod "$m" "$t"; cat > "$t"; s=$(wc -c < "$t"); '
    '[ "$s" -eq "$n" ] || { echo "only $s of $n bytes arrived" >&2; exit 1; }; '
    'chown "$o:$g" "$t"; mv -f "$t" "$p"'
)
TRANSFER_FLOOR = 60.0  # s: a transfer's timeout is this plus its size at TRANSFER_RATE
TRANSFER_RATE = 1024 * 1024  # bytes/s, far below any link's: a stalled one, not a slow one


def put_argv(path: str, owner: str, group: str, mode: int, size: int) -> list[str]:
    return ["sh", "-c", PUT_SIZED, "hastack-put", path, owner, group, f"{mode:04o}", str(size)]


def transfer_timeout(size: int, floor: float = TRANSFER_FLOOR,
                     rate: float = TRANSFER_RATE) -> float:
    return floor + size / rate


def env_argv(env: dict[str, str] | None, argv: list[str]) -> list[str]:
    """Prefix ``env`` assignments: only for values that are not secrets (they show in ps)."""
    if not env:
        return argv
    return ["env", *(f"{k}={v}" for k, v in env.items()), *argv]


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
