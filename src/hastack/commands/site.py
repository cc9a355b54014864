"""Commands on the site file alone: validate, render, plan, schema, explain."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hastack.errors import Problem, UsageError

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.deploy.plan import Stage


@dataclass(frozen=True)
class ClusterSummary:
    name: str
    members: tuple[str, ...]
    remotes: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class Validation:
    site: str
    path: Path
    topology: str
    clusters: tuple[ClusterSummary, ...]
    vips: dict[str, str]
    warnings: tuple[Problem, ...]


def validate(session: Session) -> Validation:
    """The site checked against the guide's rules (and its own certificates, when it gives
    them, against the VIPs they serve).

    Raises:
        SiteError: every rule the site breaks.
    """
    loaded = session.loaded
    if loaded.site.openstack.certificates is not None:
        session.secret_refs()  # reads and checks the site's own certificates (raises)
    return Validation(
        site=loaded.site.name, path=loaded.path, topology=loaded.site.topology.value,
        clusters=tuple(ClusterSummary(c.name, tuple(c.members), tuple(c.remotes),
                                      tuple(c.services)) for c in loaded.placement.clusters),
        vips={name: str(address) for name, address in loaded.placement.vips.items()},
        warnings=tuple(loaded.warnings))


@dataclass(frozen=True)
class CibCheck:
    cluster: str
    ok: bool
    messages: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    """``checks`` is None when crm_verify is not installed (the CIBs were not checked)."""

    out_dir: Path
    files: int
    checks: tuple[CibCheck, ...] | None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks or ())


def render(session: Session, out_dir: Path, *, check: bool = True) -> Rendered:
    """Every cluster's CIB, corosync.conf and haproxy.cfg and every node's files written
    under ``out_dir``; with ``check``, each CIB through crm_verify."""
    from hastack import export

    rendering = session.rendering()
    written = export.write_rendering(rendering, out_dir)
    return Rendered(out_dir, written, verify_cibs(session) if check else None)


def verify_cibs(session: Session) -> tuple[CibCheck, ...] | None:
    from hastack.pacemaker.tools import CRM_VERIFY, available, verify_cib

    if not available(CRM_VERIFY):
        return None
    checks = []
    for cluster in session.rendering().clusters:
        verdict = verify_cib(cluster.cib_online)
        checks.append(CibCheck(cluster.name, verdict.ok, tuple(verdict.messages)))
    return tuple(checks)


def pcs_commands(session: Session) -> dict[str, str]:
    """Per cluster, the pcs commands that build its CIB (for an operator who uses pcs)."""
    from hastack.render.pcs import render_pcs

    return {c.name: render_pcs(c.model) for c in session.rendering().clusters}


def plan(session: Session) -> tuple[Stage, ...]:
    """The ordered stages of a deployment, as a runbook."""
    from hastack import catalog
    from hastack.deploy.plan import build_plan

    loaded = session.loaded
    return build_plan(loaded.site, loaded.placement, session.rendering(), catalog.SERVICES)


def schema() -> dict[str, Any]:
    """The JSON Schema of the site file (for editors)."""
    from hastack.site.model import Site

    return Site.model_json_schema()


@dataclass(frozen=True)
class Explanation:
    cluster: str
    resource: str
    lines: list[str] = field(default_factory=list)


def explain(session: Session, resource: str) -> Explanation:
    """The order/colocation chain ``resource`` depends on, from its cluster's CIB.

    Raises:
        UsageError: no cluster has that resource (the closest ids are suggested).
    """
    from hastack.commands.simulate import sim_clusters
    from hastack.simulate.explain import CibConstraints, resources
    from hastack.simulate.explain import explain as chain_of

    known: list[str] = []
    for cluster in sim_clusters(session):
        cib = CibConstraints(cluster.cib, cluster.whys)
        chain = chain_of(cib, resource)
        if chain is not None:
            return Explanation(cluster.name, resource, chain.lines())
        known += resources(cib)
    close = difflib.get_close_matches(resource, known, n=3)
    raise UsageError("explain-unknown-resource", f"no cluster of {session.site} has a resource "
                     f"'{resource}'", fix=(f"did you mean {', '.join(close)}? " if close else "")
                     + "see hastack render SITE --format pcs for every id")
