"""Nodes the site file no longer lists: a compute, or a stopped controller, taken out of the
site leaves the cluster.

The site is the source of truth, so removing a compute is editing it out and deploying. The
services say what they need done (their ``preflight`` actions, run before anything changes:
nova stops scheduling to the node and refuses while an instance is still there; their
``after-start`` ones: nova and neutron forget its records); the pushes take the node's
connection resource and fencing away, and Pacemaker stops what ran there; last, the cluster
forgets the node itself (``crm_node --force --remove``), which nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence

from hastack.errors import HastackError, ToolError, UsageError
from hastack.pacemaker import live
from hastack.pacemaker.status import ClusterStatus
from hastack.transport.base import Transport


async def status_of(members: Sequence[Transport]) -> ClusterStatus | None:
    """The cluster as the first member that answers sees it; None when none does (a first
    deploy: no cluster yet)."""
    for node in members:
        try:
            return await live.crm_mon(node)
        except HastackError:
            continue
    return None


def departed_remotes(status: ClusterStatus, listed: set[str]) -> list[str]:
    """Remote nodes the cluster still knows that the site does not list."""
    return sorted(n.name for n in status.nodes if n.remote and n.name not in listed)


def departed_members(status: ClusterStatus, members: set[str]) -> list[str]:
    """Cluster nodes (not remote) the cluster still knows that the site no longer lists as
    its members."""
    return sorted(n.name for n in status.nodes if not n.remote and n.name not in members)


def refuse_running(status: ClusterStatus, leaving: Sequence[str]) -> None:
    """A member leaves stopped: taken out while it runs, the reloaded corosync.conf would cut
    it off with its VIPs and services, and the others would fence it.

    Raises:
        UsageError: one of them is online (or unclean: not yet fenced); nothing changed.
    """
    running = [n for n in status.nodes if n.name in leaving and (n.online or n.unclean)]
    if running:
        names = ", ".join(n.name for n in running)
        raise UsageError(
            "departing-member-running", f"{names} is still a member of the running cluster: "
            "a controller leaves stopped", fix=f"`hastack maintain SITE {running[0].name} on` "
            "(with it still in the site file), then stop its cluster stack (on it: "
            "`systemctl disable --now pacemaker corosync`) or power it off; then deploy")


async def forget(via: Transport, nodes: Sequence[str]) -> list[str]:
    """Each node removed from the cluster's configuration and status (its connection is gone
    by now: the push took it away). Returns what it said for the deploy's record.

    Raises:
        ToolError: crm_node refused.
    """
    for name in nodes:
        result = await via.run(["crm_node", "--force", "--remove", name], timeout=120)
        if not result.ok:
            raise ToolError("crm_node", result.argv, result.returncode,
                            result.stderr or result.stdout)
    return [f"{name} removed from the cluster" for name in nodes]
