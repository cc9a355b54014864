"""What both transports send to a node to write a file, and shell quoting (values quoted)."""

from __future__ import annotations

import shlex

from hastack.agents import agent_text

# stdin to a file, atomically and only when every byte arrived (see the script).
PUT_SIZED = agent_text("put_file.sh")
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
