"""The deployment plan: ordered stages from a placed site and its rendering (pure).

Stages follow the guide's order: prepare every node, form each cluster, prove its fencing,
then each service in dependency order (files, one-time bootstrap, its CIB resources, its
checks), and finally verify everything. The plan names services only through the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hastack.agents import shown_argv
from hastack.catalog.contract import CatalogEntry, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import Action, ApiCall, Command, HttpProbe, KeystoneEntry, Sql, Step
from hastack.errors import PlanError
from hastack.render.site import SiteRendering
from hastack.site.model import Role, Site
from hastack.site.placement import Placement


@dataclass(frozen=True)
class Stage:
    """One step of the runbook: where it runs, what it does, what proves it worked."""

    name: str
    targets: tuple[str, ...]
    does: tuple[str, ...]
    proof: str
    cluster: str | None = None
    service: str | None = None


def service_order(catalog: Sequence[CatalogEntry], placement: Placement) -> list[CatalogEntry]:
    """Placed services, each after everything it requires or follows (stable catalog order).

    Raises:
        PlanError: when the catalog's dependencies form a cycle.
    """
    placed = [e for e in catalog if placement.has(e.name)]
    names = {e.name for e in placed}
    done: list[CatalogEntry] = []
    pending = list(placed)
    while pending:
        ready = next((e for e in pending
                      if all(d in {x.name for x in done} or d not in names
                             for d in (*e.requires, *e.service.after))), None)
        if ready is None:
            raise PlanError("plan-dependency-cycle", "services depend on each other in a "
                            f"cycle: {', '.join(e.name for e in pending)}",
                            fix="fix requires/after in the catalog")
        done.append(ready)
        pending.remove(ready)
    return done


def describe_step(step: Step) -> str:
    if isinstance(step, Command):
        return shown_argv(step.argv)
    if isinstance(step, Sql):
        return f"SQL: {'; '.join(s.masked() for s in step.statements)}"
    if isinstance(step, KeystoneEntry):
        return f"keystone: register {step.service} ({step.service_type}) at {step.url}"
    if isinstance(step, HttpProbe):
        return f"GET {step.url}"
    assert isinstance(step, ApiCall)
    return f"API: {step.operation}"


def _action_line(action: Action) -> str:
    return f"once: {action.what}" + (" (skipped when already done)" if action.done else "")


def build_plan(site: Site, placement: Placement, rendering: SiteRendering,
               catalog: Sequence[CatalogEntry]) -> tuple[Stage, ...]:
    platform = platform_info(site.platform.value)
    all_nodes = tuple(n.name for n in site.nodes if n.role is not Role.GATEWAY)
    stages = [Stage(
        name="prepare", targets=all_nodes,
        does=("install the packages of the services each node runs",
              "write /etc/hosts and the TCP keepalive/retry sysctls, and apply them",
              "disable the units Pacemaker drives (packages enable some)"),
        proof="every package installed; sysctl values read back")]
    for cluster in rendering.clusters:
        members = tuple(cluster.model.node_ids)
        stages.append(Stage(
            name=f"cluster:{cluster.name}", cluster=cluster.name, targets=members,
            does=("write corosync.conf and the corosync/pacemaker authkeys",
                  "start corosync and pacemaker on every member"),
            proof="crm_mon: quorate, every member online, a DC elected"))
        stages.append(Stage(
            name=f"fencing:{cluster.name}", cluster=cluster.name, targets=members,
            does=("push cluster properties and one stonith device per node (crm_verify first)",
                  "query each fencing device's status"),
            proof="every device answers status; stonith-enabled=true"))
    for entry in service_order(catalog, placement):
        ctx = ServiceContext(site=site, placement=placement, service=entry.name,
                             platform=platform)
        placed = placement.cluster_of(entry.name)
        resources = [r.id for r in entry.resources(ctx) if hasattr(r, "id")]
        does = [f"write {len({f.path for f in entry.config(ctx)})} config file(s) on each node"]
        does += [_action_line(a) for a in entry.bootstrap(ctx)]
        if resources:
            does.append(f"add to the CIB and wait until started: {', '.join(resources)}")
        checks = entry.checks(ctx)
        stages.append(Stage(
            name=f"service:{entry.name}", cluster=placed.name, service=entry.name,
            targets=placed.members + (placed.remotes if entry.service.remote_packages
                                      else ()),
            does=tuple(does),
            proof="; ".join(c.what for c in checks) or "resources started"))
    for cluster in rendering.clusters:
        stages.append(Stage(
            name=f"departed:{cluster.name}", cluster=cluster.name,
            targets=tuple(cluster.model.node_ids)[:1],
            does=("only when the site no longer lists a compute the cluster knows: its "
                  "services' preflight first (nova: disabled, refused while it hosts an "
                  "instance), its records forgotten, then crm_node --force --remove",),
            proof="crm_mon lists no node the site does not"))
    stages.append(Stage(name="verify", targets=all_nodes,
                        does=("run every service's checks",),
                        proof="every check passes"))
    return tuple(stages)
