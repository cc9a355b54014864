"""Corosync's authkey replaced on a running cluster.

Corosync 3.1.7 cannot take a new key live: its reload (`corosync-cfgtool -R`) lets a member
drop the old key while a slower one still sends with it, and the cluster splits (seen in the
lab). So the members change keys together, the way Pacemaker's documentation upgrades a
cluster stack in place: maintenance mode on (Pacemaker leaves every resource running,
unmanaged, when it stops), the stack stopped on every member, started again with the key the
deploy has already written, and maintenance mode lifted once every member is back and has
probed what runs. The services never stop: VIPs, HAProxy, Galera, RabbitMQ and the APIs keep
serving; only recovery is off while the stack is down (in the lab: stopped and formed again
within seconds). The computes' pacemaker_remote keeps its resources running while no cluster
node is connected, and the connections start again once maintenance mode is lifted.

A mark on each member, set before the new key is written, lets a deploy killed on the way
finish the job when it runs again; the mark says whether hastack turned maintenance mode on,
so an operator's own maintenance mode is left as it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from hastack.errors import HastackError
from hastack.pacemaker import live
from hastack.polling import until_nothing_missing
from hastack.transport.base import Transport

MARK = "/var/lib/hastack/corosync-rekey"
PROPERTY = ["crm_attribute", "--type", "crm_config", "--name"]
# In force for the restart, whatever was set before (restored after): maintenance-mode
# (nothing stops or moves) and startup-fencing false (a restarted cluster holds no status and
# takes every remote node it has not seen as unclean: lifting maintenance mode would fence
# both computes, as it did in the lab).
HELD = {"maintenance-mode": "true", "startup-fencing": "false"}


async def set_mark(node: Transport) -> None:
    """Before the new key is written: the stack must restart with it, whatever happens next."""
    (await node.run(["sh", "-c", f"mkdir -p {MARK.rsplit('/', 1)[0]} && touch {MARK}"])).check()


async def _on_all(nodes: Mapping[str, Transport], argv: list[str],
                  timeout: float = 300) -> None:
    results = await asyncio.gather(*(n.run(argv, timeout=timeout) for n in nodes.values()))
    for result in results:
        result.check()


def _held(marks: str) -> dict[str, str]:
    """What the mark says was set, each with the value it had before ("" when unset)."""
    pairs = (line.partition("=") for line in marks.splitlines())
    return {name: before for name, sep, before in pairs if sep and name in HELD}


async def _hold(nodes: Mapping[str, Transport], via: Transport,
                held: dict[str, str]) -> dict[str, str]:
    """Put HELD in force, checked on the live CIB (a mark from an earlier run proves nothing
    about now); the mark records each value it replaces first, so a run killed right after
    still restores it."""
    for name, value in HELD.items():
        current = await via.run([*PROPERTY, name, "--query", "--quiet"])
        now = current.stdout.strip() if current.ok else ""
        if now == value:
            if name == "maintenance-mode" and name not in held:
                # Lifting it after would not be ours to do, and keeping it keeps the
                # computes' connections down until the operator lifts it: refused.
                raise HastackError(
                    "rekey-in-maintenance", "the cluster is in maintenance mode, which a new "
                    "corosync authkey needs to set and lift itself (the key is written; the "
                    "cluster still runs with the old one)", where=via.host,
                    fix="lift it (crm_attribute --type crm_config --name maintenance-mode "
                        "--delete) and run deploy again")
            continue
        held.setdefault(name, now)
        lines = [f"{n}={before}" for n, before in held.items()]
        await _on_all(nodes, ["sh", "-c", f'printf "%s\\n" "$@" > {MARK}', "mark", *lines])
        (await via.run([*PROPERTY, name, "--update", value])).check()
    return held


async def _restore(first: Transport, name: str, before: str) -> None:
    argv = [*PROPERTY, name, *(("--update", before) if before else ("--delete",))]
    (await first.run(argv)).check()


async def _start(node: Transport) -> None:
    """corosync and pacemaker; once more after a failure: in the lab's cgroup v1 machines
    corosync's old cgroup may still be going away (exit 219/CGROUP) when it starts again."""
    argv = ["systemctl", "start", "corosync", "pacemaker"]
    if not (await node.run(argv, timeout=300)).ok:
        await asyncio.sleep(2)
        (await node.run(argv, timeout=300)).check()


async def _wait_remotes(first: Transport, timeout: float = 300) -> None:
    async def offline() -> list[str]:
        status = await live.crm_mon(first)
        return [n.name for n in status.nodes if n.remote and not n.online]

    await until_nothing_missing(
        offline, timeout=timeout, host=first.host,
        what="remote nodes still offline since the cluster stack restarted",
        fix="see `crm_mon` and the computes' pacemaker_remote log")


async def rekey(nodes: Mapping[str, Transport]) -> str | None:
    """Restart the cluster stack of these members together when one of them holds the mark:
    what was done, or None when nothing was to do."""
    members = tuple(nodes)
    marks = await asyncio.gather(*(n.run(["cat", MARK]) for n in nodes.values()))
    if not any(m.ok for m in marks):
        return None
    started = time.monotonic()
    held = {k: v for m in marks if m.ok for k, v in _held(m.stdout).items()}
    running = await live.running_pacemaker(nodes)
    if running:
        via = nodes[running[0]]
        held = await _hold(nodes, via, held)
        await live.wait_settled(via)  # every resource unmanaged before anything stops
    elif "maintenance-mode" not in held:
        # No member runs, and none was stopped by an earlier run of this: nothing to keep.
        held = {}
    await _on_all(nodes, ["systemctl", "stop", "pacemaker"])
    await _on_all(nodes, ["systemctl", "stop", "corosync"])
    down = time.monotonic()
    await asyncio.gather(*(_start(n) for n in nodes.values()))
    first = nodes[members[0]]
    await live.wait_quorate(first, members)
    await live.wait_settled(first)  # in maintenance mode only the probes run
    formed = time.monotonic() - down
    for name in HELD:  # maintenance mode first: remote nodes come back, nothing restarts
        if name in held:
            if name == "startup-fencing":
                await _wait_remotes(first)
            await _restore(first, name, held[name])
            await live.wait_settled(first)
    await _on_all(nodes, ["rm", "-f", MARK])
    return (f"stack restarted on {', '.join(members)} together in maintenance mode, formed "
            f"again in {formed:.1f} s; {time.monotonic() - started:.1f} s in all")
