"""Waiting on a condition that can be observed, with a deadline: what is still missing is
asked again every few seconds, and named in the error when time runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from hastack.errors import TransportError


async def until_nothing_missing(missing: Callable[[], Awaitable[list[str]]], *,
                                timeout: float, host: str, what: str, fix: str,
                                every: float = 2.0) -> None:
    """Return once ``missing()`` is empty. Raises TransportError (on ``host``): "``what``:
    <what was still missing> after <timeout> s", with ``fix`` as its hint."""
    deadline = time.monotonic() + timeout
    while True:
        still = await missing()
        if not still:
            return
        if time.monotonic() > deadline:
            raise TransportError(host, f"{what}: {', '.join(still)} after {timeout:.0f} s",
                                 fix=fix)
        await asyncio.sleep(every)
