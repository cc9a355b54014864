"""Pacemaker's tools on a live cluster node, through a transport (the only such caller).

Each call states the tool's exit-code contract next to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from lxml import etree

from hastack.errors import ToolError, TransportError
from hastack.pacemaker.status import ClusterStatus, expired_monitor_failures, parse_crm_mon
from hastack.transport.base import Transport

PUSH_FILE = "/run/hastack-configuration.xml"


async def running_pacemaker(nodes: Mapping[str, Transport]) -> list[str]:
    """The nodes (by name, in their order) whose Pacemaker daemon runs now."""
    states = await asyncio.gather(*(n.run(["systemctl", "is-active", "--quiet", "pacemaker"])
                                    for n in nodes.values()))
    return [name for name, state in zip(nodes, states, strict=True) if state.ok]


async def crm_mon(node: Transport) -> ClusterStatus:
    """crm_mon --one-shot --output-as=xml: 0 with XML; non-zero when the cluster is not up."""
    done = await node.run(["crm_mon", "--one-shot", "--output-as=xml", "--inactive"],
                          timeout=60)
    if not done.ok:
        raise ToolError("crm_mon", done.argv, done.returncode, done.stderr or done.stdout)
    return parse_crm_mon(done.stdout)


async def query_cib(node: Transport) -> str:
    """cibadmin --query: 0 with the whole CIB on stdout."""
    done = await node.run(["cibadmin", "--query"], timeout=60)
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)
    return done.stdout


async def cluster_nodes(node: Transport) -> set[str]:
    """The cluster nodes (not remote ones) the CIB lists: every member that ever joined."""
    done = await node.run(["cibadmin", "--query", "--scope", "nodes"], timeout=60)
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)
    nodes = etree.fromstring(done.stdout.encode())
    return {n.get("uname") or "" for n in nodes.iter("node") if n.get("type") != "remote"}


async def verify_on(node: Transport, cib_xml: str) -> None:
    """crm_verify --xml-file on the node itself: 0 valid, non-zero with errors on stderr.

    Raises:
        ToolError: the configuration is invalid; nothing is pushed.
    """
    path = "/run/hastack-verify.xml"
    await node.put(path, cib_xml.encode(), mode=0o600)
    done = await node.run(["crm_verify", "--xml-file", path], timeout=120)
    await node.run(["rm", "-f", path])
    if not done.ok:
        raise ToolError("crm_verify", done.argv, done.returncode, done.stderr or done.stdout,
                        what="crm_verify refused the configuration: nothing was pushed")


async def push_configuration(node: Transport, configuration_xml: str) -> None:
    """cibadmin --replace --scope configuration: one transaction; 0 on success.

    The file is 0600: the CIB's configuration is not for other users of the node.
    """
    await node.put(PUSH_FILE, configuration_xml.encode(), mode=0o600)
    done = await node.run(["cibadmin", "--replace", "--scope", "configuration",
                           "--xml-file", PUSH_FILE], timeout=180)
    await node.run(["rm", "-f", PUSH_FILE])
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)


async def clear_expired_failures(node: Transport) -> None:
    """Forgets the history of a monitor whose failure expired, which Pacemaker 2.1.5 would
    otherwise reschedule for ever (status.expired_monitor_failures): ``--refresh`` of that
    resource on that node, which probes it again (a running instance stays running).
    cibadmin --query --scope status: 0 with the status section."""
    done = await node.run(["cibadmin", "--query", "--scope", "status"], timeout=60)
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)
    for resource, where in expired_monitor_failures(done.stdout):
        refreshed = await node.run(["crm_resource", "--refresh", "--resource", resource,
                                    "--node", where], timeout=60)
        if not refreshed.ok:  # else the wait after it would only time out, 15 min later
            raise ToolError("crm_resource", refreshed.argv, refreshed.returncode,
                            refreshed.stderr)


async def wait_settled(node: Transport, *, timeout: float = 900) -> None:
    """crm_resource --wait: 0 once no actions are pending; 124 (timeout) otherwise.

    Raises:
        TransportError: the cluster did not settle; names the pending state.
    """
    await clear_expired_failures(node)
    done = await node.run(["crm_resource", "--wait", f"--timeout={int(timeout)}s"],
                          timeout=timeout + 60)
    if not done.ok:
        raise TransportError(node.host, f"the cluster did not settle within {timeout:.0f} s",
                             fix=(done.stderr or done.stdout).strip()[-1000:])


async def wait_quorate(node: Transport, members: tuple[str, ...], *,
                       timeout: float = 300) -> ClusterStatus:
    """Poll crm_mon until a DC is elected with quorum and every member is online.

    Raises:
        TransportError: naming what was still missing at the deadline.
    """
    deadline = time.monotonic() + timeout
    missing = "no answer from crm_mon"
    while time.monotonic() < deadline:
        try:
            status = await crm_mon(node)
        except ToolError as exc:
            missing = exc.what
        else:
            offline = [m for m in members if m not in status.online_members]
            if status.dc and status.quorate and not offline:
                return status
            missing = (f"DC={status.dc or 'none'}, quorate={status.quorate}, offline="
                       f"{','.join(offline) or 'none'}")
        await asyncio.sleep(2)
    raise TransportError(node.host, f"the cluster did not form within {timeout:.0f} s "
                         f"({missing})", fix="see `hastack lab logs NODE corosync`")


RESTART_BAN = "hastack-restart"  # id prefix of the bans a restart on one node sets


async def restart_on_node(via: Transport, clones: list[str], node: str) -> None:
    """Restarts clones' instances on one node: every one stopped in one transition and
    started again in another, where ``crm_resource --restart`` takes two per clone and
    polls each (some 10 s per clone, 50 s for nova's five). A ban per clone there, in one
    CIB update, then all bans lifted in another; a run killed between leaves bans that the
    next restart of the service, or hastack's next push of the constraints, lifts.

    Raises:
        TransportError: an instance still ran there with its ban, or did not start again.
    """
    bans = "".join(f'<rsc_location id="{RESTART_BAN}-{rid}-{node}" rsc="{rid}" '
                   f'node="{node}" score="-INFINITY"/>' for rid in clones)
    done = await via.run(["cibadmin", "--modify", "--allow-create", "--scope", "constraints",
                          "--xml-text", f"<constraints>{bans}</constraints>"], timeout=120)
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)
    await wait_settled(via)
    kept = [rid for rid in clones if node in (await crm_mon(via)).running_on(rid)]
    await lift_restart_bans(via, node)
    if kept:
        raise TransportError(node, f"{', '.join(kept)} did not stop for its restart",
                             fix="see `crm_mon --inactive` and the resource's log")
    await wait_settled(via)
    status = await crm_mon(via)
    down = [rid for rid in clones if node not in status.running_on(rid)]
    if down:
        raise TransportError(node, f"{', '.join(down)} did not start again after its "
                             "restart", fix="see `crm_mon --inactive --failcounts` and the "
                             "resource's log; `crm_resource --cleanup` once it is fixed")


async def lift_restart_bans(via: Transport, node: str) -> None:
    """cibadmin --delete-all: 0 also when nothing matches (--force: an XPath delete)."""
    done = await via.run(["cibadmin", "--delete-all", "--force", "--xpath",
                          f"//constraints/rsc_location[starts-with(@id,'{RESTART_BAN}-')]"
                          f"[@node='{node}']"], timeout=120)
    if not done.ok:
        raise ToolError("cibadmin", done.argv, done.returncode, done.stderr)
