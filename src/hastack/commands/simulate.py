"""Failures simulated with Pacemaker's scheduler on the rendered clusters, checked against
the guide's invariants. Nothing here touches a node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hastack.errors import UsageError

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.simulate.model import SimCluster
    from hastack.simulate.run import CaseResult, SiteSimulation


def sim_clusters(session: Session) -> tuple[SimCluster, ...]:
    from hastack import catalog
    from hastack.simulate.model import sim_clusters as clusters_of

    loaded = session.loaded
    return clusters_of(loaded.site, loaded.placement, session.rendering(), catalog.BASE,
                       catalog.SERVICES)


def _need_crm_simulate() -> None:
    from hastack.pacemaker.simulator import CRM_SIMULATE
    from hastack.pacemaker.tools import available

    if not available(CRM_SIMULATE):
        raise UsageError("tool-missing", "crm_simulate is not installed",
                         fix="apt-get install pacemaker-cli-utils")


def simulate(session: Session, *, exhaustive: bool = False) -> SiteSimulation:
    """Every case the site's clusters can meet (node, partition, monitor and fencing
    failures, cold starts); ``exhaustive``: every compute node, not one per group of
    identical ones. ``result.ok`` is False when a case breaks an invariant."""
    from hastack.simulate.run import simulate_site

    clusters = sim_clusters(session)
    _need_crm_simulate()
    return simulate_site(clusters, exhaustive=exhaustive)


@dataclass(frozen=True)
class OneCase:
    simulation: SiteSimulation
    result: CaseResult

    @property
    def ok(self) -> bool:
        return self.result.ok


def simulate_case(session: Session, spec: str) -> OneCase:
    """One case in full: node-fail:NODE, nodes-fail:A,B, partition:NODE,
    monitor-fail:RESOURCE@NODE, fence-fail:NODE or cold-start[:CLUSTER].

    Raises:
        UsageError: the case is malformed or names what the site does not have.
    """
    from hastack.simulate.cases import parse_case
    from hastack.simulate.run import simulate_site

    clusters = sim_clusters(session)
    _need_crm_simulate()
    wanted = parse_case(spec, clusters)
    chosen = tuple(c for c in clusters if c.name == wanted.cluster)
    sim = simulate_site(chosen, select=lambda _: [wanted], exhaustive=True)
    return OneCase(sim, sim.results[0])
