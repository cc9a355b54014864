"""Maintenance of a node: out of service with nothing lost, and back."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hastack.errors import UsageError

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.lifecycle.maintenance import Maintenance


def maintain(session: Session, node: str, state: str) -> Maintenance:
    """``node`` into maintenance (``state`` on: backends drained, then standby) or back
    (off); run again, it changes nothing.

    Raises:
        UsageError: ``state`` is not on or off, or the cluster refuses it now (a second
            member already out, no quorum, the node offline or unknown).
        TransportError: a step did not finish; run it again.
    """
    from hastack import catalog
    from hastack.lifecycle.maintenance import maintain as run

    if state not in ("on", "off"):
        raise UsageError("usage", f"maintain {state}: expected on or off", fix="see --help")
    computes = {n for c in session.loaded.placement.clusters for n in c.remotes}
    return asyncio.run(run(session.loaded, catalog.SERVICES, session.transports(), node,
                           on=state == "on",
                           secrets=session.secrets() if node in computes else None))
