"""A running member's corosync node id never changes under it: the cluster (and the CIB,
whose node ids are corosync's) knows it by that id, and a reload cannot give it another.
Node ids come from the members' addresses (site/model.py); a cluster formed with other ids
is refused before anything is touched."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hastack.errors import TransportError, UsageError
from hastack.transport.base import Transport

CONF = "/etc/corosync/corosync.conf"
_NODE = re.compile(r"name:\s*(\S+)\s*\n\s*nodeid:\s*(\d+)")


def ids_in(conf: str) -> dict[str, int]:
    """Each member's node id as a corosync.conf (rendered by hastack) lists it."""
    return {name: int(nodeid) for name, nodeid in _NODE.findall(conf)}


async def refuse_renumbering(members: Mapping[str, Transport], wanted: Mapping[str, int]
                             ) -> None:
    """Raises UsageError when a member's corosync.conf gives a member another id than
    ``wanted``; members without one (new machines) are not asked twice."""
    for name, node in members.items():
        try:
            conf = (await node.get(CONF)).decode(errors="replace")
        except TransportError:
            continue
        changed = {m: (old, wanted[m]) for m, old in ids_in(conf).items()
                   if m in wanted and wanted[m] != old}
        if changed:
            shown = ", ".join(f"{m} from {old} to {new}" for m, (old, new) in
                              sorted(changed.items()))
            raise UsageError(
                "corosync-nodeid-change", f"{name}'s corosync.conf gives other node ids than "
                f"the site: the deploy would renumber {shown} while the cluster knows them "
                "by their ids", fix="node ids are each controller's address's low 16 bits; "
                "a cluster formed with other ids must be formed again (in the lab: `hastack "
                "lab down`, then `make lab`); nothing was changed")
