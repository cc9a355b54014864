"""Nodes the site file no longer lists: a compute taken out of the site leaves the cluster.

The site is the source of truth, so removing a compute is editing it out and deploying. The
services say what they need done (their ``preflight`` actions, run before anything changes:
nova stops scheduling to the node and refuses while an instance is still there; their
``after-start`` ones: nova and neutron forget its records); the pushes take the node's
connection resource and fencing away, and Pacemaker stops what ran there; last, the cluster
forgets the node itself (``crm_node --force --remove``), which nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence

from hastack.errors import HastackError, ToolError
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
