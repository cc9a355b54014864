"""The drills' client: a process in the lab's switch namespace, on the lab network but on no
cluster member, so its view survives any member's failure (even all of them at once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hastack.lab.layout import SWITCH_NETNS
from hastack.process import Result, run_async
from hastack.transport.lab import BASE_ENV

# Debian's interpreter: it has python3-amqp and the mysql client the lab image installed.
PYTHON = "/usr/bin/python3"


class SwitchClient:
    host = "lab-client"

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        return await run_async(self.host,
                               ["nsenter", f"--net=/run/netns/{SWITCH_NETNS}", *argv],
                               shown=argv, stdin=stdin, env={**BASE_ENV, **(env or {})},
                               timeout=timeout)
