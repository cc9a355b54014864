"""Commands that read the running site: status and verify. Neither changes a node."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.verify.checks import CheckResult
    from hastack.verify.status import ClusterState


def status(session: Session) -> list[ClusterState]:
    """Per cluster: nodes, quorum, each service's resources, VIPs, Galera and RabbitMQ as
    they are now; a cluster no member answers for says so (it is not an error)."""
    from hastack import catalog
    from hastack.verify.status import gather

    return asyncio.run(gather(session.loaded, catalog.SERVICES, session.transports()))


@dataclass(frozen=True)
class Verification:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)


def verify(session: Session, *, scope: str = "all") -> Verification:
    """The guide's checks against the running site (``scope`` core: as deployed with
    --scope core)."""
    from hastack import catalog
    from hastack.commands.session import checked_scope
    from hastack.verify.checks import CheckWatch, run_checks

    covered = checked_scope(scope)
    watch = session.watch

    def ended(result: CheckResult) -> None:
        watch.ended(f"{result.service}: {result.name}", head="pass" if result.ok else "FAIL",
                    body=f"{result.service}: {result.name} ({result.seconds:.1f}s)")

    hooks = CheckWatch(lambda service, name: watch.started(f"{service}: {name}"), ended)
    results = asyncio.run(run_checks(session.loaded, catalog.BASE, session.services(covered),
                                     session.secrets(covered), session.transports(),
                                     session.rendering(covered), hooks))
    return Verification(tuple(results))
